import type Database from 'better-sqlite3';
import { MigrationError } from './errors.js';

export interface Migration {
  version: number;
  name: string;
  /** Plain DDL; runs inside one transaction together with its `schema_migrations` row. */
  sql: string;
}

/**
 * The schema, oldest first. Never edit a released migration: append a new one. Columns stay
 * portable (TEXT, INTEGER, BLOB, ISO 8601 timestamps) so the PostgreSQL backend can mirror them.
 * There is no foreign key from secrets to computers on purpose: deleting a computer must never
 * lose the secrets of a device that may still hold them.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL
      );
      CREATE TABLE computers (
        uuid TEXT PRIMARY KEY,
        host_name TEXT NOT NULL,
        domain_name TEXT NOT NULL,
        ou TEXT,
        source TEXT NOT NULL CHECK (source IN ('import', 'registration')),
        imported_at TEXT NOT NULL
      );
      CREATE TABLE credentials (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        label TEXT NOT NULL,
        username TEXT NOT NULL,
        password_enc BLOB NOT NULL,
        priority INTEGER NOT NULL
      );
      CREATE TABLE settings (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        doc TEXT NOT NULL,
        secrets_enc BLOB NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE provisioning_certificates (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        cert_pem TEXT NOT NULL,
        key_enc BLOB NOT NULL,
        root_sha1 TEXT NOT NULL,
        root_sha256 TEXT NOT NULL,
        root_sha384 TEXT NOT NULL,
        enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        created_at TEXT NOT NULL
      );
      CREATE TABLE devices (
        uuid TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN
          ('discovered', 'queued', 'provisioning', 'provisioned', 'failed', 'unprovisioned')),
        address TEXT,
        amt_version TEXT,
        last_hello_at TEXT,
        provisioned_at TEXT,
        last_error TEXT,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX devices_status ON devices (status, uuid);
      CREATE TABLE device_secrets (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('admin', 'mebx', 'directory')),
        state TEXT NOT NULL CHECK (state IN ('pending', 'current', 'retired')),
        value_enc BLOB NOT NULL,
        created_at TEXT NOT NULL,
        confirmed_at TEXT,
        retired_at TEXT
      );
      CREATE INDEX device_secrets_lookup ON device_secrets (uuid, kind, state);
      CREATE UNIQUE INDEX device_secrets_one_current ON device_secrets (uuid, kind) WHERE state = 'current';
      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        level TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
        type TEXT NOT NULL,
        uuid TEXT,
        job_id INTEGER,
        step TEXT,
        message TEXT NOT NULL,
        duration_ms REAL,
        data TEXT
      );
      CREATE INDEX events_uuid ON events (uuid, id);
      CREATE INDEX events_job ON events (job_id, id);
      CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid TEXT NOT NULL,
        reason TEXT NOT NULL CHECK (reason IN ('hello', 'manual', 'retry', 'unprovision', 'in-band')),
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        journal TEXT NOT NULL,
        step TEXT,
        attempts INTEGER NOT NULL,
        lease_owner TEXT,
        lease_expires_at TEXT,
        fencing_token INTEGER NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      -- One live job per device, enforced by the database, not only by the code.
      CREATE UNIQUE INDEX jobs_one_active_per_device ON jobs (uuid) WHERE state IN ('queued', 'running');
      CREATE INDEX jobs_claim ON jobs (state, id);
      CREATE INDEX jobs_uuid ON jobs (uuid, id);
    `,
  },
  {
    version: 2,
    name: 'device CA in the store',
    // The built-in CA that issues each device's TLS certificate: one row, its key sealed like
    // every secret (so backups hold it, key rotation covers it, and every instance shares it).
    sql: `
      CREATE TABLE device_ca (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        cert_pem TEXT NOT NULL,
        key_enc BLOB NOT NULL,
        created_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'last accepted hello on the device',
    sql: `ALTER TABLE devices ADD COLUMN last_hello TEXT;`,
  },
];

/**
 * Brings the database to the newest schema: each missing migration runs in its own immediate
 * transaction, so a concurrent opener waits and then sees it applied. Reopening is a no-op. A
 * database newer than this code is refused rather than used.
 */
export function migrate(db: Database.Database, now: () => string): { applied: number[] } {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const known = MIGRATIONS.at(-1)?.version ?? 0;
  const applied: number[] = [];
  const current = () =>
    (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  const head = current();
  if (head > known) {
    throw new MigrationError(
      `the database is at schema version ${head}, newer than this oobkit (${known}); upgrade oobkit`,
      head,
    );
  }
  for (const m of MIGRATIONS) {
    const run = db.transaction(() => {
      if (current() >= m.version) return false;
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        now(),
      );
      return true;
    });
    try {
      if (run.immediate()) applied.push(m.version);
    } catch (err) {
      throw new MigrationError(`migration ${m.version} (${m.name}) failed`, m.version, { cause: err });
    }
  }
  return { applied };
}
