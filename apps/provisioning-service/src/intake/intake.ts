import type { Hello } from '@oobkit/hello';
import type { EventSink } from '../flow/events.js';
import type { Job, ProvisioningCertificateInfo, SiteStore } from '../store/types.js';
import { createEventThrottle, type EventThrottleOptions, type ThrottleDecision } from './throttle.js';

/** A decoded hello and where it came from, as the hello listener reports it. */
export interface ReceivedHello {
  hello: Hello;
  remoteAddress: string;
  receivedAt?: Date | number;
}

/** A provisioning chain whose root hash the hello carries. */
export interface HelloMatch {
  certificateId: number;
  algorithm: 'sha1' | 'sha256' | 'sha384';
  /** Lower-case hex of the matching root hash. */
  hash: string;
}

/** What the intake remembers of a device's last accepted hello (for the worker's chain choice). */
export interface AcceptedHello {
  uuid: string;
  address: string;
  retryCount: number;
  /** Hash algorithms the hello carried: SHA-1 only means pre-AMT 11 firmware. */
  algorithms: Array<'sha1' | 'sha256' | 'sha384'>;
  matches: HelloMatch[];
  receivedAt: string;
}

export type IntakeOutcome =
  | { action: 'queued'; job: Job; created: boolean }
  | { action: 'dropped'; reason: 'unknown-uuid' | 'no-root-match' | 'psk' };

export interface HelloIntake {
  /** Screens one hello (flow A.2) and queues the device's job when it passes. */
  handle(received: ReceivedHello): Promise<IntakeOutcome>;
  /** The last accepted hello of a device seen by this instance. */
  lastAccepted(uuid: string): AcceptedHello | undefined;
}

/** Event type of an accepted hello; its data is an `AcceptedHello` (no secrets: hashes are public). */
export const HELLO_ACCEPTED_EVENT = 'hello.accepted';

/** `::ffff:127.16.0.1` (a dual-stack socket) → `127.16.0.1`. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Which enabled chains have a root hash the hello carries (stored thumbprints, no parsing). */
export function matchHelloHashes(
  hashes: ReadonlyArray<{ algorithm: 'sha1' | 'sha256' | 'sha384'; hash: Uint8Array }>,
  certificates: readonly ProvisioningCertificateInfo[],
): HelloMatch[] {
  const matches: HelloMatch[] = [];
  for (const cert of certificates) {
    if (!cert.enabled) continue;
    for (const h of hashes) {
      const value = hex(h.hash);
      if (cert.rootHashes[h.algorithm]?.toLowerCase() === value) {
        matches.push({ certificateId: cert.id, algorithm: h.algorithm, hash: value });
        break;
      }
    }
  }
  return matches;
}

/** What a logged event says of the events held back before it (data fields and a message tail). */
function heldBack(d: ThrottleDecision): { data: Record<string, number>; note: string } {
  const data: Record<string, number> = {};
  const parts: string[] = [];
  if (d.repeats > 0) {
    data.repeats = d.repeats;
    parts.push(`${d.repeats} more from this device since the last one logged`);
  }
  if (d.rateLimited > 0) {
    data.rateLimited = d.rateLimited;
    parts.push(`${d.rateLimited} not logged over the per-minute limit`);
  }
  return { data, note: parts.length > 0 ? ` (${parts.join('; ')})` : '' };
}

export function createHelloIntake(opts: {
  store: SiteStore;
  events: EventSink;
  /** Called when a job was queued (new or existing), so a worker wakes up. */
  onQueued?: (job: Job, created: boolean) => void;
  /** How often a repeated dropped hello (and a repeated hello of a queued device) is logged. */
  dropLog?: EventThrottleOptions;
}): HelloIntake {
  const { store, events } = opts;
  const accepted = new Map<string, AcceptedHello>();
  // AMT repeats an unanswered hello for a day, a site often has many machines not imported,
  // and any host can send made-up UUIDs: one stored event per device and window is enough.
  const dropLog = createEventThrottle(opts.dropLog);
  // A device with a job keeps saying hello until the job reaches it; the first repeat of each
  // job is worth a line, the rest are not.
  const repeatLog = createEventThrottle(opts.dropLog);

  async function dropped(
    reason: 'unknown-uuid' | 'no-root-match' | 'psk',
    e: Parameters<EventSink['emit']>[0] & { data: Record<string, unknown> },
  ): Promise<IntakeOutcome> {
    const decision = dropLog.admit(`${reason}:${e.uuid}`);
    if (decision.log) {
      const { data, note } = heldBack(decision);
      await events.emit({ ...e, message: e.message + note, data: { ...e.data, ...data } });
    }
    return { action: 'dropped', reason };
  }

  async function handle(received: ReceivedHello): Promise<IntakeOutcome> {
    const { hello } = received;
    const address = normalizeAddress(received.remoteAddress);
    const at = new Date(received.receivedAt ?? Date.now()).toISOString();
    const base = { uuid: hello.uuid, data: { address, retryCount: hello.retryCount } };

    if (hello.kind === 'psk')
      return dropped('psk', {
        ...base,
        level: 'warn',
        type: 'hello.dropped.psk',
        message: 'PSK hello dropped: only PKI (certificate-based) provisioning is supported',
      });

    const computer = await store.getComputer(hello.uuid);
    if (!computer)
      return dropped('unknown-uuid', {
        ...base,
        level: 'warn',
        type: 'hello.dropped.unknown-uuid',
        message: 'hello dropped: this UUID was not imported for out-of-band management',
      });

    const matches = matchHelloHashes(hello.hashes, await store.listProvisioningCertificateInfo());
    const algorithms = [...new Set(hello.hashes.map((h) => h.algorithm))];
    const existing = await store.getDevice(hello.uuid);
    // Anyone can send a hello, with a UUID AMT broadcasts in clear: only an accepted one may
    // set where the device's jobs connect, and not even that for a device on record as
    // provisioned (its address stays the one it was provisioned at; the hello's is kept in
    // `lastHello`, for a job an operator approves). A dropped hello records a first sighting only.
    if (matches.length === 0) {
      await store.upsertDevice(hello.uuid, {
        lastHelloAt: at,
        ...(existing ? {} : { address, status: 'discovered' as const }),
      });
      return dropped('no-root-match', {
        ...base,
        level: 'warn',
        type: 'hello.dropped.no-root-match',
        message: 'hello dropped: no hash in it equals the root hash of an enabled provisioning certificate',
        data: { ...base.data, algorithms },
      });
    }
    // An accepted hello is kept on the device too: the worker that takes the job may be another
    // instance, or this one after a restart, and the event log is throttled and pruned.
    await store.upsertDevice(hello.uuid, {
      ...(existing?.status === 'provisioned' ? {} : { address }),
      lastHelloAt: at,
      lastHello: { retryCount: hello.retryCount, algorithms, matches, receivedAt: at, address },
      ...(existing ? {} : { status: 'discovered' as const }),
    });

    const info: AcceptedHello = {
      uuid: hello.uuid,
      address,
      retryCount: hello.retryCount,
      algorithms,
      matches,
      receivedAt: at,
    };
    accepted.set(hello.uuid, info);
    const { job, created } = await store.enqueueJob(hello.uuid, 'hello');
    // A provisioned device stays `provisioned` until its job finds out more: a late hello (sent
    // before the provisioning finished) must not make it look unprovisioned. Nor is a device
    // read while a job was running marked: a new job could be created only because that job
    // ended meanwhile, and the status it left (provisioned, failed) is newer than what was read.
    if (created && existing?.status !== 'provisioned' && existing?.status !== 'provisioning')
      await store.upsertDevice(hello.uuid, { status: 'queued' });
    // Keyed by job: a new job's first repeat hello is logged even if the last job's was recent.
    const decision = created ? undefined : repeatLog.admit(`${hello.uuid}:${job.id}`);
    if (!decision || decision.log) {
      const { data, note } = decision ? heldBack(decision) : { data: {}, note: '' };
      await events.emit({
        uuid: hello.uuid,
        jobId: job.id,
        level: created ? 'info' : 'debug',
        type: HELLO_ACCEPTED_EVENT,
        message:
          (created ? 'hello accepted: job queued' : 'hello accepted: the device already has a job') + note,
        data: { ...info, jobCreated: created, ...data },
      });
    }
    opts.onQueued?.(job, created);
    return { action: 'queued', job, created };
  }

  return { handle, lastAccepted: (uuid) => accepted.get(uuid) };
}
