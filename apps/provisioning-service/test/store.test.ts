/**
 * The SQLite site store: the `SiteStore` contract (test/store-contract.ts) run on it twice, an
 * in-memory database and a file in a temp folder, then what only SQLite can show: the bytes of
 * the database files, the schema and its migrations table, connections in other threads, and the
 * key file provider the CLI opens stores with.
 */

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileKeyProvider, staticKeyProvider } from '../src/secrets/index.js';
import { MIGRATIONS } from '../src/store/migrations.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { SiteStore } from '../src/store/types.js';
import {
  DEVICE_CA,
  DEVICE_CA_KEY_BODY,
  describeSiteStoreContract,
  KEY,
  type SiteStoreOpenOptions,
  settingsWith,
  T0,
  U1,
} from './store-contract.js';

function openAt(path: string, { now, key }: SiteStoreOpenOptions): Promise<SiteStore> {
  return openSqliteStore({ path, keyProvider: staticKeyProvider(key), now });
}

/*
 * The contract runs twice. `:memory:` is the quick one, but every connection to it is a database
 * of its own, so it cannot be opened a second time: the contract leaves out its few tests that need two
 * stores on one database (a race, a reopen, a wrong key at open) there. A file in a temp folder,
 * made and removed per test, runs all of them, through real separate connections as two service
 * instances would have.
 */
describeSiteStoreContract('sqlite :memory:', {
  reopenable: false,
  createDatabase: async () => {
    let opened = false;
    return {
      open: async (opts) => {
        if (opened) throw new Error('a :memory: database cannot be opened twice');
        opened = true;
        return openAt(':memory:', opts);
      },
      dispose: async () => {},
    };
  },
});

describeSiteStoreContract('sqlite file', {
  reopenable: true,
  createDatabase: async () => {
    const folder = mkdtempSync(join(tmpdir(), 'oobkit-store-contract-'));
    return {
      open: (opts) => openAt(join(folder, 'site.db'), opts),
      dispose: async () => rmSync(folder, { recursive: true, force: true }),
    };
  },
});

let dir: string;
const now = () => T0;
const stores: SiteStore[] = [];

async function open(path: string, key = KEY): Promise<SiteStore> {
  const s = await openAt(path, { now, key });
  stores.push(s);
  return s;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'oobkit-store-'));
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every byte SQLite wrote: the main file and the WAL (a fresh write may sit only in the WAL). */
function rawBytes(path: string): string {
  let out = readFileSync(path).toString('latin1');
  try {
    out += readFileSync(`${path}-wal`).toString('latin1');
  } catch {
    // no WAL left after a clean close
  }
  return out;
}

describe('the device CA', () => {
  it('is stored with its key sealed', async () => {
    const path = join(dir, 'site.db');
    const s = await open(path);
    expect(await s.putDeviceCaIfAbsent(DEVICE_CA)).toEqual(DEVICE_CA);
    expect(await s.getDeviceCa()).toEqual(DEVICE_CA);
    expect(rawBytes(path)).not.toContain(DEVICE_CA_KEY_BODY);
  });
});

describe('jobs, leases and fencing', () => {
  it('enforces one live job per device in the database itself (partial unique index)', async () => {
    const path = join(dir, 'site.db');
    const s = await open(path);
    await s.enqueueJob(U1, 'hello');
    const raw = new Database(path);
    try {
      const insert = raw.prepare(
        `INSERT INTO jobs (uuid, reason, state, journal, attempts, fencing_token, created_at, updated_at)
         VALUES (?, 'manual', ?, '{}', 0, 0, 'x', 'x')`,
      );
      expect(() => insert.run(U1, 'queued')).toThrow(/UNIQUE/);
      expect(() => insert.run(U1, 'running')).toThrow(/UNIQUE/);
      expect(() => insert.run(U1, 'failed')).not.toThrow();
    } finally {
      raw.close();
    }
  });

  it('two threads with their own connections draining one queue never claim a job twice', async () => {
    const path = join(dir, 'drain.db');
    const s = await open(path);
    const ids: number[] = [];
    for (let i = 0; i < 40; i++) {
      ids.push(
        (await s.enqueueJob(`8f3a1c2e-0000-4000-8000-${String(i).padStart(12, '0')}`, 'hello')).job.id,
      );
    }
    const workers = ['w1', 'w2'].map(
      (owner) =>
        new Worker(new URL('./fixtures/claim-worker.mjs', import.meta.url), {
          workerData: { path, key: KEY, owner },
        }),
    );
    const results = await Promise.all(workers.map(async (w) => (await once(w, 'message'))[0] as number[]));
    const all = results.flat();
    expect(all.sort((a, b) => a - b)).toEqual(ids);
    expect((await s.listJobs({ state: 'succeeded', limit: 100 })).length).toBe(40);
  });
});

describe('encryption at rest', () => {
  it('no plaintext secret appears anywhere in the database files', async () => {
    const path = join(dir, 'site.db');
    const s = await open(path);
    const secrets = {
      cred: 'CredPlain!1x',
      acl: 'AclPlain!2y',
      psk: 'PskPlainPassphrase3z',
      dot1x: 'Dot1xPlain4w',
      mebx: 'MebxPlain!5v',
      key: 'KEYPLAINTEXTBASE64BODY',
      device: 'DevicePlain!6u',
    };
    await s.addCredential({ label: 'c', username: 'admin', password: secrets.cred, priority: 0 });
    const settings = await s.getSettings();
    const generatedMebx = settings.mebxPassword;
    await s.putSettings(settingsWith(settings, secrets));
    await s.addProvisioningCertificate({
      name: 'p',
      certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      keyPem: `-----BEGIN PRIVATE KEY-----\n${secrets.key}\n-----END PRIVATE KEY-----\n`,
      rootHashes: { sha1: '1'.repeat(40), sha256: '2'.repeat(64), sha384: '3'.repeat(96) },
      enabled: true,
    });
    await s.addPendingSecret(U1, 'admin', secrets.device);

    const bytes = rawBytes(path);
    expect(bytes).toContain('visible-ssid'); // the check can see plaintext where there is some
    for (const v of [...Object.values(secrets), generatedMebx]) expect(bytes).not.toContain(v);

    const raw = new Database(path, { readonly: true });
    try {
      const row = raw.prepare('SELECT value_enc FROM device_secrets').get() as { value_enc: Buffer };
      expect(row.value_enc.length).toBe(1 + 12 + 16 + secrets.device.length);
      expect(row.value_enc[0]).toBe(1);
      const nonces = (
        raw
          .prepare('SELECT password_enc AS b FROM credentials UNION ALL SELECT value_enc FROM device_secrets')
          .all() as { b: Buffer }[]
      ).map((r) => r.b.subarray(1, 13).toString('hex'));
      expect(new Set(nonces).size).toBe(nonces.length);
    } finally {
      raw.close();
    }
  });

  it('a ciphertext moved onto another record does not decrypt (AAD binds identity)', async () => {
    const path = join(dir, 'site.db');
    const s = await open(path);
    await s.addCredential({ label: 'a', username: 'admin', password: 'First!Pass1', priority: 0 });
    await s.addCredential({ label: 'b', username: 'admin', password: 'Second!Pass2', priority: 1 });
    const raw = new Database(path);
    raw
      .prepare(
        'UPDATE credentials SET password_enc = (SELECT password_enc FROM credentials WHERE label = ?) WHERE label = ?',
      )
      .run('a', 'b');
    raw.close();
    await expect(s.listCredentials()).rejects.toMatchObject({
      code: 'SECRET_DECRYPT_FAILED',
      record: 'credentials:2',
    });
  });
});

describe('file modes', () => {
  it('creates the database, its WAL and shared memory readable by the owner only, whatever the umask', async () => {
    if (process.platform === 'win32') return;
    const path = join(dir, 'site', 'oobkit.db');
    const umask = process.umask(0o022);
    try {
      const s = await open(path);
      await s.addCredential({ label: 'a', username: 'admin', password: 'Adm!nPass1', priority: 0 });
      for (const f of [path, `${path}-wal`, `${path}-shm`])
        expect([f, statSync(f).mode & 0o777]).toEqual([f, 0o600]);
      expect(statSync(join(dir, 'site')).mode & 0o777).toBe(0o700);
    } finally {
      process.umask(umask);
    }
  });

  it('leaves the mode of an existing database as its administrator set it', async () => {
    if (process.platform === 'win32') return;
    const path = join(dir, 'oobkit.db');
    await (await open(path)).close();
    chmodSync(path, 0o640);
    await open(path);
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });
});

describe('key file provider', () => {
  it('creates a 0600 key file once and reuses it', async () => {
    const path = join(dir, 'keys', 'secret.key');
    const k1 = await fileKeyProvider(path).getKey();
    expect(k1).toHaveLength(32);
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
    const k2 = await fileKeyProvider(path).getKey();
    expect(k2.equals(k1)).toBe(true);
  });

  it('refuses a key file of the wrong size or open to others', async () => {
    const short = join(dir, 'short.key');
    writeFileSync(short, randomBytes(16).toString('base64'), { mode: 0o600 });
    await expect(fileKeyProvider(short).getKey()).rejects.toMatchObject({ code: 'SECRET_KEY_INVALID' });
    if (process.platform !== 'win32') {
      const open = join(dir, 'open.key');
      writeFileSync(open, randomBytes(32).toString('base64'), { mode: 0o644 });
      await expect(fileKeyProvider(open).getKey()).rejects.toMatchObject({ code: 'SECRET_KEY_INVALID' });
    }
  });
});

describe('migrations', () => {
  // That reopening keeps the data and does not seed the defaults again is in the contract.
  it('are recorded once however often the database is opened, in WAL mode', async () => {
    const path = join(dir, 'site.db');
    await (await open(path)).close();
    await (await open(path)).close();
    const raw = new Database(path, { readonly: true });
    try {
      const rows = raw.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
      expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      expect((raw.pragma('journal_mode') as { journal_mode: string }[])[0]?.journal_mode).toBe('wal');
    } finally {
      raw.close();
    }
  });

  it('refuses a database from a newer oobkit', async () => {
    const path = join(dir, 'site.db');
    await (await open(path)).close();
    const raw = new Database(path);
    raw
      .prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')")
      .run();
    raw.close();
    await expect(open(path)).rejects.toMatchObject({ code: 'STORE_MIGRATION', version: 999 });
  });
});
