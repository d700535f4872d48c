import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateAmtPassword } from '@oobkit/http-digest';
import Database from 'better-sqlite3';
import { type SecretKeyProvider, sealSecret, secretKeysOf } from '../secrets/index.js';
import { ServiceError, StoreConflictError, StoreInputError, StoreNotFoundError } from './errors.js';
import { migrate } from './migrations.js';
import {
  type CertificateRow,
  type ComputerRow,
  type CredentialRow,
  checkLease,
  DEVICE_COLUMNS,
  type DeviceRow,
  deviceValues,
  EVENT_COLUMN_COUNT,
  EVENT_COLUMNS,
  type EventRow,
  type JobRow,
  mergeDevice,
  mergeJournal,
  pushEventValues,
  type SecretRow,
  settingsValues,
  tally,
  toCertificateInfo,
  toComputer,
  toCredential,
  toDevice,
  toEvent,
  toJob,
  toSecret,
  toSettings,
} from './records.js';
import {
  certificateAad,
  credentialAad,
  DEVICE_CA_AAD,
  SEALED_COLUMNS,
  SealingKeys,
  sealKeyCheck,
  secretAad,
} from './sealing.js';
import { defaultSettings, validateSettings } from './settings.js';
import {
  type AmtCredential,
  DEVICE_STATUSES,
  type DeviceRecord,
  type DeviceSecret,
  type DeviceStatus,
  type DeviceUuid,
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
  cutoffArg,
  FINAL_STATES,
  intArg,
  JOB_REASONS,
  limitArg,
  normalizeUuid,
  oneOf,
  positiveInt,
  SECRET_KINDS,
  text,
  validateCertificate,
  validateComputers,
  validateCredential,
  validateDeviceCa,
  validateDevicePatch,
  validateError,
  validateEvent,
  validateEvents,
  validateNewSecret,
  validateSecretFilter,
  validateStepUpdate,
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

/** Events deleted per transaction by `pruneEvents`. */
const PRUNE_BATCH = 5_000;
const KEY_MISMATCH =
  'the secret key is not the key this store was created with (a key file found missing is made afresh: put back the one this database was made with)';

/**
 * Opens (creating and migrating as needed) the SQLite site store. WAL mode, so readers (the CLI)
 * never block the service; every multi-row change runs in one immediate transaction, so two
 * processes on the same file serialise their writes. A key that is not the one the store was
 * created with fails here with `SecretKeyError('SECRET_KEY_MISMATCH')`, not later on a read.
 */
export async function openSqliteStore(opts: SqliteStoreOptions): Promise<SiteStore> {
  const keys = await secretKeysOf(opts.keyProvider);
  if (opts.path !== ':memory:' && opts.path !== '') {
    mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
    // A new database file is readable by its owner only, whatever the umask; SQLite gives its
    // -wal and -shm files the database file's mode. (Secrets are sealed, but the rest is the
    // site's inventory.) An existing file keeps the mode its administrator chose.
    try {
      closeSync(openSync(opts.path, 'wx', 0o600));
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
    }
  }
  const db = new Database(opts.path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    // Freed cells and pages are zeroed, not left holding what was there: a record sealed again
    // under a new key (or deleted) leaves no old ciphertext in the pages written from then on.
    db.pragma('secure_delete = ON');
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

class SqliteSiteStore implements SiteStore {
  private closed = false;
  // Preparing a statement costs more than running it: one per SQL text, kept for the store's life.
  private readonly statements = new Map<string, Database.Statement>();
  private readonly inTransaction: Database.Transaction<(fn: () => unknown) => unknown>;
  /** The key ring, and the key of it the records are sealed under. */
  private readonly keys: SealingKeys;

  constructor(
    private readonly db: Database.Database,
    keyProvider: SecretKeyProvider,
    keys: Buffer[],
    private readonly clock: () => number,
  ) {
    this.inTransaction = db.transaction((fn: () => unknown) => fn());
    this.keys = new SealingKeys(keyProvider, keys, () => this.keyCheckRecord(), KEY_MISMATCH);
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
          this.keys.useCheck(check);
        } else {
          this.stmt("INSERT INTO meta (key, value) VALUES ('key_check', ?)").run(sealKeyCheck(this.keys.key));
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

  /** Opens a record with the sealing key, else any other key of the ring (a rotation under way). */
  private openRecord(record: Buffer, aad: string): string {
    return this.keys.open(record, aad);
  }

  /** Seals a record; only inside a write transaction (see `SealingKeys.sealer`). */
  private sealRecord(value: string, aad: string): Buffer {
    return this.keys.sealer(this.keyCheckRecord())(value, aad);
  }

  /** Runs a secret read or a sealing write transaction, again after a rotation (`SealingKeys.withKeys`). */
  private withKeys<T>(fn: () => T): Promise<T> {
    return this.keys.withKeys(fn);
  }

  async reencryptSecrets(): Promise<{ records: number }> {
    this.open();
    const keys = await secretKeysOf(this.keys.provider, true);
    const target = keys[0] as Buffer;
    return this.tx(() => {
      let records = 0;
      // Every sealed column, with the AAD its rows were sealed with (rows read whole first:
      // better-sqlite3 runs no UPDATE while a SELECT is still iterating).
      for (const { table, column, select, aad } of SEALED_COLUMNS) {
        const update = this.stmt(`UPDATE ${table} SET ${column} = ? WHERE id = ?`);
        const rows = this.stmt(`SELECT ${select}, ${column} AS sealed FROM ${table}`).all() as Array<{
          id: number;
          uuid?: string;
          kind?: string;
          sealed: Buffer;
        }>;
        for (const r of rows) {
          const a = aad(r);
          update.run(sealSecret(target, this.keys.open(r.sealed, a, keys), a), r.id);
          records++;
        }
      }
      const check = this.keyCheckRecord();
      if (check) this.keys.keyOpening(keys, check);
      this.stmt("UPDATE meta SET value = ? WHERE key = 'key_check'").run(sealKeyCheck(target));
      this.keys.adopt(keys, target);
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
    const clean = validateComputers(list);
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
      | ComputerRow
      | undefined;
    return row ? toComputer(row) : undefined;
  }

  async listComputers(filter: { limit?: number } = {}): Promise<ImportedComputer[]> {
    this.open();
    if (filter.limit === undefined) {
      return (this.stmt('SELECT * FROM computers ORDER BY host_name, uuid').all() as ComputerRow[]).map(
        toComputer,
      );
    }
    positiveInt(filter.limit, 'limit');
    return (
      this.stmt('SELECT * FROM computers ORDER BY host_name, uuid LIMIT ?').all(filter.limit) as ComputerRow[]
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
      (this.stmt('SELECT * FROM credentials ORDER BY priority, id').all() as CredentialRow[]).map((r) =>
        toCredential(r, this.openRecord(r.password_enc, credentialAad(r.id))),
      ),
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
      return toSettings(row, (record, aad) => this.openRecord(record, aad));
    });
  }

  async putSettings(s: ProvisioningSettings): Promise<void> {
    const clean = validateSettings(s);
    await this.withKeys(() => this.tx(() => this.writeSettings(clean)));
  }

  private writeSettings(s: ProvisioningSettings): void {
    this.stmt(
      `INSERT INTO settings (id, doc, secrets_enc, updated_at) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, secrets_enc = excluded.secrets_enc,
           updated_at = excluded.updated_at`,
    ).run(...settingsValues(s, (value, aad) => this.sealRecord(value, aad)), this.iso());
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
      (this.stmt('SELECT * FROM provisioning_certificates ORDER BY id').all() as CertificateRow[]).map(
        (r) => ({
          ...toCertificateInfo(r),
          keyPem: this.openRecord(r.key_enc as Buffer, certificateAad(r.id)),
        }),
      ),
    );
  }

  async listProvisioningCertificateInfo(): Promise<ProvisioningCertificateInfo[]> {
    this.open();
    return (
      this.stmt(
        'SELECT id, name, cert_pem, root_sha1, root_sha256, root_sha384, enabled, created_at FROM provisioning_certificates ORDER BY id',
      ).all() as CertificateRow[]
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
    const { certPem, keyPem } = validateDeviceCa(ca);
    return this.withKeys(() =>
      this.tx(() => {
        const existing = this.readDeviceCa();
        if (existing) return existing;
        this.stmt('INSERT INTO device_ca (id, cert_pem, key_enc, created_at) VALUES (1, ?, ?, ?)').run(
          certPem,
          this.sealRecord(keyPem, DEVICE_CA_AAD),
          this.iso(),
        );
        return { certPem, keyPem };
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
      const row = this.stmt('SELECT * FROM devices WHERE uuid = ?').get(id) as DeviceRow | undefined;
      const merged = mergeDevice(row && toDevice(row), id, p, this.iso());
      this.stmt(
        `INSERT INTO devices (${DEVICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (uuid) DO UPDATE SET status = excluded.status, address = excluded.address,
             amt_version = excluded.amt_version, last_hello_at = excluded.last_hello_at,
             last_hello = excluded.last_hello, provisioned_at = excluded.provisioned_at,
             last_error = excluded.last_error, updated_at = excluded.updated_at`,
      ).run(deviceValues(merged));
      return merged;
    });
  }

  async getDevice(uuid: DeviceUuid): Promise<DeviceRecord | undefined> {
    this.open();
    const row = this.stmt('SELECT * FROM devices WHERE uuid = ?').get(normalizeUuid(uuid)) as
      | DeviceRow
      | undefined;
    return row ? toDevice(row) : undefined;
  }

  async listDevices(filter: { status?: DeviceStatus } = {}): Promise<DeviceRecord[]> {
    this.open();
    if (filter.status !== undefined) {
      oneOf(filter.status, DEVICE_STATUSES, 'status');
      return (
        this.stmt('SELECT * FROM devices WHERE status = ? ORDER BY uuid').all(filter.status) as DeviceRow[]
      ).map(toDevice);
    }
    return (this.stmt('SELECT * FROM devices ORDER BY uuid').all() as DeviceRow[]).map(toDevice);
  }

  // ---- device secrets --------------------------------------------------------------------

  async addPendingSecret(
    uuid: DeviceUuid,
    kind: SecretKind,
    value: string,
    lease?: { jobId: number; fencingToken: number },
  ): Promise<DeviceSecret> {
    const { uuid: id0 } = validateNewSecret(uuid, kind, value);
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

  async retireSecrets(
    uuid: DeviceUuid,
    kind: SecretKind,
    lease?: { jobId: number; fencingToken: number },
  ): Promise<number> {
    this.open();
    const id = normalizeUuid(uuid);
    const k = oneOf(kind, SECRET_KINDS, 'kind');
    return this.tx(() => {
      if (lease) this.checkLease(lease.jobId, lease.fencingToken, id);
      return this.stmt(
        `UPDATE device_secrets SET state = 'retired', retired_at = ?
           WHERE uuid = ? AND kind = ? AND state IN ('pending', 'current')`,
      ).run(this.iso(), id, k).changes;
    });
  }

  async listSecrets(
    uuid: DeviceUuid,
    opts: { kind?: SecretKind; states?: SecretState[] } = {},
  ): Promise<DeviceSecret[]> {
    this.open();
    const id = normalizeUuid(uuid);
    const { kind, states } = validateSecretFilter(opts);
    if (states.length === 0) return [];
    const select = this.stmt(
      `SELECT * FROM device_secrets WHERE uuid = ? ${kind ? 'AND kind = ?' : ''}
           AND state IN (${states.map(() => '?').join(', ')}) ORDER BY id DESC`,
    );
    return this.withKeys(() =>
      (select.all(id, ...(kind ? [kind] : []), ...states) as SecretRow[]).map((r) =>
        toSecret(r, this.openRecord(r.value_enc, secretAad(r.id, r.uuid, r.kind))),
      ),
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
    const step = EVENT_COLUMN_COUNT * 16;
    if (values.length <= step) {
      if (values.length > 0) this.stmt(insertEventsSql(values.length / EVENT_COLUMN_COUNT)).run(values);
      return;
    }
    for (let i = 0; i < values.length; i += step) {
      const chunk = values.slice(i, i + step);
      this.stmt(insertEventsSql(chunk.length / EVENT_COLUMN_COUNT)).run(chunk);
    }
  }

  /**
   * Validates a batch of events up front, so a bad one changes nothing, straight into the
   * INSERT's parameters. Their data is only serialised, so it is copied only where a secret-named
   * key (or anything else the redaction rewrites) is in it.
   */
  private eventParams(list: readonly NewSiteEvent[] | undefined): unknown[] {
    const values: unknown[] = [];
    for (const ev of validateEvents(list, () => this.iso(), { share: true })) pushEventValues(values, ev);
    return values;
  }

  async pruneEvents(before: string): Promise<number> {
    this.open();
    const cutoff = cutoffArg(before);
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
    return (this.stmt(sql).all(...args, limit) as EventRow[]).map(toEvent);
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

  /** One UPDATE that is also the fencing check: back to the queue, lease cleared, the rest kept. */
  async releaseLease(jobId: number, fencingToken: number): Promise<boolean> {
    return this.tx(() => {
      const changed = this.stmt(
        `UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
           WHERE id = ? AND state = 'running' AND fencing_token = ?`,
      ).run(this.iso(), jobId, fencingToken);
      if (changed.changes === 0) this.leaseRefused(jobId, fencingToken);
      return true;
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
    validateStepUpdate(update);
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
    this.stmt('UPDATE jobs SET journal = ?, step = coalesce(?, step), updated_at = ? WHERE id = ?').run(
      mergeJournal(current.journal, update.journal ?? {}),
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
    oneOf(outcome.state, FINAL_STATES, 'state');
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
    checkLease(row, jobId, fencingToken, uuid);
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

const insertEventsSqlByRows: string[] = [];

function insertEventsSql(rows: number): string {
  let sql = insertEventsSqlByRows[rows];
  if (!sql) {
    sql = `INSERT INTO events (${EVENT_COLUMNS}) VALUES ${Array(rows).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`;
    insertEventsSqlByRows[rows] = sql;
  }
  return sql;
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
