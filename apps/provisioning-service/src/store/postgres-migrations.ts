/**
 * The PostgreSQL schema of the site store, as versioned migrations (the counterpart of
 * `migrations.ts`, whose version numbers and names it mirrors, so "schema version N" means the
 * same tables on either backend).
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
