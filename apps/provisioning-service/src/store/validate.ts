import { isSecretKey, redactSecrets } from '../secrets/redact.js';
import { StoreInputError } from './errors.js';
import {
  type AmtCredential,
  DEVICE_STATUSES,
  type DeviceRecord,
  type DeviceUuid,
  type EventLevel,
  type HelloRecord,
  type ImportedComputer,
  type JobReason,
  type NewSiteEvent,
  type SecretKind,
  type SecretState,
  type SiteEvent,
  type StoredProvisioningCertificate,
} from './types.js';

/*
 * What every backend accepts, and refuses with which `StoreInputError`: the stores run these
 * checks before they touch their database, so a call is refused alike whichever backend runs it.
 */

export const EVENT_LEVELS: readonly EventLevel[] = ['debug', 'info', 'warn', 'error'];
export const JOB_REASONS: readonly JobReason[] = ['hello', 'manual', 'retry', 'unprovision', 'in-band'];
/** The states `finishJob` may end a job in. */
export const FINAL_STATES = ['succeeded', 'failed', 'cancelled'] as const;
export const SECRET_KINDS: readonly SecretKind[] = ['admin', 'mebx', 'directory'];
export const SECRET_STATES: readonly SecretState[] = ['pending', 'current', 'retired'];
/** What `listSecrets` returns without `states`: what a login should try. */
const DEFAULT_SECRET_STATES: readonly SecretState[] = ['current', 'pending'];
export const HASH_ALGORITHMS = ['sha1', 'sha256', 'sha384'] as const;
/** Rows a list returns without a `limit`, and the most it returns with one. */
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 10_000;

/**
 * A backend's own rule for text it stores as it is (PostgreSQL: no U+0000, which its text
 * columns cannot hold); returns the text or throws `StoreInputError`. The default accepts all.
 */
export type StorableText = (v: string, field: string) => string;
const anyText: StorableText = (v) => v;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export function isDeviceUuid(v: string): boolean {
  return UUID.test(v.toLowerCase());
}

/** Lower-cases a UUID (the canonical form `@oobkit/hello` decodes) or throws `StoreInputError`. */
export function normalizeUuid(v: unknown, field = 'uuid', index?: number): DeviceUuid {
  // Most UUIDs arrive canonical already (the flow passes the store's own back): one test, no copy.
  if (typeof v === 'string' && UUID.test(v)) return v;
  if (typeof v !== 'string' || !isDeviceUuid(v)) {
    throw new StoreInputError(`${field} must be a UUID like 8-4-4-4-12 hex digits`, field, index);
  }
  return v.toLowerCase();
}

export function isHostName(v: string): boolean {
  return DNS_LABEL.test(v);
}

export function isDomainName(v: string): boolean {
  return v.length <= 253 && v.split('.').every((l) => DNS_LABEL.test(l));
}

export function validateComputer(input: unknown, index?: number): Omit<ImportedComputer, 'importedAt'> {
  const at = index === undefined ? 'computer' : `computers[${index}]`;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new StoreInputError(`${at} must be an object`, at, index);
  }
  const c = input as Record<string, unknown>;
  // A missing field is named as missing, not as malformed.
  for (const field of ['uuid', 'hostName', 'domainName'] as const) {
    if (c[field] === undefined || c[field] === null) {
      throw new StoreInputError(`${at}.${field} is required`, `${at}.${field}`, index);
    }
  }
  const uuid = normalizeUuid(c.uuid, `${at}.uuid`, index);
  if (typeof c.hostName !== 'string' || !isHostName(c.hostName)) {
    throw new StoreInputError(
      `${at}.hostName must be one DNS label (1–63 letters, digits, hyphens)`,
      `${at}.hostName`,
      index,
    );
  }
  if (typeof c.domainName !== 'string' || !isDomainName(c.domainName)) {
    throw new StoreInputError(`${at}.domainName must be a DNS domain name`, `${at}.domainName`, index);
  }
  const out: Omit<ImportedComputer, 'importedAt'> = {
    uuid,
    hostName: c.hostName,
    domainName: c.domainName,
    source:
      c.source === undefined ? 'import' : (oneOfSource(c.source, at, index) as ImportedComputer['source']),
  };
  // No OU: left out, empty, or null (as JSON exports often write it).
  if (c.ou !== undefined && c.ou !== null && c.ou !== '') {
    if (typeof c.ou !== 'string' || c.ou.length > 1024 || hasControl(c.ou)) {
      throw new StoreInputError(`${at}.ou must be text without control characters`, `${at}.ou`, index);
    }
    out.ou = c.ou;
  }
  return out;
}

function oneOfSource(v: unknown, at: string, index?: number): string {
  if (v !== 'import' && v !== 'registration') {
    throw new StoreInputError(`${at}.source must be import or registration`, `${at}.source`, index);
  }
  return v;
}

export function validateCredential(input: Omit<AmtCredential, 'id'>): Omit<AmtCredential, 'id'> {
  text(input.label, 'label', 1, 100);
  if (typeof input.username !== 'string' || !/^[\x21-\x7e]{1,16}$/.test(input.username)) {
    throw new StoreInputError('username must be 1–16 printable ASCII characters', 'username');
  }
  // Factory passwords (`admin`) do not meet the policy, so only the length AMT accepts is checked.
  if (typeof input.password !== 'string' || input.password.length < 1 || input.password.length > 32) {
    throw new StoreInputError('password must be 1–32 characters', 'password');
  }
  if (!Number.isSafeInteger(input.priority))
    throw new StoreInputError('priority must be an integer', 'priority');
  return { label: input.label, username: input.username, password: input.password, priority: input.priority };
}

const HEX = { sha1: 40, sha256: 64, sha384: 96 } as const;

export function validateCertificate(
  input: Omit<StoredProvisioningCertificate, 'id' | 'createdAt'>,
): Omit<StoredProvisioningCertificate, 'id' | 'createdAt'> {
  text(input.name, 'name', 1, 200);
  if (typeof input.certPem !== 'string' || !input.certPem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new StoreInputError('certPem must hold PEM certificates', 'certPem');
  }
  if (typeof input.keyPem !== 'string' || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(input.keyPem)) {
    throw new StoreInputError('keyPem must hold a PEM private key', 'keyPem');
  }
  if (typeof input.rootHashes !== 'object' || input.rootHashes === null) {
    throw new StoreInputError('rootHashes must be an object', 'rootHashes');
  }
  const rootHashes = { sha1: '', sha256: '', sha384: '' };
  for (const alg of ['sha1', 'sha256', 'sha384'] as const) {
    const h = input.rootHashes[alg];
    if (typeof h !== 'string' || !new RegExp(`^[0-9a-fA-F]{${HEX[alg]}}$`).test(h)) {
      throw new StoreInputError(`rootHashes.${alg} must be ${HEX[alg]} hex digits`, `rootHashes.${alg}`);
    }
    rootHashes[alg] = h.toLowerCase();
  }
  if (typeof input.enabled !== 'boolean')
    throw new StoreInputError('enabled must be true or false', 'enabled');
  return {
    name: input.name,
    certPem: input.certPem,
    keyPem: input.keyPem,
    rootHashes,
    enabled: input.enabled,
  };
}

export function text(v: unknown, field: string, min: number, max: number): string {
  if (typeof v !== 'string' || v.length < min || v.length > max || hasControl(v)) {
    throw new StoreInputError(`${field} must be ${min}–${max} characters of text`, field);
  }
  return v;
}

export function oneOf<T extends string>(v: unknown, allowed: readonly T[], field: string): T {
  if (!allowed.includes(v as T))
    throw new StoreInputError(`${field} must be one of ${allowed.join(', ')}`, field);
  return v as T;
}

/** Free text up to 4000 characters (messages may span lines). */
export function message(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length > 4000)
    throw new StoreInputError(`${field} must be text up to 4000 characters`, field);
  return v;
}

export function intArg(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new StoreInputError(`${field} must be a non-negative integer`, field);
  }
  return v;
}

export function positiveInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new StoreInputError(`${field} must be a positive integer`, field);
  }
  return v;
}

/** A list's `limit`: the default when left out, else a positive integer, capped. */
export function limitArg(v: number | undefined): number {
  if (v === undefined) return DEFAULT_LIST_LIMIT;
  positiveInt(v, 'limit');
  return Math.min(v, MAX_LIST_LIMIT);
}

/** An ISO 8601 time (any offset; stored as given). */
function isoTime(v: unknown, field: string, storable: StorableText): string {
  if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) {
    throw new StoreInputError(`${field} must be an ISO 8601 time`, field);
  }
  return storable(v, field);
}

/** `pruneEvents`' `before`, as the stored spelling of the instant it names (an offset is allowed). */
export function cutoffArg(before: unknown, storable: StorableText = anyText): string {
  return new Date(Date.parse(isoTime(before, 'before', storable))).toISOString();
}

/**
 * The most computers one import takes (the admin API's JSON schema says the same): one import is
 * one transaction, and a bigger one would hold the store for seconds. Split larger files.
 */
export const MAX_IMPORT_COMPUTERS = 100_000;

/** `importComputers`' list, each computer checked and no UUID twice. */
export function validateComputers(list: unknown): Omit<ImportedComputer, 'importedAt'>[] {
  if (!Array.isArray(list)) throw new StoreInputError('computers must be an array', 'computers');
  if (list.length > MAX_IMPORT_COMPUTERS) {
    throw new StoreInputError(
      `one import takes at most ${MAX_IMPORT_COMPUTERS} computers, not ${list.length}: split the file`,
      'computers',
    );
  }
  const clean = list.map((c, i) => validateComputer(c, i));
  const seen = new Map<string, number>();
  clean.forEach((c, i) => {
    const first = seen.get(c.uuid);
    if (first !== undefined) {
      throw new StoreInputError(
        `computers[${i}].uuid repeats computers[${first}].uuid`,
        `computers[${i}].uuid`,
        i,
      );
    }
    seen.set(c.uuid, i);
  });
  return clean;
}

/** The device CA `putDeviceCaIfAbsent` stores: a PEM certificate and a PEM private key. */
export function validateDeviceCa(
  ca: unknown,
  storable: StorableText = anyText,
): { certPem: string; keyPem: string } {
  const { certPem, keyPem } = (ca ?? {}) as Record<string, unknown>;
  if (typeof certPem !== 'string' || !certPem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new StoreInputError('certPem must be a PEM certificate', 'certPem');
  }
  storable(certPem, 'certPem');
  if (typeof keyPem !== 'string' || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyPem)) {
    throw new StoreInputError('keyPem must be a PEM private key', 'keyPem');
  }
  return { certPem, keyPem };
}

/** `addPendingSecret`'s arguments: the device, one of the kinds, and a value of 1–4096 characters. */
export function validateNewSecret(
  uuid: unknown,
  kind: unknown,
  value: unknown,
): { uuid: DeviceUuid; kind: SecretKind; value: string } {
  const owner = normalizeUuid(uuid);
  oneOf(kind, SECRET_KINDS, 'kind');
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096) {
    throw new StoreInputError('value must be 1–4096 characters', 'value');
  }
  return { uuid: owner, kind: kind as SecretKind, value };
}

/** `listSecrets`' options: the states (default current and pending) and the kind, if any. */
export function validateSecretFilter(opts: { kind?: SecretKind; states?: SecretState[] }): {
  kind: SecretKind | undefined;
  states: readonly SecretState[];
} {
  const states = opts.states ?? DEFAULT_SECRET_STATES;
  for (const s of states) oneOf(s, SECRET_STATES, 'states');
  if (opts.kind !== undefined) oneOf(opts.kind, SECRET_KINDS, 'kind');
  return { kind: opts.kind, states };
}

/** `recordStep`'s step and journal (its events go through `validateEvents`). */
export function validateStepUpdate(update: { step?: string; journal?: Record<string, unknown> }): void {
  if (update.step !== undefined) text(update.step, 'step', 1, 200);
  if (update.journal !== undefined && (typeof update.journal !== 'object' || update.journal === null)) {
    throw new StoreInputError('journal must be an object', 'journal');
  }
}

export function validateError(e: unknown, field: string): { code: string; message: string; step?: string } {
  if (typeof e !== 'object' || e === null) throw new StoreInputError(`${field} must be an object`, field);
  const o = e as Record<string, unknown>;
  const out: { code: string; message: string; step?: string } = {
    code: text(o.code, `${field}.code`, 1, 200),
    message: message(o.message, `${field}.message`),
  };
  if (o.step !== undefined) out.step = text(o.step, `${field}.step`, 1, 200);
  return out;
}

export function validateHelloRecord(v: unknown): HelloRecord {
  const h = v as Partial<HelloRecord> | null;
  const bad = (why: string) => new StoreInputError(`lastHello ${why}`, 'lastHello');
  if (typeof h !== 'object' || h === null) throw bad('must be an object');
  if (!Number.isSafeInteger(h.retryCount) || (h.retryCount as number) < 0)
    throw bad('retryCount must be a count');
  if (typeof h.receivedAt !== 'string' || Number.isNaN(Date.parse(h.receivedAt))) {
    throw bad('receivedAt must be an ISO 8601 time');
  }
  if (
    !Array.isArray(h.algorithms) ||
    h.algorithms.some((a: unknown) => !HASH_ALGORITHMS.includes(a as 'sha1'))
  ) {
    throw bad('algorithms must be sha1, sha256 or sha384');
  }
  if (!Array.isArray(h.matches) || h.matches.length > 100) throw bad('matches must be a list');
  const matches = h.matches.map((m: HelloRecord['matches'][number] | null) => {
    if (
      typeof m !== 'object' ||
      m === null ||
      !Number.isSafeInteger(m.certificateId) ||
      !HASH_ALGORITHMS.includes(m.algorithm) ||
      typeof m.hash !== 'string' ||
      !/^[0-9a-f]{40,96}$/.test(m.hash)
    ) {
      throw bad('matches must be { certificateId, algorithm, hash (lower-case hex) }');
    }
    return { certificateId: m.certificateId, algorithm: m.algorithm, hash: m.hash };
  });
  if (
    h.address !== undefined &&
    (typeof h.address !== 'string' || h.address.length > 64 || hasControl(h.address))
  )
    throw bad('address must be an IP address');
  return {
    retryCount: h.retryCount as number,
    algorithms: [...h.algorithms],
    matches,
    receivedAt: h.receivedAt,
    ...(h.address !== undefined ? { address: h.address } : {}),
  };
}

/** The fields a device patch may carry, checked; a field present with `undefined` clears it. */
export type DevicePatch = Partial<Omit<DeviceRecord, 'uuid' | 'updatedAt'>>;

export function validateDevicePatch(patch: DevicePatch, storable: StorableText = anyText): DevicePatch {
  if (typeof patch !== 'object' || patch === null)
    throw new StoreInputError('patch must be an object', 'patch');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(patch)) {
    switch (k) {
      case 'status':
        if (v === undefined) throw new StoreInputError('status cannot be cleared', 'status');
        out.status = oneOf(v, DEVICE_STATUSES, 'status');
        break;
      case 'address':
      case 'amtVersion':
        out[k] = v === undefined ? undefined : text(v, k, 1, 200);
        break;
      case 'lastHelloAt':
      case 'provisionedAt':
        out[k] = v === undefined ? undefined : isoTime(v, k, storable);
        break;
      case 'lastError':
        out.lastError = v === undefined ? undefined : validateError(v, 'lastError');
        break;
      case 'lastHello':
        out.lastHello = v === undefined ? undefined : validateHelloRecord(v);
        break;
      default:
        throw new StoreInputError(`unknown device field ${k}`, k);
    }
  }
  return out as DevicePatch;
}

export interface EventRules {
  /**
   * The data is only serialised, right away, by the caller: then data with nothing to scrub is
   * used as it is, not copied. Without it the event keeps a scrubbed copy.
   */
  share?: boolean;
  storable?: StorableText;
}

/** A new event checked and completed (`at` defaults to `nowIso`), its data scrubbed of secrets. */
export function validateEvent(
  e: NewSiteEvent,
  nowIso: string,
  rules: EventRules = {},
): Omit<SiteEvent, 'id'> {
  const storable = rules.storable ?? anyText;
  if (typeof e !== 'object' || e === null) throw new StoreInputError('event must be an object', 'event');
  const at: unknown = e.at === undefined ? nowIso : e.at;
  const level = oneOf(e.level, EVENT_LEVELS, 'level');
  const type = text(e.type, 'type', 1, 200);
  const out: Omit<SiteEvent, 'id'> = {
    at: '',
    level,
    type,
    message: storable(message(e.message, 'message'), 'message'),
  };
  out.at = isoTime(at, 'at', storable);
  if (e.uuid !== undefined) out.uuid = normalizeUuid(e.uuid);
  if (e.jobId !== undefined) out.jobId = intArg(e.jobId, 'jobId');
  if (e.step !== undefined) out.step = text(e.step, 'step', 1, 200);
  if (e.durationMs !== undefined) {
    if (typeof e.durationMs !== 'number' || !Number.isFinite(e.durationMs) || e.durationMs < 0) {
      throw new StoreInputError('durationMs must be a non-negative number', 'durationMs');
    }
    out.durationMs = e.durationMs;
  }
  if (e.data !== undefined) {
    if (typeof e.data !== 'object' || e.data === null || Array.isArray(e.data)) {
      throw new StoreInputError('data must be an object', 'data');
    }
    // Events never carry a secret: scrub secret-named keys even if a caller slipped one in. Data
    // that is only serialised (`share`) and has nothing to scrub is used as it is.
    out.data = rules.share && !needsRedaction(e.data, 0) ? e.data : redactSecrets(e.data);
  }
  return out;
}

/**
 * A batch of events (`recordStep`, `finishJob`) checked up front, so a bad one changes nothing.
 * Those without a time all get the same one, `nowIso()` read once, when the first is met.
 */
export function validateEvents(
  list: readonly NewSiteEvent[] | undefined,
  nowIso: () => string,
  rules: EventRules = {},
): Omit<SiteEvent, 'id'>[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new StoreInputError('events must be an array', 'events');
  let now: string | undefined;
  return list.map((e) => {
    if (e?.at === undefined) now ??= nowIso();
    return validateEvent(e, now ?? '', rules);
  });
}

const secretKeyCache = new Map<string, boolean>();

function secretKey(k: string): boolean {
  let hit = secretKeyCache.get(k);
  if (hit === undefined) {
    if (secretKeyCache.size >= 4096) secretKeyCache.clear();
    hit = isSecretKey(k);
    secretKeyCache.set(k, hit);
  }
  return hit;
}

/**
 * Whether `redactSecrets` would change how `v` serialises: a secret-named key in a plain object
 * or array at any depth, or a buffer, an error or a `toJSON` key there (it rewrites those). Deep
 * nesting (a cycle, say) answers true, and the full redaction sorts it out. Class instances are
 * not looked into, as `redactSecrets` leaves them alone too.
 */
export function needsRedaction(v: unknown, depth: number): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (depth > 32 || Buffer.isBuffer(v) || ArrayBuffer.isView(v) || v instanceof Error) return true;
  if (Array.isArray(v)) {
    if ((v as { toJSON?: unknown }).toJSON !== undefined) return true;
    for (const x of v) if (needsRedaction(x, depth + 1)) return true;
    return false;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k === 'toJSON' || secretKey(k) || needsRedaction(o[k], depth + 1)) return true;
  }
  return false;
}
