/**
 * The SiteStore contract on PostgreSQL: a throw-away server for this file (@oobkit/test-servers),
 * a fresh database per test. Without PostgreSQL's binaries the suite is skipped, saying why,
 * except under `CI=true`, where that is a failure.
 *
 * Then what only PostgreSQL can show (each test on a database of its own): several stores (each
 * its own pool, as several service instances) writing, claiming, opening and rotating keys on
 * one database at once, the schema's migrations table, the bytes at rest read back with a plain
 * `pg` client, and the text PostgreSQL cannot hold (U+0000).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PgServer } from '@oobkit/test-servers';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyFile, fileKeyProvider, staticKeyProvider, writeKeyFile } from '../src/secrets/index.js';
import { openPostgresStore, type PostgresStoreOptions } from '../src/store/postgres.js';
import { PG_MIGRATIONS } from '../src/store/postgres-migrations.js';
import { type NewSiteEvent, type SiteEvent, type SiteStore, StaleLeaseError } from '../src/store/types.js';
import { describeWithPostgres } from './postgres-suite.js';
import {
  DEVICE_CA,
  DEVICE_CA_KEY_BODY,
  describeSiteStoreContract,
  KEY,
  settingsWith,
  T0,
  U1,
  U2,
} from './store-contract.js';

await describeWithPostgres('PostgreSQL', (server) => {
  describeSiteStoreContract('PostgreSQL', {
    reopenable: true,
    async createDatabase() {
      const name = await server.createDatabase();
      return {
        open: ({ now, key }) =>
          openPostgresStore({ connectionString: server.url(name), keyProvider: staticKeyProvider(key), now }),
        dispose: () => server.dropDatabase(name),
      };
    },
  });
  describePostgresOnly(server);
});

/** The n-th test device's UUID. */
function device(n: number): string {
  return `8f3a1c2e-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

const CERT_PEM = '-----BEGIN CERTIFICATE-----\nQ0VSVC1CT0RZLVZJU0lCTEU=\n-----END CERTIFICATE-----\n';
const ROOT_HASHES = { sha1: '1'.repeat(40), sha256: '2'.repeat(64), sha384: '3'.repeat(96) };

function certificate(name: string, keyBody: string) {
  return {
    name,
    certPem: CERT_PEM,
    keyPem: `-----BEGIN PRIVATE KEY-----\n${keyBody}\n-----END PRIVATE KEY-----\n`,
    rootHashes: ROOT_HASHES,
    enabled: true,
  };
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Every value of every column of every table of the database, as a `pg` client reads it: text
 * as it is, bytea as its bytes read as latin1 and as UTF-8, and as hex (how `bytea::text` shows
 * them); plus the bytea values by `table.column`.
 */
async function dumpDatabase(c: pg.Client): Promise<{ text: string; bytea: Map<string, Buffer[]> }> {
  const { rows: columns } = await c.query<{ table_name: string; column_name: string }>(
    `SELECT c.table_name, c.column_name FROM information_schema.columns c
       JOIN information_schema.tables t USING (table_schema, table_name)
       WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
       ORDER BY c.table_name, c.ordinal_position`,
  );
  const parts: string[] = [];
  const bytea = new Map<string, Buffer[]>();
  for (const { table_name, column_name } of columns) {
    const { rows } = await c.query<{ v: unknown }>(
      `SELECT ${quoteIdent(column_name)} AS v FROM ${quoteIdent(table_name)}`,
    );
    for (const { v } of rows) {
      if (v === null) continue;
      if (Buffer.isBuffer(v)) {
        parts.push(v.toString('latin1'), v.toString('utf8'), v.toString('hex'));
        const name = `${table_name}.${column_name}`;
        bytea.set(name, [...(bytea.get(name) ?? []), v]);
      } else {
        parts.push(typeof v === 'object' ? JSON.stringify(v) : String(v));
      }
    }
  }
  return { text: parts.join('\n'), bytea };
}

/**
 * A TCP relay on loopback in front of the test server, to take the server away from a store
 * without stopping it for the other tests: `cut()` stops listening (new connections are refused)
 * and resets every open one, as a server that went down; `restore()` listens on the same port again.
 */
interface Relay {
  readonly port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function startRelay(target: { host: string; port: number }): Promise<Relay> {
  const sockets = new Set<Socket>();
  const listen = (server: Server, port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const newServer = () =>
    createServer((down) => {
      const up = tcpConnect(target.port, target.host);
      for (const [a, b] of [
        [down, up],
        [up, down],
      ] as const) {
        sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          sockets.delete(a);
          b.destroy();
        });
        a.pipe(b);
      }
    });
  let server = newServer();
  await listen(server, 0);
  const port = (server.address() as { port: number }).port;
  const stop = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    port,
    async cut() {
      const closed = stop();
      for (const sock of sockets) sock.resetAndDestroy();
      await closed;
    },
    async restore() {
      server = newServer();
      await listen(server, port);
    },
    async close() {
      const closed = server.listening ? stop() : Promise.resolve();
      for (const sock of sockets) sock.destroy();
      await closed;
    },
  };
}

/** Resolves once `n` backends of `database` wait for a lock (polled through `c`). */
async function lockWaiters(c: pg.Client, database: string, n = 1): Promise<number[]> {
  for (let i = 0; i < 500; i++) {
    const { rows } = await c.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
      [database],
    );
    if (rows.length >= n) return rows.map((r) => r.pid);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no backend of ${database} waits for a lock`);
}

function describePostgresOnly(server: PgServer): void {
  describe('PostgreSQL store', () => {
    const now = () => T0;
    const stores: SiteStore[] = [];
    const clients: pg.Client[] = [];
    const databases: string[] = [];
    const dirs: string[] = [];
    const relays: Relay[] = [];

    async function newDatabase(): Promise<string> {
      const name = await server.createDatabase();
      databases.push(name);
      return name;
    }

    /** A store on `db` (closed after the test): the contract's key and clock unless told otherwise. */
    async function open(db: string, opts: Partial<PostgresStoreOptions> = {}): Promise<SiteStore> {
      const s = await openPostgresStore({
        connectionString: server.url(db),
        keyProvider: staticKeyProvider(KEY),
        now,
        ...opts,
      });
      stores.push(s);
      return s;
    }

    /** A plain `pg` client on `db`, to look at what the store wrote (ended after the test). */
    async function client(db: string): Promise<pg.Client> {
      const c = new pg.Client({ connectionString: server.url(db) });
      clients.push(c);
      await c.connect();
      return c;
    }

    function tempDir(): string {
      const dir = mkdtempSync(join(tmpdir(), 'oobkit-pg-keys-'));
      dirs.push(dir);
      return dir;
    }

    afterEach(async () => {
      try {
        await Promise.all(stores.splice(0).map((s) => s.close()));
        await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
        await Promise.all(relays.splice(0).map((r) => r.close()));
      } finally {
        for (const db of databases.splice(0)) await server.dropDatabase(db);
        for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      }
    });

    describe('the event log', () => {
      it('a reader tailing with afterId sees every event exactly once, in id order, while 16 writers on 4 pools append', async () => {
        const db = await newDatabase();
        const pools = [await open(db)];
        pools.push(...(await Promise.all([1, 2, 3].map(() => open(db)))));
        const reader = await open(db);
        const WRITERS = 16;
        const ROUNDS = 16;
        /** The messages of each successful write call, in the order that call stored them. */
        const groups: string[][] = [];
        let jobsRun = 0;
        const event = (message: string, uuid: string): NewSiteEvent => ({
          level: 'info',
          type: 'tail.test',
          uuid,
          message,
        });

        const write = async (w: number): Promise<void> => {
          const s = pools[w % pools.length] as SiteStore;
          const uuid = device(w);
          for (let r = 0; r < ROUNDS; r++) {
            const one = `w${w}.r${r}.append`;
            await s.appendEvent(event(one, uuid));
            groups.push([one]);
            await s.enqueueJob(uuid, 'manual');
            // Whichever job is oldest: maybe another writer's, and none if others took them all.
            const lease = await s.claimJob(`writer-${w}`, 600_000);
            if (!lease) continue;
            const { id } = lease.job;
            const step = [0, 1, 2].map((k) => `w${w}.r${r}.step${k}`);
            await s.recordStep(id, lease.fencingToken, {
              step: 'tail',
              journal: { [`w${w}r${r}`]: true },
              events: step.map((m) => event(m, lease.job.uuid)),
            });
            groups.push(step);
            const finish = [0, 1].map((k) => `w${w}.r${r}.finish${k}`);
            await s.finishJob(id, lease.fencingToken, {
              state: 'succeeded',
              events: finish.map((m) => event(m, lease.job.uuid)),
            });
            groups.push(finish);
            jobsRun++;
          }
        };

        const seen: SiteEvent[] = [];
        let writing = true;
        const tail = async (): Promise<void> => {
          let last = 0;
          for (;;) {
            // Read before the query: an empty batch after the writers were done means drained.
            const drained = !writing;
            const batch = await reader.listEvents({ afterId: last, limit: 25 });
            for (const e of batch) {
              seen.push(e);
              last = e.id;
            }
            if (batch.length === 0 && drained) return;
          }
        };
        const tailing = tail();
        const writers = Promise.all(Array.from({ length: WRITERS }, (_, w) => write(w))).finally(() => {
          writing = false;
        });
        await Promise.all([writers, tailing]);

        const ids = seen.map((e) => e.id);
        for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1] as number);
        const written = groups.flat();
        expect(seen.map((e) => e.message).sort()).toEqual([...written].sort());
        expect(new Set(written).size).toBe(written.length);
        expect(written.length).toBe(WRITERS * ROUNDS + jobsRun * 5);
        expect(jobsRun).toBeGreaterThan(0);
        // Nothing in the table the reader did not see.
        const c = await client(db);
        const { rows } = await c.query<{ id: number }>('SELECT id::int AS id FROM events ORDER BY id');
        expect(rows.map((r) => r.id)).toEqual(ids);
        // One call's events took consecutive ids, in the order given.
        const idOf = new Map(seen.map((e) => [e.message, e.id]));
        for (const g of groups) {
          const first = idOf.get(g[0] as string) as number;
          expect(g.map((m) => idOf.get(m))).toEqual(g.map((_, k) => first + k));
        }
      });
    });

    describe('opening', () => {
      it('four stores opening a fresh database at once migrate it once and agree on one key check and one set of defaults', async () => {
        const db = await newDatabase();
        const generated: string[] = [];
        const four = await Promise.all(
          [0, 1, 2, 3].map((i) =>
            open(db, {
              generatePassword: () => {
                const p = `Gen!Pass${i}x`;
                generated.push(p);
                return p;
              },
            }),
          ),
        );
        expect(generated).toHaveLength(1); // the defaults were made once, by one of them
        const settings = await Promise.all(four.map((s) => s.getSettings()));
        for (const s of settings) expect(s).toEqual(settings[0]);
        expect(settings[0]?.mebxPassword).toBe(generated[0]);

        const c = await client(db);
        const migrations = await c.query('SELECT version, name FROM schema_migrations ORDER BY version');
        expect(migrations.rows).toEqual(PG_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
        const meta = await c.query('SELECT key FROM meta ORDER BY key');
        expect(meta.rows).toEqual([{ key: 'key_check' }]);
        const rows = await c.query('SELECT id FROM settings');
        expect(rows.rows).toEqual([{ id: 1 }]);

        // One site: what one writes, the others read.
        const cred = await (four[1] as SiteStore).addCredential({
          label: 'l',
          username: 'admin',
          password: 'Shared!Pass1',
          priority: 0,
        });
        for (const s of four) expect(await s.listCredentials()).toEqual([cred]);
      });

      it('four stores with four keys opening a fresh database at once: one sets the key, the others are refused', async () => {
        const db = await newDatabase();
        const keys = [0, 1, 2, 3].map(() => randomBytes(32));
        const results = await Promise.allSettled(
          keys.map((key) => open(db, { keyProvider: staticKeyProvider(key) })),
        );
        const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        expect(winners).toHaveLength(1);
        for (const r of results) {
          if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'SECRET_KEY_MISMATCH' });
        }
        const winner = winners[0] as number;
        const first = (results[winner] as PromiseFulfilledResult<SiteStore>).value;
        const again = await open(db, { keyProvider: staticKeyProvider(keys[winner] as Buffer) });
        expect(await again.getSettings()).toEqual(await first.getSettings());
        const c = await client(db);
        expect((await c.query('SELECT count(*)::int AS n FROM schema_migrations')).rows).toEqual([
          { n: PG_MIGRATIONS.length },
        ]);
      });

      it('refuses a database from a newer oobkit with STORE_MIGRATION, changing nothing', async () => {
        const db = await newDatabase();
        await (await open(db)).close();
        const c = await client(db);
        const future = (PG_MIGRATIONS.at(-1)?.version ?? 0) + 1;
        await c.query(
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future', 'x')",
          [future],
        );
        await expect(open(db)).rejects.toMatchObject({ code: 'STORE_MIGRATION', version: future });
        const { rows } = await c.query('SELECT version FROM schema_migrations ORDER BY version');
        expect(rows).toEqual([...PG_MIGRATIONS.map((m) => ({ version: m.version })), { version: future }]);
      });

      it('brings a database at schema version 1 forward, recording each later migration once', async () => {
        const db = await newDatabase();
        const c = await client(db);
        const first = PG_MIGRATIONS[0] as (typeof PG_MIGRATIONS)[number];
        await c.query(
          'CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)',
        );
        await c.query(first.sql);
        await c.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, $1, 'then')", [
          first.name,
        ]);
        const [a, b] = await Promise.all([open(db), open(db)]);
        const { rows } = await c.query('SELECT version, name FROM schema_migrations ORDER BY version');
        expect(rows).toEqual(PG_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
        expect(await (a as SiteStore).putDeviceCaIfAbsent(DEVICE_CA)).toEqual(DEVICE_CA); // migration 2's table
        expect(await (b as SiteStore).getDeviceCa()).toEqual(DEVICE_CA);
      });
    });

    describe('encryption at rest', () => {
      it('no plaintext secret appears in any column of any table', async () => {
        const db = await newDatabase();
        const secrets = {
          cred: 'CredPlain!1x',
          acl: 'AclPlain!2y',
          psk: 'PskPlainPassphrase3z',
          dot1x: 'Dot1xPlain4w',
          mebx: 'MebxPlain!5v',
          generatedMebx: 'GenMebxPlain!7t',
          certKey: 'KEYPLAINTEXTBASE64BODY',
          caKey: DEVICE_CA_KEY_BODY,
          pending: 'DevicePending!6u',
          current: 'DeviceCurrent!8s',
          directory: 'DirectoryPlain!9q',
          eventData: 'EventDataPlain!3p',
          stepData: 'StepDataPlain!4o',
        };
        const s = await open(db, { generatePassword: () => secrets.generatedMebx });
        expect((await s.getSettings()).mebxPassword).toBe(secrets.generatedMebx);
        const c = await client(db);
        // Right after the first open, the generated MEBx password is sealed already.
        expect((await dumpDatabase(c)).text).not.toContain(secrets.generatedMebx);

        await s.addCredential({ label: 'c', username: 'visible-user', password: secrets.cred, priority: 0 });
        await s.putSettings(settingsWith(await s.getSettings(), secrets));
        await s.addProvisioningCertificate(certificate('p', secrets.certKey));
        await s.putDeviceCaIfAbsent(DEVICE_CA);
        const current = await s.addPendingSecret(U1, 'admin', secrets.current);
        await s.confirmSecret(current.id);
        await s.addPendingSecret(U1, 'admin', secrets.pending);
        await s.addPendingSecret(U2, 'directory', secrets.directory);
        await s.appendEvent({
          level: 'info',
          type: 'visible.event',
          message: 'm',
          data: { password: secrets.eventData },
        });
        await s.enqueueJob(U2, 'manual');
        const lease = await s.claimJob('w', 60_000);
        if (!lease) throw new Error('no job to claim');
        await s.recordStep(lease.job.id, lease.fencingToken, {
          step: 's',
          events: [
            { level: 'info', type: 'step.done', message: 'm', data: { adminPassword: secrets.stepData } },
          ],
        });

        const { text, bytea } = await dumpDatabase(c);
        // The check sees plaintext where there is some.
        for (const visible of ['visible-ssid', 'visible-user', 'Q0VSVC1CT0RZLVZJU0lCTEU=', 'visible.event']) {
          expect(text).toContain(visible);
        }
        expect(text).toContain('[redacted]');
        const forbidden = [
          ...Object.values(secrets),
          'oobkit secret key check v1',
          KEY.toString('base64'),
          KEY.toString('hex'),
        ];
        for (const v of forbidden) {
          expect(text).not.toContain(v);
          expect(text).not.toContain(Buffer.from(v).toString('base64'));
          expect(text).not.toContain(Buffer.from(v).toString('hex'));
        }

        // Exactly the sealed columns hold bytes: one record per secret, each version 1, with its own nonce.
        expect([...bytea.entries()].map(([k, v]) => [k, v.length]).sort()).toEqual([
          ['credentials.password_enc', 1],
          ['device_ca.key_enc', 1],
          ['device_secrets.value_enc', 3],
          ['meta.value', 1],
          ['provisioning_certificates.key_enc', 1],
          ['settings.secrets_enc', 1],
        ]);
        const sealed = [...bytea.values()].flat();
        for (const b of sealed) expect(b[0]).toBe(1);
        const nonces = sealed.map((b) => b.subarray(1, 13).toString('hex'));
        expect(new Set(nonces).size).toBe(nonces.length);
        const { rows } = await c.query<{ value_enc: Buffer }>(
          'SELECT value_enc FROM device_secrets WHERE id = $1',
          [current.id],
        );
        expect(rows[0]?.value_enc.length).toBe(1 + 12 + 16 + Buffer.byteLength(secrets.current));
      });
    });

    describe('secret key rotation across stores', () => {
      /** A key file holding `keys` (current first), for `fileKeyProvider`. */
      async function keyFileWith(keys: Buffer[]): Promise<string> {
        const path = join(tempDir(), 'secret.key');
        await createKeyFile(path, keys);
        return path;
      }

      it('a store opened before another rotated the key reads every secret after, and writes ones the other reads', async () => {
        const db = await newDatabase();
        const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
        const keyFile = await keyFileWith([oldKey]);
        const a = await open(db, { keyProvider: fileKeyProvider(keyFile) });
        const b = await open(db, { keyProvider: fileKeyProvider(keyFile) });

        const cred = await a.addCredential({
          label: 'a',
          username: 'admin',
          password: 'CredA!1x',
          priority: 0,
        });
        const settings = settingsWith(await a.getSettings(), {
          acl: 'AclA!2yy',
          psk: 'psk-a-secret',
          dot1x: 'dot1x-a',
          mebx: 'MebxA!3z',
        });
        await a.putSettings(settings);
        const cert = await a.addProvisioningCertificate(certificate('p', 'CERTKEYA'));
        await a.putDeviceCaIfAbsent(DEVICE_CA);
        const current = await a.addPendingSecret(U1, 'admin', 'AdminA!4w');
        await a.confirmSecret(current.id);
        const pending = await a.addPendingSecret(U1, 'mebx', 'MebxPending!5v');
        // B has read (and so keeps) the old key.
        expect(await b.listCredentials()).toEqual([cred]);

        await writeKeyFile(keyFile, [newKey, oldKey]);
        expect(await a.reencryptSecrets()).toEqual({ records: 6 });
        await writeKeyFile(keyFile, [newKey]);

        const secretsOfU1 = [
          pending,
          { ...current, state: 'current', confirmedAt: new Date(T0).toISOString() },
        ];
        expect(await b.listCredentials()).toEqual([cred]);
        expect(await b.getSettings()).toEqual(settings);
        expect(await b.listProvisioningCertificates()).toEqual([cert]);
        expect(await b.getDeviceCa()).toEqual(DEVICE_CA);
        expect(await b.listSecrets(U1)).toEqual(secretsOfU1);

        const credB = await b.addCredential({
          label: 'b',
          username: 'admin',
          password: 'CredB!6u',
          priority: 1,
        });
        const secretB = await b.addPendingSecret(U2, 'admin', 'AdminB!7t');
        const settingsB = { ...settings, mebxPassword: 'MebxB!8s' };
        await b.putSettings(settingsB);
        expect(await a.listCredentials()).toEqual([cred, credB]);
        expect(await a.listSecrets(U2)).toEqual([secretB]);
        expect(await a.getSettings()).toEqual(settingsB);

        // Nothing is left under the old key: the new key alone opens everything, the old one nothing.
        const fresh = await open(db, { keyProvider: staticKeyProvider(newKey) });
        expect(await fresh.listCredentials()).toEqual([cred, credB]);
        expect(await fresh.getSettings()).toEqual(settingsB);
        expect(await fresh.listProvisioningCertificates()).toEqual([cert]);
        expect(await fresh.getDeviceCa()).toEqual(DEVICE_CA);
        expect(await fresh.listSecrets(U1)).toEqual(secretsOfU1);
        expect(await fresh.listSecrets(U2)).toEqual([secretB]);
        await expect(open(db, { keyProvider: staticKeyProvider(oldKey) })).rejects.toMatchObject({
          code: 'SECRET_KEY_MISMATCH',
        });
      });

      it('sealing writes and reads racing two rotations succeed (readable under the last key alone) or fail with SECRET_KEY_ROTATED', async () => {
        const db = await newDatabase();
        const keys = [randomBytes(32), randomBytes(32), randomBytes(32)];
        const keyFile = await keyFileWith([keys[0] as Buffer]);
        const a = await open(db, { keyProvider: fileKeyProvider(keyFile) });
        const b = await open(db, { keyProvider: fileKeyProvider(keyFile) });
        const base = await a.addCredential({
          label: 'base',
          username: 'admin',
          password: 'Base!1',
          priority: -1,
        });
        const stored = new Map<string, string>([['base', 'Base!1']]); // credential label → password
        const secrets = new Map<string, string>(); // device → its one pending admin secret
        let refused = 0;
        let n = 0;

        for (const [round, next] of [keys[1], keys[2]].entries()) {
          const current = (await fileKeyProvider(keyFile).getKeys?.({ reload: true })) ?? [];
          await writeKeyFile(keyFile, [next as Buffer, ...current]);
          const writes: Promise<unknown>[] = [];
          const reads: Promise<unknown>[] = [];
          for (let i = 0; i < 12; i++) {
            const s = i % 3 === 0 ? a : b;
            const label = `r${round}.c${i}`;
            const password = `Pw!${round}.${i}`;
            writes.push(
              s
                .addCredential({ label, username: 'admin', password, priority: n++ })
                .then(() => stored.set(label, password)),
            );
            const uuid = device(100 * round + i);
            const value = `Secret!${round}.${i}`;
            writes.push(s.addPendingSecret(uuid, 'admin', value).then(() => secrets.set(uuid, value)));
            reads.push(
              s.listCredentials().then((list) => {
                expect(list.find((c) => c.label === 'base')).toEqual(base);
              }),
            );
          }
          // As `oobkit rotate-key` does: the old key leaves the file as soon as the records are re-sealed,
          // while the other store's writes and reads may still be under way.
          const rotation = a.reencryptSecrets().then(() => writeKeyFile(keyFile, [next as Buffer]));
          const [[rotated, ...outcomes]] = await Promise.all([
            Promise.allSettled([rotation, ...writes]),
            Promise.all(reads),
          ]);
          expect(rotated?.status).toBe('fulfilled');
          for (const o of outcomes) {
            if (o.status === 'rejected') {
              expect(o.reason).toMatchObject({ code: 'SECRET_KEY_ROTATED' });
              refused++;
            }
          }
        }

        // Every write that succeeded, and only those, opens under the last key alone.
        const fresh = await open(db, { keyProvider: staticKeyProvider(keys[2] as Buffer) });
        const creds = await fresh.listCredentials();
        expect(new Map(creds.map((c) => [c.label, c.password]))).toEqual(stored);
        for (const round of [0, 1]) {
          for (let i = 0; i < 12; i++) {
            const uuid = device(100 * round + i);
            const expected = secrets.get(uuid);
            expect((await fresh.listSecrets(uuid)).map((x) => x.value)).toEqual(expected ? [expected] : []);
          }
        }
        expect(stored.size + secrets.size + refused).toBe(1 + 2 * 2 * 12);
        expect(await b.listCredentials()).toEqual(creds);
      });
    });

    describe('device secrets', () => {
      it('confirmations of one device’s secrets racing from 4 stores leave exactly one current', async () => {
        const db = await newDatabase();
        const first = await open(db);
        const four = [first, ...(await Promise.all([1, 2, 3].map(() => open(db))))];
        for (const kind of ['admin', 'mebx'] as const) {
          const pending = [];
          for (let i = 0; i < 12; i++) pending.push(await first.addPendingSecret(U1, kind, `${kind}!Pw${i}`));
          const outcomes = await Promise.allSettled(
            pending.map((p, i) => (four[i % four.length] as SiteStore).confirmSecret(p.id)),
          );
          const confirmed = pending.filter((_, i) => outcomes[i]?.status === 'fulfilled').map((p) => p.id);
          for (const o of outcomes) {
            if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'STORE_CONFLICT' });
          }
          const all = await first.listSecrets(U1, { kind, states: ['pending', 'current', 'retired'] });
          const current = all.filter((x) => x.state === 'current');
          expect(current).toHaveLength(1);
          expect(all.filter((x) => x.state === 'retired')).toHaveLength(11);
          // The one left current is one whose confirmation went through, and the newest of those.
          expect(current[0]?.id).toBe(Math.max(...confirmed));
        }
      });
    });

    describe('jobs', () => {
      it('8 stores × 4 workers draining 64 jobs claim each exactly once, with fencing token 1', async () => {
        const db = await newDatabase();
        const first = await open(db);
        const eight = [first, ...(await Promise.all(Array.from({ length: 7 }, () => open(db))))];
        const ids: number[] = [];
        for (let i = 0; i < 64; i++) ids.push((await first.enqueueJob(device(i), 'hello')).job.id);

        const claims: { jobId: number; token: number; attempts: number; owner: string }[] = [];
        const worker = async (s: SiteStore, owner: string): Promise<void> => {
          for (;;) {
            const lease = await s.claimJob(owner, 600_000);
            if (!lease) return;
            claims.push({
              jobId: lease.job.id,
              token: lease.fencingToken,
              attempts: lease.job.attempts,
              owner: lease.job.leaseOwner ?? '',
            });
            expect(lease.job.leaseOwner).toBe(owner);
            await s.recordStep(lease.job.id, lease.fencingToken, { step: 'work', journal: { by: owner } });
            await s.finishJob(lease.job.id, lease.fencingToken, { state: 'succeeded' });
          }
        };
        await Promise.all(eight.flatMap((s, i) => [0, 1, 2, 3].map((w) => worker(s, `s${i}.w${w}`))));

        expect(claims.map((c) => c.jobId).sort((x, y) => x - y)).toEqual(ids);
        expect(claims.every((c) => c.token === 1 && c.attempts === 1)).toBe(true);
        const jobs = await first.listJobs({ limit: 100 });
        expect(jobs).toHaveLength(64);
        for (const job of jobs) {
          const claim = claims.find((c) => c.jobId === job.id);
          expect(job).toMatchObject({ state: 'succeeded', fencingToken: 1, journal: { by: claim?.owner } });
        }
        expect((await first.countByState()).jobs).toEqual({
          queued: 0,
          running: 0,
          succeeded: 64,
          failed: 0,
          cancelled: 0,
        });
      });
    });

    describe('releasing a lease', () => {
      it('waits for the job row and decides on it as it is then: a claim committed meanwhile wins, a renewal does not', async () => {
        const db = await newDatabase();
        const s = await open(db);
        const other = await client(db);
        const watch = await client(db);
        const job = (await s.enqueueJob(U1, 'hello')).job;
        const held = (await s.claimJob('w1', 60_000))!;

        // Another instance takes the job over (the next token) in a transaction still open when
        // the release arrives: the release waits for it, then finds its token stale.
        await other.query('BEGIN');
        await other.query(
          `UPDATE jobs SET fencing_token = fencing_token + 1, lease_owner = 'w2', attempts = attempts + 1
             WHERE id = $1`,
          [job.id],
        );
        const refused = s.releaseLease(job.id, held.fencingToken).then(
          () => undefined,
          (err: unknown) => err,
        );
        await lockWaiters(watch, db);
        await other.query('COMMIT');
        expect(await refused).toBeInstanceOf(StaleLeaseError);
        const taken = await s.getJob(job.id);
        expect(taken).toMatchObject({
          state: 'running',
          leaseOwner: 'w2',
          fencingToken: held.fencingToken + 1,
        });

        // The holder's renewal in flight keeps the token: the release waits, then goes through.
        await other.query('BEGIN');
        await other.query(`UPDATE jobs SET lease_expires_at = 'x' WHERE id = $1`, [job.id]);
        const released = s.releaseLease(job.id, held.fencingToken + 1);
        await lockWaiters(watch, db);
        await other.query('COMMIT');
        expect(await released).toBe(true);
        const queued = await s.getJob(job.id);
        expect(queued).toMatchObject({ state: 'queued', fencingToken: held.fencingToken + 1, attempts: 2 });
        expect(queued?.leaseOwner).toBeUndefined();
        expect(queued?.leaseExpiresAt).toBeUndefined();
      });
    });

    describe('the server going away under an open store', () => {
      it('every kind of call fails with STORE_UNAVAILABLE naming the masked URL, and works again once the server is back', async () => {
        const db = await newDatabase();
        const target = new URL(server.url(db));
        const relay = await startRelay({ host: target.hostname, port: Number(target.port) });
        relays.push(relay);
        const url = `postgres://postgres:relay-secret@127.0.0.1:${relay.port}/${db}`;
        const s = await open(db, { connectionString: url, poolSize: 2 });
        await s.addCredential({ label: 'a', username: 'admin', password: 'First!Pass1', priority: 0 });
        const job = (await s.enqueueJob(U1, 'hello')).job;
        const lease = (await s.claimJob('w1', 60_000))!;
        const token = lease.fencingToken;

        await relay.cut();
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['claimJob (one statement)', () => s.claimJob('w2', 60_000)],
          ['getJob', () => s.getJob(job.id)],
          ['renewLease (a transaction)', () => s.renewLease(job.id, token, 60_000)],
          ['recordStep (a function)', () => s.recordStep(job.id, token, { step: 's', journal: { s: 1 } })],
          ['finishJob (a function)', () => s.finishJob(job.id, token, { state: 'failed' })],
          ['releaseLease', () => s.releaseLease(job.id, token)],
          ['upsertDevice', () => s.upsertDevice(U1, { status: 'provisioning' })],
          ['listCredentials (a secret read)', () => s.listCredentials()],
          [
            'addCredential (a sealing transaction)',
            () => s.addCredential({ label: 'b', username: 'admin', password: 'Second!Pass2', priority: 1 }),
          ],
          ['appendEvent', () => s.appendEvent({ level: 'info', type: 't', message: 'm' })],
        ];
        for (const [what, call] of calls) {
          const err = (await call().then(
            () => undefined,
            (e: unknown) => e,
          )) as Error & { code?: string; cause?: unknown };
          expect(err, what).toMatchObject({ name: 'StoreUnavailableError', code: 'STORE_UNAVAILABLE' });
          expect(err.message, what).toContain(
            `cannot use the PostgreSQL site store at postgres://postgres:***@127.0.0.1:${relay.port}/${db}: `,
          );
          expect(err.message, what).not.toContain('relay-secret');
          expect(err.cause, what).toBeDefined();
        }

        // Back: the pool connects anew, and the job's holder carries on where it was.
        await relay.restore();
        await s.renewLease(job.id, token, 60_000);
        await s.recordStep(job.id, token, { step: 's', journal: { s: 1 } });
        expect(await s.releaseLease(job.id, token)).toBe(true);
        expect((await s.listCredentials()).map((c) => c.label)).toEqual(['a']);
        expect(await s.getJob(job.id)).toMatchObject({ state: 'queued', journal: { s: 1 }, attempts: 1 });
      });

      it('a backend terminated mid-statement (57P01) is STORE_UNAVAILABLE; the store carries on with a new connection', async () => {
        const db = await newDatabase();
        const s = await open(db);
        const locker = await client(db);
        const admin = await client(db);
        const job = (await s.enqueueJob(U1, 'hello')).job;
        const lease = (await s.claimJob('w1', 60_000))!;
        await locker.query('BEGIN');
        await locker.query('SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE', [job.id]);
        const renewing = s.renewLease(job.id, lease.fencingToken, 60_000).then(
          () => undefined,
          (e: unknown) => e,
        );
        const [pid] = await lockWaiters(admin, db);
        await admin.query('SELECT pg_terminate_backend($1)', [pid]);
        const err = (await renewing) as Error & { cause?: { code?: string } };
        expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE' });
        expect(err.cause?.code).toBe('57P01');
        await locker.query('ROLLBACK');
        await s.renewLease(job.id, lease.fencingToken, 60_000);
        expect((await s.getJob(job.id))?.state).toBe('running');
      });

      it('a statement’s own errors are not an outage', async () => {
        const db = await newDatabase();
        const s = await open(db);
        const job = (await s.enqueueJob(U1, 'hello')).job;
        const lease = (await s.claimJob('w1', 60_000))!;
        await expect(s.releaseLease(job.id, lease.fencingToken + 1)).rejects.toBeInstanceOf(StaleLeaseError);
        await expect(s.appendEvent({ level: 'info', type: 't', message: 'a\u0000' })).rejects.toMatchObject({
          code: 'STORE_INVALID_INPUT',
        });
      });
    });

    describe('U+0000, which PostgreSQL text cannot hold', () => {
      it('is refused with STORE_INVALID_INPUT in every text column that would keep it, and the store stays usable', async () => {
        const db = await newDatabase();
        const s = await open(db);
        const nul = 'before\u0000after';
        const refused = { code: 'STORE_INVALID_INPUT', name: 'StoreInputError' };
        const at = `${new Date(T0).toISOString()}\u0000`; // Date.parse accepts this one

        await expect(s.appendEvent({ level: 'info', type: 't', message: nul })).rejects.toMatchObject({
          ...refused,
          field: 'message',
        });
        await expect(s.appendEvent({ level: 'info', type: 't', message: 'm', at })).rejects.toMatchObject({
          ...refused,
          field: 'at',
        });
        await expect(
          s.addProvisioningCertificate({ ...certificate('p', 'K'), certPem: `${CERT_PEM}\u0000` }),
        ).rejects.toMatchObject({ ...refused, field: 'certPem' });
        await expect(
          s.putDeviceCaIfAbsent({ ...DEVICE_CA, certPem: `${DEVICE_CA.certPem}\u0000` }),
        ).rejects.toMatchObject({ ...refused, field: 'certPem' });
        await expect(s.upsertDevice(U1, { lastHelloAt: at })).rejects.toMatchObject({
          ...refused,
          field: 'lastHelloAt',
        });
        await expect(s.upsertDevice(U1, { provisionedAt: at })).rejects.toMatchObject({
          ...refused,
          field: 'provisionedAt',
        });
        await expect(s.pruneEvents(at)).rejects.toMatchObject({ ...refused, field: 'before' });

        // A step's or a finish's events: the whole write is refused, the job left as it was.
        await s.enqueueJob(U2, 'manual');
        const lease = await s.claimJob('w', 60_000);
        if (!lease) throw new Error('no job to claim');
        const bad: NewSiteEvent[] = [
          { level: 'info', type: 'ok', message: 'fine' },
          { level: 'info', type: 'bad', message: nul },
        ];
        await expect(
          s.recordStep(lease.job.id, lease.fencingToken, { step: 'x', journal: { x: 1 }, events: bad }),
        ).rejects.toMatchObject({ ...refused, field: 'message' });
        await expect(
          s.finishJob(lease.job.id, lease.fencingToken, { state: 'succeeded', events: bad }),
        ).rejects.toMatchObject({ ...refused, field: 'message' });
        expect(await s.getJob(lease.job.id)).toMatchObject({ state: 'running', journal: {} });
        expect((await s.getJob(lease.job.id))?.step).toBeUndefined();

        // Nothing of it was stored, and the store (its pool) works on.
        expect(await s.listEvents()).toEqual([]);
        expect(await s.listProvisioningCertificateInfo()).toEqual([]);
        expect(await s.getDeviceCa()).toBeUndefined();
        expect(await s.getDevice(U1)).toBeUndefined();
        expect(await s.listEvents({ type: 'a\u0000' })).toEqual([]);

        // JSON text keeps it escaped, as SQLite's JSON does: those round-trip.
        await s.recordStep(lease.job.id, lease.fencingToken, {
          step: 'y',
          journal: { note: nul },
          events: [{ level: 'info', type: 'ok', message: 'fine', data: { note: nul } }],
        });
        expect((await s.getJob(lease.job.id))?.journal).toEqual({ note: nul });
        expect(await s.listEvents()).toMatchObject([{ type: 'ok', message: 'fine', data: { note: nul } }]);
        expect(await s.upsertDevice(U1, { lastError: { code: 'E', message: nul } })).toMatchObject({
          lastError: { code: 'E', message: nul },
        });
        await s.putDeviceCaIfAbsent(DEVICE_CA);
        expect(await s.getDeviceCa()).toEqual(DEVICE_CA);
        expect(
          await s.finishJob(lease.job.id, lease.fencingToken, {
            state: 'failed',
            error: { code: 'E', message: nul },
          }),
        ).toMatchObject({ state: 'failed', lastError: { code: 'E', message: nul } });
      });
    });
  });
}
