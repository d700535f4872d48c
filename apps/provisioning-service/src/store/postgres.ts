/**
 * The PostgreSQL site store: the scale-out backend, where several service instances share one
 * database. It keeps every behaviour of the SQLite store (`sqlite.ts`, the reference: the same
 * validation, typed errors, sealed secrets, AADs, key check and journal semantics); what differs
 * is how it stays correct when calls really run at once.
 *
 * Concurrency design:
 * - A `pg.Pool` (default 4 connections) runs this store's calls concurrently, and other instances
 *   run theirs against the same rows, so no read-then-write may rely on the process. Each one is
 *   a single atomic statement or a READ COMMITTED transaction on one pooled connection that first
 *   locks what it decides on.
 * - Jobs are claimed with `UPDATE … WHERE id = (SELECT … ORDER BY id LIMIT 1 FOR UPDATE SKIP
 *   LOCKED) RETURNING *`: two claimers never wait on or take the same job; a running job whose
 *   lease expired is claimable again, with its fencing token one higher. Every worker write
 *   (`renewLease`, `recordStep`, `finishJob`, and secrets written under a lease) first reads the
 *   job row `FOR UPDATE` (or `FOR SHARE`) and checks it is running under exactly that token.
 * - One live job per device is the partial unique index `jobs_one_active_per_device`;
 *   `enqueueJob` inserts with `ON CONFLICT … DO NOTHING` against it and reads the live job back.
 * - Transaction-scoped advisory locks (`pg_advisory_xact_lock`, first key `ADVISORY_NAMESPACE`):
 *   the open lock serialises migrating, the key check and the default settings between instances
 *   opening at once; the events lock is taken by every transaction that inserts events, before it
 *   takes ids (see `EVENTS_LOCK`); a per-(device, kind) lock serialises `confirmSecret`.
 * - Sealing a secret reads the key-check record `FOR SHARE` in the sealing transaction and checks
 *   that it opens with the key about to be used; `reencryptSecrets` holds that record `FOR
 *   UPDATE`, so a write sealed under the old key either commits before the rotation re-seals
 *   everything or, after it, finds the new check and retries with the reloaded key ring
 *   (`SECRET_KEY_ROTATED` once the tries run out).
 * - The job journal is `text` holding JSON (jsonb would reorder its keys), merged in JS inside the
 *   locked transaction exactly as SQLite's read-merge-write path does: parse, `Object.assign`,
 *   stringify.
 * - Every time comes from the injected clock, stored as `toISOString()` text in `COLLATE "C"`
 *   columns and compared as text, as SQLite does; the server's clock is never read.
 *
 * PostgreSQL text cannot hold U+0000: where SQLite would store one in a text column (an event
 * message, a certificate PEM), this store refuses the call with `StoreInputError` instead.
 * No error or log line of this module carries a secret.
 */

import { generateAmtPassword } from '@oobkit/http-digest';
import pg, { type CustomTypesConfig, type PoolClient, type QueryResultRow } from 'pg';
import { openSecret, type SecretKeyProvider, sealSecret, secretKeysOf } from '../secrets/index.js';
import { redactSecrets } from '../secrets/redact.js';
import {
  SecretKeyError,
  ServiceError,
  StoreConflictError,
  StoreInputError,
  StoreNotFoundError,
} from './errors.js';
import { ADVISORY_NAMESPACE, migratePostgres, OPEN_LOCK } from './postgres-migrations.js';
import {
  defaultSettings,
  joinSettings,
  type SettingsSecrets,
  splitSettings,
  validateSettings,
} from './settings.js';
import type {
  AmtCredential,
  DeviceRecord,
  DeviceSecret,
  DeviceStatus,
  DeviceUuid,
  EventLevel,
  HelloRecord,
  ImportedComputer,
  Job,
  JobLease,
  JobReason,
  NewSiteEvent,
  ProvisioningCertificateInfo,
  ProvisioningSettings,
  SecretKind,
  SecretState,
  SiteCounts,
  SiteEvent,
  SiteStore,
  StoredProvisioningCertificate,
} from './types.js';
import { DEVICE_STATUSES, JOB_STATES, StaleLeaseError } from './types.js';
import {
  normalizeUuid,
  text,
  validateCertificate,
  validateComputer,
  validateCredential,
} from './validate.js';

export interface PostgresStoreOptions {
  /** A `postgres://` URL, as pg's `connectionString` takes it. */
  connectionString: string;
  keyProvider: SecretKeyProvider;
  /** Clock in ms since the epoch, for timestamps and leases; tests pass a virtual one. */
  now?: () => number;
  /** Makes the MEBx password of the default settings (AMT password policy). */
  generatePassword?: () => string;
  /** Pool size (default 4). */
  poolSize?: number;
}

/**
 * Second key of the advisory lock every event-inserting transaction takes before its INSERT.
 * Ids come from a sequence, so without it a transaction holding a lower id could commit after
 * one holding a higher id, and a reader tailing with `listEvents({ afterId })` that saw the
 * higher one would skip the lower one for good. Under the lock, ids are taken in commit order
 * (the lock is released only once the commit is visible), so a tail never skips an event.
 */
const EVENTS_LOCK = 2;
/** First key of the per-(device, kind) lock `confirmSecret` takes (`oobs`). */
const SECRETS_NAMESPACE = 0x6f6f6273;
const KEY_CHECK = { plaintext: 'oobkit secret key check v1', aad: 'meta:key_check' } as const;
/** The identity each sealed record is bound to (AES-GCM AAD): the same strings as SQLite's. */
const AAD = {
  settings: 'settings:1',
  deviceCa: 'device_ca:1',
  credential: (id: number) => `credentials:${id}`,
  certificate: (id: number) => `provisioning_certificates:${id}`,
  secret: (id: number, uuid: string, kind: string) => `device_secrets:${id}:${uuid}:${kind}`,
} as const;
/** Tries of a secret read or write while the key ring keeps changing under it. */
const KEY_RELOADS = 5;
/** Events deleted per statement (and transaction) by `pruneEvents`. */
const PRUNE_BATCH = 5_000;
/** Event rows per INSERT statement. */
const EVENT_INSERT_ROWS = 500;
/** Rows re-sealed per UPDATE statement by `reencryptSecrets`. */
const RESEAL_ROWS = 500;
/** Runs of a transaction the server aborted as a deadlock victim. */
const TX_TRIES = 3;
/** Rounds `enqueueJob` tries when the live job it conflicted with ended before it could read it. */
const ENQUEUE_TRIES = 20;
const LIST_LIMIT = { default: 100, max: 10_000 } as const;
const EVENT_LEVELS: readonly EventLevel[] = ['debug', 'info', 'warn', 'error'];
const JOB_REASONS: readonly JobReason[] = ['hello', 'manual', 'retry', 'unprovision', 'in-band'];
const SECRET_KINDS: readonly SecretKind[] = ['admin', 'mebx', 'directory'];
const SECRET_STATES: readonly SecretState[] = ['pending', 'current', 'retired'];
const FINAL_STATES = ['succeeded', 'failed', 'cancelled'] as const;
const HASH_ALGORITHMS = ['sha1', 'sha256', 'sha384'] as const;

/** bigint (int8) columns and `count(*)` read as JS numbers: every id and count is a safe integer. */
const PG_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? Number
      : pg.types.getTypeParser(oid, format ?? 'text')) as CustomTypesConfig['getTypeParser'],
};

/**
 * Opens the PostgreSQL site store: connects a pool, migrates the schema (serialised between
 * instances), checks the key ring against the stored key check (or writes one) and seeds the
 * default settings once. A key that is not the one the database was created with fails here
 * with `SecretKeyError('SECRET_KEY_MISMATCH')`.
 */
export async function openPostgresStore(opts: PostgresStoreOptions): Promise<SiteStore> {
  const poolSize = opts.poolSize ?? 4;
  if (!Number.isSafeInteger(poolSize) || poolSize < 1) {
    throw new StoreInputError('poolSize must be a positive integer', 'poolSize');
  }
  const keys = await secretKeysOf(opts.keyProvider);
  const pool = new pg.Pool({ connectionString: opts.connectionString, max: poolSize, types: PG_TYPES });
  // An idle connection the server dropped: the pool discards it and the next call connects anew.
  pool.on('error', () => undefined);
  try {
    const clock = opts.now ?? Date.now;
    const client = await pool.connect();
    try {
      await migratePostgres(client, () => new Date(clock()).toISOString());
    } finally {
      client.release();
    }
    const store = new PostgresSiteStore(pool, opts.keyProvider, keys, clock);
    await store.initialise(opts.generatePassword ?? (() => generateAmtPassword(16)));
    return store;
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}

/** Columns that may be NULL (an optional field left out), as pg returns them. */
type Nullable<R> = { [K in keyof R]: R[K] | null };

type ComputerRow = Pick<ImportedComputer, 'uuid' | 'source'> & {
  host_name: string;
  domain_name: string;
  imported_at: string;
} & Nullable<{ ou: string }>;

type CertificateRow = Pick<ProvisioningCertificateInfo, 'id' | 'name' | 'enabled'> & {
  cert_pem: string;
  key_enc?: Buffer;
  root_sha1: string;
  root_sha256: string;
  root_sha384: string;
  created_at: string;
};

/** `last_hello` and `last_error` hold JSON. */
type DeviceRow = Pick<DeviceRecord, 'uuid' | 'status'> & { updated_at: string } & Nullable<{
    address: string;
    amt_version: string;
    last_hello_at: string;
    last_hello: string;
    provisioned_at: string;
    last_error: string;
  }>;

type SecretRow = Pick<DeviceSecret, 'id' | 'uuid' | 'kind' | 'state'> & {
  value_enc: Buffer;
  created_at: string;
} & Nullable<{ confirmed_at: string }>;

/** `data` holds JSON. */
type EventRow = Pick<SiteEvent, 'id' | 'at' | 'level' | 'type' | 'message'> &
  Nullable<{ uuid: string; job_id: number; step: string; duration_ms: number; data: string }>;

/** `journal` and `last_error` hold JSON. */
type JobRow = Pick<Job, 'id' | 'uuid' | 'reason' | 'state' | 'attempts'> & {
  journal: string;
  fencing_token: number;
  created_at: string;
  updated_at: string;
} & Nullable<{ step: string; lease_owner: string; lease_expires_at: string; last_error: string }>;

// What the interface's methods take, by name.
type NewComputer = Omit<ImportedComputer, 'importedAt'>;
type NewCredential = Omit<AmtCredential, 'id'>;
type NewCertificate = Omit<StoredProvisioningCertificate, 'id' | 'createdAt'>;
type CaPems = { certPem: string; keyPem: string };
type DevicePatch = Parameters<SiteStore['upsertDevice']>[1];
type SecretFilter = NonNullable<Parameters<SiteStore['listSecrets']>[1]>;
type EventFilter = NonNullable<Parameters<SiteStore['listEvents']>[0]>;
type JobFilter = NonNullable<Parameters<SiteStore['listJobs']>[0]>;
type StepUpdate = Parameters<SiteStore['recordStep']>[2];
type JobOutcome = Parameters<SiteStore['finishJob']>[2];
type JobError = NonNullable<Job['lastError']>;
type StoredEvent = Omit<SiteEvent, 'id'>;
type Lease = NonNullable<Parameters<SiteStore['addPendingSecret']>[3]>;
type Seal = (value: string, aad: string) => Buffer;

/** Something to run a query on: the pool (one statement, its own transaction) or a transaction's client. */
type Queryable = Pick<pg.Pool, 'query'> | PoolClient;

/** Every sealed column, how its rows are read for `reencryptSecrets`, and the AAD of a row. */
const SEALED_COLUMNS: ReadonlyArray<{
  table: string;
  column: string;
  select: string;
  aad: (r: { id: number; uuid?: string; kind?: string }) => string;
}> = [
  { table: 'credentials', column: 'password_enc', select: 'id', aad: (r) => AAD.credential(r.id) },
  { table: 'settings', column: 'secrets_enc', select: 'id', aad: () => AAD.settings },
  { table: 'provisioning_certificates', column: 'key_enc', select: 'id', aad: (r) => AAD.certificate(r.id) },
  { table: 'device_ca', column: 'key_enc', select: 'id', aad: () => AAD.deviceCa },
  {
    table: 'device_secrets',
    column: 'value_enc',
    select: 'id, uuid, kind',
    aad: (r) => AAD.secret(r.id, r.uuid ?? '', r.kind ?? ''),
  },
];

class PostgresSiteStore implements SiteStore {
  private closing: Promise<void> | undefined;
  /** The provider's key ring as last read, current first. */
  private keys: Buffer[];
  /** The key this database's records are sealed under (the one that opens its key check). */
  private key: Buffer;

  constructor(
    private readonly pool: pg.Pool,
    private readonly keyProvider: SecretKeyProvider,
    keys: Buffer[],
    private readonly clock: () => number,
  ) {
    this.keys = keys;
    this.key = keys[0] as Buffer;
  }

  /**
   * Under the open lock: checks the key ring against the stored key check (or writes one under
   * the current key) and seeds the default settings if there are none, so two instances opening
   * a new database at once agree on one check and one set of defaults.
   */
  async initialise(generatePassword: () => string): Promise<void> {
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1, $2)', [ADVISORY_NAMESPACE, OPEN_LOCK]);
      const check = await readKeyCheck(c);
      if (check) {
        this.key = keyOpeningCheck(this.keys, check);
      } else {
        await c.query("INSERT INTO meta (key, value) VALUES ('key_check', $1)", [
          sealSecret(this.key, KEY_CHECK.plaintext, KEY_CHECK.aad),
        ]);
      }
      const seeded = await c.query('SELECT 1 FROM settings WHERE id = 1');
      if (seeded.rowCount === 0) await this.writeSettings(c, defaultSettings(generatePassword()));
    });
  }

  private iso(): string {
    return new Date(this.clock()).toISOString();
  }

  // ---- plumbing --------------------------------------------------------------------------

  private open(): void {
    if (this.closing) throw new ServiceError('STORE_CLOSED', 'the store is closed');
  }

  /** A driver error as the store reports it: a call racing `close()` is `STORE_CLOSED`. */
  private translate(err: unknown): unknown {
    if (this.closing && !(err instanceof ServiceError)) {
      return new ServiceError('STORE_CLOSED', 'the store is closed', { cause: err });
    }
    // Input validation refuses U+0000 first; this is the net for a text value it did not foresee.
    if (err instanceof pg.DatabaseError && (err.code === '22021' || err.code === '22P05')) {
      return new StoreInputError('a text value holds a character PostgreSQL cannot store (U+0000)', 'text');
    }
    return err;
  }

  /** One statement in its own transaction, on any pooled connection. */
  private async q<R extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    this.open();
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      throw this.translate(err);
    }
  }

  /** Runs `fn` in one READ COMMITTED transaction on one pooled connection; rolls back if it throws. */
  private async tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        return await this.txOnce(fn);
      } catch (err) {
        // The lock order is fixed throughout, so a deadlock should not happen; if the server
        // still picks this transaction as a victim (or a serialisation failure), nothing of it
        // was written: run it again from the start.
        const retry = err instanceof pg.DatabaseError && (err.code === '40P01' || err.code === '40001');
        if (!retry || tries >= TX_TRIES) throw err;
      }
    }
  }

  private async txOnce<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    this.open();
    let c: PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      throw this.translate(err);
    }
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch((e: unknown) => {
        broken = e instanceof Error ? e : new Error('ROLLBACK failed');
      });
      throw this.translate(err);
    } finally {
      c.release(broken);
    }
  }

  async close(): Promise<void> {
    this.closing ??= this.pool.end().catch(() => undefined);
    await this.closing;
  }

  // ---- secret keys -----------------------------------------------------------------------

  /** Opens a record with the sealing key, else any other key of the ring (a rotation under way). */
  private openRecord(record: Buffer, aad: string, ring: readonly Buffer[] = this.keys): string {
    const sealing = this.key;
    let first: unknown;
    for (const k of [sealing, ...ring.filter((x) => x !== sealing)]) {
      try {
        return openSecret(k, record, aad);
      } catch (err) {
        first ??= err;
      }
    }
    throw first;
  }

  /**
   * Inside a write transaction, before sealing: locks the key check `FOR SHARE` (a concurrent
   * `reencryptSecrets` holds it `FOR UPDATE`) and checks it opens with the key this store seals
   * with. When another instance rotated the key since this one read it, refuses with
   * `SECRET_KEY_ROTATED` (the transaction rolls back; `withKeys` reloads and retries) rather
   * than write a record under a key the site has left.
   */
  private async sealer(c: PoolClient): Promise<Seal> {
    const key = this.key;
    const check = await readKeyCheck(c, 'FOR SHARE');
    if (!check || !opensKeyCheck(key, check)) {
      throw new SecretKeyError(
        'SECRET_KEY_ROTATED',
        "the site's secret key was rotated since this store read it; nothing was written",
        KEY_CHECK.aad,
      );
    }
    return (value, aad) => sealSecret(key, value, aad);
  }

  /**
   * Runs `fn` (a secret read with its row reads, or a transaction that seals); when it fails
   * with a key error because another instance rotated the key, reloads the provider's ring and
   * runs it again, up to `KEY_RELOADS` tries. If the reload finds the same keys, the record is
   * damaged or foreign, and that error stands.
   */
  private async withKeys<T>(fn: () => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      const before = { key: this.key, ring: this.keys };
      try {
        return await fn();
      } catch (err) {
        const rotation =
          err instanceof SecretKeyError &&
          err.code !== 'SECRET_KEY_INVALID' &&
          err.code !== 'SECRET_KEY_MISMATCH';
        if (!rotation || tries >= KEY_RELOADS) throw err;
        await this.reloadKeys();
        const moved = !this.key.equals(before.key) || !sameRing(this.keys, before.ring);
        if (!moved) throw err;
      }
    }
  }

  /** Re-reads the key ring, and which of its keys opens the key check now. */
  private async reloadKeys(): Promise<void> {
    for (let tries = 1; ; tries++) {
      const ring = await secretKeysOf(this.keyProvider, true);
      const { rows } = await this.q<{ value: Buffer }>("SELECT value FROM meta WHERE key = 'key_check'");
      const check = rows[0]?.value;
      const key = check === undefined ? ring[0] : ring.find((k) => opensKeyCheck(k, check));
      if (key) {
        this.key = key;
        this.keys = ring;
        return;
      }
      // A rotation can add its key to the provider and commit between our two reads: read the
      // ring again before calling the key wrong.
      if (tries >= KEY_RELOADS) throw keyMismatch();
    }
  }

  async reencryptSecrets(): Promise<{ records: number }> {
    this.open();
    const ring = await secretKeysOf(this.keyProvider, true);
    const target = ring[0] as Buffer;
    return this.tx(async (c) => {
      // First: every sealing transaction of every instance holds this FOR SHARE, so once we have
      // it no record can be sealed (under any key) until we commit.
      const check = await readKeyCheck(c, 'FOR UPDATE');
      let records = 0;
      for (const { table, column, select, aad } of SEALED_COLUMNS) {
        const { rows } = await c.query<{ id: number; uuid?: string; kind?: string; sealed: Buffer }>(
          `SELECT ${select}, ${column} AS sealed FROM ${table} ORDER BY id`,
        );
        for (let i = 0; i < rows.length; i += RESEAL_ROWS) {
          const chunk = rows.slice(i, i + RESEAL_ROWS);
          const sealed = chunk.map((r) =>
            sealSecret(target, this.openRecord(r.sealed, aad(r), ring), aad(r)),
          );
          // A row deleted since the SELECT (nothing seals while we hold the check) is not counted.
          const { rowCount } = await c.query(
            `UPDATE ${table} AS t SET ${column} = u.sealed
               FROM unnest($1::bigint[], $2::bytea[]) AS u(id, sealed) WHERE t.id = u.id`,
            [chunk.map((r) => r.id), sealed],
          );
          records += rowCount ?? 0;
        }
      }
      if (check) keyOpeningCheck(ring, check);
      await c.query("UPDATE meta SET value = $1 WHERE key = 'key_check'", [
        sealSecret(target, KEY_CHECK.plaintext, KEY_CHECK.aad),
      ]);
      // Only once it committed does this store seal with the new key.
      return records;
    }).then((records) => {
      this.keys = ring;
      this.key = target;
      return { records };
    });
  }

  // ---- computers -------------------------------------------------------------------------

  async importComputers(list: NewComputer[]): Promise<{ created: number; updated: number }> {
    this.open();
    if (!Array.isArray(list)) throw new StoreInputError('computers must be an array', 'computers');
    const clean = list.map((c, i) => validateComputer(c, i));
    const firstIndex = new Map<string, number>();
    for (const [i, c] of clean.entries()) {
      const first = firstIndex.get(c.uuid);
      if (first !== undefined) {
        const field = `computers[${i}].uuid`;
        throw new StoreInputError(`${field} repeats computers[${first}].uuid`, field, i);
      }
      firstIndex.set(c.uuid, i);
    }
    if (clean.length === 0) return { created: 0, updated: 0 };
    // One upsert for the whole list; `xmax = 0` marks a row this statement inserted (an updated
    // row carries this transaction's id there). Rows go in uuid order, so two imports of
    // overlapping lists lock their rows in the same order (no deadlock).
    const { rows } = await this.q<{ inserted: boolean }>(
      `INSERT INTO computers (uuid, host_name, domain_name, ou, source, imported_at)
         SELECT u.uuid, u.host_name, u.domain_name, u.ou, u.source, $6::text
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
             AS u(uuid, host_name, domain_name, ou, source)
           ORDER BY u.uuid
         ON CONFLICT (uuid) DO UPDATE SET host_name = excluded.host_name, domain_name = excluded.domain_name,
           ou = excluded.ou, source = excluded.source, imported_at = excluded.imported_at
         RETURNING (xmax = 0) AS inserted`,
      [
        clean.map((c) => c.uuid),
        clean.map((c) => c.hostName),
        clean.map((c) => c.domainName),
        clean.map((c) => c.ou ?? null),
        clean.map((c) => c.source),
        this.iso(),
      ],
    );
    const created = rows.filter((r) => r.inserted).length;
    return { created, updated: clean.length - created };
  }

  async getComputer(uuid: DeviceUuid): Promise<ImportedComputer | undefined> {
    this.open();
    const { rows } = await this.q<ComputerRow>('SELECT * FROM computers WHERE uuid = $1', [
      normalizeUuid(uuid),
    ]);
    return rows[0] && toComputer(rows[0]);
  }

  async listComputers(filter: { limit?: number } = {}): Promise<ImportedComputer[]> {
    this.open();
    const limit = filter.limit === undefined ? null : count(filter.limit, 'limit', 1);
    const { rows } = await this.q<ComputerRow>('SELECT * FROM computers ORDER BY host_name, uuid LIMIT $1', [
      limit,
    ]);
    return rows.map(toComputer);
  }

  async deleteComputer(uuid: DeviceUuid): Promise<boolean> {
    this.open();
    const { rowCount } = await this.q('DELETE FROM computers WHERE uuid = $1', [normalizeUuid(uuid)]);
    return (rowCount ?? 0) > 0;
  }

  // ---- credentials -----------------------------------------------------------------------

  async addCredential(credential: NewCredential): Promise<AmtCredential> {
    const clean = validateCredential(credential);
    return this.withKeys(() =>
      this.tx(async (t) => {
        const seal = await this.sealer(t);
        // The id is part of the AAD: take it first, then insert the row already sealed.
        const id = await nextId(t, 'credentials');
        await t.query(
          'INSERT INTO credentials (id, label, username, password_enc, priority) VALUES ($1, $2, $3, $4, $5)',
          [id, clean.label, clean.username, seal(clean.password, AAD.credential(id)), clean.priority],
        );
        return { ...clean, id };
      }),
    );
  }

  async listCredentials(): Promise<AmtCredential[]> {
    // Rows are read inside: a retry after another instance rotated the key reads them again.
    return this.withKeys(async () => {
      const { rows } = await this.q<{
        id: number;
        label: string;
        username: string;
        password_enc: Buffer;
        priority: number;
      }>('SELECT * FROM credentials ORDER BY priority, id');
      return rows.map(({ password_enc, ...r }) => ({
        ...r,
        password: this.openRecord(password_enc, AAD.credential(r.id)),
      }));
    });
  }

  async deleteCredential(id: number): Promise<boolean> {
    this.open();
    const { rowCount } = await this.q('DELETE FROM credentials WHERE id = $1', [idParam(id)]);
    return (rowCount ?? 0) > 0;
  }

  // ---- settings --------------------------------------------------------------------------

  async getSettings(): Promise<ProvisioningSettings> {
    this.open();
    return this.withKeys(async () => {
      const { rows } = await this.q<{ doc: string; secrets_enc: Buffer }>(
        'SELECT doc, secrets_enc FROM settings WHERE id = 1',
      );
      const row = rows[0];
      if (!row) throw new StoreNotFoundError('settings', 1);
      const secrets = JSON.parse(this.openRecord(row.secrets_enc, AAD.settings)) as SettingsSecrets;
      return joinSettings(JSON.parse(row.doc), secrets);
    });
  }

  async putSettings(settings: ProvisioningSettings): Promise<void> {
    const valid = validateSettings(settings);
    await this.withKeys(() => this.tx((c) => this.writeSettings(c, valid)));
  }

  private async writeSettings(c: PoolClient, s: ProvisioningSettings): Promise<void> {
    const seal = await this.sealer(c);
    const { doc, secrets } = splitSettings(s);
    await c.query(
      `INSERT INTO settings (id, doc, secrets_enc, updated_at) VALUES (1, $1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, secrets_enc = excluded.secrets_enc,
           updated_at = excluded.updated_at`,
      [JSON.stringify(doc), seal(JSON.stringify(secrets), AAD.settings), this.iso()],
    );
  }

  // ---- provisioning certificates ---------------------------------------------------------

  async addProvisioningCertificate(certificate: NewCertificate): Promise<StoredProvisioningCertificate> {
    const clean = validateCertificate(certificate);
    storable(clean.certPem, 'certPem');
    return this.withKeys(() =>
      this.tx(async (t) => {
        const seal = await this.sealer(t);
        const id = await nextId(t, 'provisioning_certificates');
        const createdAt = this.iso();
        const { sha1, sha256, sha384 } = clean.rootHashes;
        await t.query(
          `INSERT INTO provisioning_certificates
             (id, name, cert_pem, key_enc, root_sha1, root_sha256, root_sha384, enabled, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [
            id,
            clean.name,
            clean.certPem,
            seal(clean.keyPem, AAD.certificate(id)),
            sha1,
            sha256,
            sha384,
            clean.enabled,
            createdAt,
          ],
        );
        return { ...clean, id, createdAt };
      }),
    );
  }

  async listProvisioningCertificates(): Promise<StoredProvisioningCertificate[]> {
    return this.withKeys(async () => {
      const { rows } = await this.q<CertificateRow>('SELECT * FROM provisioning_certificates ORDER BY id');
      return rows.map((r) => ({
        ...toCertificateInfo(r),
        keyPem: this.openRecord(r.key_enc as Buffer, AAD.certificate(r.id)),
      }));
    });
  }

  async listProvisioningCertificateInfo(): Promise<ProvisioningCertificateInfo[]> {
    this.open();
    const { rows } = await this.q<CertificateRow>(
      `SELECT id, name, cert_pem, root_sha1, root_sha256, root_sha384, enabled, created_at
         FROM provisioning_certificates ORDER BY id`,
    );
    return rows.map(toCertificateInfo);
  }

  async setProvisioningCertificateEnabled(id: number, enabled: boolean): Promise<boolean> {
    this.open();
    count(id, 'id', 0);
    if (typeof enabled !== 'boolean') throw new StoreInputError('enabled must be true or false', 'enabled');
    const { rowCount } = await this.q('UPDATE provisioning_certificates SET enabled = $1 WHERE id = $2', [
      enabled,
      id,
    ]);
    return (rowCount ?? 0) > 0;
  }

  async deleteProvisioningCertificate(id: number): Promise<boolean> {
    this.open();
    count(id, 'id', 0);
    const { rowCount } = await this.q('DELETE FROM provisioning_certificates WHERE id = $1', [id]);
    return (rowCount ?? 0) > 0;
  }

  // ---- device CA -------------------------------------------------------------------------

  async getDeviceCa(): Promise<CaPems | undefined> {
    this.open();
    return this.withKeys(() => this.readDeviceCa(this.pool));
  }

  /**
   * Reads the stored CA first (the common case: nothing to seal); else inserts `ca` with
   * `ON CONFLICT DO NOTHING`, which waits for an instance inserting at the same moment, and when
   * that one won, reads and returns its CA.
   */
  async putDeviceCaIfAbsent(ca: CaPems): Promise<CaPems> {
    const { certPem, keyPem } = ca ?? {};
    if (!isPem(certPem, /-----BEGIN CERTIFICATE-----/)) {
      throw new StoreInputError('certPem must be a PEM certificate', 'certPem');
    }
    storable(certPem, 'certPem');
    if (!isPem(keyPem, /-----BEGIN [A-Z ]*PRIVATE KEY-----/)) {
      throw new StoreInputError('keyPem must be a PEM private key', 'keyPem');
    }
    this.open();
    return this.withKeys(async () => {
      const stored = await this.readDeviceCa(this.pool);
      if (stored) return stored;
      return this.tx(async (c) => {
        const seal = await this.sealer(c);
        const inserted = await c.query(
          `INSERT INTO device_ca (id, cert_pem, key_enc, created_at) VALUES (1, $1, $2, $3)
             ON CONFLICT (id) DO NOTHING`,
          [certPem, seal(keyPem, AAD.deviceCa), this.iso()],
        );
        if (inserted.rowCount === 1) return { certPem, keyPem };
        const winner = await this.readDeviceCa(c);
        if (!winner) throw new StoreConflictError('the device CA was deleted while being stored');
        return winner;
      });
    });
  }

  private async readDeviceCa(db: Queryable): Promise<CaPems | undefined> {
    let rows: Array<{ cert_pem: string; key_enc: Buffer }>;
    try {
      ({ rows } = await db.query<{ cert_pem: string; key_enc: Buffer }>(
        'SELECT cert_pem, key_enc FROM device_ca WHERE id = 1',
      ));
    } catch (err) {
      throw this.translate(err);
    }
    const row = rows[0];
    return row && { certPem: row.cert_pem, keyPem: this.openRecord(row.key_enc, AAD.deviceCa) };
  }

  // ---- devices ---------------------------------------------------------------------------

  /**
   * Read-merge-write under the row lock (`FOR UPDATE`); a device new to the store is inserted
   * with `ON CONFLICT DO NOTHING`, and if another instance inserted it first, merged again onto
   * that row.
   */
  async upsertDevice(uuid: DeviceUuid, patch: DevicePatch): Promise<DeviceRecord> {
    const id = normalizeUuid(uuid);
    const p = devicePatch(patch);
    return this.tx(async (c) => {
      for (;;) {
        const { rows } = await c.query<DeviceRow>('SELECT * FROM devices WHERE uuid = $1 FOR UPDATE', [id]);
        const row = rows[0];
        const base: DeviceRecord = row ? toDevice(row) : { uuid: id, status: 'discovered', updatedAt: '' };
        // A key present with `undefined` clears that field (e.g. `lastError` after a success).
        const merged = withoutAbsent({ ...base, ...p, updatedAt: this.iso() }) as unknown as DeviceRecord;
        const values = [
          id,
          merged.status,
          merged.address ?? null,
          merged.amtVersion ?? null,
          merged.lastHelloAt ?? null,
          merged.lastHello ? JSON.stringify(merged.lastHello) : null,
          merged.provisionedAt ?? null,
          merged.lastError ? JSON.stringify(merged.lastError) : null,
          merged.updatedAt,
        ];
        const write = row
          ? `UPDATE devices SET status = $2, address = $3, amt_version = $4, last_hello_at = $5, last_hello = $6,
               provisioned_at = $7, last_error = $8, updated_at = $9 WHERE uuid = $1`
          : `INSERT INTO devices (uuid, status, address, amt_version, last_hello_at, last_hello, provisioned_at,
               last_error, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (uuid) DO NOTHING`;
        if ((await c.query(write, values)).rowCount === 1) return merged;
      }
    });
  }

  async getDevice(uuid: DeviceUuid): Promise<DeviceRecord | undefined> {
    this.open();
    const { rows } = await this.q<DeviceRow>('SELECT * FROM devices WHERE uuid = $1', [normalizeUuid(uuid)]);
    return rows[0] && toDevice(rows[0]);
  }

  async listDevices(filter: { status?: DeviceStatus } = {}): Promise<DeviceRecord[]> {
    this.open();
    const status = filter.status === undefined ? null : member(filter.status, DEVICE_STATUSES, 'status');
    const { rows } = await this.q<DeviceRow>(
      'SELECT * FROM devices WHERE $1::text IS NULL OR status = $1 ORDER BY uuid',
      [status],
    );
    return rows.map(toDevice);
  }

  // ---- device secrets --------------------------------------------------------------------

  async addPendingSecret(
    uuid: DeviceUuid,
    kind: SecretKind,
    value: string,
    lease?: Lease,
  ): Promise<DeviceSecret> {
    const owner = normalizeUuid(uuid);
    member(kind, SECRET_KINDS, 'kind');
    if (typeof value !== 'string' || value.length === 0 || value.length > 4096) {
      throw new StoreInputError('value must be 1–4096 characters', 'value');
    }
    return this.withKeys(() =>
      this.tx(async (c) => {
        // FOR SHARE: no claim can move the job on until this secret is stored.
        if (lease) await lockLease(c, lease.jobId, lease.fencingToken, 'FOR SHARE', owner);
        const seal = await this.sealer(c);
        const id = await nextId(c, 'device_secrets');
        const createdAt = this.iso();
        await c.query(
          `INSERT INTO device_secrets (id, uuid, kind, state, value_enc, created_at)
             VALUES ($1, $2, $3, 'pending', $4, $5)`,
          [id, owner, kind, seal(value, AAD.secret(id, owner, kind)), createdAt],
        );
        return { id, uuid: owner, kind, state: 'pending' as const, value, createdAt };
      }),
    );
  }

  /**
   * pending → current. The previous current secret of that kind, and any older pending one (an
   * attempt this one superseded), become retired; confirming a current secret again is a no-op.
   * Confirmations of one device's secrets of one kind are serialised by an advisory lock, so
   * two at once end as SQLite's would one after the other (never two current secrets).
   */
  async confirmSecret(secretId: number, lease?: Lease): Promise<void> {
    const id = idParam(secretId);
    await this.tx(async (c) => {
      // `reencryptSecrets` rewrites every secret row holding the key check FOR UPDATE: taking it
      // FOR SHARE first keeps our row locks and its from interleaving (a deadlock).
      await readKeyCheck(c, 'FOR SHARE');
      const read = async () =>
        (
          await c.query<Pick<SecretRow, 'id' | 'uuid' | 'kind' | 'state'>>(
            'SELECT id, uuid, kind, state FROM device_secrets WHERE id = $1',
            [id],
          )
        ).rows[0];
      let s = await read();
      if (s) {
        await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
          SECRETS_NAMESPACE,
          `${s.uuid}:${s.kind}`,
        ]);
        s = await read(); // as it is now that no other confirmation of the group can run
      }
      if (lease) await lockLease(c, lease.jobId, lease.fencingToken, 'FOR SHARE', s?.uuid);
      if (!s) throw new StoreNotFoundError('secret', secretId);
      if (s.state === 'current') return;
      if (s.state === 'retired') {
        throw new StoreConflictError(`secret ${secretId} is retired and cannot become current`);
      }
      const at = this.iso();
      await c.query(
        `UPDATE device_secrets SET state = 'retired', retired_at = $1
           WHERE uuid = $2 AND kind = $3 AND (state = 'current' OR (state = 'pending' AND id < $4))`,
        [at, s.uuid, s.kind, s.id],
      );
      await c.query(`UPDATE device_secrets SET state = 'current', confirmed_at = $1 WHERE id = $2`, [
        at,
        s.id,
      ]);
    });
  }

  async listSecrets(uuid: DeviceUuid, opts: SecretFilter = {}): Promise<DeviceSecret[]> {
    this.open();
    const owner = normalizeUuid(uuid);
    const states = opts.states ?? ['current', 'pending'];
    for (const s of states) member(s, SECRET_STATES, 'states');
    const kind = opts.kind === undefined ? null : member(opts.kind, SECRET_KINDS, 'kind');
    if (states.length === 0) return [];
    return this.withKeys(async () => {
      const { rows } = await this.q<SecretRow>(
        `SELECT * FROM device_secrets
           WHERE uuid = $1 AND ($2::text IS NULL OR kind = $2) AND state = ANY($3::text[])
           ORDER BY id DESC`,
        [owner, kind, states],
      );
      return rows.map(({ id, uuid: owner, kind, state, value_enc, created_at, confirmed_at }) =>
        withoutAbsent<DeviceSecret>({
          id,
          uuid: owner,
          kind,
          state,
          value: this.openRecord(value_enc, AAD.secret(id, owner, kind)),
          createdAt: created_at,
          confirmedAt: confirmed_at || undefined,
        }),
      );
    });
  }

  // ---- events ----------------------------------------------------------------------------

  /** One statement: it takes the events lock (see `EVENTS_LOCK`) before its row takes an id. */
  async appendEvent(e: NewSiteEvent): Promise<SiteEvent> {
    this.open();
    const ev = newEvent(e, this.iso());
    const { rows } = await this.q<{ id: number }>(
      `WITH locked AS (SELECT pg_advisory_xact_lock($1, $2))
       INSERT INTO events (at, level, type, uuid, job_id, step, message, duration_ms, data)
         SELECT $3::text, $4::text, $5::text, $6::text, $7::bigint, $8::text, $9::text, $10::float8, $11::text
           FROM locked
       RETURNING id`,
      [ADVISORY_NAMESPACE, EVENTS_LOCK, ...eventValues(ev)],
    );
    return { id: (rows[0] as { id: number }).id, ...ev };
  }

  /**
   * Validates a batch of events up front, so a bad one changes nothing. Events without a time
   * all get the same one, read once.
   */
  private newEvents(list: readonly NewSiteEvent[] | undefined): StoredEvent[] {
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw new StoreInputError('events must be an array', 'events');
    const nowIso = list.some((e) => e?.at === undefined) ? this.iso() : '';
    return list.map((e) => newEvent(e, nowIso));
  }

  /** Inserts events in order, as the last writes of the caller's transaction, under the events lock. */
  private async insertEvents(c: PoolClient, events: readonly StoredEvent[]): Promise<void> {
    if (events.length === 0) return;
    await c.query('SELECT pg_advisory_xact_lock($1, $2)', [ADVISORY_NAMESPACE, EVENTS_LOCK]);
    for (let i = 0; i < events.length; i += EVENT_INSERT_ROWS) {
      const chunk = events.slice(i, i + EVENT_INSERT_ROWS);
      const params = chunk.flatMap(eventValues);
      const width = params.length / chunk.length;
      const tuples = chunk.map(
        (_, r) => `(${Array.from({ length: width }, (_, k) => `$${r * width + k + 1}`).join(', ')})`,
      );
      // A multi-row VALUES list is inserted, and so numbered, in its order.
      await c.query(
        `INSERT INTO events (at, level, type, uuid, job_id, step, message, duration_ms, data) VALUES ${tuples.join(', ')}`,
        params,
      );
    }
  }

  async pruneEvents(before: string): Promise<number> {
    this.open();
    // Compared as the instant it names (an offset is allowed), in the stored spelling.
    const cutoff = new Date(Date.parse(isoTime(before, 'before'))).toISOString();
    let removed = 0;
    // Oldest first by id, one batch per statement (its own transaction), so writers get in between.
    for (;;) {
      const { rowCount } = await this.q(
        `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < $1 ORDER BY id LIMIT ${PRUNE_BATCH})`,
        [cutoff],
      );
      removed += rowCount ?? 0;
      if ((rowCount ?? 0) < PRUNE_BATCH) return removed;
    }
  }

  /**
   * Ascending by id. With `afterId`, the events after it (tailing: see `EVENTS_LOCK` for why no
   * event can appear later below an id already seen); without, the newest `limit` (default 100),
   * still in ascending order.
   */
  async listEvents(filter: EventFilter = {}): Promise<SiteEvent[]> {
    this.open();
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (condition: string, value: unknown) => {
      params.push(value);
      where.push(condition.replace('?', `$${params.length}`));
    };
    if (filter.uuid !== undefined) add('uuid = ?', normalizeUuid(filter.uuid));
    if (filter.jobId !== undefined) add('job_id = ?', count(filter.jobId, 'jobId', 0));
    if (filter.type !== undefined) {
      if (typeof filter.type !== 'string') throw new StoreInputError('type must be text', 'type');
      // No stored type holds U+0000 (nor any control character): nothing can match.
      if (filter.type.includes('\u0000')) return [];
      add('type = ?', filter.type);
    }
    const tail = filter.afterId !== undefined;
    if (tail) add('id > ?', count(filter.afterId, 'afterId', 0));
    params.push(listLimit(filter.limit));
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const limit = `LIMIT $${params.length}`;
    const sql = tail
      ? `SELECT * FROM events ${clause} ORDER BY id ${limit}`
      : `SELECT * FROM (SELECT * FROM events ${clause} ORDER BY id DESC ${limit}) AS newest ORDER BY id`;
    const { rows } = await this.q<EventRow>(sql, params);
    return rows.map(toEvent);
  }

  // ---- jobs ------------------------------------------------------------------------------

  /**
   * The live job, else a new one: `ON CONFLICT DO NOTHING` against the one-live-job index waits
   * for an instance queueing the same device at once, and then reads its job. If that job ended
   * in between, tries again.
   */
  async enqueueJob(uuid: DeviceUuid, reason: JobReason): Promise<{ job: Job; created: boolean }> {
    const id = normalizeUuid(uuid);
    member(reason, JOB_REASONS, 'reason');
    this.open();
    for (let round = 0; round < ENQUEUE_TRIES; round++) {
      const live = await this.q<JobRow>(
        `SELECT * FROM jobs WHERE uuid = $1 AND state IN ('queued', 'running')`,
        [id],
      );
      if (live.rows[0]) return { job: toJob(live.rows[0]), created: false };
      const at = this.iso();
      const added = await this.q<JobRow>(
        `INSERT INTO jobs (uuid, reason, state, journal, attempts, fencing_token, created_at, updated_at)
           VALUES ($1, $2, 'queued', '{}', 0, 0, $3, $3)
           ON CONFLICT (uuid) WHERE state IN ('queued', 'running') DO NOTHING
           RETURNING *`,
        [id, reason, at],
      );
      if (added.rows[0]) return { job: toJob(added.rows[0]), created: true };
    }
    throw new StoreConflictError(`jobs of device ${id} keep starting and ending; try again`);
  }

  /**
   * One statement: the subquery locks the oldest claimable job (`SKIP LOCKED`: one another
   * claimer holds is passed over, never waited for; one it took meanwhile no longer matches when
   * rechecked), and the UPDATE takes it with the next fencing token.
   */
  async claimJob(owner: string, leaseMs: number): Promise<JobLease | undefined> {
    text(owner, 'owner', 1, 200);
    count(leaseMs, 'leaseMs', 1);
    this.open();
    const nowMs = this.clock();
    const at = new Date(nowMs).toISOString();
    const { rows } = await this.q<JobRow>(
      `UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = $2,
           fencing_token = fencing_token + 1, attempts = attempts + 1, updated_at = $3
         WHERE id = (
           SELECT id FROM jobs
             WHERE state = 'queued' OR (state = 'running' AND lease_expires_at <= $3)
             ORDER BY id LIMIT 1
             FOR UPDATE SKIP LOCKED)
         RETURNING *`,
      [owner, new Date(nowMs + leaseMs).toISOString(), at],
    );
    if (!rows[0]) return undefined;
    const job = toJob(rows[0]);
    return { job, fencingToken: job.fencingToken };
  }

  async renewLease(jobId: number, fencingToken: number, leaseMs: number): Promise<void> {
    count(leaseMs, 'leaseMs', 1);
    await this.tx(async (c) => {
      await lockLease(c, jobId, fencingToken, 'FOR UPDATE');
      const nowMs = this.clock();
      await c.query('UPDATE jobs SET lease_expires_at = $1, updated_at = $2 WHERE id = $3', [
        new Date(nowMs + leaseMs).toISOString(),
        new Date(nowMs).toISOString(),
        jobId,
      ]);
    });
  }

  /**
   * Under the job's row lock: the fencing check, then the journal merged in JS exactly as
   * SQLite's read-merge-write path does it (`mergeJournal`), the step, and the events.
   */
  async recordStep(jobId: number, fencingToken: number, update: StepUpdate): Promise<void> {
    const { step, journal } = update;
    if (step !== undefined) text(step, 'step', 1, 200);
    if (journal !== undefined && (journal === null || typeof journal !== 'object')) {
      throw new StoreInputError('journal must be an object', 'journal');
    }
    const events = this.newEvents(update.events);
    const changes = journal !== undefined && Object.keys(journal).length > 0;
    await this.tx(async (c) => {
      const job = await lockLease(c, jobId, fencingToken, 'FOR UPDATE', undefined, changes);
      const at = this.iso();
      if (changes) {
        // Throws (a cycle, a BigInt) only now: a lost lease reports first, and nothing is written.
        const merged = mergeJournal(job.journal as string, journal as Record<string, unknown>);
        await c.query(
          'UPDATE jobs SET journal = $1, step = coalesce($2, step), updated_at = $3 WHERE id = $4',
          [merged, step ?? null, at, jobId],
        );
      } else {
        await c.query('UPDATE jobs SET step = coalesce($1, step), updated_at = $2 WHERE id = $3', [
          step ?? null,
          at,
          jobId,
        ]);
      }
      await this.insertEvents(c, events);
    });
  }

  async finishJob(jobId: number, fencingToken: number, outcome: JobOutcome): Promise<Job> {
    member(outcome.state, FINAL_STATES, 'state');
    const error = outcome.error === undefined ? undefined : errorRecord(outcome.error, 'error');
    const events = this.newEvents(outcome.events);
    return this.tx(async (c) => {
      await lockLease(c, jobId, fencingToken, 'FOR UPDATE');
      const { rows } = await c.query<JobRow>(
        `UPDATE jobs SET state = $1, last_error = $2, lease_owner = NULL, lease_expires_at = NULL, updated_at = $3
           WHERE id = $4 RETURNING *`,
        [outcome.state, error ? JSON.stringify(error) : null, this.iso(), jobId],
      );
      await this.insertEvents(c, events);
      return toJob(rows[0] as JobRow);
    });
  }

  async getJob(id: number): Promise<Job | undefined> {
    this.open();
    const { rows } = await this.q<JobRow>('SELECT * FROM jobs WHERE id = $1', [idParam(id)]);
    return rows[0] && toJob(rows[0]);
  }

  /** Newest first. */
  async listJobs(filter: JobFilter = {}): Promise<Job[]> {
    this.open();
    const uuid = filter.uuid === undefined ? null : normalizeUuid(filter.uuid);
    const state = filter.state === undefined ? null : member(filter.state, JOB_STATES, 'state');
    const { rows } = await this.q<JobRow>(
      `SELECT * FROM jobs WHERE ($1::text IS NULL OR uuid = $1) AND ($2::text IS NULL OR state = $2)
         ORDER BY id DESC LIMIT $3`,
      [uuid, state, listLimit(filter.limit)],
    );
    return rows.map(toJob);
  }

  /** Both tallies in one statement, so from one snapshot. */
  async countByState(): Promise<SiteCounts> {
    this.open();
    const { rows } = await this.q<{ t: 'd' | 'j'; k: string; n: number }>(
      `SELECT 'd' AS t, status AS k, count(*) AS n FROM devices GROUP BY status
       UNION ALL SELECT 'j', state, count(*) FROM jobs GROUP BY state`,
    );
    const tally = <K extends string>(keys: readonly K[], t: 'd' | 'j'): Record<K, number> => {
      const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
      for (const r of rows) if (r.t === t && (keys as readonly string[]).includes(r.k)) out[r.k as K] = r.n;
      return out;
    };
    return { devices: tally(DEVICE_STATUSES, 'd'), jobs: tally(JOB_STATES, 'j') };
  }
}

// ---- the lease check -------------------------------------------------------------------------

/**
 * The fencing check, inside the caller's transaction: locks the job row (`FOR UPDATE` for a
 * write to it, `FOR SHARE` for a write that only depends on it) and requires it running under
 * exactly this token. A reclaimed job has a higher token, so the old worker's writes are
 * refused (`StaleLeaseError`); an expired lease nobody reclaimed still passes, its token being
 * still the newest. With `uuid`, the job must be that device's.
 */
async function lockLease(
  c: PoolClient,
  jobId: unknown,
  fencingToken: unknown,
  lock: 'FOR UPDATE' | 'FOR SHARE',
  uuid?: string,
  withJournal = false,
): Promise<Pick<JobRow, 'uuid' | 'state' | 'fencing_token'> & { journal?: string }> {
  const { rows } = await c.query<Pick<JobRow, 'uuid' | 'state' | 'fencing_token'> & { journal?: string }>(
    `SELECT uuid, state, fencing_token${withJournal ? ', journal' : ''} FROM jobs WHERE id = $1 ${lock}`,
    [idParam(jobId)],
  );
  const job = rows[0];
  if (!job) throw new StoreNotFoundError('job', jobId as number);
  if (job.state !== 'running' || job.fencing_token !== fencingToken)
    throw new StaleLeaseError(jobId as number);
  if (uuid !== undefined && job.uuid !== uuid) {
    throw new StoreInputError(`job ${jobId} belongs to another device`, 'jobId');
  }
  return job;
}

// ---- keys ------------------------------------------------------------------------------------

async function readKeyCheck(
  c: PoolClient,
  lock: '' | 'FOR SHARE' | 'FOR UPDATE' = '',
): Promise<Buffer | undefined> {
  const { rows } = await c.query<{ value: Buffer }>(`SELECT value FROM meta WHERE key = 'key_check' ${lock}`);
  return rows[0]?.value;
}

function opensKeyCheck(key: Buffer, check: Buffer): boolean {
  try {
    return openSecret(key, check, KEY_CHECK.aad) === KEY_CHECK.plaintext;
  } catch {
    return false;
  }
}

/** The ring's key that opens the key check, or `SECRET_KEY_MISMATCH`. */
function keyOpeningCheck(keys: readonly Buffer[], check: Buffer): Buffer {
  const key = keys.find((k) => opensKeyCheck(k, check));
  if (key) return key;
  throw keyMismatch();
}

function keyMismatch(): SecretKeyError {
  return new SecretKeyError(
    'SECRET_KEY_MISMATCH',
    'the secret key is not the key this database was created with (put back the key file this site was set up with)',
    KEY_CHECK.aad,
  );
}

function sameRing(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  return a.length === b.length && a.every((k, i) => k.equals(b[i] as Buffer));
}

/** The next id of a table's sequence, for rows whose sealed column's AAD holds their id. */
async function nextId(
  c: PoolClient,
  table: 'credentials' | 'provisioning_certificates' | 'device_secrets',
): Promise<number> {
  const { rows } = await c.query<{ id: number }>(`SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id`, [
    table,
  ]);
  return (rows[0] as { id: number }).id;
}

// ---- the journal -----------------------------------------------------------------------------

/**
 * recordStep's merge, byte for byte what SQLite stores: the stored journal parsed, the update
 * `Object.assign`ed onto it (each key replaces that key's entry whole; a new key goes last; a
 * value JSON leaves out, like `undefined`, drops its key; `null` stays), then stringified.
 *
 * `__proto__`: `JSON.parse` makes a stored `"__proto__"` key an own property, and `Object.assign`
 * then replaces that property in place; an update's own `__proto__` meeting a journal without
 * one sets the parsed object's prototype instead, which `JSON.stringify` does not write. Both are
 * exactly what SQLite's read-merge-write path and the contract's parse-assign-stringify model
 * do, and the object stays local to this call, so nothing outside it is affected.
 */
function mergeJournal(stored: string, update: Record<string, unknown>): string {
  const journal: Record<string, unknown> = JSON.parse(stored);
  return JSON.stringify(Object.assign(journal, update));
}

// ---- validation --------------------------------------------------------------------------------

function isPem(v: unknown, marker: RegExp): v is string {
  return typeof v === 'string' && marker.test(v);
}

/** Refuses U+0000, which a PostgreSQL text column cannot hold (SQLite would have stored it). */
function storable(v: string, field: string): string {
  if (v.includes('\u0000')) {
    throw new StoreInputError(`${field} cannot hold the character U+0000`, field);
  }
  return v;
}

/** A parameter for an id column: the id when it can be one, else NULL (which matches no row). */
function idParam(v: unknown): number | null {
  return Number.isSafeInteger(v) ? (v as number) : null;
}

function member<T extends string>(v: unknown, allowed: readonly T[], field: string): T {
  if (allowed.includes(v as T)) return v as T;
  throw new StoreInputError(`${field} must be one of ${allowed.join(', ')}`, field);
}

/** A safe integer of at least `min` (0: "non-negative", 1: "positive"). */
function count(v: unknown, field: string, min: 0 | 1): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min) return v;
  throw new StoreInputError(`${field} must be a ${min === 0 ? 'non-negative' : 'positive'} integer`, field);
}

function listLimit(v: unknown): number {
  return v === undefined ? LIST_LIMIT.default : Math.min(count(v, 'limit', 1), LIST_LIMIT.max);
}

/** Free text up to 4000 characters (messages may span lines). */
function freeText(v: unknown, field: string): string {
  if (typeof v === 'string' && v.length <= 4000) return v;
  throw new StoreInputError(`${field} must be text up to 4000 characters`, field);
}

function isoTime(v: unknown, field: string): string {
  if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return storable(v, field);
  throw new StoreInputError(`${field} must be an ISO 8601 time`, field);
}

function errorRecord(e: unknown, field: string): JobError {
  if (typeof e !== 'object' || e === null) throw new StoreInputError(`${field} must be an object`, field);
  const { code, message, step } = e as Record<string, unknown>;
  const out = { code: text(code, `${field}.code`, 1, 200), message: freeText(message, `${field}.message`) };
  return step === undefined ? out : { ...out, step: text(step, `${field}.step`, 1, 200) };
}

function isHashAlgorithm(a: unknown): a is HelloRecord['algorithms'][number] {
  return (HASH_ALGORITHMS as readonly unknown[]).includes(a);
}

function helloRecord(v: unknown): HelloRecord {
  const refuse: (why: string) => never = (why) => {
    throw new StoreInputError(`lastHello ${why}`, 'lastHello');
  };
  if (typeof v !== 'object' || v === null) return refuse('must be an object');
  const { retryCount, receivedAt, algorithms, matches } = v as Record<string, unknown>;
  if (!Number.isSafeInteger(retryCount) || (retryCount as number) < 0) refuse('retryCount must be a count');
  if (typeof receivedAt !== 'string' || Number.isNaN(Date.parse(receivedAt))) {
    refuse('receivedAt must be an ISO 8601 time');
  }
  if (!Array.isArray(algorithms) || !algorithms.every(isHashAlgorithm)) {
    refuse('algorithms must be sha1, sha256 or sha384');
  }
  if (!Array.isArray(matches) || matches.length > 100) refuse('matches must be a list');
  return {
    retryCount: retryCount as number,
    algorithms: [...(algorithms as HelloRecord['algorithms'])],
    matches: (matches as unknown[]).map((m) => {
      const { certificateId, algorithm, hash } = (m ?? {}) as Record<string, unknown>;
      const ok =
        typeof m === 'object' &&
        Number.isSafeInteger(certificateId) &&
        isHashAlgorithm(algorithm) &&
        typeof hash === 'string' &&
        /^[0-9a-f]{40,96}$/.test(hash);
      if (!ok) refuse('matches must be { certificateId, algorithm, hash (lower-case hex) }');
      return { certificateId: certificateId as number, algorithm: algorithm as 'sha1', hash: hash as string };
    }),
    receivedAt: receivedAt as string,
  };
}

/** How each device field a patch may carry is checked (`undefined`, clearing it, is let through). */
const DEVICE_FIELDS: Readonly<Record<string, (v: unknown, field: string) => unknown>> = {
  status: (v) => member(v, DEVICE_STATUSES, 'status'),
  address: (v, field) => text(v, field, 1, 200),
  amtVersion: (v, field) => text(v, field, 1, 200),
  lastHelloAt: isoTime,
  provisionedAt: isoTime,
  lastError: (v) => errorRecord(v, 'lastError'),
  lastHello: helloRecord,
};

function devicePatch(patch: unknown): Record<string, unknown> {
  if (typeof patch !== 'object' || patch === null)
    throw new StoreInputError('patch must be an object', 'patch');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(patch)) {
    const check = Object.hasOwn(DEVICE_FIELDS, k) ? DEVICE_FIELDS[k] : undefined;
    if (!check) throw new StoreInputError(`unknown device field ${k}`, k);
    if (v === undefined && k === 'status') throw new StoreInputError('status cannot be cleared', 'status');
    out[k] = v === undefined ? undefined : check(v, k);
  }
  return out;
}

/** A new event checked and completed (`at` defaults to `nowIso`), its data scrubbed of secrets. */
function newEvent(e: NewSiteEvent, nowIso: string): StoredEvent {
  if (typeof e !== 'object' || e === null) throw new StoreInputError('event must be an object', 'event');
  const level = member(e.level, EVENT_LEVELS, 'level');
  const type = text(e.type, 'type', 1, 200);
  const message = storable(freeText(e.message, 'message'), 'message');
  const out: StoredEvent = { at: isoTime(e.at ?? nowIso, 'at'), level, type, message };
  if (e.uuid !== undefined) out.uuid = normalizeUuid(e.uuid);
  if (e.jobId !== undefined) out.jobId = count(e.jobId, 'jobId', 0);
  if (e.step !== undefined) out.step = text(e.step, 'step', 1, 200);
  const { durationMs, data } = e;
  if (durationMs !== undefined) {
    const ok = typeof durationMs === 'number' && Number.isFinite(durationMs) && durationMs >= 0;
    if (!ok) throw new StoreInputError('durationMs must be a non-negative number', 'durationMs');
    out.durationMs = durationMs;
  }
  if (data !== undefined) {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new StoreInputError('data must be an object', 'data');
    }
    // Events never carry a secret: secret-named keys are scrubbed even if a caller slipped one in.
    out.data = redactSecrets(data);
  }
  return out;
}

/** An event's column values, in the order of the INSERTs' column lists (NULL for a field left out). */
function eventValues(e: StoredEvent): unknown[] {
  const { at, level, type, uuid, jobId, step, message, durationMs, data } = e;
  const json = data === undefined ? undefined : JSON.stringify(data);
  return [at, level, type, uuid, jobId, step, message, durationMs, json].map((v) => v ?? null);
}

// ---- rows --------------------------------------------------------------------------------------

/** `o` without the keys whose value is `undefined` or `null` (SQL NULL: an optional field left out). */
function withoutAbsent<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;
}

function parsed<T>(json: string | null): T | undefined {
  return json === null ? undefined : (JSON.parse(json) as T);
}

function toComputer(r: ComputerRow): ImportedComputer {
  return withoutAbsent({
    uuid: r.uuid,
    hostName: r.host_name,
    domainName: r.domain_name,
    ou: r.ou ?? undefined,
    source: r.source,
    importedAt: r.imported_at,
  });
}

function toCertificateInfo(r: CertificateRow): ProvisioningCertificateInfo {
  return {
    id: r.id,
    name: r.name,
    certPem: r.cert_pem,
    rootHashes: { sha1: r.root_sha1, sha256: r.root_sha256, sha384: r.root_sha384 },
    enabled: r.enabled,
    createdAt: r.created_at,
  };
}

function toDevice(r: DeviceRow): DeviceRecord {
  return withoutAbsent<DeviceRecord>({
    uuid: r.uuid,
    status: r.status,
    address: r.address ?? undefined,
    amtVersion: r.amt_version ?? undefined,
    lastHelloAt: r.last_hello_at ?? undefined,
    lastHello: parsed<HelloRecord>(r.last_hello),
    provisionedAt: r.provisioned_at ?? undefined,
    lastError: parsed<DeviceRecord['lastError']>(r.last_error),
    updatedAt: r.updated_at,
  });
}

function toEvent(r: EventRow): SiteEvent {
  return withoutAbsent<SiteEvent>({
    id: r.id,
    at: r.at,
    level: r.level,
    type: r.type,
    uuid: r.uuid ?? undefined,
    jobId: r.job_id ?? undefined,
    step: r.step ?? undefined,
    message: r.message,
    durationMs: r.duration_ms ?? undefined,
    data: parsed<Record<string, unknown>>(r.data),
  });
}

function toJob(r: JobRow): Job {
  return withoutAbsent<Job>({
    id: r.id,
    uuid: r.uuid,
    reason: r.reason,
    state: r.state,
    journal: JSON.parse(r.journal) as Record<string, unknown>,
    step: r.step ?? undefined,
    attempts: r.attempts,
    leaseOwner: r.lease_owner ?? undefined,
    leaseExpiresAt: r.lease_expires_at ?? undefined,
    fencingToken: r.fencing_token,
    lastError: parsed<Job['lastError']>(r.last_error),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });
}
