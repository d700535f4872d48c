/**
 * The site store: everything the provisioning service records about a site. An interface, so a
 * PostgreSQL backend can replace the embedded SQLite one; every method is async for that reason.
 *
 * Secrets (passwords, private keys, PSKs) go in and come out as plaintext at this boundary; the
 * implementation encrypts them at rest (AES-256-GCM, per-record nonce) with a key from a
 * `SecretKeyProvider`. Nothing above the store ever sees ciphertext, and nothing below it ever
 * logs plaintext.
 */

import { ServiceError } from './errors.js';

/** Canonical lower-case UUID string, as `@oobkit/hello` decodes it. */
export type DeviceUuid = string;

/** A computer the administrator imported for out-of-band management (flow A.2). */
export interface ImportedComputer {
  uuid: DeviceUuid;
  /** Host name AMT gets (flow A.7.2), e.g. `pc-0042`. */
  hostName: string;
  /** DNS domain AMT gets, e.g. `corp.example.com`. */
  domainName: string;
  /** Directory container / OU for the AMT account (flow A.6); optional. */
  ou?: string;
  /** `import` (admin import) or `registration` (in-band discovery, flow B). */
  source: 'import' | 'registration';
  importedAt: string; // ISO 8601
}

/** AMT provisioning / discovery credentials tried in order (flow A.5). */
export interface AmtCredential {
  id: number;
  label: string;
  username: string;
  password: string; // plaintext at this boundary, encrypted at rest
  /** Lower tries first. */
  priority: number;
}

export type PowerBehaviour = 'SP1' | 'SP2';

export interface UserAclSetting {
  /** Digest user (1–16 ASCII) or, with `kerberosSid`, an AD user/group. */
  username?: string;
  password?: string; // secret
  kerberosSid?: string; // base64 binary SID
  /** 0 local, 1 network, 2 both. */
  accessPermission: 0 | 1 | 2;
  /** AMT realm numbers (amt-protocol.md §5). */
  realms: number[];
}

export interface WifiProfileSetting {
  name: string;
  ssid: string;
  priority: number;
  /** CIM_WiFiEndpointSettings AuthenticationMethod (4 WPA PSK, 6 WPA2 PSK, 5/7 802.1X …). */
  authenticationMethod: number;
  /** EncryptionMethod (3 TKIP, 4 CCMP …). */
  encryptionMethod: number;
  pskPassphrase?: string; // secret
}

export interface Wired8021xSetting {
  enabled: boolean;
  authenticationProtocol: number;
  serverCertificateName?: string;
  username?: string;
  password?: string; // secret
}

/** Site-wide provisioning settings (the console's "out-of-band management" properties). */
export interface ProvisioningSettings {
  features: { ping: boolean; webUi: boolean; sol: boolean; ider: boolean };
  userAcls: UserAclSetting[];
  kerberos: { enabled: boolean };
  powerBehaviour: PowerBehaviour;
  /** SP2: the scheme to set (ConfigMgr numbering, see the flow's power table). */
  powerScheme: number;
  wifiProfiles: WifiProfileSetting[];
  wired8021x?: Wired8021xSetting;
  /** The strong MEBx password created at the console (flow A.7.5); secret. */
  mebxPassword: string;
  /** AMT admin account name (always `admin` on real AMT). */
  adminUsername: string;
}

/** A provisioning certificate chain the service may present (flow A.3). */
export interface StoredProvisioningCertificate extends ProvisioningCertificateInfo {
  keyPem: string; // secret
}

/** A provisioning certificate without its private key: what hello matching and listings need. */
export interface ProvisioningCertificateInfo {
  id: number;
  name: string;
  /** leaf → root PEM. */
  certPem: string;
  /** Lower-case hex thumbprints of the root, for matching hello hashes without parsing. */
  rootHashes: { sha1: string; sha256: string; sha384: string };
  enabled: boolean;
  createdAt: string;
}

/** Every device status, in lifecycle order (`discovered`: a hello arrived, nothing done yet). */
export const DEVICE_STATUSES = [
  'discovered',
  'queued',
  'provisioning',
  'provisioned',
  'failed',
  'unprovisioned',
] as const;

export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

/** What the site knows of one AMT device (flow A.9 "report"). */
/** What a worker needs of a device's last accepted hello: which chains its hashes matched. */
export interface HelloRecord {
  retryCount: number;
  /** Hash algorithms the hello carried (SHA-1 only: pre-AMT 11 firmware). */
  algorithms: Array<'sha1' | 'sha256' | 'sha384'>;
  matches: Array<{ certificateId: number; algorithm: 'sha1' | 'sha256' | 'sha384'; hash: string }>;
  receivedAt: string;
  /**
   * Where it came from. For a device on record as provisioned this may differ from the
   * device's `address` (a hello does not move it): a job an operator starts goes here.
   */
  address?: string;
}

export interface DeviceRecord {
  uuid: DeviceUuid;
  status: DeviceStatus;
  /** Address AMT's last hello came from (the service connects back to it). */
  address?: string;
  amtVersion?: string;
  lastHelloAt?: string;
  /**
   * The last hello accepted for provisioning (kept here, not only in the event log, which is
   * throttled and pruned): a worker in another instance, or after a restart, chooses the chain
   * from it.
   */
  lastHello?: HelloRecord;
  provisionedAt?: string;
  lastError?: { code: string; message: string; step?: string };
  updatedAt: string;
}

export type SecretKind = 'admin' | 'mebx' | 'directory';
export type SecretState = 'pending' | 'current' | 'retired';

/** A device secret. Stored `pending` before it is written anywhere, `current` once confirmed. */
export interface DeviceSecret {
  id: number;
  uuid: DeviceUuid;
  kind: SecretKind;
  state: SecretState;
  value: string; // plaintext at this boundary
  createdAt: string;
  confirmedAt?: string;
}

export type EventLevel = 'debug' | 'info' | 'warn' | 'error';

/** One line of the event log. Never carries a secret. */
export interface SiteEvent {
  id: number;
  at: string;
  level: EventLevel;
  /** Stable machine-readable type, e.g. `hello.dropped.unknown-uuid`, `step.done`. */
  type: string;
  uuid?: DeviceUuid;
  jobId?: number;
  step?: string;
  message: string;
  durationMs?: number;
  data?: Record<string, unknown>;
}

export type NewSiteEvent = Omit<SiteEvent, 'id' | 'at'> & { at?: string };

export type JobReason = 'hello' | 'manual' | 'retry' | 'unprovision' | 'in-band';
/** Every job state, in lifecycle order. */
export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

export type JobState = (typeof JOB_STATES)[number];

/** A provisioning job: one device, a journal of completed steps, a lease with a fencing token. */
export interface Job {
  id: number;
  uuid: DeviceUuid;
  reason: JobReason;
  state: JobState;
  /** Completed steps and what they produced (no secrets), so a resumed job skips or repeats safely. */
  journal: Record<string, unknown>;
  /** The step being worked on. */
  step?: string;
  attempts: number;
  leaseOwner?: string;
  leaseExpiresAt?: string;
  /** Increments on every claim; every write of a worker carries it and is refused if stale. */
  fencingToken: number;
  lastError?: { code: string; message: string; step?: string };
  createdAt: string;
  updatedAt: string;
}

/** Site-wide counts, for monitoring: every status and state is a key, zero when none. */
export interface SiteCounts {
  devices: Record<DeviceStatus, number>;
  jobs: Record<JobState, number>;
}

/** A claimed job: the worker must present `fencingToken` on every write. */
export interface JobLease {
  job: Job;
  fencingToken: number;
}

export class StaleLeaseError extends ServiceError {
  override readonly name = 'StaleLeaseError';
  override readonly code = 'STORE_STALE_LEASE';
  constructor(readonly jobId: number) {
    super('STORE_STALE_LEASE', `job ${jobId}: the lease was lost (fencing token is stale)`);
  }
}

/**
 * Where the site keeps everything: computers, credentials, settings, certificates, the device
 * CA, devices and their secrets, events and jobs. Implementations: `openSqliteStore` (default)
 * and `openPostgresStore` (several instances on one database); both pass the contract suite in
 * `test/store-contract.ts`, which a new backend runs against itself.
 *
 * What every implementation guarantees:
 * - each call is atomic, alone: it is applied whole or not at all, and any number of calls may
 *   run at once — from one store, from several stores on one database, from other processes and
 *   hosts — with the same results as some order of them one after another (what a caller reads
 *   and then writes in two calls is not protected: the fenced job writes are how a worker stays
 *   the only writer of its job);
 * - bad input is refused with `StoreInputError` (`STORE_INVALID_INPUT`, naming the field) before
 *   anything changes; a secret never appears in an error, and is sealed before it is stored;
 * - times come from the store's clock (`now`), never the database server's; times and ids come
 *   back exactly as the interface types say (ISO 8601 with milliseconds, JS numbers);
 * - event ids grow in the order events become visible, so `listEvents({ afterId })` tails the
 *   log without skipping; a job's journal keeps its keys' order;
 * - `close()` may be called more than once; every other call after it fails with `STORE_CLOSED`.
 */
export interface SiteStore {
  // computers (flow A.2 / B)
  importComputers(
    list: Omit<ImportedComputer, 'importedAt'>[],
  ): Promise<{ created: number; updated: number }>;
  getComputer(uuid: DeviceUuid): Promise<ImportedComputer | undefined>;
  /** Every imported computer by host name, or the first `limit` of them. */
  listComputers(filter?: { limit?: number }): Promise<ImportedComputer[]>;
  deleteComputer(uuid: DeviceUuid): Promise<boolean>;

  // credentials (flow A.5)
  addCredential(c: Omit<AmtCredential, 'id'>): Promise<AmtCredential>;
  listCredentials(): Promise<AmtCredential[]>; // ordered by priority, then id
  deleteCredential(id: number): Promise<boolean>;

  // settings
  getSettings(): Promise<ProvisioningSettings>;
  putSettings(s: ProvisioningSettings): Promise<void>;

  // provisioning certificates (flow A.3)
  addProvisioningCertificate(
    c: Omit<StoredProvisioningCertificate, 'id' | 'createdAt'>,
  ): Promise<StoredProvisioningCertificate>;
  listProvisioningCertificates(): Promise<StoredProvisioningCertificate[]>;
  /** The same list without the private keys: nothing is decrypted (every hello reads it). */
  listProvisioningCertificateInfo(): Promise<ProvisioningCertificateInfo[]>;
  /** Turns a chain on or off for new jobs (a job already running keeps its chain); false if no such id. */
  setProvisioningCertificateEnabled(id: number, enabled: boolean): Promise<boolean>;
  /** Deletes a chain and its sealed key; false if no such id. */
  deleteProvisioningCertificate(id: number): Promise<boolean>;

  // devices (flow A.9)
  upsertDevice(
    uuid: DeviceUuid,
    patch: Partial<Omit<DeviceRecord, 'uuid' | 'updatedAt'>>,
  ): Promise<DeviceRecord>;
  getDevice(uuid: DeviceUuid): Promise<DeviceRecord | undefined>;
  listDevices(filter?: { status?: DeviceStatus }): Promise<DeviceRecord[]>;

  // device secrets (the "no secret is lost" invariant)
  /** Stores a new secret as pending. With `fencingToken`, refused (StaleLeaseError) if the job lost its lease. */
  addPendingSecret(
    uuid: DeviceUuid,
    kind: SecretKind,
    value: string,
    lease?: { jobId: number; fencingToken: number },
  ): Promise<DeviceSecret>;
  /** pending → current; the previous current secret of that kind becomes retired. */
  confirmSecret(secretId: number, lease?: { jobId: number; fencingToken: number }): Promise<void>;
  /**
   * Every pending and current secret of `kind` for the device becomes retired (the device no
   * longer holds them: after a full unprovision, AMT's admin password is `admin` again); returns
   * how many. With `lease`, refused (StaleLeaseError) if the job lost its lease.
   */
  retireSecrets(
    uuid: DeviceUuid,
    kind: SecretKind,
    lease?: { jobId: number; fencingToken: number },
  ): Promise<number>;
  /** Newest first. Default: current and pending (what a login should try). */
  listSecrets(
    uuid: DeviceUuid,
    opts?: { kind?: SecretKind; states?: SecretState[] },
  ): Promise<DeviceSecret[]>;

  // event log
  appendEvent(e: NewSiteEvent): Promise<SiteEvent>;
  listEvents(filter?: {
    uuid?: DeviceUuid;
    jobId?: number;
    afterId?: number;
    limit?: number;
    type?: string;
  }): Promise<SiteEvent[]>;
  /**
   * Deletes the events stamped before `before` (an ISO 8601 time), oldest first, in batches so
   * that writers in other processes get the database between them; how many went.
   */
  pruneEvents(before: string): Promise<number>;

  // jobs
  /** Queues a job unless one is queued or running for the device; then returns that one (`created: false`). */
  enqueueJob(uuid: DeviceUuid, reason: JobReason): Promise<{ job: Job; created: boolean }>;
  /** Claims the oldest queued job, or a running one whose lease expired (a crashed worker's). */
  claimJob(owner: string, leaseMs: number): Promise<JobLease | undefined>;
  renewLease(jobId: number, fencingToken: number, leaseMs: number): Promise<void>; // StaleLeaseError
  /**
   * Gives a running job back unfinished (a worker stopping because its service is closing): the
   * job is `queued` again with its lease cleared (no owner, no expiry), its journal, step and
   * attempts kept, so the next `claimJob` of any owner takes it at once, with the next fencing
   * token, and resumes it from its journal instead of waiting for the lease to expire. Fenced as
   * every worker write is: only the holder of the job's newest token may release it; a stale
   * token, or a job that is no longer running (finished, or released already), is refused with
   * `StaleLeaseError` and an unknown job with `StoreNotFoundError`, changing nothing. Resolves
   * `true` once released (a refusal is always an error, never `false`).
   */
  releaseLease(jobId: number, fencingToken: number): Promise<boolean>; // StaleLeaseError
  /**
   * Journals a completed step (and its non-secret output), and/or records the current step.
   * Each key of `journal` replaces that key's entry whole (a shallow merge, as `Object.assign`).
   * `events` are appended in the same transaction (a worker stores a step's events with its
   * journal entry: one write per step). Returns nothing, so the write never reads the journal
   * back; `getJob` does.
   */
  recordStep(
    jobId: number,
    fencingToken: number,
    update: { step?: string; journal?: Record<string, unknown>; events?: NewSiteEvent[] },
  ): Promise<void>; // StaleLeaseError
  /** Ends the job and clears its lease; `events` are appended in the same transaction. */
  finishJob(
    jobId: number,
    fencingToken: number,
    outcome: {
      state: 'succeeded' | 'failed' | 'cancelled';
      error?: { code: string; message: string; step?: string };
      events?: NewSiteEvent[];
    },
  ): Promise<Job>; // StaleLeaseError
  getJob(id: number): Promise<Job | undefined>;
  listJobs(filter?: { uuid?: DeviceUuid; state?: JobState; limit?: number }): Promise<Job[]>;
  /** How many devices are in each status and jobs in each state, site-wide (every key present). */
  countByState(): Promise<SiteCounts>;

  // the built-in device CA (flow A.7.3)
  /** The site's device CA, its key opened; undefined until one was stored. */
  getDeviceCa(): Promise<{ certPem: string; keyPem: string } | undefined>;
  /**
   * Stores `ca` as the site's device CA unless one is already there, and returns the one that is:
   * two instances creating a CA at once end up using the same one.
   */
  putDeviceCaIfAbsent(ca: { certPem: string; keyPem: string }): Promise<{ certPem: string; keyPem: string }>;

  // secret key rotation
  /**
   * Seals every secret record again under the key provider's current key (re-read from the
   * provider), in one transaction: all records or none. Each record must open with a key of the
   * provider's ring; one that does not fails the whole call with `SECRET_DECRYPT_FAILED` and
   * changes nothing. Afterwards this store seals only with the new key, and other stores on the
   * same database switch to it at their next secret read or write (`SecretKeyProvider.getKeys`).
   */
  reencryptSecrets(): Promise<{ records: number }>;

  close(): Promise<void>;
}
