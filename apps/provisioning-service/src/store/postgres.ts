/**
 * The PostgreSQL site store: the scale-out backend, where several service instances share one
 * database. It keeps every behaviour of the SQLite store (`sqlite.ts`, the reference), and shares
 * its rules: the validation (`validate.ts`), the sealed secrets, AADs and key check (`sealing.ts`),
 * and the rows, records and journal semantics (`records.ts`); what differs is how it stays
 * correct when calls really run at once.
 *
 * Concurrency design:
 * - A `pg.Pool` (default 4 connections) runs this store's calls concurrently, and other instances
 *   run theirs against the same rows, so no read-then-write may rely on the process. Each one is
 *   a single atomic statement or a READ COMMITTED transaction on one pooled connection that first
 *   locks what it decides on. The hot writes (`recordStep`, `finishJob`, `addPendingSecret`,
 *   `confirmSecret`) are such transactions written as plpgsql functions (schema migration 4), so
 *   each is one statement and one round trip; they return a status and the row it was decided on,
 *   which the store turns into its result or its typed error (`checkLease` for a lost lease).
 * - Jobs are claimed with `UPDATE … WHERE id = (SELECT … ORDER BY id LIMIT 1 FOR UPDATE SKIP
 *   LOCKED) RETURNING *`: two claimers never wait on or take the same job; a running job whose
 *   lease expired is claimable again, with its fencing token one higher. Every worker write
 *   (`renewLease`, `recordStep`, `finishJob`, `releaseLease`, and secrets written under a lease)
 *   first reads the job row `FOR UPDATE` (or `FOR SHARE`) and checks it is running under exactly
 *   that token.
 * - A lost or unobtainable connection (the server down or restarting, a terminated backend) fails
 *   the call with `STORE_UNAVAILABLE`, as a server `open` cannot use does: never the driver's own
 *   error, which a caller could take for something else (`ECONNREFUSED` from a device).
 * - `upsertDevice` is one `INSERT … ON CONFLICT DO UPDATE` that sets only the patched columns.
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
 *   (`SECRET_KEY_ROTATED` once the tries run out). `addPendingSecret` reads the check and seals
 *   first, and its function then requires, `FOR SHARE`, that the check is still that record.
 * - The job journal is `text` holding JSON (jsonb would reorder its keys, and PostgreSQL's JSON
 *   functions refuse some text JSON keeps escaped, such as U+0000), merged in JS with SQLite's
 *   read-merge-write rule (`mergeJournal`): parse, `Object.assign`, stringify. The store keeps
 *   the journal of each job it leased as last read or written, merges onto that, and
 *   `recordStep`'s function writes the result only if, under the row lock, the stored journal is
 *   still the one merged onto; else it returns the stored one, to merge onto and try again.
 * - Every time comes from the injected clock, stored as `toISOString()` text in `COLLATE "C"`
 *   columns and compared as text, as SQLite does; the server's clock is never read.
 *
 * PostgreSQL text cannot hold U+0000: where SQLite would store one in a text column (an event
 * message or time, a certificate PEM), this store refuses the call with `StoreInputError` instead
 * (`storable`, given to the shared checks).
 * No error or log line of this module carries a secret.
 */

import { generateAmtPassword } from '@oobkit/http-digest';
import pg, { type CustomTypesConfig, type PoolClient, type QueryResultRow } from 'pg';
import { type SecretKeyProvider, sealSecret, secretKeysOf } from '../secrets/index.js';
import {
  ServiceError,
  StoreConflictError,
  StoreInputError,
  StoreNotFoundError,
  StoreUnavailableError,
} from './errors.js';
import { maskDatabaseUrl } from './location.js';
import { ADVISORY_NAMESPACE, EVENTS_LOCK, migratePostgres, OPEN_LOCK } from './postgres-migrations.js';
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
  KEY_RELOADS,
  keyRotated,
  SEALED_COLUMNS,
  SealingKeys,
  sealKeyCheck,
  secretAad,
} from './sealing.js';
import { defaultSettings, validateSettings } from './settings.js';
import type {
  AmtCredential,
  DeviceRecord,
  DeviceSecret,
  DeviceStatus,
  DeviceUuid,
  ImportedComputer,
  Job,
  JobLease,
  JobReason,
  NewSiteEvent,
  ProvisioningCertificateInfo,
  ProvisioningSettings,
  SecretKind,
  SiteCounts,
  SiteEvent,
  SiteStore,
  StoredProvisioningCertificate,
} from './types.js';
import { DEVICE_STATUSES, JOB_STATES } from './types.js';
import {
  cutoffArg,
  type DevicePatch,
  FINAL_STATES,
  intArg,
  JOB_REASONS,
  limitArg,
  normalizeUuid,
  oneOf,
  positiveInt,
  SECRET_KINDS,
  type StorableText,
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

const KEY_MISMATCH =
  'the secret key is not the key this database was created with (put back the key file this site was set up with)';
/** Events deleted per statement (and transaction) by `pruneEvents`. */
const PRUNE_BATCH = 5_000;
/** Rows re-sealed per UPDATE statement by `reencryptSecrets`. */
const RESEAL_ROWS = 500;
/** Runs of a transaction the server aborted as a deadlock victim. */
const TX_TRIES = 3;
/** Rounds `enqueueJob` tries when the live job it conflicted with ended before it could read it. */
const ENQUEUE_TRIES = 20;
/** Rounds `recordStep` merges again when the stored journal is not the one it merged onto. */
const MERGE_TRIES = 20;
/** Jobs whose journal the store keeps (see `journals`); the oldest entry goes first. */
const JOURNALS_KEPT = 1_000;

/** bigint (int8) columns and `count(*)` read as JS numbers: every id and count is a safe integer. */
const PG_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? Number
      : pg.types.getTypeParser(oid, format ?? 'text')) as CustomTypesConfig['getTypeParser'],
};

/** How long opening a connection may take before the call fails with `STORE_UNAVAILABLE`. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Why the server could not be used, without the URL's password: refused or timed-out
 * connections, an unknown host, failed authentication, a missing database.
 */
function unavailable(url: string, err: unknown): StoreUnavailableError {
  const e = err as { code?: string; message?: string };
  // A failed connect to several addresses (Node's AggregateError) has a code and no message.
  const why = e.message
    ? e.code && !e.message.includes(e.code)
      ? `${e.code}: ${e.message}`
      : e.message
    : (e.code ?? String(err));
  return new StoreUnavailableError(
    `cannot use the PostgreSQL site store at ${maskDatabaseUrl(url)}: ${why}`,
    {
      cause: err,
    },
  );
}

/**
 * Runs `fn` on a client checked out of the pool, then gives it back — discarded, not pooled again,
 * when its connection broke meanwhile or `fn` said to (`discard`). A checked-out client has no
 * 'error' listener of the pool's: a connection the server drops while it is out (an outage, a
 * terminated backend) would throw its 'error' event uncaught; the statement in flight fails too.
 */
async function withCheckedOut<T>(
  c: PoolClient,
  fn: (discard: (reason: Error) => void) => Promise<T>,
): Promise<T> {
  let broken: Error | undefined;
  const discard = (e: Error): void => {
    broken ??= e;
  };
  c.on('error', discard);
  try {
    return await fn(discard);
  } finally {
    c.off('error', discard);
    c.release(broken);
  }
}

/** Node socket and DNS errors that mean the server cannot be reached (or the connection to it broke). */
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/**
 * SQLSTATEs besides class 08 (connection exception) that say the server, not the statement,
 * failed: admin_shutdown (57P01: the server is stopping, or an administrator terminated the
 * backend), crash_shutdown (57P02), cannot_connect_now (57P03: starting up or shutting down),
 * too_many_connections (53300), and the connection-time refusals `open` reports as unavailable
 * too (class 28: authentication; 3D000: no such database).
 */
const SERVER_GONE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '3D000']);
/**
 * pg's and pg-pool's own errors for a lost or unobtainable connection, which carry no code: the
 * server closed it (`Connection terminated unexpectedly`), a connect timed out (`Connection
 * terminated due to connection timeout`, `timeout exceeded when trying to connect`, `timeout
 * expired`), or a query went to a client whose connection had failed (`… is not queryable`).
 */
const CONNECTION_MESSAGES =
  /^(Connection terminated\b|timeout exceeded when trying to connect$|timeout expired$|Client has encountered a connection error and is not queryable$)/;

/**
 * True for a failure of the connection to the server rather than of the statement: refused,
 * reset or timed-out connections, the server shutting down or terminating the backend, a pool
 * that cannot get a connection. Looks through `cause` and AggregateError's `errors`.
 */
function isConnectionFailure(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const { code, message, cause, errors } = err as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (err instanceof pg.DatabaseError) {
    const state = typeof code === 'string' ? code : '';
    return state.startsWith('08') || state.startsWith('28') || SERVER_GONE_STATES.has(state);
  }
  if (typeof code === 'string' && CONNECTION_ERRNOS.has(code)) return true;
  if (typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return true;
  if (Array.isArray(errors) && errors.some((e) => isConnectionFailure(e, depth + 1))) return true;
  return isConnectionFailure(cause, depth + 1);
}

/**
 * Opens the PostgreSQL site store: connects a pool, migrates the schema (serialised between
 * instances), checks the key ring against the stored key check (or writes one) and seeds the
 * default settings once. A key that is not the one the database was created with fails here
 * with `SecretKeyError('SECRET_KEY_MISMATCH')`; a server it cannot use, with
 * `STORE_UNAVAILABLE`.
 */
export async function openPostgresStore(opts: PostgresStoreOptions): Promise<SiteStore> {
  const poolSize = opts.poolSize ?? 4;
  if (!Number.isSafeInteger(poolSize) || poolSize < 1) {
    throw new StoreInputError('poolSize must be a positive integer', 'poolSize');
  }
  const keys = await secretKeysOf(opts.keyProvider);
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: poolSize,
    types: PG_TYPES,
    // A server that drops the connection attempt must not hang the open (or a call) for minutes.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // An idle connection the server dropped: the pool discards it and the next call connects anew.
  pool.on('error', () => undefined);
  try {
    const clock = opts.now ?? Date.now;
    const client = await pool.connect().catch((err: unknown) => {
      throw unavailable(opts.connectionString, err);
    });
    await withCheckedOut(client, () => migratePostgres(client, () => new Date(clock()).toISOString()));
    const store = new PostgresSiteStore(pool, opts.connectionString, opts.keyProvider, keys, clock);
    await store.initialise(opts.generatePassword ?? (() => generateAmtPassword(16)));
    return store;
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}

// What the interface's methods take, by name.
type NewComputer = Omit<ImportedComputer, 'importedAt'>;
type NewCredential = Omit<AmtCredential, 'id'>;
type NewCertificate = Omit<StoredProvisioningCertificate, 'id' | 'createdAt'>;
type CaPems = { certPem: string; keyPem: string };
type SecretFilter = NonNullable<Parameters<SiteStore['listSecrets']>[1]>;
type EventFilter = NonNullable<Parameters<SiteStore['listEvents']>[0]>;
type JobFilter = NonNullable<Parameters<SiteStore['listJobs']>[0]>;
type StepUpdate = Parameters<SiteStore['recordStep']>[2];
type JobOutcome = Parameters<SiteStore['finishJob']>[2];
type StoredEvent = Omit<SiteEvent, 'id'>;
type Lease = NonNullable<Parameters<SiteStore['addPendingSecret']>[3]>;
type Seal = (value: string, aad: string) => Buffer;
/** What the rules of `validate.ts` are told about text this store keeps as it is: no U+0000. */
const rules: { storable: StorableText } = { storable };

/** Something to run a query on: the pool (one statement, its own transaction) or a transaction's client. */
type Queryable = Pick<pg.Pool, 'query'> | PoolClient;

class PostgresSiteStore implements SiteStore {
  private closing: Promise<void> | undefined;
  /** The key ring, and the key of it the records are sealed under. */
  private readonly keys: SealingKeys;
  /**
   * The journal of each job this store leased, by job id, as this store last read or wrote it
   * under that fencing token: what `recordStep` merges onto without reading it first. Only a
   * guess: the write goes through only if it is still the stored journal.
   */
  private readonly journals = new Map<number, { token: number; journal: string }>();

  constructor(
    private readonly pool: pg.Pool,
    /** The connection string, for `STORE_UNAVAILABLE` messages (masked there: never logged as it is). */
    private readonly url: string,
    keyProvider: SecretKeyProvider,
    keys: Buffer[],
    private readonly clock: () => number,
  ) {
    const readCheck = async () =>
      (await this.q<{ value: Buffer }>("SELECT value FROM meta WHERE key = 'key_check'")).rows[0]?.value;
    this.keys = new SealingKeys(keyProvider, keys, readCheck, KEY_MISMATCH);
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
        this.keys.useCheck(check);
      } else {
        await c.query("INSERT INTO meta (key, value) VALUES ('key_check', $1)", [
          sealKeyCheck(this.keys.key),
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

  /**
   * A driver error as the store reports it: a call racing `close()` is `STORE_CLOSED`; a lost or
   * unobtainable connection to the server (an outage) is `STORE_UNAVAILABLE`, named as `open`
   * names it, so callers can tell the store's outage from anything else (a worker leaves its
   * job for later instead of failing the device with the driver's `ECONNREFUSED`).
   */
  private translate(err: unknown): unknown {
    if (this.closing && !(err instanceof ServiceError)) {
      return new ServiceError('STORE_CLOSED', 'the store is closed', { cause: err });
    }
    if (!(err instanceof ServiceError) && isConnectionFailure(err)) return unavailable(this.url, err);
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
  private tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return again(() => this.txOnce(fn));
  }

  /**
   * One statement that is a whole transaction of several locks (a function of migration 4), run
   * again like `tx` if the server picked it as a deadlock victim; its one row.
   */
  private async call<R extends QueryResultRow>(sql: string, params: unknown[]): Promise<R> {
    const { rows } = await again(() => this.q<R>(sql, params));
    return rows[0] as R;
  }

  private async txOnce<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    this.open();
    let c: PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      throw this.translate(err);
    }
    return withCheckedOut(c, async (discard) => {
      try {
        await c.query('BEGIN');
        const out = await fn(c);
        await c.query('COMMIT');
        return out;
      } catch (err) {
        await c.query('ROLLBACK').catch((e: unknown) => {
          discard(e instanceof Error ? e : new Error('ROLLBACK failed'));
        });
        throw this.translate(err);
      }
    });
  }

  async close(): Promise<void> {
    this.closing ??= this.pool.end().catch(() => undefined);
    await this.closing;
  }

  // ---- secret keys -----------------------------------------------------------------------

  /** Opens a record with the sealing key, else any other key of the ring (a rotation under way). */
  private openRecord(record: Buffer, aad: string): string {
    return this.keys.open(record, aad);
  }

  /**
   * Inside a write transaction, before sealing: locks the key check `FOR SHARE` (a concurrent
   * `reencryptSecrets` holds it `FOR UPDATE`) and checks it opens with the key this store seals
   * with. When another instance rotated the key since this one read it, refuses with
   * `SECRET_KEY_ROTATED` (the transaction rolls back; `withKeys` reloads and retries) rather
   * than write a record under a key the site has left.
   */
  private async sealer(c: PoolClient): Promise<Seal> {
    const key = this.keys.key;
    return this.keys.sealer(await readKeyCheck(c, 'FOR SHARE'), key);
  }

  /** Runs a secret read or a sealing transaction, again after a rotation (`SealingKeys.withKeys`). */
  private withKeys<T>(fn: () => Promise<T>): Promise<T> {
    return this.keys.withKeys(fn);
  }

  async reencryptSecrets(): Promise<{ records: number }> {
    this.open();
    const ring = await secretKeysOf(this.keys.provider, true);
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
          const sealed = chunk.map((r) => sealSecret(target, this.keys.open(r.sealed, aad(r), ring), aad(r)));
          // A row deleted since the SELECT (nothing seals while we hold the check) is not counted.
          const { rowCount } = await c.query(
            `UPDATE ${table} AS t SET ${column} = u.sealed
               FROM unnest($1::bigint[], $2::bytea[]) AS u(id, sealed) WHERE t.id = u.id`,
            [chunk.map((r) => r.id), sealed],
          );
          records += rowCount ?? 0;
        }
      }
      if (check) this.keys.keyOpening(ring, check);
      await c.query("UPDATE meta SET value = $1 WHERE key = 'key_check'", [sealKeyCheck(target)]);
      // Only once it committed does this store seal with the new key.
      return records;
    }).then((records) => {
      this.keys.adopt(ring, target);
      return { records };
    });
  }

  // ---- computers -------------------------------------------------------------------------

  async importComputers(list: NewComputer[]): Promise<{ created: number; updated: number }> {
    this.open();
    const clean = validateComputers(list);
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
    const limit = filter.limit === undefined ? null : positiveInt(filter.limit, 'limit');
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
          [id, clean.label, clean.username, seal(clean.password, credentialAad(id)), clean.priority],
        );
        return { id, ...clean };
      }),
    );
  }

  async listCredentials(): Promise<AmtCredential[]> {
    // Rows are read inside: a retry after another instance rotated the key reads them again.
    return this.withKeys(async () => {
      const { rows } = await this.q<CredentialRow>('SELECT * FROM credentials ORDER BY priority, id');
      return rows.map((r) => toCredential(r, this.openRecord(r.password_enc, credentialAad(r.id))));
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
      return toSettings(row, (record, aad) => this.openRecord(record, aad));
    });
  }

  async putSettings(settings: ProvisioningSettings): Promise<void> {
    const valid = validateSettings(settings);
    await this.withKeys(() => this.tx((c) => this.writeSettings(c, valid)));
  }

  private async writeSettings(c: PoolClient, s: ProvisioningSettings): Promise<void> {
    const seal = await this.sealer(c);
    await c.query(
      `INSERT INTO settings (id, doc, secrets_enc, updated_at) VALUES (1, $1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, secrets_enc = excluded.secrets_enc,
           updated_at = excluded.updated_at`,
      [...settingsValues(s, seal), this.iso()],
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
            seal(clean.keyPem, certificateAad(id)),
            sha1,
            sha256,
            sha384,
            clean.enabled,
            createdAt,
          ],
        );
        return { id, ...clean, createdAt };
      }),
    );
  }

  async listProvisioningCertificates(): Promise<StoredProvisioningCertificate[]> {
    return this.withKeys(async () => {
      const { rows } = await this.q<CertificateRow>('SELECT * FROM provisioning_certificates ORDER BY id');
      return rows.map((r) => ({
        ...toCertificateInfo(r),
        keyPem: this.openRecord(r.key_enc as Buffer, certificateAad(r.id)),
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
    intArg(id, 'id');
    if (typeof enabled !== 'boolean') throw new StoreInputError('enabled must be true or false', 'enabled');
    const { rowCount } = await this.q('UPDATE provisioning_certificates SET enabled = $1 WHERE id = $2', [
      enabled,
      id,
    ]);
    return (rowCount ?? 0) > 0;
  }

  async deleteProvisioningCertificate(id: number): Promise<boolean> {
    this.open();
    intArg(id, 'id');
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
    const { certPem, keyPem } = validateDeviceCa(ca, storable);
    this.open();
    return this.withKeys(async () => {
      const stored = await this.readDeviceCa(this.pool);
      if (stored) return stored;
      return this.tx(async (c) => {
        const seal = await this.sealer(c);
        const inserted = await c.query(
          `INSERT INTO device_ca (id, cert_pem, key_enc, created_at) VALUES (1, $1, $2, $3)
             ON CONFLICT (id) DO NOTHING`,
          [certPem, seal(keyPem, DEVICE_CA_AAD), this.iso()],
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
    return row && { certPem: row.cert_pem, keyPem: this.openRecord(row.key_enc, DEVICE_CA_AAD) };
  }

  // ---- devices ---------------------------------------------------------------------------

  /**
   * One `INSERT … ON CONFLICT DO UPDATE`: a device new to the store is inserted as `mergeDevice`
   * makes it; a stored one gets the patched columns only (a field patched with `undefined`
   * cleared), under the row lock the upsert takes.
   */
  async upsertDevice(uuid: DeviceUuid, patch: DevicePatch): Promise<DeviceRecord> {
    const id = normalizeUuid(uuid);
    const p = validateDevicePatch(patch, storable);
    this.open();
    const set = Object.keys(p).map(
      (k) => `${DEVICE_FIELDS[k as keyof DevicePatch]} = excluded.${DEVICE_FIELDS[k as keyof DevicePatch]}`,
    );
    const row = await this.call<DeviceRow>(
      `INSERT INTO devices (${DEVICE_COLUMNS}) VALUES (${placeholders(9)})
         ON CONFLICT (uuid) DO UPDATE SET ${[...set, 'updated_at = excluded.updated_at'].join(', ')}
         RETURNING *`,
      deviceValues(mergeDevice(undefined, id, p, this.iso())),
    );
    return toDevice(row);
  }

  async getDevice(uuid: DeviceUuid): Promise<DeviceRecord | undefined> {
    this.open();
    const { rows } = await this.q<DeviceRow>('SELECT * FROM devices WHERE uuid = $1', [normalizeUuid(uuid)]);
    return rows[0] && toDevice(rows[0]);
  }

  async listDevices(filter: { status?: DeviceStatus } = {}): Promise<DeviceRecord[]> {
    this.open();
    const status = filter.status === undefined ? null : oneOf(filter.status, DEVICE_STATUSES, 'status');
    const { rows } = await this.q<DeviceRow>(
      'SELECT * FROM devices WHERE $1::text IS NULL OR status = $1 ORDER BY uuid',
      [status],
    );
    return rows.map(toDevice);
  }

  // ---- device secrets --------------------------------------------------------------------

  /**
   * Two statements: the secret's id and the key check are read, the value is sealed under the
   * key that check opens with, then `oobkit_add_secret` stores it, with a lease under the job row
   * `FOR SHARE` (no claim can move the job on until the secret is stored) and its fencing check,
   * only while the key check, held `FOR SHARE`, is still the record read.
   */
  async addPendingSecret(
    uuid: DeviceUuid,
    kind: SecretKind,
    value: string,
    lease?: Lease,
  ): Promise<DeviceSecret> {
    const { uuid: owner } = validateNewSecret(uuid, kind, value);
    this.open();
    return this.withKeys(async () => {
      for (let round = 1; ; round++) {
        const key = this.keys.key;
        const { rows } = await this.q<{ id: number; key_check: Buffer | null }>(
          `SELECT nextval(pg_get_serial_sequence('device_secrets', 'id')) AS id,
             (SELECT value FROM meta WHERE key = 'key_check') AS key_check`,
        );
        const { id, key_check: check } = rows[0] as { id: number; key_check: Buffer | null };
        // SECRET_KEY_ROTATED unless the check opens with the key: `withKeys` reloads the ring.
        const sealed = this.keys.sealer(check ?? undefined, key)(value, secretAad(id, owner, kind));
        const createdAt = this.iso();
        const row = await this.call<Decided<'done' | 'lease' | 'rotated'>>(
          `SELECT r.status, (r.job).* FROM oobkit_add_secret(${placeholders(9)}) AS r`,
          [
            id,
            owner,
            kind,
            sealed,
            createdAt,
            check,
            lease !== undefined,
            idParam(lease?.jobId),
            idParam(lease?.fencingToken),
          ],
        );
        if (row.status === 'done')
          return { id, uuid: owner, kind, state: 'pending' as const, value, createdAt };
        if (row.status === 'lease' && lease) this.leaseLost(row, lease.jobId, lease.fencingToken, owner);
        // Rotated since it was read: read it again (and refuse if the key is no longer this one).
        if (round >= KEY_RELOADS) throw keyRotated();
      }
    });
  }

  /**
   * pending → current, in one statement (`oobkit_confirm_secret`). The previous current secret
   * of that kind, and any older pending one (an attempt this one superseded), become retired;
   * confirming a current secret again is a no-op. Confirmations of one device's secrets of one
   * kind are serialised by an advisory lock, so two at once end as SQLite's would one after the
   * other (never two current secrets).
   */
  async confirmSecret(secretId: number, lease?: Lease): Promise<void> {
    this.open();
    const row = await this.call<
      Decided<'done' | 'lease' | 'missing' | 'current' | 'retired'> & { secret_uuid: string | null }
    >(`SELECT r.status, r.secret_uuid, (r.job).* FROM oobkit_confirm_secret($1, $2, $3, $4, $5) AS r`, [
      idParam(secretId),
      lease !== undefined,
      idParam(lease?.jobId),
      idParam(lease?.fencingToken),
      this.iso(),
    ]);
    if (row.status === 'lease' && lease) {
      this.leaseLost(row, lease.jobId, lease.fencingToken, row.secret_uuid ?? undefined);
    }
    if (row.status === 'missing') throw new StoreNotFoundError('secret', secretId);
    if (row.status === 'retired') {
      throw new StoreConflictError(`secret ${secretId} is retired and cannot become current`);
    }
  }

  async retireSecrets(uuid: DeviceUuid, kind: SecretKind, lease?: Lease): Promise<number> {
    this.open();
    const owner = normalizeUuid(uuid);
    const k = oneOf(kind, SECRET_KINDS, 'kind');
    return this.tx(async (c) => {
      // FOR SHARE, as a secret write under a lease: no claim moves the job on meanwhile.
      if (lease) await lockLease(c, lease.jobId, lease.fencingToken, 'FOR SHARE', owner);
      const r = await c.query(
        `UPDATE device_secrets SET state = 'retired', retired_at = $1
           WHERE uuid = $2 AND kind = $3 AND state IN ('pending', 'current')`,
        [this.iso(), owner, k],
      );
      return r.rowCount ?? 0;
    });
  }

  async listSecrets(uuid: DeviceUuid, opts: SecretFilter = {}): Promise<DeviceSecret[]> {
    this.open();
    const owner = normalizeUuid(uuid);
    const { kind, states } = validateSecretFilter(opts);
    if (states.length === 0) return [];
    return this.withKeys(async () => {
      const { rows } = await this.q<SecretRow>(
        `SELECT * FROM device_secrets
           WHERE uuid = $1 AND ($2::text IS NULL OR kind = $2) AND state = ANY($3::text[])
           ORDER BY id DESC`,
        [owner, kind ?? null, states],
      );
      return rows.map((r) => toSecret(r, this.openRecord(r.value_enc, secretAad(r.id, r.uuid, r.kind))));
    });
  }

  // ---- events ----------------------------------------------------------------------------

  /** One statement: it takes the events lock (see `EVENTS_LOCK`) before its row takes an id. */
  async appendEvent(e: NewSiteEvent): Promise<SiteEvent> {
    this.open();
    const ev = validateEvent(e, this.iso(), rules);
    const values: unknown[] = [];
    pushEventValues(values, ev);
    const { rows } = await this.q<{ id: number }>(
      `WITH locked AS (SELECT pg_advisory_xact_lock($1, $2))
       INSERT INTO events (${EVENT_COLUMNS})
         SELECT $3::text, $4::text, $5::text, $6::text, $7::bigint, $8::text, $9::text, $10::float8, $11::text
           FROM locked
       RETURNING id`,
      [ADVISORY_NAMESPACE, EVENTS_LOCK, ...values],
    );
    return { id: (rows[0] as { id: number }).id, ...ev };
  }

  /**
   * Validates a batch of events up front, so a bad one changes nothing. The events are kept (a
   * transaction may run again) so their data is a scrubbed copy, never the caller's object.
   */
  private newEvents(list: readonly NewSiteEvent[] | undefined): StoredEvent[] {
    return validateEvents(list, () => this.iso(), rules);
  }

  async pruneEvents(before: string): Promise<number> {
    this.open();
    // Compared as the instant it names (an offset is allowed), in the stored spelling.
    const cutoff = cutoffArg(before, storable);
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
    if (filter.jobId !== undefined) add('job_id = ?', intArg(filter.jobId, 'jobId'));
    if (filter.type !== undefined) {
      if (typeof filter.type !== 'string') throw new StoreInputError('type must be text', 'type');
      // No stored type holds U+0000 (nor any control character): nothing can match.
      if (filter.type.includes('\u0000')) return [];
      add('type = ?', filter.type);
    }
    const tail = filter.afterId !== undefined;
    if (tail) add('id > ?', intArg(filter.afterId, 'afterId'));
    params.push(limitArg(filter.limit));
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
   * The live job, else a new one, in one statement: `ON CONFLICT DO NOTHING` against the
   * one-live-job index waits for an instance queueing the same device at once; then neither
   * this statement's insert nor its read (from before that job) gives a job, and the next round
   * reads it. If that job ended in between, tries again.
   */
  async enqueueJob(uuid: DeviceUuid, reason: JobReason): Promise<{ job: Job; created: boolean }> {
    const id = normalizeUuid(uuid);
    oneOf(reason, JOB_REASONS, 'reason');
    this.open();
    for (let round = 0; round < ENQUEUE_TRIES; round++) {
      // The insert only where no live job is seen, so a live one costs no id.
      const { rows } = await this.q<JobRow & { created: boolean }>(
        `WITH live AS (SELECT * FROM jobs WHERE uuid = $1 AND state IN ('queued', 'running')),
         added AS (
           INSERT INTO jobs (uuid, reason, state, journal, attempts, fencing_token, created_at, updated_at)
             SELECT $1, $2, 'queued', '{}', 0, 0, $3, $3 WHERE NOT EXISTS (SELECT FROM live)
             ON CONFLICT (uuid) WHERE state IN ('queued', 'running') DO NOTHING
             RETURNING *)
         SELECT true AS created, * FROM added UNION ALL SELECT false, * FROM live`,
        [id, reason, this.iso()],
      );
      const row = rows[0];
      if (row) return { job: toJob(row), created: row.created };
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
    positiveInt(leaseMs, 'leaseMs');
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
    this.keepJournal(job.id, job.fencingToken, rows[0].journal);
    return { job, fencingToken: job.fencingToken };
  }

  /**
   * One statement, the fencing check of the worker writes in SQL: the job row locked `FOR UPDATE`
   * (as `oobkit_finish_job` locks it), then the UPDATE only if that row is running under exactly
   * this token; the row it decided on comes back, for `checkLease` to say why when it did not.
   */
  async releaseLease(jobId: number, fencingToken: number): Promise<boolean> {
    this.open();
    const { rows } = await again(() =>
      this.q<Pick<JobRow, 'uuid' | 'state' | 'fencing_token'> & { released: boolean }>(
        `WITH job AS (SELECT id, uuid, state, fencing_token FROM jobs WHERE id = $1 FOR UPDATE),
         released AS (
           UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = $3
             FROM job WHERE jobs.id = job.id AND job.state = 'running' AND job.fencing_token = $2
             RETURNING jobs.id)
         SELECT job.uuid, job.state, job.fencing_token, EXISTS (SELECT FROM released) AS released FROM job`,
        [idParam(jobId), idParam(fencingToken), this.iso()],
      ),
    );
    this.journals.delete(jobId);
    const row = rows[0];
    if (!row?.released) {
      checkLease(row, jobId, fencingToken);
      throw new StoreConflictError(`job ${jobId}: not released`); // not reached: the statement checked the same
    }
    return true;
  }

  async renewLease(jobId: number, fencingToken: number, leaseMs: number): Promise<void> {
    positiveInt(leaseMs, 'leaseMs');
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
   * One statement (`oobkit_record_step`): under the job's row lock, the fencing check, then the
   * journal merged in JS exactly as SQLite's read-merge-write path does it (`mergeJournal`), the
   * step, and the events. The merge is onto the journal this store last saw (`journals`); when
   * the stored one is another, or none is known, the function returns the stored one, writing
   * nothing, and the update is merged onto that and written in a second call.
   */
  async recordStep(jobId: number, fencingToken: number, update: StepUpdate): Promise<void> {
    const { step, journal } = update;
    validateStepUpdate(update);
    const events = eventArrays(this.newEvents(update.events));
    const changes = journal !== undefined && Object.keys(journal).length > 0;
    const id = idParam(jobId);
    const known = id === null ? undefined : this.journals.get(id);
    let onto = known?.token === fencingToken ? known.journal : undefined;
    let merged: string | undefined;
    if (changes && onto !== undefined) {
      try {
        merged = mergeJournal(onto, journal as Record<string, unknown>);
      } catch {
        // A value JSON cannot encode (a cycle, a BigInt): it throws again below, once the
        // function has checked the lease (a lost lease reports first) and written nothing.
        onto = undefined;
      }
    }
    for (let round = 1; ; round++) {
      const row = await this.call<Decided<LeaseStatus | 'changed'>>(
        `SELECT r.status, (r.job).* FROM oobkit_record_step(${placeholders(7 + EVENT_COLUMN_COUNT)}) AS r`,
        [
          id,
          idParam(fencingToken),
          changes,
          onto ?? null,
          merged ?? null,
          step ?? null,
          this.iso(),
          ...events,
        ],
      );
      if (row.status === 'done') {
        if (changes) this.keepJournal(jobId, fencingToken, merged as string);
        return;
      }
      if (row.status !== 'changed') this.leaseLost(row, jobId, fencingToken);
      if (round >= MERGE_TRIES) {
        throw new StoreConflictError(
          `the journal of job ${jobId} keeps changing under this write; try again`,
        );
      }
      onto = row.journal as string;
      this.keepJournal(jobId, fencingToken, onto);
      merged = mergeJournal(onto, journal as Record<string, unknown>);
    }
  }

  /** One statement (`oobkit_finish_job`): under the job's row lock, the fencing check, the final state, the events. */
  async finishJob(jobId: number, fencingToken: number, outcome: JobOutcome): Promise<Job> {
    oneOf(outcome.state, FINAL_STATES, 'state');
    const error = outcome.error === undefined ? undefined : validateError(outcome.error, 'error');
    const events = eventArrays(this.newEvents(outcome.events));
    const row = await this.call<Decided<LeaseStatus>>(
      `SELECT r.status, (r.job).* FROM oobkit_finish_job(${placeholders(5 + EVENT_COLUMN_COUNT)}) AS r`,
      [
        idParam(jobId),
        idParam(fencingToken),
        outcome.state,
        error ? JSON.stringify(error) : null,
        this.iso(),
        ...events,
      ],
    );
    this.journals.delete(jobId);
    if (row.status !== 'done') this.leaseLost(row, jobId, fencingToken);
    return toJob(row as JobRow);
  }

  /** Remembers a leased job's journal for `recordStep`, forgetting the oldest beyond `JOURNALS_KEPT`. */
  private keepJournal(jobId: number, token: number, journal: string): void {
    this.journals.delete(jobId);
    this.journals.set(jobId, { token, journal });
    if (this.journals.size > JOURNALS_KEPT) this.journals.delete(this.journals.keys().next().value as number);
  }

  /**
   * A function refused a worker's write: the job row it decided on (all NULL when there is no
   * such job) to `checkLease`, which throws the error the store has always thrown.
   */
  private leaseLost(row: Decided<string>, jobId: number, fencingToken: number, uuid?: string): never {
    this.journals.delete(jobId);
    const job = row.state === null ? undefined : (row as Pick<JobRow, 'uuid' | 'state' | 'fencing_token'>);
    checkLease(job, jobId, fencingToken, uuid);
    throw new StoreConflictError(`job ${jobId}: ${row.status}`); // not reached: the function checked the same
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
    const state = filter.state === undefined ? null : oneOf(filter.state, JOB_STATES, 'state');
    const { rows } = await this.q<JobRow>(
      `SELECT * FROM jobs WHERE ($1::text IS NULL OR uuid = $1) AND ($2::text IS NULL OR state = $2)
         ORDER BY id DESC LIMIT $3`,
      [uuid, state, limitArg(filter.limit)],
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
    const of = (t: 'd' | 'j') => rows.filter((r) => r.t === t);
    return { devices: tally(DEVICE_STATUSES, of('d')), jobs: tally(JOB_STATES, of('j')) };
  }
}

// ---- the lease check -------------------------------------------------------------------------

/** What a function of migration 4 decided about a worker's write (besides its own outcomes). */
type LeaseStatus = 'done' | 'missing' | 'stale';
/** The row such a function returns: its `status`, and the job row it decided on (all NULL for none). */
type Decided<S extends string> = { status: S } & { [K in keyof JobRow]: JobRow[K] | null };

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
): Promise<void> {
  const { rows } = await c.query<Pick<JobRow, 'uuid' | 'state' | 'fencing_token'>>(
    `SELECT uuid, state, fencing_token FROM jobs WHERE id = $1 ${lock}`,
    [idParam(jobId)],
  );
  checkLease(rows[0], jobId as number, fencingToken as number, uuid);
}

// ---- keys ------------------------------------------------------------------------------------

async function readKeyCheck(
  c: PoolClient,
  lock: '' | 'FOR SHARE' | 'FOR UPDATE' = '',
): Promise<Buffer | undefined> {
  const { rows } = await c.query<{ value: Buffer }>(`SELECT value FROM meta WHERE key = 'key_check' ${lock}`);
  return rows[0]?.value;
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

// ---- PostgreSQL's own rules ------------------------------------------------------------------

/** The column of each field of a device patch. */
const DEVICE_FIELDS: Record<keyof DevicePatch, string> = {
  status: 'status',
  address: 'address',
  amtVersion: 'amt_version',
  lastHelloAt: 'last_hello_at',
  lastHello: 'last_hello',
  provisionedAt: 'provisioned_at',
  lastError: 'last_error',
};

/** `$1, $2, …, $n`. */
function placeholders(n: number): string {
  return Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');
}

/** Refuses U+0000, which a PostgreSQL text column cannot hold (SQLite would have stored it). */
function storable(v: string, field: string): string {
  if (v.includes('\u0000')) {
    throw new StoreInputError(`${field} cannot hold the character U+0000`, field);
  }
  return v;
}

/**
 * Runs a transaction (`fn`) again from the start, up to `TX_TRIES` runs, when the server aborted it
 * as a deadlock victim or a serialisation failure: nothing of it was written. The lock order is
 * fixed throughout, so a deadlock should not happen.
 */
async function again<T>(fn: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await fn();
    } catch (err) {
      const retry = err instanceof pg.DatabaseError && (err.code === '40P01' || err.code === '40001');
      if (!retry || tries >= TX_TRIES) throw err;
    }
  }
}

/** The events as one array per `events` column (`EVENT_COLUMNS`' order), as migration 4's functions take them. */
function eventArrays(events: readonly StoredEvent[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: EVENT_COLUMN_COUNT }, () => []);
  for (const ev of events) {
    const row: unknown[] = [];
    pushEventValues(row, ev);
    row.forEach((v, k) => {
      (columns[k] as unknown[]).push(v);
    });
  }
  return columns;
}

/** A parameter for an id column: the id when it can be one, else NULL (which matches no row). */
function idParam(v: unknown): number | null {
  return Number.isSafeInteger(v) ? (v as number) : null;
}
