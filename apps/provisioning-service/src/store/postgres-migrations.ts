/**
 * The PostgreSQL schema of the site store, as versioned migrations (the counterpart of
 * `migrations.ts`, whose version numbers and names it mirrors, so "schema version N" means the
 * same tables on either backend). Migration 4 adds no table: it is PostgreSQL's alone, the
 * functions that run the store's hottest writes in one round trip each (see its comments).
 *
 * Column choices, and why they differ from the obvious PostgreSQL types:
 * - Timestamps are `text` holding `Date#toISOString()` output, taken from the store's injected
 *   clock (never the server's), compared as strings as SQLite does. Every text column is
 *   `COLLATE "C"`, so comparisons and `ORDER BY` are byte order, like SQLite's BINARY collation,
 *   whatever locale the database was created with.
 * - JSON (the job journal, event data, errors, settings) is `text`, not `jsonb`: jsonb reorders
 *   an object's keys and the journal's key order is part of the contract.
 * - Sealed secrets are `bytea`; ids are `bigserial`, read back as JS numbers by the store.
 */

import type { PoolClient } from 'pg';
import { MigrationError } from './errors.js';
import type { Migration } from './migrations.js';

/**
 * `pg_advisory_xact_lock(ADVISORY_NAMESPACE, n)`: the first key of every advisory lock the store
 * takes (`oobk` in ASCII), so they never meet another application's locks on a shared database.
 */
export const ADVISORY_NAMESPACE = 0x6f6f626b;
/** Second key of the lock that serialises migrating and seeding between instances opening at once. */
export const OPEN_LOCK = 1;
/**
 * Second key of the advisory lock every event-inserting transaction takes before its INSERT.
 * Ids come from a sequence, so without it a transaction holding a lower id could commit after
 * one holding a higher id, and a reader tailing with `listEvents({ afterId })` that saw the
 * higher one would skip the lower one for good. Under the lock, ids are taken in commit order
 * (the lock is released only once the commit is visible), so a tail never skips an event.
 */
export const EVENTS_LOCK = 2;
/** First key of the per-(device, kind) lock `confirmSecret` takes (`oobs`). */
const SECRETS_NAMESPACE = 0x6f6f6273;

// Pieces of migration 4's plpgsql. They are part of a released migration's text: never edit
// them (a later migration that needs other ones writes its own).

/**
 * The fencing check as a plpgsql condition on the job row `job` read under a lock: true unless the
 * job is running under exactly the token `p_token` (the rule of `checkLease`, which the store
 * applies to the row a function returns for its error).
 */
const STALE = "job.state IS DISTINCT FROM 'running' OR job.fencing_token IS DISTINCT FROM p_token";
/**
 * How a worker's write to its job starts, in plpgsql: the job row locked `FOR UPDATE` into `job`
 * and the fencing check, `status` set to 'missing' or 'stale' when it fails; the caller's
 * `ELSIF`/`ELSE` branches and `END IF` follow.
 */
const LOCK_LEASED_JOB = `SELECT * INTO job FROM jobs WHERE id = p_id FOR UPDATE;
        IF NOT FOUND THEN
          status := 'missing';
        ELSIF ${STALE} THEN
          status := 'stale';`;
/**
 * With a lease (`p_lease`), in plpgsql: the job row (`p_job`) locked `FOR SHARE` into `job`, the
 * fencing check (`p_token`), and that the job is the device's `uuid` (when that is not NULL); when
 * one fails the function returns `status` 'lease' and the row, to `checkLease` in the store.
 */
function shareLease(uuid: string): string {
  return `IF p_lease THEN
          SELECT * INTO job FROM jobs WHERE id = p_job FOR SHARE;
          IF NOT FOUND OR ${STALE} OR (${uuid} IS NOT NULL AND job.uuid IS DISTINCT FROM ${uuid}) THEN
            status := 'lease';
            RETURN NEXT;
            RETURN;
          END IF;
          job := NULL;
        END IF;`;
}
/** The parameters of a function that inserts events: one array per `events` column, in order. */
const EVENT_ARRAYS = `e_at text[], e_level text[], e_type text[], e_uuid text[], e_job_id bigint[], e_step text[],
        e_message text[], e_duration_ms double precision[], e_data text[]`;
const EVENT_ARGS = 'e_at, e_level, e_type, e_uuid, e_job_id, e_step, e_message, e_duration_ms, e_data';

/** Oldest first. Never edit a released migration: append a new one. */
export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE meta (
        key text COLLATE "C" PRIMARY KEY,
        value bytea NOT NULL
      );
      CREATE TABLE computers (
        uuid text COLLATE "C" PRIMARY KEY,
        host_name text COLLATE "C" NOT NULL,
        domain_name text COLLATE "C" NOT NULL,
        ou text COLLATE "C",
        source text COLLATE "C" NOT NULL CHECK (source IN ('import', 'registration')),
        imported_at text COLLATE "C" NOT NULL
      );
      CREATE INDEX computers_host_name ON computers (host_name, uuid);
      CREATE TABLE credentials (
        id bigserial PRIMARY KEY,
        label text COLLATE "C" NOT NULL,
        username text COLLATE "C" NOT NULL,
        password_enc bytea NOT NULL,
        priority bigint NOT NULL
      );
      CREATE TABLE settings (
        id integer PRIMARY KEY CHECK (id = 1),
        doc text NOT NULL,
        secrets_enc bytea NOT NULL,
        updated_at text COLLATE "C" NOT NULL
      );
      CREATE TABLE provisioning_certificates (
        id bigserial PRIMARY KEY,
        name text COLLATE "C" NOT NULL,
        cert_pem text COLLATE "C" NOT NULL,
        key_enc bytea NOT NULL,
        root_sha1 text COLLATE "C" NOT NULL,
        root_sha256 text COLLATE "C" NOT NULL,
        root_sha384 text COLLATE "C" NOT NULL,
        enabled boolean NOT NULL,
        created_at text COLLATE "C" NOT NULL
      );
      CREATE TABLE devices (
        uuid text COLLATE "C" PRIMARY KEY,
        status text COLLATE "C" NOT NULL CHECK (status IN
          ('discovered', 'queued', 'provisioning', 'provisioned', 'failed', 'unprovisioned')),
        address text COLLATE "C",
        amt_version text COLLATE "C",
        last_hello_at text COLLATE "C",
        provisioned_at text COLLATE "C",
        last_error text,
        updated_at text COLLATE "C" NOT NULL
      );
      CREATE INDEX devices_status ON devices (status, uuid);
      CREATE TABLE device_secrets (
        id bigserial PRIMARY KEY,
        uuid text COLLATE "C" NOT NULL,
        kind text COLLATE "C" NOT NULL CHECK (kind IN ('admin', 'mebx', 'directory')),
        state text COLLATE "C" NOT NULL CHECK (state IN ('pending', 'current', 'retired')),
        value_enc bytea NOT NULL,
        created_at text COLLATE "C" NOT NULL,
        confirmed_at text COLLATE "C",
        retired_at text COLLATE "C"
      );
      CREATE INDEX device_secrets_lookup ON device_secrets (uuid, kind, state);
      CREATE UNIQUE INDEX device_secrets_one_current ON device_secrets (uuid, kind) WHERE state = 'current';
      CREATE TABLE events (
        id bigserial PRIMARY KEY,
        at text COLLATE "C" NOT NULL,
        level text COLLATE "C" NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
        type text COLLATE "C" NOT NULL,
        uuid text COLLATE "C",
        job_id bigint,
        step text COLLATE "C",
        message text COLLATE "C" NOT NULL,
        duration_ms double precision,
        data text
      );
      CREATE INDEX events_uuid ON events (uuid, id);
      CREATE INDEX events_job ON events (job_id, id);
      CREATE INDEX events_type ON events (type, id);
      CREATE TABLE jobs (
        id bigserial PRIMARY KEY,
        uuid text COLLATE "C" NOT NULL,
        reason text COLLATE "C" NOT NULL CHECK (reason IN ('hello', 'manual', 'retry', 'unprovision', 'in-band')),
        state text COLLATE "C" NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        journal text NOT NULL,
        step text COLLATE "C",
        attempts integer NOT NULL,
        lease_owner text COLLATE "C",
        lease_expires_at text COLLATE "C",
        fencing_token bigint NOT NULL,
        last_error text,
        created_at text COLLATE "C" NOT NULL,
        updated_at text COLLATE "C" NOT NULL
      );
      -- One live job per device, enforced by the database, not only by the code: enqueueJob's
      -- INSERT … ON CONFLICT names this index.
      CREATE UNIQUE INDEX jobs_one_active_per_device ON jobs (uuid) WHERE state IN ('queued', 'running');
      CREATE INDEX jobs_claim ON jobs (state, id);
      CREATE INDEX jobs_uuid ON jobs (uuid, id);
    `,
  },
  {
    version: 2,
    name: 'device CA in the store',
    sql: `
      CREATE TABLE device_ca (
        id integer PRIMARY KEY CHECK (id = 1),
        cert_pem text COLLATE "C" NOT NULL,
        key_enc bytea NOT NULL,
        created_at text COLLATE "C" NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'last accepted hello on the device',
    sql: 'ALTER TABLE devices ADD COLUMN last_hello text;',
  },
  {
    version: 4,
    name: 'one round trip for the hot writes',
    // Each function is one transaction of the store, run as one statement: the same locks in the
    // same order, and the same checks, as the store's transactions of several statements were.
    // Functions that decide return a `status` (and the row it was decided on) for the store to
    // turn into its result or its typed error; `job` is NULL where there is nothing to tell.
    sql: `
      -- Events in the given order, as the last writes of the caller's transaction, under the
      -- events lock (EVENTS_LOCK): ids are then taken in commit order, so a tail never skips one.
      CREATE FUNCTION oobkit_insert_events(${EVENT_ARRAYS}) RETURNS void LANGUAGE plpgsql AS $fn$
      BEGIN
        IF coalesce(cardinality(e_at), 0) = 0 THEN
          RETURN;
        END IF;
        PERFORM pg_advisory_xact_lock(${ADVISORY_NAMESPACE}, ${EVENTS_LOCK});
        INSERT INTO events (at, level, type, uuid, job_id, step, message, duration_ms, data)
          SELECT e.at, e.level, e.type, e.uuid, e.job_id, e.step, e.message, e.duration_ms, e.data
            FROM unnest(${EVENT_ARGS})
              WITH ORDINALITY AS e(at, level, type, uuid, job_id, step, message, duration_ms, data, ord)
            ORDER BY e.ord;
      END $fn$;

      -- recordStep: under the job's row lock, the fencing check; then, with p_merge, the journal
      -- merged by the store (p_journal) is written only onto the journal it was merged from
      -- (p_expected); another one is returned instead ('changed', nothing written) to merge onto.
      CREATE FUNCTION oobkit_record_step(p_id bigint, p_token bigint, p_merge boolean, p_expected text,
          p_journal text, p_step text, p_at text, ${EVENT_ARRAYS})
        RETURNS TABLE (status text, job jobs) LANGUAGE plpgsql AS $fn$
      BEGIN
        ${LOCK_LEASED_JOB}
        ELSIF p_merge AND job.journal IS DISTINCT FROM p_expected THEN
          status := 'changed';
        ELSE
          UPDATE jobs SET journal = CASE WHEN p_merge THEN p_journal ELSE journal END,
              step = coalesce(p_step, step), updated_at = p_at
            WHERE id = p_id;
          PERFORM oobkit_insert_events(${EVENT_ARGS});
          status := 'done';
          job := NULL;
        END IF;
        RETURN NEXT;
      END $fn$;

      -- finishJob: under the job's row lock, the fencing check, the final state, the events;
      -- 'done' returns the job as it ended.
      CREATE FUNCTION oobkit_finish_job(p_id bigint, p_token bigint, p_state text, p_error text, p_at text,
          ${EVENT_ARRAYS})
        RETURNS TABLE (status text, job jobs) LANGUAGE plpgsql AS $fn$
      BEGIN
        ${LOCK_LEASED_JOB}
        ELSE
          UPDATE jobs SET state = p_state, last_error = p_error, lease_owner = NULL, lease_expires_at = NULL,
              updated_at = p_at
            WHERE id = p_id RETURNING * INTO job;
          PERFORM oobkit_insert_events(${EVENT_ARGS});
          status := 'done';
        END IF;
        RETURN NEXT;
      END $fn$;

      -- addPendingSecret, its value already sealed: with a lease, the job row FOR SHARE (no claim
      -- can move the job on until the secret is stored) and the fencing check; then the key check
      -- FOR SHARE, which must still be the record the store checked its key against before
      -- sealing (p_check): else 'rotated', nothing written.
      CREATE FUNCTION oobkit_add_secret(p_id bigint, p_uuid text, p_kind text, p_value bytea, p_at text,
          p_check bytea, p_lease boolean, p_job bigint, p_token bigint)
        RETURNS TABLE (status text, job jobs) LANGUAGE plpgsql AS $fn$
      BEGIN
        ${shareLease('p_uuid')}
        PERFORM 1 FROM meta WHERE key = 'key_check' AND value = p_check FOR SHARE;
        IF NOT FOUND THEN
          status := 'rotated';
        ELSE
          INSERT INTO device_secrets (id, uuid, kind, state, value_enc, created_at)
            VALUES (p_id, p_uuid, p_kind, 'pending', p_value, p_at);
          status := 'done';
        END IF;
        RETURN NEXT;
      END $fn$;

      -- confirmSecret: pending -> current, the previous current one and older pending ones
      -- retired. The key check FOR SHARE first (reencryptSecrets rewrites every secret row
      -- holding it FOR UPDATE: this keeps our row locks and its from interleaving); then the
      -- per-(device, kind) lock, and the secret read again as it is now that no other
      -- confirmation of the group can run; with a lease, the job row FOR SHARE and the fencing
      -- check ('lease', with the secret's device).
      CREATE FUNCTION oobkit_confirm_secret(p_id bigint, p_lease boolean, p_job bigint, p_token bigint,
          p_at text)
        RETURNS TABLE (status text, secret_uuid text, job jobs) LANGUAGE plpgsql AS $fn$
      DECLARE
        s device_secrets;
      BEGIN
        PERFORM 1 FROM meta WHERE key = 'key_check' FOR SHARE;
        SELECT * INTO s FROM device_secrets WHERE id = p_id;
        IF FOUND THEN
          PERFORM pg_advisory_xact_lock(${SECRETS_NAMESPACE}, hashtext(s.uuid || ':' || s.kind));
          SELECT * INTO s FROM device_secrets WHERE id = p_id;
        END IF;
        secret_uuid := s.uuid;
        ${shareLease('secret_uuid')}
        IF s.id IS NULL THEN
          status := 'missing';
        ELSIF s.state = 'pending' THEN
          UPDATE device_secrets SET state = 'retired', retired_at = p_at
            WHERE uuid = s.uuid AND kind = s.kind AND (state = 'current' OR (state = 'pending' AND id < s.id));
          UPDATE device_secrets SET state = 'current', confirmed_at = p_at WHERE id = s.id;
          status := 'done';
        ELSE
          status := s.state; -- 'current': nothing to do; 'retired': refused
        END IF;
        RETURN NEXT;
      END $fn$;
    `,
  },
];

/**
 * Brings the database to the newest schema. Each missing migration runs in its own transaction
 * together with its `schema_migrations` row, after taking the open lock
 * (`pg_advisory_xact_lock`): an instance opening at the same time waits, then finds it applied.
 * A database newer than this code is refused (`STORE_MIGRATION`) rather than used. `client` must
 * not be inside a transaction.
 */
export async function migratePostgres(client: PoolClient, now: () => string): Promise<{ applied: number[] }> {
  const known = PG_MIGRATIONS.at(-1)?.version ?? 0;
  const applied: number[] = [];
  for (;;) {
    await client.query('BEGIN');
    let pending: Migration | undefined;
    try {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [ADVISORY_NAMESPACE, OPEN_LOCK]);
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at text NOT NULL
      )`);
      const { rows } = await client.query<{ v: number | null }>(
        'SELECT max(version) AS v FROM schema_migrations',
      );
      const head = rows[0]?.v ?? 0;
      if (head > known) {
        throw new MigrationError(
          `the database is at schema version ${head}, newer than this oobkit (${known}); upgrade oobkit`,
          head,
        );
      }
      pending = PG_MIGRATIONS.find((m) => m.version > head);
      if (pending) {
        await client.query(pending.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          pending.version,
          pending.name,
          now(),
        ]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (err instanceof MigrationError || !pending) throw err;
      throw new MigrationError(`migration ${pending.version} (${pending.name}) failed`, pending.version, {
        cause: err,
      });
    }
    if (!pending) return { applied };
    applied.push(pending.version);
  }
}
