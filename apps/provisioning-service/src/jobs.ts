/**
 * Jobs an administrator asks for by hand — provision (again) or unprovision one device — with
 * one rule for the admin API and the CLI on a data folder. The answer is an outcome, not an
 * exception, so each front end words it its own way (an HTTP status, a line and an exit code).
 */
import type { DeviceUuid, Job, SiteStore } from './store/types.js';

export type JobRequestOutcome =
  /** A new job was queued. */
  | { outcome: 'queued'; job: Job }
  /** A job of the same kind was already queued or running for the device: that one. */
  | { outcome: 'existing'; job: Job }
  /** No such computer (provision) or device (unprovision). */
  | { outcome: 'not-found' }
  /** Another kind of job is queued or running for the device (unprovision only). */
  | { outcome: 'conflict'; job: Job };

/**
 * Queues provisioning of an imported computer (`manual`: a fresh run; `retry`: after a failure).
 * A job already queued or running for the device is returned instead, whatever its reason.
 */
export async function requestProvisioning(
  store: SiteStore,
  uuid: DeviceUuid,
  reason: 'manual' | 'retry',
): Promise<JobRequestOutcome> {
  if (!(await store.getComputer(uuid))) return { outcome: 'not-found' };
  const r = await store.enqueueJob(uuid, reason);
  return { outcome: r.created ? 'queued' : 'existing', job: r.job };
}

/** Queues unprovisioning of a known device, unless another kind of job holds it. */
export async function requestUnprovision(store: SiteStore, uuid: DeviceUuid): Promise<JobRequestOutcome> {
  if (!(await store.getDevice(uuid))) return { outcome: 'not-found' };
  const r = await store.enqueueJob(uuid, 'unprovision');
  if (r.created) return { outcome: 'queued', job: r.job };
  return r.job.reason === 'unprovision'
    ? { outcome: 'existing', job: r.job }
    : { outcome: 'conflict', job: r.job };
}

/** How a conflict is worded, by the API and the CLI alike. */
export function jobConflictMessage(job: Job): string {
  return `job ${job.id} (${job.reason}) is ${job.state} for this device`;
}
