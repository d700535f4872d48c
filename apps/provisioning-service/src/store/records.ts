/**
 * Rows and records: how every backend maps the rows of the site's tables (the same columns in
 * each) to the records of `types.ts` and back, and the rules that decide what a row becomes
 * (a device patch merged, a job journal merged, the fencing check). NULL is a field left out.
 */

import { StoreInputError, StoreNotFoundError } from './errors.js';
import { SETTINGS_AAD } from './sealing.js';
import { joinSettings, type SettingsSecrets, splitSettings } from './settings.js';
import {
  type AmtCredential,
  type DeviceRecord,
  type DeviceSecret,
  type DeviceUuid,
  type ImportedComputer,
  type Job,
  type ProvisioningCertificateInfo,
  type ProvisioningSettings,
  type SiteEvent,
  StaleLeaseError,
} from './types.js';
import type { DevicePatch } from './validate.js';

/** Columns that may be NULL (an optional field left out). */
type Nullable<R> = { [K in keyof R]: R[K] | null };

export type ComputerRow = Pick<ImportedComputer, 'uuid' | 'source'> & {
  host_name: string;
  domain_name: string;
  imported_at: string;
} & Nullable<{ ou: string }>;

export type CredentialRow = Omit<AmtCredential, 'password'> & { password_enc: Buffer };

/** `enabled` is 0/1 where the database has no boolean. */
export type CertificateRow = Pick<ProvisioningCertificateInfo, 'id' | 'name'> & {
  cert_pem: string;
  key_enc?: Buffer;
  root_sha1: string;
  root_sha256: string;
  root_sha384: string;
  enabled: boolean | number;
  created_at: string;
};

/** `last_hello` and `last_error` hold JSON. */
export type DeviceRow = Pick<DeviceRecord, 'uuid' | 'status'> & { updated_at: string } & Nullable<{
    address: string;
    amt_version: string;
    last_hello_at: string;
    last_hello: string;
    provisioned_at: string;
    last_error: string;
  }>;

export type SecretRow = Pick<DeviceSecret, 'id' | 'uuid' | 'kind' | 'state'> & {
  value_enc: Buffer;
  created_at: string;
} & Nullable<{ confirmed_at: string }>;

/** `data` holds JSON. */
export type EventRow = Pick<SiteEvent, 'id' | 'at' | 'level' | 'type' | 'message'> &
  Nullable<{ uuid: string; job_id: number; step: string; duration_ms: number; data: string }>;

/** `journal` and `last_error` hold JSON. */
export type JobRow = Pick<Job, 'id' | 'uuid' | 'reason' | 'state' | 'attempts'> & {
  journal: string;
  fencing_token: number;
  created_at: string;
  updated_at: string;
} & Nullable<{ step: string; lease_owner: string; lease_expires_at: string; last_error: string }>;

// ---- rows to records ---------------------------------------------------------------------

export function toComputer(r: ComputerRow): ImportedComputer {
  const c: ImportedComputer = {
    uuid: r.uuid,
    hostName: r.host_name,
    domainName: r.domain_name,
    source: r.source,
    importedAt: r.imported_at,
  };
  if (r.ou !== null) c.ou = r.ou;
  return c;
}

export function toCredential(r: CredentialRow, password: string): AmtCredential {
  return { id: r.id, label: r.label, username: r.username, password, priority: r.priority };
}

export function toCertificateInfo(r: CertificateRow): ProvisioningCertificateInfo {
  return {
    id: r.id,
    name: r.name,
    certPem: r.cert_pem,
    rootHashes: { sha1: r.root_sha1, sha256: r.root_sha256, sha384: r.root_sha384 },
    enabled: r.enabled === true || r.enabled === 1,
    createdAt: r.created_at,
  };
}

export function toDevice(r: DeviceRow): DeviceRecord {
  const d: DeviceRecord = { uuid: r.uuid, status: r.status, updatedAt: r.updated_at };
  if (r.address !== null) d.address = r.address;
  if (r.amt_version !== null) d.amtVersion = r.amt_version;
  if (r.last_hello_at !== null) d.lastHelloAt = r.last_hello_at;
  if (r.last_hello !== null && r.last_hello !== undefined) d.lastHello = JSON.parse(r.last_hello);
  if (r.provisioned_at !== null) d.provisionedAt = r.provisioned_at;
  if (r.last_error !== null) d.lastError = JSON.parse(r.last_error);
  return d;
}

export function toSecret(r: SecretRow, value: string): DeviceSecret {
  const out: DeviceSecret = {
    id: r.id,
    uuid: r.uuid,
    kind: r.kind,
    state: r.state,
    value,
    createdAt: r.created_at,
  };
  if (r.confirmed_at) out.confirmedAt = r.confirmed_at;
  return out;
}

export function toEvent(r: EventRow): SiteEvent {
  const e: SiteEvent = { id: r.id, at: r.at, level: r.level, type: r.type, message: r.message };
  if (r.uuid !== null) e.uuid = r.uuid;
  if (r.job_id !== null) e.jobId = r.job_id;
  if (r.step !== null) e.step = r.step;
  if (r.duration_ms !== null) e.durationMs = r.duration_ms;
  if (r.data !== null) e.data = JSON.parse(r.data);
  return e;
}

export function toJob(r: JobRow): Job {
  const j: Job = {
    id: r.id,
    uuid: r.uuid,
    reason: r.reason,
    state: r.state,
    journal: JSON.parse(r.journal),
    attempts: r.attempts,
    fencingToken: r.fencing_token,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
  if (r.step !== null) j.step = r.step;
  if (r.lease_owner !== null) j.leaseOwner = r.lease_owner;
  if (r.lease_expires_at !== null) j.leaseExpiresAt = r.lease_expires_at;
  if (r.last_error !== null) j.lastError = JSON.parse(r.last_error);
  return j;
}

/**
 * The settings row: `doc` is the settings without their secrets (JSON), `secrets_enc` the secrets
 * (JSON) sealed; `open` opens a sealed record.
 */
export function toSettings(
  r: { doc: string; secrets_enc: Buffer },
  open: (record: Buffer, aad: string) => string,
): ProvisioningSettings {
  const secrets = JSON.parse(open(r.secrets_enc, SETTINGS_AAD)) as SettingsSecrets;
  return joinSettings(JSON.parse(r.doc), secrets);
}

// ---- records to rows ---------------------------------------------------------------------

/** The settings row's `doc` and `secrets_enc` (see `toSettings`); `seal` seals a record. */
export function settingsValues(
  s: ProvisioningSettings,
  seal: (value: string, aad: string) => Buffer,
): [doc: string, secretsEnc: Buffer] {
  const { doc, secrets } = splitSettings(s);
  return [JSON.stringify(doc), seal(JSON.stringify(secrets), SETTINGS_AAD)];
}

/**
 * `upsertDevice`'s merge: the stored device (or a new `discovered` one) with a checked patch on
 * top, stamped `at`. A key present with `undefined` clears that field (e.g. `lastError` after a
 * success).
 */
export function mergeDevice(
  stored: DeviceRecord | undefined,
  uuid: DeviceUuid,
  patch: DevicePatch,
  at: string,
): DeviceRecord {
  const merged: DeviceRecord = { ...(stored ?? { uuid, status: 'discovered' }), updatedAt: at };
  const fields = merged as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete fields[k];
    else fields[k] = v;
  }
  return merged;
}

/** The `devices` columns, in the order `deviceValues` gives their values. */
export const DEVICE_COLUMNS =
  'uuid, status, address, amt_version, last_hello_at, last_hello, provisioned_at, last_error, updated_at';

export function deviceValues(d: DeviceRecord): unknown[] {
  return [
    d.uuid,
    d.status,
    d.address ?? null,
    d.amtVersion ?? null,
    d.lastHelloAt ?? null,
    d.lastHello ? JSON.stringify(d.lastHello) : null,
    d.provisionedAt ?? null,
    d.lastError ? JSON.stringify(d.lastError) : null,
    d.updatedAt,
  ];
}

/** The `events` columns an INSERT writes, in the order `pushEventValues` gives their values. */
export const EVENT_COLUMNS = 'at, level, type, uuid, job_id, step, message, duration_ms, data';
export const EVENT_COLUMN_COUNT = 9;

/** Appends an event's column values to `out` (NULL for a field left out). */
export function pushEventValues(out: unknown[], ev: Omit<SiteEvent, 'id'>): void {
  out.push(
    ev.at,
    ev.level,
    ev.type,
    ev.uuid ?? null,
    ev.jobId ?? null,
    ev.step ?? null,
    ev.message,
    ev.durationMs ?? null,
    ev.data === undefined ? null : JSON.stringify(ev.data),
  );
}

/**
 * recordStep's journal merge, as stored: the stored journal parsed, the update `Object.assign`ed
 * onto it (each key replaces that key's entry whole; a new key goes last; a value JSON leaves
 * out, like `undefined`, drops its key; `null` stays), then stringified. The object stays local
 * to this call, so a `__proto__` key of the update (which `Object.assign` takes as the
 * prototype) affects nothing outside it.
 */
export function mergeJournal(stored: string, update: Record<string, unknown>): string {
  const journal: Record<string, unknown> = JSON.parse(stored);
  return JSON.stringify(Object.assign(journal, update));
}

// ---- rules -------------------------------------------------------------------------------

/**
 * The fencing check on the job row as the caller's transaction read it: the job must be running
 * under exactly this token. A reclaimed job has a higher token, so the old worker's writes are
 * refused; an expired lease nobody reclaimed still passes, as its token is still the newest.
 * With `uuid`, the job must be that device's.
 */
export function checkLease(
  job: Pick<JobRow, 'uuid' | 'state' | 'fencing_token'> | undefined,
  jobId: number,
  fencingToken: number,
  uuid?: string,
): void {
  if (!job) throw new StoreNotFoundError('job', jobId);
  if (job.state !== 'running' || job.fencing_token !== fencingToken) throw new StaleLeaseError(jobId);
  if (uuid !== undefined && job.uuid !== uuid) {
    throw new StoreInputError(`job ${jobId} belongs to another device`, 'jobId');
  }
}

/** A count for each of `keys` (zero when no row has it) from `{ k, n }` rows of a GROUP BY. */
export function tally<K extends string>(
  keys: readonly K[],
  rows: ReadonlyArray<{ k: string; n: number }>,
): Record<K, number> {
  const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const r of rows) if ((keys as readonly string[]).includes(r.k)) out[r.k as K] = r.n;
  return out;
}
