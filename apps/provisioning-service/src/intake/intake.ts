import type { Hello } from '@oobkit/hello';
import type { EventSink } from '../flow/events.js';
import type { Job, SiteStore, StoredProvisioningCertificate } from '../store/types.js';

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
  certificates: readonly StoredProvisioningCertificate[],
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

export function createHelloIntake(opts: {
  store: SiteStore;
  events: EventSink;
  /** Called when a job was queued (new or existing), so a worker wakes up. */
  onQueued?: (job: Job, created: boolean) => void;
}): HelloIntake {
  const { store, events } = opts;
  const accepted = new Map<string, AcceptedHello>();

  async function handle(received: ReceivedHello): Promise<IntakeOutcome> {
    const { hello } = received;
    const address = normalizeAddress(received.remoteAddress);
    const at = new Date(received.receivedAt ?? Date.now()).toISOString();
    const base = { uuid: hello.uuid, data: { address, retryCount: hello.retryCount } };

    if (hello.kind === 'psk') {
      await events.emit({
        ...base,
        level: 'warn',
        type: 'hello.dropped.psk',
        message: 'PSK hello dropped: only PKI (certificate-based) provisioning is supported',
      });
      return { action: 'dropped', reason: 'psk' };
    }

    const computer = await store.getComputer(hello.uuid);
    if (!computer) {
      await events.emit({
        ...base,
        level: 'warn',
        type: 'hello.dropped.unknown-uuid',
        message: 'hello dropped: this UUID was not imported for out-of-band management',
      });
      return { action: 'dropped', reason: 'unknown-uuid' };
    }

    const matches = matchHelloHashes(hello.hashes, await store.listProvisioningCertificates());
    const existing = await store.getDevice(hello.uuid);
    await store.upsertDevice(hello.uuid, {
      address,
      lastHelloAt: at,
      ...(existing ? {} : { status: 'discovered' as const }),
    });
    if (matches.length === 0) {
      await events.emit({
        ...base,
        level: 'warn',
        type: 'hello.dropped.no-root-match',
        message: 'hello dropped: no hash in it equals the root hash of an enabled provisioning certificate',
        data: { ...base.data, algorithms: [...new Set(hello.hashes.map((h) => h.algorithm))] },
      });
      return { action: 'dropped', reason: 'no-root-match' };
    }

    const info: AcceptedHello = {
      uuid: hello.uuid,
      address,
      retryCount: hello.retryCount,
      algorithms: [...new Set(hello.hashes.map((h) => h.algorithm))],
      matches,
      receivedAt: at,
    };
    accepted.set(hello.uuid, info);
    const { job, created } = await store.enqueueJob(hello.uuid, 'hello');
    // A provisioned device stays `provisioned` until its job finds out more: a late hello (sent
    // before the provisioning finished) must not make it look unprovisioned.
    if (created && existing?.status !== 'provisioned')
      await store.upsertDevice(hello.uuid, { status: 'queued' });
    await events.emit({
      uuid: hello.uuid,
      jobId: job.id,
      level: created ? 'info' : 'debug',
      type: HELLO_ACCEPTED_EVENT,
      message: created ? 'hello accepted: job queued' : 'hello accepted: the device already has a job',
      data: { ...info, jobCreated: created },
    });
    opts.onQueued?.(job, created);
    return { action: 'queued', job, created };
  }

  return { handle, lastAccepted: (uuid) => accepted.get(uuid) };
}
