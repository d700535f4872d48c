import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateAmtPassword } from '@oobkit/http-digest';
import Database from 'better-sqlite3';
import { openSecret, type SecretKeyProvider, sealSecret, secretKeysOf } from '../secrets/index.js';
import { isSecretKey, redactSecrets } from '../secrets/redact.js';
import {
  SecretKeyError,
  ServiceError,
  StoreConflictError,
  StoreInputError,
  StoreNotFoundError,
} from './errors.js';
import { migrate } from './migrations.js';
import {
  defaultSettings,
  joinSettings,
  type SettingsSecrets,
  splitSettings,
  validateSettings,
} from './settings.js';
import {
  type AmtCredential,
  DEVICE_STATUSES,
  type DeviceRecord,
  type DeviceSecret,
  type DeviceStatus,
  type DeviceUuid,
  type EventLevel,
  type HelloRecord,
  type ImportedComputer,
  JOB_STATES,
  type Job,
  type JobLease,
  type JobReason,
  type JobState,
  type NewSiteEvent,
  type ProvisioningCertificateInfo,
  type ProvisioningSettings,
  type SecretKind,
  type SecretState,
  type SiteCounts,
  type SiteEvent,
  type SiteStore,
  StaleLeaseError,
  type StoredProvisioningCertificate,
} from './types.js';
import {
  normalizeUuid,
  text,
  validateCertificate,
  validateComputer,
  validateCredential,
} from './validate.js';

export interface SqliteStoreOptions {
  /** Database file; `:memory:` for a throw-away store. */
  path: string;
  keyProvider: SecretKeyProvider;
  /** Clock in ms since the epoch, for timestamps and leases; tests pass a virtual one. */
  now?: () => number;
  /** Makes the MEBx password of the default settings (AMT password policy). */
  generatePassword?: () => string;
}

const EVENT_LEVELS: readonly EventLevel[] = ['debug', 'info', 'warn', 'error'];
const JOB_REASONS: readonly JobReason[] = ['hello', 'manual', 'retry', 'unprovision', 'in-band'];
const SECRET_KINDS: readonly SecretKind[] = ['admin', 'mebx', 'directory'];
const SECRET_STATES: readonly SecretState[] = ['pending', 'current', 'retired'];
const KEY_CHECK_PLAINTEXT = 'oobkit secret key check v1';
const DEFAULT_LIST_LIMIT = 100;
/**
 * Tries of a secret read or write while the key file keeps changing under it: each finds a
 * newer ring, so only rotations back to back for all of them can exhaust it.
 */
const KEY_RELOADS = 5;
/** Events deleted per transaction by `pruneEvents`. */
const PRUNE_BATCH = 5_000;
const MAX_LIST_LIMIT = 10_000;

/**
 * Opens (creating and migrating as needed) the SQLite site store. WAL mode, so readers (the CLI)
 * never block the service; every multi-row change runs in one immediate transaction, so two
 * processes on the same file serialise their writes. A key that is not the one the store was
 * created with fails here with `SecretKeyError('SECRET_KEY_MISMATCH')`, not later on a read.
 */
export async function openSqliteStore(opts: SqliteStoreOptions): Promise<SiteStore> {
  const keys = await secretKeysOf(opts.keyProvider);
  if (opts.path !== ':memory:' && opts.path !== '')
    mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
  const db = new Database(opts.path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    const now = opts.now ?? Date.now;
    migrate(db, () => new Date(now()).toISOString());
    const store = new SqliteSiteStore(db, opts.keyProvider, keys, now);
    store.initialise(opts.generatePassword ?? (() => generateAmtPassword(16)));
    return store;
  } catch (err) {
    db.close();
    throw err;
  }
}

type Row = Record<string, unknown>;

interface JobRow {
  id: number;
  uuid: string;
  reason: JobReason;
  state: JobState;
  journal: string;
  step: string | null;
  attempts: number;
  lease_owner: string | null;
  lease_expires_at: string | null;
  fencing_token: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

interface SecretRow {
  id: number;
  uuid: string;
  kind: SecretKind;
  state: SecretState;
  value_enc: Buffer;
  created_at: string;
  confirmed_at: string | null;
}

class SqliteSiteStore implements SiteStore {
  private closed = false;
  // Preparing a statement costs more than running it: one per SQL text, kept for the store's life.
  private readonly statements = new Map<string, Database.Statement>();
  private readonly inTransaction: Database.Transaction<(fn: () => unknown) => unknown>;
  /** The provider's key ring as last read, current first. */
  private keys: Buffer[];
  /** The key this database's records are sealed under (the one that opens its key check). */
  private key: Buffer;

  constructor(
    private readonly db: Database.Database,
    private readonly keyProvider: SecretKeyProvider,
    keys: Buffer[],
    private readonly clock: () => number,
  ) {
    this.inTransaction = db.transaction((fn: () => unknown) => fn());
    this.keys = keys;
    this.key = keys[0] as Buffer;
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      // Only the list filters build SQL text, from a handful of fixed pieces: the map stays small.
      if (this.statements.size >= 256) this.statements.clear();
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * Checks the key ring against the stored check record (or writes one under the current key)
   * and seeds default settings. The key that opens the check record is the one records are sealed
   * under: after an interrupted rotation that can be an older key of the ring.
   */
  initialise(generatePassword: () => string): void {
    this.db
      .transaction(() => {
        const check = this.keyCheckRecord();
        if (check) {
          this.key = this.keyOpeningCheck(this.keys, check);
        } else {
          this.stmt("INSERT INTO meta (key, value) VALUES ('key_check', ?)").run(
            sealSecret(this.key, KEY_CHECK_PLAINTEXT, 'meta:key_check'),
          );
        }
        if (!this.stmt('SELECT 1 FROM settings WHERE id = 1').get()) {
          this.writeSettings(defaultSettings(generatePassword()));
        }
      })
      .immediate();
  }

  private iso(): string {
    return new Date(this.clock()).toISOString();
  }

  // ---- secret keys -----------------------------------------------------------------------

  private keyCheckRecord(): Buffer | undefined {
    return (
      this.stmt("SELECT value FROM meta WHERE key = 'key_check'").get() as { value: Buffer } | undefined
    )?.value;
  }

  /** The ring's key that opens the check record, or `SECRET_KEY_MISMATCH`. */
  private keyOpeningCheck(keys: readonly Buffer[], check: Buffer): Buffer {
    for (const k of keys) {
      try {
        if (openSecret(k, check, 'meta:key_check') === KEY_CHECK_PLAINTEXT) return k;
      } catch {
        /* not this key */
      }
    }
    throw new SecretKeyError(
      'SECRET_KEY_MISMATCH',
      'the secret key is not the key this store was created with (a key file found missing is made afresh: put back the one this database was made with)',
      'meta:key_check',
    );
  }

  /** Opens a record with the sealing key, else any other key of the ring (a rotation under way). */
  private openRecord(record: Buffer, aad: string, keys: readonly Buffer[] = this.keys): string {
    try {
      return openSecret(this.key, record, aad);
    } catch (err) {
      for (const k of keys) {
        if (k === this.key) continue;
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
   * Seals a record; only inside a write transaction. Another process may have rotated the key
   * since this store last looked: then this refuses (`SECRET_KEY_ROTATED`, the transaction rolls
   * back) rather than write a record under a key the site has left.
   */
  private sealRecord(value: string, aad: string): Buffer {
    const check = this.keyCheckRecord();
    let current = false;
    try {
      current = check !== undefined && openSecret(this.key, check, 'meta:key_check') === KEY_CHECK_PLAINTEXT;
    } catch {
      current = false;
    }
    if (!current) {
      throw new SecretKeyError(
        'SECRET_KEY_ROTATED',
        "the site's secret key was rotated since this store read it; nothing was written",
        'meta:key_check',
      );
    }
    return sealSecret(this.key, value, aad);
  }

  /**
   * Runs `fn` (a secret read with its row reads, or a write transaction that seals); when it
   * fails because another process rotated the key, reads the provider's keys again and runs it
   * again, up to `KEY_RELOADS` tries. A record that fails with the keys it ran with unchanged is
   * damaged or foreign: that error stands.
   */
  private async withKeys<T>(fn: () => T): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      // What this attempt ran with: a concurrent call may reload the ring while this one waits.
      const ring = this.keys;
      const key = this.key;
      try {
        return fn();
      } catch (err) {
        if (
          !(err instanceof SecretKeyError) ||
          err.code === 'SECRET_KEY_INVALID' ||
          err.code === 'SECRET_KEY_MISMATCH' ||
          attempt >= KEY_RELOADS
        )
          throw err;
        await this.reloadKeys();
        // The ring is what this attempt had: a damaged or foreign record, not a rotation.
        if (this.key.equals(key) && sameKeys(this.keys, ring)) throw err;
      }
    }
  }

  /** Re-reads the key ring and the key the records are sealed under now. */
  private async reloadKeys(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const keys = await secretKeysOf(this.keyProvider, true);
      const check = this.keyCheckRecord();
      try {
        this.key = check ? this.keyOpeningCheck(keys, check) : (keys[0] as Buffer);
        this.keys = keys;
        return;
      } catch (err) {
        // A rotation can add its key to the file and commit between our read and the check's:
        // read the file again before calling the key wrong.
        if (attempt >= KEY_RELOADS) throw err;
      }
    }
  }

  async reencryptSecrets(): Promise<{ records: number }> {
    this.open();
    const keys = await secretKeysOf(this.keyProvider, true);
    const target = keys[0] as Buffer;
    return this.tx(() => {
      let records = 0;
      // Every sealed column, with the AAD its rows were sealed with (rows read whole first:
      // better-sqlite3 runs no UPDATE while a SELECT is still iterating).
      const sealed: Array<{ table: string; column: string; extra: string; aad: (r: Row) => string }> = [
        {
          table: 'credentials',
          column: 'password_enc',
          extra: '',
          aad: (r) => credentialAad(r.id as number),
        },
        { table: 'settings', column: 'secrets_enc', extra: '', aad: () => SETTINGS_AAD },
        {
          table: 'provisioning_certificates',
          column: 'key_enc',
          extra: '',
          aad: (r) => certificateAad(r.id as number),
        },
        { table: 'device_ca', column: 'key_enc', extra: '', aad: () => DEVICE_CA_AAD },
        {
          table: 'device_secrets',
          column: 'value_enc',
          extra: ', uuid, kind',
          aad: (r) => secretAad(r.id as number, r.uuid as string, r.kind as SecretKind),
        },
      ];
      for (const { table, column, extra, aad } of sealed) {
        const update = this.stmt(`UPDATE ${table} SET ${column} = ? WHERE id = ?`);
        for (const r of this.stmt(`SELECT id, ${column} AS sealed${extra} FROM ${table}`).all() as Row[]) {
          const a = aad(r);
          update.run(sealSecret(target, this.openRecord(r.sealed as Buffer, a, keys), a), r.id);
          records++;
        }
      }
      const check = this.keyCheckRecord();
      if (check) this.keyOpeningCheck(keys, check);
      this.stmt("UPDATE meta SET value = ? WHERE key = 'key_check'").run(
        sealSecret(target, KEY_CHECK_PLAINTEXT, 'meta:key_check'),
      );
      this.keys = keys;
      this.key = target;
      return { records };
    });
  }

  private open(): void {
    if (this.closed) throw new ServiceError('STORE_CLOSED', 'the store is closed');
  }

  /** Runs `fn` in one immediate (write-locking) transaction. */
  private tx<T>(fn: () => T): T {
    this.open();
    return this.inTransaction.immediate(fn) as T;
  }

  // ---- computers -------------------------------------------------------------------------

  async importComputers(
    list: Omit<ImportedComputer, 'importedAt'>[],
  ): Promise<{ created: number; updated: number }> {
    this.open();
    if (!Array.isArray(list)) throw new StoreInputError('computers must be an array', 'computers');
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
    return this.tx(() => {
      const at = this.iso();
      const exists = this.stmt('SELECT 1 FROM computers WHERE uuid = ?');
      const upsert = this.stmt(
        `INSERT INTO computers (uuid, host_name, domain_name, ou, source, imported_at)
         VALUES (@uuid, @hostName, @domainName, @ou, @source, @at)
         ON CONFLICT (uuid) DO UPDATE SET host_name = excluded.host_name, domain_name = excluded.domain_name,
           ou = excluded.ou, source = excluded.source, imported_at = excluded.imported_at`,
      );
      let created = 0;
      for (const c of clean) {
        if (!exists.get(c.uuid)) created++;
        upsert.run({ ...c, ou: c.ou ?? null, at });
      }
      return { created, updated: clean.length - created };
    });
  }

  async getComputer(uuid: DeviceUuid): Promise<ImportedComputer | undefined> {
    this.open();
    const row = this.stmt('SELECT * FROM computers WHERE uuid = ?').get(normalizeUuid(uuid)) as
      | Row
      | undefined;
    return row ? toComputer(row) : undefined;
  }

  async listComputers(filter: { limit?: number } = {}): Promise<ImportedComputer[]> {
    this.open();
    if (filter.limit === undefined) {
      return (this.stmt('SELECT * FROM computers ORDER BY host_name, uuid').all() as Row[]).map(toComputer);
    }
    positiveInt(filter.limit, 'limit');
    return (
      this.stmt('SELECT * FROM computers ORDER BY host_name, uuid LIMIT ?').all(filter.limit) as Row[]
    ).map(toComputer);
  }

  async deleteComputer(uuid: DeviceUuid): Promise<boolean> {
    this.open();
    return this.stmt('DELETE FROM computers WHERE uuid = ?').run(normalizeUuid(uuid)).changes > 0;
  }

  // ---- credentials -----------------------------------------------------------------------

  async addCredential(c: Omit<AmtCredential, 'id'>): Promise<AmtCredential> {
    const clean = validateCredential(c);
    return this.withKeys(() =>
      this.tx(() => {
        // The id is part of the AAD, so the row is inserted first and its secret sealed after.
        const id = Number(
          this.stmt(
            'INSERT INTO credentials (label, username, password_enc, priority) VALUES (?, ?, ?, ?)',
          ).run(clean.label, clean.username, Buffer.alloc(0), clean.priority).lastInsertRowid,
        );
        this.stmt('UPDATE credentials SET password_enc = ? WHERE id = ?').run(
          this.sealRecord(clean.password, credentialAad(id)),
          id,
        );
        return { id, ...clean };
      }),
    );
  }

  async listCredentials(): Promise<AmtCredential[]> {
    this.open();
    // Rows are read inside: a retry after another process rotated the key reads them again.
    return this.withKeys(() =>
      (this.stmt('SELECT * FROM credentials ORDER BY priority, id').all() as Row[]).map((r) => ({
        id: r.id as number,
        label: r.label as string,
        username: r.username as string,
        password: this.openRecord(r.password_enc as Buffer, credentialAad(r.id as number)),
        priority: r.priority as number,
      })),
    );
  }

  async deleteCredential(id: number): Promise<boolean> {
    this.open();
    return this.stmt('DELETE FROM credentials WHERE id = ?').run(id).changes > 0;
  }

  // ---- settings --------------------------------------------------------------------------

  async getSettings(): Promise<ProvisioningSettings> {
    this.open();
    return this.withKeys(() => {
      const row = this.stmt('SELECT doc, secrets_enc FROM settings WHERE id = 1').get() as
        | { doc: string; secrets_enc: Buffer }
        | undefined;
      if (!row) throw new StoreNotFoundError('settings', 1);
      const secrets = JSON.parse(this.openRecord(row.secrets_enc, SETTINGS_AAD)) as SettingsSecrets;
      return joinSettings(JSON.parse(row.doc), secrets);
    });
  }

  async putSettings(s: ProvisioningSettings): Promise<void> {
    const clean = validateSettings(s);
    await this.withKeys(() => this.tx(() => this.writeSettings(clean)));
  }

  private writeSettings(s: ProvisioningSettings): void {
    const { doc, secrets } = splitSettings(s);
    this.stmt(
      `INSERT INTO settings (id, doc, secrets_enc, updated_at) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, secrets_enc = excluded.secrets_enc,
           updated_at = excluded.updated_at`,
    ).run(JSON.stringify(doc), this.sealRecord(JSON.stringify(secrets), SETTINGS_AAD), this.iso());
  }

  // ---- provisioning certificates ---------------------------------------------------------

  async addProvisioningCertificate(
    c: Omit<StoredProvisioningCertificate, 'id' | 'createdAt'>,
  ): Promise<StoredProvisioningCertificate> {
    const clean = validateCertificate(c);
    return this.withKeys(() =>
      this.tx(() => {
        const createdAt = this.iso();
        const id = Number(
          this.stmt(
            `INSERT INTO provisioning_certificates
               (name, cert_pem, key_enc, root_sha1, root_sha256, root_sha384, enabled, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          ).run(
            clean.name,
            clean.certPem,
            Buffer.alloc(0),
            clean.rootHashes.sha1,
            clean.rootHashes.sha256,
            clean.rootHashes.sha384,
            clean.enabled ? 1 : 0,
            createdAt,
          ).lastInsertRowid,
        );
        this.stmt('UPDATE provisioning_certificates SET key_enc = ? WHERE id = ?').run(
          this.sealRecord(clean.keyPem, certificateAad(id)),
          id,
        );
        return { id, ...clean, createdAt };
      }),
    );
  }

  async listProvisioningCertificates(): Promise<StoredProvisioningCertificate[]> {
    this.open();
    return this.withKeys(() =>
      (this.stmt('SELECT * FROM provisioning_certificates ORDER BY id').all() as Row[]).map((r) => ({
        ...toCertificateInfo(r),
        keyPem: this.openRecord(r.key_enc as Buffer, certificateAad(r.id as number)),
      })),
    );
  }

  async listProvisioningCertificateInfo(): Promise<ProvisioningCertificateInfo[]> {
    this.open();
    return (
      this.stmt(
        'SELECT id, name, cert_pem, root_sha1, root_sha256, root_sha384, enabled, created_at FROM provisioning_certificates ORDER BY id',
      ).all() as Row[]
    ).map(toCertificateInfo);
  }

  async setProvisioningCertificateEnabled(id: number, enabled: boolean): Promise<boolean> {
    this.open();
    intArg(id, 'id');
    if (typeof enabled !== 'boolean') throw new StoreInputError('enabled must be true or false', 'enabled');
    return (
      this.stmt('UPDATE provisioning_certificates SET enabled = ? WHERE id = ?').run(enabled ? 1 : 0, id)
        .changes > 0
    );
  }

  async deleteProvisioningCertificate(id: number): Promise<boolean> {
    this.open();
    intArg(id, 'id');
    return this.stmt('DELETE FROM provisioning_certificates WHERE id = ?').run(id).changes > 0;
  }

  // ---- device CA -------------------------------------------------------------------------

  async getDeviceCa(): Promise<{ certPem: string; keyPem: string } | undefined> {
    this.open();
    return this.withKeys(() => this.readDeviceCa());
  }

  async putDeviceCaIfAbsent(ca: {
    certPem: string;
    keyPem: string;
  }): Promise<{ certPem: string; keyPem: string }> {
    if (typeof ca?.certPem !== 'string' || !ca.certPem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new StoreInputError('certPem must be a PEM certificate', 'certPem');
    }
    if (typeof ca.keyPem !== 'string' || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(ca.keyPem)) {
      throw new StoreInputError('keyPem must be a PEM private key', 'keyPem');
    }
    return this.withKeys(() =>
      this.tx(() => {
        const existing = this.readDeviceCa();
        if (existing) return existing;
        this.stmt('INSERT INTO device_ca (id, cert_pem, key_enc, created_at) VALUES (1, ?, ?, ?)').run(
          ca.certPem,
          this.sealRecord(ca.keyPem, DEVICE_CA_AAD),
          this.iso(),
        );
        return { certPem: ca.certPem, keyPem: ca.keyPem };
      }),
    );
  }

  private readDeviceCa(): { certPem: string; keyPem: string } | undefined {
    const row = this.stmt('SELECT cert_pem, key_enc FROM device_ca WHERE id = 1').get() as
      | { cert_pem: string; key_enc: Buffer }
      | undefined;
    return row ? { certPem: row.cert_pem, keyPem: this.openRecord(row.key_enc, DEVICE_CA_AAD) } : undefined;
  }

  // ---- devices ---------------------------------------------------------------------------

  async upsertDevice(
    uuid: DeviceUuid,
    patch: Partial<Omit<DeviceRecord, 'uuid' | 'updatedAt'>>,
  ): Promise<DeviceRecord> {
    const id = normalizeUuid(uuid);
    const p = validateDevicePatch(patch);
    return this.tx(() => {
      const row = this.stmt('SELECT * FROM devices WHERE uuid = ?').get(id) as Row | undefined;
      const merged: DeviceRecord = {
        ...(row ? toDevice(row) : { uuid: id, status: 'discovered' }),
        updatedAt: this.iso(),
      };
      // A key present with `undefined` clears that field (e.g. `lastError` after a success).
      for (const [k, v] of Object.entries(p)) {
        if (v === undefined) delete (merged as unknown as Row)[k];
        else (merged as unknown as Row)[k] = v;
      }
      if (merged.status === undefined) merged.status = 'discovered';
      this.stmt(
        `INSERT INTO devices (uuid, status, address, amt_version, last_hello_at, last_hello, provisioned_at, last_error, updated_at)
           VALUES (@uuid, @status, @address, @amtVersion, @lastHelloAt, @lastHello, @provisionedAt, @lastError, @updatedAt)
           ON CONFLICT (uuid) DO UPDATE SET status = excluded.status, address = excluded.address,
             amt_version = excluded.amt_version, last_hello_at = excluded.last_hello_at,
             last_hello = excluded.last_hello, provisioned_at = excluded.provisioned_at,
             last_error = excluded.last_error, updated_at = excluded.updated_at`,
      ).run({
        uuid: id,
        status: merged.status,
        address: merged.address ?? null,
        amtVersion: merged.amtVersion ?? null,
        lastHelloAt: merged.lastHelloAt ?? null,
        lastHello: merged.lastHello ? JSON.stringify(merged.lastHello) : null,
        provisionedAt: merged.provisionedAt ?? null,
        lastError: merged.lastError ? JSON.stringify(merged.lastError) : null,
        updatedAt: merged.updatedAt,
      });
      return merged;
    });
  }

  async getDevice(uuid: DeviceUuid): Promise<DeviceRecord | undefined> {
    this.open();
    const row = this.stmt('SELECT * FROM devices WHERE uuid = ?').get(normalizeUuid(uuid)) as Row | undefined;
    return row ? toDevice(row) : undefined;
  }

  async listDevices(filter: { status?: DeviceStatus } = {}): Promise<DeviceRecord[]> {
    this.open();
    if (filter.status !== undefined) {
      oneOf(filter.status, DEVICE_STATUSES, 'status');
      return (
        this.stmt('SELECT * FROM devices WHERE status = ? ORDER BY uuid').all(filter.status) as Row[]
      ).map(toDevice);
    }
    return (this.stmt('SELECT * FROM devices ORDER BY uuid').all() as Row[]).map(toDevice);
  }

  // ---- device secrets --------------------------------------------------------------------

  async addPendingSecret(
    uuid: DeviceUuid,
    kind: SecretKind,
    value: string,
    lease?: { jobId: number; fencingToken: number },
  ): Promise<DeviceSecret> {
    const id0 = normalizeUuid(uuid);
    oneOf(kind, SECRET_KINDS, 'kind');
    if (typeof value !== 'string' || value.length === 0 || value.length > 4096) {
      throw new StoreInputError('value must be 1–4096 characters', 'value');
    }
    return this.withKeys(() =>
      this.tx(() => {
        if (lease) this.checkLease(lease.jobId, lease.fencingToken, id0);
        const createdAt = this.iso();
        const id = Number(
          this.stmt(
            `INSERT INTO device_secrets (uuid, kind, state, value_enc, created_at) VALUES (?, ?, 'pending', ?, ?)`,
          ).run(id0, kind, Buffer.alloc(0), createdAt).lastInsertRowid,
        );
        this.stmt('UPDATE device_secrets SET value_enc = ? WHERE id = ?').run(
          this.sealRecord(value, secretAad(id, id0, kind)),
          id,
        );
        return { id, uuid: id0, kind, state: 'pending', value, createdAt };
      }),
    );
  }

  /**
   * pending → current. The previous current secret of that kind, and any older pending one (an
   * attempt this one superseded), become retired. Confirming a current secret again is a no-op,
   * so a resumed job may repeat the step.
   */
  async confirmSecret(secretId: number, lease?: { jobId: number; fencingToken: number }): Promise<void> {
    this.tx(() => {
      const s = this.stmt('SELECT id, uuid, kind, state FROM device_secrets WHERE id = ?').get(secretId) as
        | Pick<SecretRow, 'id' | 'uuid' | 'kind' | 'state'>
        | undefined;
      if (lease) this.checkLease(lease.jobId, lease.fencingToken, s?.uuid);
      if (!s) throw new StoreNotFoundError('secret', secretId);
      if (s.state === 'current') return;
      if (s.state === 'retired')
        throw new StoreConflictError(`secret ${secretId} is retired and cannot become current`);
      const at = this.iso();
      this.stmt(
        `UPDATE device_secrets SET state = 'retired', retired_at = ?
           WHERE uuid = ? AND kind = ? AND (state = 'current' OR (state = 'pending' AND id < ?))`,
      ).run(at, s.uuid, s.kind, s.id);
      this.stmt(`UPDATE device_secrets SET state = 'current', confirmed_at = ? WHERE id = ?`).run(at, s.id);
    });
  }

  async listSecrets(
    uuid: DeviceUuid,
    opts: { kind?: SecretKind; states?: SecretState[] } = {},
  ): Promise<DeviceSecret[]> {
    this.open();
    const id = normalizeUuid(uuid);
    const states = opts.states ?? ['current', 'pending'];
    for (const s of states) oneOf(s, SECRET_STATES, 'states');
    if (opts.kind !== undefined) oneOf(opts.kind, SECRET_KINDS, 'kind');
    if (states.length === 0) return [];
    const select = this.stmt(
      `SELECT * FROM device_secrets WHERE uuid = ? ${opts.kind ? 'AND kind = ?' : ''}
           AND state IN (${states.map(() => '?').join(', ')}) ORDER BY id DESC`,
    );
    return this.withKeys(() =>
      (select.all(id, ...(opts.kind ? [opts.kind] : []), ...states) as SecretRow[]).map((r) => {
        const out: DeviceSecret = {
          id: r.id,
          uuid: r.uuid,
          kind: r.kind,
          state: r.state,
          value: this.openRecord(r.value_enc, secretAad(r.id, r.uuid, r.kind)),
          createdAt: r.created_at,
        };
        if (r.confirmed_at) out.confirmedAt = r.confirmed_at;
        return out;
      }),
    );
  }

  // ---- events ----------------------------------------------------------------------------

  async appendEvent(e: NewSiteEvent): Promise<SiteEvent> {
    this.open();
    const ev = validateEvent(e, this.iso());
    return { id: this.insertEvent(ev), ...ev };
  }

  private insertEvent(ev: Omit<SiteEvent, 'id'>): number {
    const values: unknown[] = [];
    pushEventValues(values, ev);
    return Number(this.stmt(insertEventsSql(1)).run(values).lastInsertRowid);
  }

  /** Rows from `eventParams`, in order, one statement per 16 (each row costs less than a statement). */
  private insertEvents(values: readonly unknown[]): void {
    const step = EVENT_COLUMNS * 16;
    if (values.length <= step) {
      if (values.length > 0) this.stmt(insertEventsSql(values.length / EVENT_COLUMNS)).run(values);
      return;
    }
    for (let i = 0; i < values.length; i += step) {
      const chunk = values.slice(i, i + step);
      this.stmt(insertEventsSql(chunk.length / EVENT_COLUMNS)).run(chunk);
    }
  }

  /**
   * Validates a batch of events up front, so a bad one changes nothing, straight into the
   * INSERT's parameters. Their data is only serialised, so it is copied only where a secret-named
   * key (or anything else the redaction rewrites) is in it.
   */
  private eventParams(list: readonly NewSiteEvent[] | undefined): unknown[] {
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw new StoreInputError('events must be an array', 'events');
    const values: unknown[] = [];
    let nowIso: string | undefined;
    for (const e of list) {
      if (e?.at === undefined) nowIso ??= this.iso();
      pushEventValues(values, validateEvent(e, nowIso ?? '', true));
    }
    return values;
  }

  async pruneEvents(before: string): Promise<number> {
    this.open();
    const t = typeof before === 'string' ? Date.parse(before) : Number.NaN;
    if (Number.isNaN(t)) throw new StoreInputError('before must be an ISO 8601 time', 'before');
    const cutoff = new Date(t).toISOString();
    // Oldest first by id: the subquery stops at the batch size instead of reading the table.
    const batch = this.stmt(
      `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < ? ORDER BY id LIMIT ${PRUNE_BATCH})`,
    );
    let removed = 0;
    for (;;) {
      const n = this.tx(() => batch.run(cutoff).changes);
      removed += n;
      if (n < PRUNE_BATCH) return removed;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Ascending by id. With `afterId`, the events after it (tailing); without, the newest `limit`
   * (default 100) — still in ascending order.
   */
  async listEvents(
    filter: { uuid?: DeviceUuid; jobId?: number; afterId?: number; limit?: number; type?: string } = {},
  ): Promise<SiteEvent[]> {
    this.open();
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.uuid !== undefined) {
      where.push('uuid = ?');
      args.push(normalizeUuid(filter.uuid));
    }
    if (filter.jobId !== undefined) {
      where.push('job_id = ?');
      args.push(intArg(filter.jobId, 'jobId'));
    }
    if (filter.type !== undefined) {
      where.push('type = ?');
      args.push(filter.type);
    }
    if (filter.afterId !== undefined) {
      where.push('id > ?');
      args.push(intArg(filter.afterId, 'afterId'));
    }
    const limit = limitArg(filter.limit);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const sql =
      filter.afterId !== undefined
        ? `SELECT * FROM events ${clause} ORDER BY id LIMIT ?`
        : `SELECT * FROM (SELECT * FROM events ${clause} ORDER BY id DESC LIMIT ?) ORDER BY id`;
    return (this.stmt(sql).all(...args, limit) as Row[]).map(toEvent);
  }

  // ---- jobs ------------------------------------------------------------------------------

  async enqueueJob(uuid: DeviceUuid, reason: JobReason): Promise<{ job: Job; created: boolean }> {
    const id = normalizeUuid(uuid);
    oneOf(reason, JOB_REASONS, 'reason');
    return this.tx(() => {
      const live = this.stmt(`SELECT * FROM jobs WHERE uuid = ? AND state IN ('queued', 'running')`).get(
        id,
      ) as JobRow | undefined;
      if (live) return { job: toJob(live), created: false };
      const at = this.iso();
      const row = this.stmt(
        `INSERT INTO jobs (uuid, reason, state, journal, attempts, fencing_token, created_at, updated_at)
           VALUES (?, ?, 'queued', '{}', 0, 0, ?, ?) RETURNING *`,
      ).get(id, reason, at, at) as JobRow;
      return { job: toJob(row), created: true };
    });
  }

  async claimJob(owner: string, leaseMs: number): Promise<JobLease | undefined> {
    text(owner, 'owner', 1, 200);
    positiveInt(leaseMs, 'leaseMs');
    return this.tx(() => {
      const nowMs = this.clock();
      const at = new Date(nowMs).toISOString();
      const next = this.stmt(
        `SELECT id FROM jobs
           WHERE state = 'queued' OR (state = 'running' AND lease_expires_at <= ?)
           ORDER BY id LIMIT 1`,
      ).get(at) as { id: number } | undefined;
      if (!next) return undefined;
      const row = this.stmt(
        `UPDATE jobs SET state = 'running', lease_owner = ?, lease_expires_at = ?,
             fencing_token = fencing_token + 1, attempts = attempts + 1, updated_at = ?
           WHERE id = ? RETURNING *`,
      ).get(owner, new Date(nowMs + leaseMs).toISOString(), at, next.id) as JobRow;
      const job = toJob(row);
      return { job, fencingToken: job.fencingToken };
    });
  }

  async renewLease(jobId: number, fencingToken: number, leaseMs: number): Promise<void> {
    positiveInt(leaseMs, 'leaseMs');
    this.tx(() => {
      const nowMs = this.clock();
      const changed = this.stmt(
        `UPDATE jobs SET lease_expires_at = ?, updated_at = ?
           WHERE id = ? AND state = 'running' AND fencing_token = ?`,
      ).run(new Date(nowMs + leaseMs).toISOString(), new Date(nowMs).toISOString(), jobId, fencingToken);
      if (changed.changes === 0) this.leaseRefused(jobId, fencingToken);
    });
  }

  /**
   * One UPDATE that is also the fencing check (it matches only the running job with this token),
   * plus the events. The journal entries are merged in SQL, key by key (`json_set`), so the
   * growing journal is neither read back nor parsed here: each key's value replaces the old one
   * whole, as `Object.assign` does. A value JSON leaves out (undefined, a function) drops its key;
   * that rare case, and anything SQLite's JSON refuses (nesting past its depth limit), takes the
   * read-merge-write path instead.
   */
  async recordStep(
    jobId: number,
    fencingToken: number,
    update: { step?: string; journal?: Record<string, unknown>; events?: NewSiteEvent[] },
  ): Promise<void> {
    if (update.step !== undefined) text(update.step, 'step', 1, 200);
    if (update.journal !== undefined && (typeof update.journal !== 'object' || update.journal === null)) {
      throw new StoreInputError('journal must be an object', 'journal');
    }
    const events = this.eventParams(update.events);
    this.tx(() => {
      const at = this.iso();
      let merge: { keys: number; params: unknown[] } | undefined;
      try {
        merge = update.journal === undefined ? { keys: 0, params: [] } : recordStepParams(update.journal);
      } catch (err) {
        // A value JSON cannot encode (a cycle, a BigInt): a lost lease still reports first.
        this.checkLease(jobId, fencingToken);
        throw err;
      }
      let written = false;
      if (merge) {
        merge.params.push(update.step ?? null, at, jobId, fencingToken);
        try {
          written = this.stmt(recordStepSql(merge.keys)).run(merge.params).changes > 0;
        } catch (err) {
          if (!(err instanceof Database.SqliteError)) throw err;
          merge = undefined; // e.g. nested deeper than SQLite's JSON allows: merge in JS
        }
      }
      if (!merge) written = this.recordStepInJs(jobId, fencingToken, update, at);
      if (!written) this.leaseRefused(jobId, fencingToken);
      this.insertEvents(events);
    });
  }

  /** The merge as `recordStep` always did it, for journals `json_set` cannot express. */
  private recordStepInJs(
    jobId: number,
    fencingToken: number,
    update: { step?: string; journal?: Record<string, unknown> },
    at: string,
  ): boolean {
    const current = this.stmt(
      `SELECT journal FROM jobs WHERE id = ? AND state = 'running' AND fencing_token = ?`,
    ).get(jobId, fencingToken) as { journal: string } | undefined;
    if (!current) return false;
    const journal = JSON.parse(current.journal) as Record<string, unknown>;
    Object.assign(journal, update.journal);
    this.stmt('UPDATE jobs SET journal = ?, step = coalesce(?, step), updated_at = ? WHERE id = ?').run(
      JSON.stringify(journal),
      update.step ?? null,
      at,
      jobId,
    );
    return true;
  }

  async finishJob(
    jobId: number,
    fencingToken: number,
    outcome: {
      state: 'succeeded' | 'failed' | 'cancelled';
      error?: { code: string; message: string; step?: string };
      events?: NewSiteEvent[];
    },
  ): Promise<Job> {
    oneOf(outcome.state, ['succeeded', 'failed', 'cancelled'] as const, 'state');
    const error = outcome.error === undefined ? undefined : validateError(outcome.error, 'error');
    const events = this.eventParams(outcome.events);
    return this.tx(() => {
      const row = this.stmt(
        `UPDATE jobs SET state = ?, last_error = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
           WHERE id = ? AND state = 'running' AND fencing_token = ? RETURNING *`,
      ).get(outcome.state, error ? JSON.stringify(error) : null, this.iso(), jobId, fencingToken) as
        | JobRow
        | undefined;
      if (!row) return this.leaseRefused(jobId, fencingToken);
      this.insertEvents(events);
      return toJob(row);
    });
  }

  async getJob(id: number): Promise<Job | undefined> {
    this.open();
    const row = this.stmt('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? toJob(row) : undefined;
  }

  async countByState(): Promise<SiteCounts> {
    this.open();
    const tally = <K extends string>(keys: readonly K[], rows: Array<{ k: string; n: number }>) => {
      const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
      for (const r of rows) if ((keys as readonly string[]).includes(r.k)) out[r.k as K] = r.n;
      return out;
    };
    // Both GROUP BYs read an index (devices_status, jobs_claim), not the rows.
    return this.db.transaction(() => ({
      devices: tally(
        DEVICE_STATUSES,
        this.stmt('SELECT status AS k, count(*) AS n FROM devices GROUP BY status').all() as Array<{
          k: string;
          n: number;
        }>,
      ),
      jobs: tally(
        JOB_STATES,
        this.stmt('SELECT state AS k, count(*) AS n FROM jobs GROUP BY state').all() as Array<{
          k: string;
          n: number;
        }>,
      ),
    }))();
  }

  /** Newest first. */
  async listJobs(filter: { uuid?: DeviceUuid; state?: JobState; limit?: number } = {}): Promise<Job[]> {
    this.open();
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.uuid !== undefined) {
      where.push('uuid = ?');
      args.push(normalizeUuid(filter.uuid));
    }
    if (filter.state !== undefined) {
      where.push('state = ?');
      args.push(oneOf(filter.state, JOB_STATES, 'state'));
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    return (
      this.stmt(`SELECT * FROM jobs ${clause} ORDER BY id DESC LIMIT ?`).all(
        ...args,
        limitArg(filter.limit),
      ) as JobRow[]
    ).map(toJob);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  /**
   * The fencing check, inside the caller's transaction: the job must be running under exactly
   * this token. A reclaimed job has a higher token, so the old worker's writes are refused. An
   * expired lease nobody reclaimed still passes, as its token is still the newest.
   */
  private checkLease(jobId: number, fencingToken: number, uuid?: string): void {
    const row = this.stmt('SELECT state, fencing_token, uuid FROM jobs WHERE id = ?').get(jobId) as
      | Pick<JobRow, 'state' | 'fencing_token' | 'uuid'>
      | undefined;
    if (!row) throw new StoreNotFoundError('job', jobId);
    if (row.state !== 'running' || row.fencing_token !== fencingToken) throw new StaleLeaseError(jobId);
    if (uuid !== undefined && row.uuid !== uuid) {
      throw new StoreInputError(`job ${jobId} belongs to another device`, 'jobId');
    }
  }

  /**
   * A write whose WHERE carried the fencing check matched no row: says precisely why (no such
   * job, or a stale lease), as `checkLease` would have before the write.
   */
  private leaseRefused(jobId: number, fencingToken: number): never {
    this.checkLease(jobId, fencingToken);
    throw new StaleLeaseError(jobId); // not reached: inside the transaction, nothing changed since
  }
}

const SETTINGS_AAD = 'settings:1';
const DEVICE_CA_AAD = 'device_ca:1';
const credentialAad = (id: number) => `credentials:${id}`;
const certificateAad = (id: number) => `provisioning_certificates:${id}`;
const secretAad = (id: number, uuid: string, kind: string) => `device_secrets:${id}:${uuid}:${kind}`;

const EVENT_COLUMNS = 9;
const insertEventsSqlByRows: string[] = [];

function insertEventsSql(rows: number): string {
  let sql = insertEventsSqlByRows[rows];
  if (!sql) {
    sql = `INSERT INTO events (at, level, type, uuid, job_id, step, message, duration_ms, data) VALUES ${Array(rows).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`;
    insertEventsSqlByRows[rows] = sql;
  }
  return sql;
}

function pushEventValues(out: unknown[], ev: Omit<SiteEvent, 'id'>): void {
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

const recordStepSqlByKeys: string[] = [];

/**
 * recordStep's UPDATE for `keys` journal entries (parameters from `recordStepParams`), then the
 * step (NULL keeps the current one), the time, the job id and the fencing token; the WHERE is
 * the fencing check. Several keys go through one `json_set`. One key (every step of the flow)
 * is appended as text when its `"key":` appears nowhere in the journal, which then cannot hold
 * it (the journal is compact JSON in `JSON.stringify`'s spelling, whoever wrote it): that skips
 * SQLite's parse of the whole journal. Where it appears, even nested or inside a string,
 * `json_set` replaces it.
 */
function recordStepSql(keys: number): string {
  let sql = recordStepSqlByKeys[keys];
  if (!sql) {
    let journal = '';
    if (keys === 1) {
      journal = `journal = CASE
          WHEN instr(journal, ?) > 0 THEN json_set(journal, ?, json(?))
          WHEN journal = '{}' THEN '{' || ? || ? || '}'
          ELSE substr(journal, 1, length(journal) - 1) || ',' || ? || ? || '}'
        END, `;
    } else if (keys > 1) {
      journal = `journal = json_set(journal${', ?, json(?)'.repeat(keys)}), `;
    }
    sql = `UPDATE jobs SET ${journal}step = coalesce(?, step), updated_at = ?
             WHERE id = ? AND state = 'running' AND fencing_token = ?`;
    recordStepSqlByKeys[keys] = sql;
  }
  return sql;
}

/**
 * The journal part of recordStep's parameters, for each own enumerable key (the keys
 * `Object.assign` copies). Undefined when the update cannot be said that way: a value JSON
 * leaves out (its key must go), or `__proto__` (which `Object.assign` treats as the prototype).
 */
function recordStepParams(journal: Record<string, unknown>): { keys: number; params: unknown[] } | undefined {
  const keys = Object.keys(journal);
  const params: unknown[] = [];
  for (const key of keys) {
    if (key === '__proto__') return undefined;
    const value = JSON.stringify(journal[key]) as string | undefined;
    if (value === undefined) return undefined;
    // A quoted path label is read as a JSON string, so any key (dots, quotes, backslashes) is exact.
    const name = JSON.stringify(key);
    if (keys.length === 1) {
      const head = `${name}:`;
      params.push(head, `$.${name}`, value, head, value, head, value);
    } else {
      params.push(`$.${name}`, value);
    }
  }
  return { keys: keys.length, params };
}

function toComputer(r: Row): ImportedComputer {
  const c: ImportedComputer = {
    uuid: r.uuid as string,
    hostName: r.host_name as string,
    domainName: r.domain_name as string,
    source: r.source as ImportedComputer['source'],
    importedAt: r.imported_at as string,
  };
  if (r.ou !== null) c.ou = r.ou as string;
  return c;
}

function toDevice(r: Row): DeviceRecord {
  const d: DeviceRecord = {
    uuid: r.uuid as string,
    status: r.status as DeviceStatus,
    updatedAt: r.updated_at as string,
  };
  if (r.address !== null) d.address = r.address as string;
  if (r.amt_version !== null) d.amtVersion = r.amt_version as string;
  if (r.last_hello_at !== null) d.lastHelloAt = r.last_hello_at as string;
  if (r.last_hello !== null && r.last_hello !== undefined) d.lastHello = JSON.parse(r.last_hello as string);
  if (r.provisioned_at !== null) d.provisionedAt = r.provisioned_at as string;
  if (r.last_error !== null) d.lastError = JSON.parse(r.last_error as string);
  return d;
}

function toEvent(r: Row): SiteEvent {
  const e: SiteEvent = {
    id: r.id as number,
    at: r.at as string,
    level: r.level as EventLevel,
    type: r.type as string,
    message: r.message as string,
  };
  if (r.uuid !== null) e.uuid = r.uuid as string;
  if (r.job_id !== null) e.jobId = r.job_id as number;
  if (r.step !== null) e.step = r.step as string;
  if (r.duration_ms !== null) e.durationMs = r.duration_ms as number;
  if (r.data !== null) e.data = JSON.parse(r.data as string);
  return e;
}

function toJob(r: JobRow): Job {
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

function oneOf<T extends string>(v: unknown, allowed: readonly T[], field: string): T {
  if (!allowed.includes(v as T))
    throw new StoreInputError(`${field} must be one of ${allowed.join(', ')}`, field);
  return v as T;
}

/** Free text up to 4000 characters (messages may span lines). */
function message(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length > 4000)
    throw new StoreInputError(`${field} must be text up to 4000 characters`, field);
  return v;
}

function intArg(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new StoreInputError(`${field} must be a non-negative integer`, field);
  }
  return v;
}

function positiveInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new StoreInputError(`${field} must be a positive integer`, field);
  }
  return v;
}

function limitArg(v: number | undefined): number {
  if (v === undefined) return DEFAULT_LIST_LIMIT;
  positiveInt(v, 'limit');
  return Math.min(v, MAX_LIST_LIMIT);
}

function validateError(e: unknown, field: string): { code: string; message: string; step?: string } {
  if (typeof e !== 'object' || e === null) throw new StoreInputError(`${field} must be an object`, field);
  const o = e as Record<string, unknown>;
  const out: { code: string; message: string; step?: string } = {
    code: text(o.code, `${field}.code`, 1, 200),
    message: message(o.message, `${field}.message`),
  };
  if (o.step !== undefined) out.step = text(o.step, `${field}.step`, 1, 200);
  return out;
}

const HASH_ALGORITHMS = ['sha1', 'sha256', 'sha384'] as const;

function validateHelloRecord(v: unknown): HelloRecord {
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
  return {
    retryCount: h.retryCount as number,
    algorithms: [...h.algorithms],
    matches,
    receivedAt: h.receivedAt,
  };
}

function validateDevicePatch(patch: Partial<Omit<DeviceRecord, 'uuid' | 'updatedAt'>>): Row {
  if (typeof patch !== 'object' || patch === null)
    throw new StoreInputError('patch must be an object', 'patch');
  const out: Row = {};
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
        if (v !== undefined && (typeof v !== 'string' || Number.isNaN(Date.parse(v)))) {
          throw new StoreInputError(`${k} must be an ISO 8601 time`, k);
        }
        out[k] = v;
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
  return out;
}

function validateEvent(e: NewSiteEvent, nowIso: string, share = false): Omit<SiteEvent, 'id'> {
  if (typeof e !== 'object' || e === null) throw new StoreInputError('event must be an object', 'event');
  const out: Omit<SiteEvent, 'id'> = {
    at: e.at === undefined ? nowIso : e.at,
    level: oneOf(e.level, EVENT_LEVELS, 'level'),
    type: text(e.type, 'type', 1, 200),
    message: message(e.message, 'message'),
  };
  if (Number.isNaN(Date.parse(out.at))) throw new StoreInputError('at must be an ISO 8601 time', 'at');
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
    out.data = share && !needsRedaction(e.data, 0) ? e.data : redactSecrets(e.data);
  }
  return out;
}

function sameKeys(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  return a.length === b.length && a.every((k, i) => k.equals(b[i] as Buffer));
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
function needsRedaction(v: unknown, depth: number): boolean {
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

function toCertificateInfo(r: Row): ProvisioningCertificateInfo {
  return {
    id: r.id as number,
    name: r.name as string,
    certPem: r.cert_pem as string,
    rootHashes: {
      sha1: r.root_sha1 as string,
      sha256: r.root_sha256 as string,
      sha384: r.root_sha384 as string,
    },
    enabled: r.enabled === 1,
    createdAt: r.created_at as string,
  };
}
