/**
 * How a site store seals its secrets at rest: an on-disk format every backend shares, so that a
 * database written by one is read by another, and what a key rotation rewrites is the same list
 * everywhere. Records are AES-256-GCM (`sealSecret`), each bound by its AAD to the row it belongs
 * to (a record copied to another row does not open). The `key_check` record of the `meta` table
 * holds `KEY_CHECK_PLAINTEXT` sealed under the key the database's records are sealed under: it
 * tells which key of the provider's ring that is, and refuses a ring without it.
 */

import { openSecret, type SecretKeyProvider, sealSecret, secretKeysOf } from '../secrets/index.js';
import { SecretKeyError } from './errors.js';

export const KEY_CHECK_PLAINTEXT = 'oobkit secret key check v1';
/** The AAD of the key check (its row: `meta`, key `key_check`). */
export const KEY_CHECK_AAD = 'meta:key_check';

// The AAD of each sealed record: the row it belongs to.
export const SETTINGS_AAD = 'settings:1';
export const DEVICE_CA_AAD = 'device_ca:1';
export const credentialAad = (id: number) => `credentials:${id}`;
export const certificateAad = (id: number) => `provisioning_certificates:${id}`;
export const secretAad = (id: number, uuid: string, kind: string) => `device_secrets:${id}:${uuid}:${kind}`;

/**
 * Every sealed column, for `reencryptSecrets`: the columns `select` lists (besides the sealed one)
 * are what `aad` needs of a row.
 */
export const SEALED_COLUMNS: ReadonlyArray<{
  table: string;
  column: string;
  select: string;
  aad: (r: { id: number; uuid?: string; kind?: string }) => string;
}> = [
  { table: 'credentials', column: 'password_enc', select: 'id', aad: (r) => credentialAad(r.id) },
  { table: 'settings', column: 'secrets_enc', select: 'id', aad: () => SETTINGS_AAD },
  { table: 'provisioning_certificates', column: 'key_enc', select: 'id', aad: (r) => certificateAad(r.id) },
  { table: 'device_ca', column: 'key_enc', select: 'id', aad: () => DEVICE_CA_AAD },
  {
    table: 'device_secrets',
    column: 'value_enc',
    select: 'id, uuid, kind',
    aad: (r) => secretAad(r.id, r.uuid ?? '', r.kind ?? ''),
  },
];

/**
 * Tries of a secret read or write while the key file keeps changing under it: each finds a
 * newer ring, so only rotations back to back for all of them can exhaust it.
 */
export const KEY_RELOADS = 5;

/** A sealing write refused because the site's key changed under it (`withKeys` retries it). */
export function keyRotated(): SecretKeyError {
  return new SecretKeyError(
    'SECRET_KEY_ROTATED',
    "the site's secret key was rotated since this store read it; nothing was written",
    KEY_CHECK_AAD,
  );
}

/** The key check record sealed under `key`. */
export function sealKeyCheck(key: Buffer): Buffer {
  return sealSecret(key, KEY_CHECK_PLAINTEXT, KEY_CHECK_AAD);
}

/** Whether `key` opens the key check record. */
function opensKeyCheck(key: Buffer, check: Buffer): boolean {
  try {
    return openSecret(key, check, KEY_CHECK_AAD) === KEY_CHECK_PLAINTEXT;
  } catch {
    return false;
  }
}

function sameKeys(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  return a.length === b.length && a.every((k, i) => k.equals(b[i] as Buffer));
}

/**
 * Opens a record with the sealing key, else any other key of the ring (a rotation under way);
 * when none opens it, the sealing key's error.
 */
export function openRecord(sealing: Buffer, ring: readonly Buffer[], record: Buffer, aad: string): string {
  try {
    return openSecret(sealing, record, aad);
  } catch (err) {
    for (const k of ring) {
      if (k === sealing) continue;
      try {
        return openSecret(k, record, aad);
      } catch {
        /* not this key */
      }
    }
    throw err;
  }
}

/**
 * A store's secret keys: the provider's ring as last read, and the key of it the database's
 * records are sealed under (the one that opens its key check; after an interrupted rotation
 * that can be an older key of the ring). The backend says how it reads the key check record
 * (`readCheck`, outside any transaction) and what a key that opens none says (`mismatch`).
 */
export class SealingKeys {
  /** The provider's key ring as last read, current first. */
  keys: Buffer[];
  /** The key this database's records are sealed under. */
  key: Buffer;

  constructor(
    readonly provider: SecretKeyProvider,
    keys: Buffer[],
    private readonly readCheck: () => Buffer | undefined | Promise<Buffer | undefined>,
    private readonly mismatch: string,
  ) {
    this.keys = keys;
    this.key = keys[0] as Buffer;
  }

  /** The ring's key that opens the check record, or `SECRET_KEY_MISMATCH`. */
  keyOpening(keys: readonly Buffer[], check: Buffer): Buffer {
    for (const k of keys) if (opensKeyCheck(k, check)) return k;
    throw new SecretKeyError('SECRET_KEY_MISMATCH', this.mismatch, KEY_CHECK_AAD);
  }

  /** At open: the records are sealed under the ring's key that opens `check` (`SECRET_KEY_MISMATCH` if none). */
  useCheck(check: Buffer): void {
    this.key = this.keyOpening(this.keys, check);
  }

  /** Opens a record (see `openRecord`) with the sealing key, else with the other keys of `ring`. */
  open(record: Buffer, aad: string, ring: readonly Buffer[] = this.keys): string {
    return openRecord(this.key, ring, record, aad);
  }

  /**
   * The sealing function of a write transaction, given the key check record as that transaction
   * reads it, sealing under `key` (the sealing key by default). Another process may have rotated
   * the key since this store last looked: then this refuses (`SECRET_KEY_ROTATED`, the
   * transaction rolls back) rather than write a record under a key the site has left.
   */
  sealer(check: Buffer | undefined, key: Buffer = this.key): (value: string, aad: string) => Buffer {
    if (check === undefined || !opensKeyCheck(key, check)) throw keyRotated();
    return (value, aad) => sealSecret(key, value, aad);
  }

  /**
   * Runs `fn` (a secret read with its row reads, or a write transaction that seals); when it
   * fails because another process rotated the key, reads the provider's keys again and runs it
   * again, up to `KEY_RELOADS` tries. A record that fails with the keys it ran with unchanged is
   * damaged or foreign: that error stands.
   */
  async withKeys<T>(fn: () => T | Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      // What this attempt ran with: a concurrent call may reload the ring while this one waits.
      const ring = this.keys;
      const key = this.key;
      try {
        return await fn();
      } catch (err) {
        if (
          !(err instanceof SecretKeyError) ||
          err.code === 'SECRET_KEY_INVALID' ||
          err.code === 'SECRET_KEY_MISMATCH' ||
          attempt >= KEY_RELOADS
        )
          throw err;
        await this.reload();
        // The ring is what this attempt had: a damaged or foreign record, not a rotation.
        if (this.key.equals(key) && sameKeys(this.keys, ring)) throw err;
      }
    }
  }

  /** Re-reads the key ring and the key the records are sealed under now. */
  async reload(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const keys = await secretKeysOf(this.provider, true);
      const check = await this.readCheck();
      try {
        this.key = check ? this.keyOpening(keys, check) : (keys[0] as Buffer);
        this.keys = keys;
        return;
      } catch (err) {
        // A rotation can add its key to the file and commit between our read and the check's:
        // read the file again before calling the key wrong.
        if (attempt >= KEY_RELOADS) throw err;
      }
    }
  }

  /** After a rotation committed: seal with `key` of `ring` from now on. */
  adopt(ring: Buffer[], key: Buffer): void {
    this.keys = ring;
    this.key = key;
  }
}
