import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  backupSiteDatabase,
  createRotationLock,
  readRotationLock,
  rotateSecretKey,
  takeOverStaleLock,
} from '../src/maintenance.js';
import { fileKeyProvider, staticKeyProvider, writeKeyFile } from '../src/secrets/index.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { SiteStore } from '../src/store/types.js';
import { runOobkit } from './cli-runner.js';
import { agedEvent } from './flow-harness.js';

const require = createRequire(import.meta.url);
const U1 = '5a1d0c3e-0000-4000-8000-000000000001';
const U2 = '5a1d0c3e-0000-4000-8000-000000000002';

let dir: string;
let db: string;
let keyFile: string;
const stores: SiteStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'oobkit-upkeep-'));
  db = join(dir, 'oobkit.db');
  keyFile = join(dir, 'secret.key');
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function open(provider = fileKeyProvider(keyFile)): Promise<SiteStore> {
  const s = await openSqliteStore({ path: db, keyProvider: provider });
  stores.push(s);
  return s;
}

/** Every secret the store holds, as it reads them (the thing a rotation must not change). */
async function secretsOf(s: SiteStore) {
  return {
    credentials: (await s.listCredentials()).map((c) => c.password),
    mebx: (await s.getSettings()).mebxPassword,
    certificateKeys: (await s.listProvisioningCertificates()).map((c) => c.keyPem),
    device: [
      ...(await s.listSecrets(U1, { states: ['pending', 'current', 'retired'] })),
      ...(await s.listSecrets(U2, { states: ['pending', 'current', 'retired'] })),
    ].map((x) => [x.id, x.state, x.value]),
  };
}

/** A site with one record of every sealed kind, secrets in every state. */
async function seed(s: SiteStore): Promise<void> {
  await s.addCredential({ label: 'factory', username: 'admin', password: 'P@ssw0rd-one', priority: 0 });
  await s.addCredential({ label: 'second', username: 'admin', password: 'P@ssw0rd-two', priority: 1 });
  await s.addProvisioningCertificate({
    name: 'acme',
    certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
    keyPem: '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleQ==\n-----END PRIVATE KEY-----\n',
    rootHashes: { sha1: 'a'.repeat(40), sha256: 'b'.repeat(64), sha384: 'c'.repeat(96) },
    enabled: true,
  });
  for (const uuid of [U1, U2]) {
    const first = await s.addPendingSecret(uuid, 'admin', `first-${uuid}`);
    await s.confirmSecret(first.id);
    const second = await s.addPendingSecret(uuid, 'admin', `second-${uuid}`);
    await s.confirmSecret(second.id); // first is now retired
    await s.addPendingSecret(uuid, 'mebx', `pending-${uuid}`);
  }
}

/** The sealed columns, raw, to see what a call changed. */
function sealedBlobs(): string[] {
  const raw = new Database(db, { readonly: true });
  try {
    const q = (sql: string) =>
      (raw.prepare(sql).all() as Array<{ v: Buffer }>).map((r) => r.v.toString('hex'));
    return [
      ...q('SELECT password_enc AS v FROM credentials ORDER BY id'),
      ...q('SELECT secrets_enc AS v FROM settings'),
      ...q('SELECT key_enc AS v FROM provisioning_certificates ORDER BY id'),
      ...q('SELECT value_enc AS v FROM device_secrets ORDER BY id'),
      ...q("SELECT value AS v FROM meta WHERE key = 'key_check'"),
    ];
  } finally {
    raw.close();
  }
}

const keysIn = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => Buffer.from(l, 'base64'));

/** The id of a process that has exited (a crashed rotation's). */
const deadPid = () =>
  Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());

/** The bytes of the database file and of its WAL (when there is one), as they are on disk. */
const databaseBytes = () =>
  Buffer.concat([readFileSync(db), ...(existsSync(`${db}-wal`) ? [readFileSync(`${db}-wal`)] : [])]);

/**
 * Which of the sealed blobs (hex) have any trace in `bytes`: the whole blob, or any 16 bytes of
 * it (a freed cell's first bytes are overwritten by SQLite's free-block header; 16 random bytes
 * are found by chance never).
 */
function tracesOf(blobs: string[], bytes: Buffer): string[] {
  return blobs.filter((hex) => {
    const blob = Buffer.from(hex, 'hex');
    if (bytes.includes(blob)) return true;
    for (let i = 0; i + 16 <= blob.length; i += 8) if (bytes.includes(blob.subarray(i, i + 16))) return true;
    return false;
  });
}

describe('key file with a key ring', () => {
  it('reads one key per line, current first, and writes a 0600 file in one step', async () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    await writeKeyFile(keyFile, [a, b]);
    const p = fileKeyProvider(keyFile);
    expect((await p.getKey()).equals(a)).toBe(true);
    expect((await p.getKeys?.())?.map((k) => k.toString('hex'))).toEqual([
      a.toString('hex'),
      b.toString('hex'),
    ]);
    if (process.platform !== 'win32') expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['secret.key']); // no temporary file left behind
    // A cached provider sees a rewrite only when asked to reload.
    await writeKeyFile(keyFile, [b]);
    expect((await p.getKeys?.())?.length).toBe(2);
    expect((await p.getKeys?.({ reload: true }))?.map((k) => k.toString('hex'))).toEqual([b.toString('hex')]);
  });

  it('refuses a file with a bad line, naming the line', async () => {
    writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n${randomBytes(16).toString('base64')}\n`, {
      mode: 0o600,
    });
    await expect(fileKeyProvider(keyFile).getKey()).rejects.toMatchObject({
      code: 'SECRET_KEY_INVALID',
      message: expect.stringContaining('line 2'),
    });
    writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\nnot base64!\n`, { mode: 0o600 });
    await expect(fileKeyProvider(keyFile).getKey()).rejects.toMatchObject({ code: 'SECRET_KEY_INVALID' });
    await expect(writeKeyFile(keyFile, [])).rejects.toMatchObject({ code: 'SECRET_KEY_INVALID' });
  });

  it('a store opens with any key of the ring, and seals under the key its records are under', async () => {
    const oldKey = randomBytes(32);
    const s1 = await open(staticKeyProvider(oldKey));
    await seed(s1);
    const before = await secretsOf(s1);
    await s1.close();
    // An interrupted rotation: the new key is first in the ring, nothing is sealed under it yet.
    const s2 = await open(staticKeyProvider([randomBytes(32), oldKey]));
    expect(await secretsOf(s2)).toEqual(before);
    await s2.addPendingSecret(U1, 'directory', 'still-under-the-old-key');
    await s2.close();
    const s3 = await open(staticKeyProvider(oldKey));
    expect((await s3.listSecrets(U1, { kind: 'directory', states: ['pending'] }))[0]?.value).toBe(
      'still-under-the-old-key',
    );
    await expect(open(staticKeyProvider([randomBytes(32)]))).rejects.toMatchObject({
      code: 'SECRET_KEY_MISMATCH',
    });
  });
});

describe('rotateSecretKey', () => {
  it('seals every record again under a new key; the old key no longer opens the store', async () => {
    const s = await open();
    await seed(s);
    const before = await secretsOf(s);
    await s.close();
    stores.length = 0;
    const oldKey = keysIn(keyFile);
    const blobsBefore = sealedBlobs();

    const lines: string[] = [];
    const r = await rotateSecretKey({ databasePath: db, keyFile, progress: (l) => lines.push(l) });
    // 2 credentials, the settings, 1 certificate key, 6 device secrets.
    expect(r).toEqual({ records: 10, replacedKeys: 1 });
    expect(lines.join('\n')).toContain('10 secret records');

    const ring = keysIn(keyFile);
    expect(ring).toHaveLength(1);
    expect(ring[0]?.equals(oldKey[0] as Buffer)).toBe(false);
    const blobsAfter = sealedBlobs();
    expect(blobsAfter).toHaveLength(blobsBefore.length);
    for (let i = 0; i < blobsAfter.length; i++) expect(blobsAfter[i]).not.toBe(blobsBefore[i]);

    const after = await open();
    expect(await secretsOf(after)).toEqual(before);
    expect((await after.listEvents({ type: 'secret-key.rotated' })).map((e) => e.data)).toEqual([
      { records: 10, replacedKeys: 1, oldKeysKept: false },
    ]);
    await expect(open(staticKeyProvider(oldKey[0] as Buffer))).rejects.toMatchObject({
      code: 'SECRET_KEY_MISMATCH',
    });
  });

  it('in two steps: --stage puts a new key in front and seals nothing; --finish seals under it and drops the old one', async () => {
    const s = await open();
    await seed(s);
    const before = await secretsOf(s);
    const blobsBefore = sealedBlobs();
    const [oldKey] = keysIn(keyFile);
    await expect(rotateSecretKey({ databasePath: db, keyFile, phase: 'finish' })).rejects.toMatchObject({
      code: 'STORE_CONFLICT',
      message: expect.stringContaining('nothing is staged'),
    });

    const staged = await rotateSecretKey({ databasePath: db, keyFile, phase: 'stage' });
    expect(staged).toEqual({ records: 0, replacedKeys: 0 });
    const ring = keysIn(keyFile);
    expect(ring).toHaveLength(2);
    expect(ring[1]?.equals(oldKey as Buffer)).toBe(true);
    expect(sealedBlobs()).toEqual(blobsBefore);
    // A host still holding only the old key (its copy not refreshed yet) opens everything.
    expect(await secretsOf(await open(staticKeyProvider(oldKey as Buffer)))).toEqual(before);
    await expect(rotateSecretKey({ databasePath: db, keyFile, phase: 'stage' })).rejects.toMatchObject({
      code: 'STORE_CONFLICT',
      message: expect.stringContaining('already holds 2 keys'),
    });

    const finished = await rotateSecretKey({ databasePath: db, keyFile, phase: 'finish' });
    expect(finished).toEqual({ records: 10, replacedKeys: 1 });
    expect(keysIn(keyFile)).toEqual([ring[0]]);
    // A host with the staged file (new + old) reads every record, as does one with the new key alone.
    expect(await secretsOf(await open(staticKeyProvider(ring as Buffer[])))).toEqual(before);
    expect(await secretsOf(await open())).toEqual(before);
    await expect(open(staticKeyProvider(oldKey as Buffer))).rejects.toMatchObject({
      code: 'SECRET_KEY_MISMATCH',
    });
    expect((await s.listEvents({ type: 'secret-key.staged' })).map((e) => e.data)).toEqual([{ keys: 2 }]);
  });

  it('seals the device CA key again too', async () => {
    const s = await open();
    await seed(s);
    const ca = {
      certPem: '-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n',
      keyPem: '-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n',
    };
    await s.putDeviceCaIfAbsent(ca);
    expect((await rotateSecretKey({ databasePath: db, keyFile })).records).toBe(11);
    const fresh = await open(staticKeyProvider(keysIn(keyFile)[0] as Buffer));
    expect(await fresh.getDeviceCa()).toEqual(ca);
  });

  it('a store that was open all along follows the rotation: reads, and seals under the new key', async () => {
    const running = await open();
    await seed(running);
    const before = await secretsOf(running);
    await rotateSecretKey({ databasePath: db, keyFile });
    // A write first: its cached key no longer opens the key check, so it must not seal with it.
    const added = await running.addPendingSecret(U2, 'directory', 'written-after-the-rotation');
    await running.addCredential({ label: 'third', username: 'ops', password: 'P@ssw0rd-three', priority: 2 });
    const { credentials, ...rest } = await secretsOf(running);
    const { credentials: c0, ...rest0 } = before;
    expect(credentials).toEqual([...c0, 'P@ssw0rd-three']);
    const byId = (rows: unknown[][]) => [...rows].sort((a, b) => Number(a[0]) - Number(b[0]));
    expect(byId(rest.device)).toEqual(
      byId([...rest0.device, [added.id, 'pending', 'written-after-the-rotation']]),
    );
    expect({ ...rest, device: [] }).toEqual({ ...rest0, device: [] });
    // Only the new key in the file: what the old store wrote is under it.
    const fresh = await open(staticKeyProvider(keysIn(keyFile)[0] as Buffer));
    expect((await fresh.listSecrets(U2, { kind: 'directory', states: ['pending'] }))[0]).toMatchObject({
      id: added.id,
      value: 'written-after-the-rotation',
    });
    expect((await fresh.listCredentials()).map((c) => c.password)).toContain('P@ssw0rd-three');
  });

  it('a store that missed two rotations in a row still follows (the ring is read afresh)', async () => {
    const running = await open();
    await seed(running);
    const before = await secretsOf(running);
    await rotateSecretKey({ databasePath: db, keyFile });
    await rotateSecretKey({ databasePath: db, keyFile });
    await running.putSettings({ ...(await running.getSettings()), mebxPassword: 'N3w-MEBx-pass!' });
    expect(await secretsOf(running)).toEqual({ ...before, mebx: 'N3w-MEBx-pass!' });
  });

  it('a crash after the key file gained the new key, or after the records moved, loses nothing; running it again finishes', async () => {
    const s = await open();
    await seed(s);
    const before = await secretsOf(s);
    const oldKey = keysIn(keyFile)[0] as Buffer;

    // Crash 1: the key file holds new + old, no record moved yet.
    const k1 = randomBytes(32);
    await writeKeyFile(keyFile, [k1, oldKey]);
    const afterCrash1 = await open();
    expect(await secretsOf(afterCrash1)).toEqual(before);

    // Crash 2: the records moved, the old key is still in the file.
    expect(await afterCrash1.reencryptSecrets()).toEqual({ records: 10 });
    const afterCrash2 = await open();
    expect(await secretsOf(afterCrash2)).toEqual(before);
    await expect(open(staticKeyProvider(oldKey))).rejects.toMatchObject({ code: 'SECRET_KEY_MISMATCH' });

    // The operator runs the rotation again: one key in the file, everything readable.
    const r = await rotateSecretKey({ databasePath: db, keyFile });
    expect(r).toEqual({ records: 10, replacedKeys: 2 });
    expect(keysIn(keyFile)).toHaveLength(1);
    expect(await secretsOf(await open())).toEqual(before);
  });

  it('a record no key opens fails the whole rotation, and nothing changes', async () => {
    const s = await open();
    await seed(s);
    await s.close();
    stores.length = 0;
    // One device secret damaged on disk.
    const raw = new Database(db);
    raw
      .prepare('UPDATE device_secrets SET value_enc = ? WHERE id = (SELECT min(id) FROM device_secrets)')
      .run(randomBytes(48));
    raw.close();
    const keyText = readFileSync(keyFile, 'utf8');
    const blobs = sealedBlobs();
    await expect(rotateSecretKey({ databasePath: db, keyFile })).rejects.toMatchObject({
      code: 'SECRET_DECRYPT_FAILED',
    });
    expect(sealedBlobs()).toEqual(blobs);
    // The new key was added to the ring but nothing is sealed under it: the store opens as before.
    expect(keysIn(keyFile).map((k) => k.toString('base64'))).toContain(keyText.trim());
    const again = await open();
    expect((await again.listCredentials()).map((c) => c.password)).toEqual(['P@ssw0rd-one', 'P@ssw0rd-two']);
  });

  it('keeps the old key in a new 0600 file when asked, and refuses an existing one before changing anything', async () => {
    const s = await open();
    await seed(s);
    const oldText = readFileSync(keyFile, 'utf8');
    const keep = join(dir, 'old.key');
    writeFileSync(keep, 'something\n');
    await expect(rotateSecretKey({ databasePath: db, keyFile, keepOldKeysIn: keep })).rejects.toMatchObject({
      code: 'STORE_CONFLICT',
    });
    expect(readFileSync(keyFile, 'utf8')).toBe(oldText);
    expect(readFileSync(keep, 'utf8')).toBe('something\n');
    rmSync(keep);

    const r = await rotateSecretKey({ databasePath: db, keyFile, keepOldKeysIn: keep });
    expect(r.oldKeysFile).toBe(keep);
    expect(readFileSync(keep, 'utf8')).toBe(oldText);
    if (process.platform !== 'win32') expect(statSync(keep).mode & 0o777).toBe(0o600);
  });

  it('runs one rotation at a time: a second one is refused while the first runs, a dead one is taken over', async () => {
    const s = await open();
    await seed(s);
    const before = await secretsOf(s);
    await expectOneOfTwoRotations(before);
    expect(existsSync(`${keyFile}.rotating`)).toBe(false);

    // A lock naming a live process (this one) stops a rotation before it changes anything.
    const keyText = readFileSync(keyFile, 'utf8');
    writeFileSync(`${keyFile}.rotating`, `${process.pid}\n`);
    await expect(rotateSecretKey({ databasePath: db, keyFile })).rejects.toMatchObject({
      code: 'STORE_CONFLICT',
    });
    expect(readFileSync(keyFile, 'utf8')).toBe(keyText);
    // One left by a process that has exited (a crashed rotation) is taken over.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    writeFileSync(`${keyFile}.rotating`, `${dead.stdout.toString()}\n`);
    expect((await rotateSecretKey({ databasePath: db, keyFile })).records).toBe(10);
    expect(existsSync(`${keyFile}.rotating`)).toBe(false);
  });

  it('two rotations that find the same dead lock: one takes it over, the other is refused', async () => {
    const s = await open();
    await seed(s);
    const before = await secretsOf(s);
    writeFileSync(`${keyFile}.rotating`, `${deadPid()}\n`);
    await expectOneOfTwoRotations(before);
    expect(readdirSync(dir).filter((f) => f.startsWith('secret.key'))).toEqual(['secret.key']);
  });

  it('refuses the last key file write if the file changed after the records were sealed, leaving it as it is', async () => {
    const s = await open();
    await seed(s);
    const before = await secretsOf(s);
    const [oldKey] = keysIn(keyFile) as [Buffer];
    const other = randomBytes(32);
    // Another writer puts a key in front of the ring this rotation sealed under (it keeps both).
    let changed = '';
    const r = rotateSecretKey(
      { databasePath: db, keyFile },
      {
        afterSealing: async () => {
          const ring = keysIn(keyFile);
          expect(ring).toHaveLength(2);
          await writeKeyFile(keyFile, [other, ...ring]);
          changed = readFileSync(keyFile, 'utf8');
        },
      },
    );
    await expect(r).rejects.toMatchObject({
      code: 'SECRET_KEY_ROTATED',
      message: expect.stringContaining('left as it is'),
    });
    expect(readFileSync(keyFile, 'utf8')).toBe(changed);
    const ring = keysIn(keyFile);
    expect(ring).toHaveLength(3);
    expect(ring[2]?.equals(oldKey)).toBe(true);
    // The key file as left opens everything (the records are under its second key), nothing saved aside.
    expect(await secretsOf(await open(staticKeyProvider(ring)))).toEqual(before);
    await expect(open(staticKeyProvider(oldKey))).rejects.toMatchObject({ code: 'SECRET_KEY_MISMATCH' });
    expect(readdirSync(dir).filter((f) => f.startsWith('secret.key'))).toEqual(['secret.key']);
    expect(await s.listEvents({ type: 'secret-key.rotated' })).toEqual([]);
  });

  it('a key file that lost the key the records were just sealed under is left alone, that key saved beside it', async () => {
    const s = await open();
    await seed(s);
    const before = await secretsOf(s);
    await rotateSecretKey({ databasePath: db, keyFile, phase: 'stage' });
    const staged = keysIn(keyFile);
    // Finishing: the records go under the staged key; then the file is written back to the old key alone.
    const oldOnly = `${(staged[1] as Buffer).toString('base64')}\n`;
    await expect(
      rotateSecretKey(
        { databasePath: db, keyFile, phase: 'finish' },
        { afterSealing: () => writeFileSync(keyFile, oldOnly, { mode: 0o600 }) },
      ),
    ).rejects.toMatchObject({ code: 'SECRET_KEY_ROTATED', message: expect.stringContaining('sealed-under') });
    expect(readFileSync(keyFile, 'utf8')).toBe(oldOnly);
    const saved = readdirSync(dir).filter((f) => f.startsWith('secret.key.sealed-under.'));
    expect(saved).toHaveLength(1);
    const savedRing = keysIn(join(dir, saved[0] as string));
    expect(savedRing.map((k) => k.toString('hex'))).toEqual(staged.map((k) => k.toString('hex')));
    if (process.platform !== 'win32')
      expect(statSync(join(dir, saved[0] as string)).mode & 0o777).toBe(0o600);
    expect(await secretsOf(await open(staticKeyProvider(savedRing[0] as Buffer)))).toEqual(before);
  });

  it('refuses the last key file write if its lock was taken over meanwhile, and leaves that lock alone', async () => {
    const s = await open();
    await seed(s);
    const lock = `${keyFile}.rotating`;
    let keyText = '';
    let theirs = '';
    await expect(
      rotateSecretKey(
        { databasePath: db, keyFile },
        {
          afterSealing: async () => {
            keyText = readFileSync(keyFile, 'utf8');
            // Another process found the lock stale (wrongly) and made its own.
            rmSync(lock);
            theirs = (await createRotationLock(lock)) as string;
          },
        },
      ),
    ).rejects.toMatchObject({ code: 'STORE_CONFLICT', message: expect.stringContaining('no longer') });
    expect(readFileSync(keyFile, 'utf8')).toBe(keyText);
    expect(keysIn(keyFile)).toHaveLength(2);
    expect((await readRotationLock(lock))?.file).toBe(theirs);
  });

  it('refuses a data folder without a database or without its key file, creating nothing', async () => {
    await expect(rotateSecretKey({ databasePath: db, keyFile })).rejects.toMatchObject({
      code: 'STORE_NOT_FOUND',
    });
    expect(existsSync(db)).toBe(false);
    expect(existsSync(keyFile)).toBe(false);
    await (await open()).close();
    rmSync(keyFile);
    await expect(rotateSecretKey({ databasePath: db, keyFile })).rejects.toMatchObject({
      code: 'SECRET_KEY_INVALID',
      message: expect.stringContaining('no key file'),
    });
    expect(existsSync(keyFile)).toBe(false);
  });
});

describe('rotation lock takeover', () => {
  const lockFiles = () => readdirSync(dir).filter((f) => f.startsWith('secret.key.rotating'));

  it("of two processes that find the same dead owner's lock at once, exactly one takes it over", async () => {
    const lock = `${keyFile}.rotating`;
    writeFileSync(lock, `${deadPid()}\n`);
    const stale = (await readRotationLock(lock)) as NonNullable<Awaited<ReturnType<typeof readRotationLock>>>;
    expect(stale.pid).toBeGreaterThan(0);
    const moved = await Promise.all([takeOverStaleLock(lock, stale), takeOverStaleLock(lock, stale)]);
    expect(moved.filter((m) => m !== undefined)).toHaveLength(1);
    expect(existsSync(lock)).toBe(false);
    const mine = await createRotationLock(lock);
    expect(mine).toBeDefined();
    rmSync(moved.find((m) => m !== undefined) as string);
    expect(lockFiles()).toEqual(['secret.key.rotating']);
  });

  it('one that comes to the stale lock after the other made its own lock there takes nothing', async () => {
    const lock = `${keyFile}.rotating`;
    writeFileSync(lock, `${deadPid()}\n`);
    // Both contenders read the dead owner's lock before either acts.
    const seenByA = await readRotationLock(lock);
    const seenByB = await readRotationLock(lock);
    expect(seenByB).toEqual(seenByA);
    if (!seenByA || !seenByB) throw new Error('no lock');
    // A takes it over and makes its own lock.
    const movedA = await takeOverStaleLock(lock, seenByA);
    expect(movedA).toBeDefined();
    const mineA = await createRotationLock(lock);
    expect(mineA).toBeDefined();
    rmSync(movedA as string);
    // B comes late: A's lock must stay, the same file, and B must not get one.
    expect(await takeOverStaleLock(lock, seenByB)).toBeUndefined();
    expect(await readRotationLock(lock)).toEqual({ pid: process.pid, file: mineA });
    expect(await createRotationLock(lock)).toBeUndefined();
    expect(lockFiles()).toEqual(['secret.key.rotating']);
  });
});

describe('old ciphertexts after a rotation', () => {
  for (const running of [true, false]) {
    it(`none is left in the database file or its WAL, nor in a backup (${running ? 'a service running on it' : 'nothing else on it'})`, async () => {
      const s = await open();
      await seed(s);
      // More of every kind, so the rotation rewrites whole pages and frees cells.
      for (let i = 0; i < 40; i++) {
        await s.addCredential({
          label: `c${i}`,
          username: 'admin',
          password: `P@ss-${i}-${'x'.repeat(i % 20)}`,
          priority: i + 2,
        });
        await s.addPendingSecret(i % 2 ? U1 : U2, 'directory', `dir-${i}-${'y'.repeat(3 * i)}`);
      }
      const old = sealedBlobs();
      expect(old.length).toBeGreaterThan(80);
      // The search finds them before the rotation (in the WAL while the store is open).
      expect(tracesOf(old, databaseBytes())).toEqual(old);
      if (!running) {
        await s.close();
        stores.length = 0;
        expect(tracesOf(old, databaseBytes())).toEqual(old);
      }

      const r = await rotateSecretKey({ databasePath: db, keyFile });
      expect(r.records).toBe(90);
      expect(r.walCheckpoint).toBeUndefined();
      const after = sealedBlobs();
      expect(tracesOf(after, databaseBytes())).toEqual(after);
      expect(tracesOf(old, databaseBytes())).toEqual([]);

      const dest = join(dir, 'after.db');
      await backupSiteDatabase({ databasePath: db, destination: dest });
      expect(tracesOf(old, readFileSync(dest))).toEqual([]);
      expect(tracesOf(after, readFileSync(dest))).toEqual(after);
    });
  }

  it('a reader that keeps the WAL busy: the rotation stands and says the WAL is not emptied', async () => {
    const s = await open();
    await seed(s);
    const before = await secretsOf(s);
    // Another process in the middle of a long read, on a snapshot older than the rotation.
    const reader = new Database(db, { readonly: true });
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM credentials').get();
      const lines: string[] = [];
      const r = await rotateSecretKey({ databasePath: db, keyFile, progress: (l) => lines.push(l) });
      expect(r).toEqual({ records: 10, replacedKeys: 1, walCheckpoint: 'incomplete' });
      expect(lines.join('\n')).toContain('could not be emptied');
      expect(keysIn(keyFile)).toHaveLength(1);
      expect((await s.listEvents({ type: 'secret-key.rotated' })).map((e) => e.data)).toEqual([
        { records: 10, replacedKeys: 1, oldKeysKept: false, walCheckpoint: 'incomplete' },
      ]);
    } finally {
      reader.close();
    }
    expect(await secretsOf(await open(staticKeyProvider(keysIn(keyFile)[0] as Buffer)))).toEqual(before);
  }, 20_000);
});

/**
 * Two rotations started together: one rotates, the other is refused with STORE_CONFLICT, and the
 * one key left in the file opens every secret as it was (`before`).
 */
async function expectOneOfTwoRotations(before: unknown): Promise<void> {
  const both = await Promise.allSettled([
    rotateSecretKey({ databasePath: db, keyFile }),
    rotateSecretKey({ databasePath: db, keyFile }),
  ]);
  expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  expect(both.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'STORE_CONFLICT' } });
  expect(keysIn(keyFile)).toHaveLength(1);
  expect(await secretsOf(await open(staticKeyProvider(keysIn(keyFile)[0] as Buffer)))).toEqual(before);
}

describe('backupSiteDatabase', () => {
  it('copies the live database, WAL content included, into a 0600 file the key file opens', async () => {
    const s = await open();
    await seed(s);
    await s.importComputers([
      { uuid: U1, hostName: 'pc-1', domainName: 'corp.example.com', source: 'import' },
    ]);
    // The store is still open: the last writes are in the WAL, not yet in the main file.
    expect(statSync(`${db}-wal`).size).toBeGreaterThan(0);
    const dest = join(dir, 'copy.db');
    const r = await backupSiteDatabase({ databasePath: db, destination: dest });
    expect(r).toMatchObject({ destination: dest, check: 'ok' });
    expect(r.bytes).toBe(statSync(dest).size);
    if (process.platform !== 'win32') expect(statSync(dest).mode & 0o777).toBe(0o600);
    // One self-contained file: no -wal or -shm beside it, and not in WAL mode.
    expect(readdirSync(dir).filter((f) => f.startsWith('copy.db'))).toEqual(['copy.db']);
    expect(readFileSync(dest).subarray(18, 20)).toEqual(Buffer.from([1, 1]));

    const copy = await openSqliteStore({ path: dest, keyProvider: fileKeyProvider(keyFile) });
    stores.push(copy);
    expect(await secretsOf(copy)).toEqual(await secretsOf(s));
    expect((await copy.getComputer(U1))?.hostName).toBe('pc-1');
  });

  it('finishes while another process keeps writing (an online backup in small steps never would)', async () => {
    await (await open()).close();
    // About 20 MB of event log, written straight in (the store would take its time).
    const raw = new Database(db);
    const pad = 'x'.repeat(1000);
    const fill = raw.prepare("INSERT INTO events (at, level, type, message) VALUES (?, 'debug', 'old', ?)");
    raw.transaction(() => {
      for (let i = 0; i < 20_000; i++) fill.run(new Date(0).toISOString(), pad);
    })();
    raw.close();
    // A busy service in another process: one write after another.
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const D = require(${JSON.stringify(require.resolve('better-sqlite3'))});
         const db = new D(${JSON.stringify(db)}); db.pragma('busy_timeout = 5000');
         const ins = db.prepare("INSERT INTO events (at, level, type, message) VALUES (?, 'debug', 'busy', 'w')");
         process.stdout.write('ready\\n');
         const loop = () => { ins.run(new Date().toISOString()); setImmediate(loop); }; loop();
         setTimeout(() => process.exit(0), 30000); // never outlives a failed test for long`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve) => writer.stdout?.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, 50));
      const dest = join(dir, 'busy.db');
      const r = await backupSiteDatabase({ databasePath: db, destination: dest });
      expect(r.check).toBe('ok');
      const copy = new Database(dest, { readonly: true });
      try {
        expect(
          (copy.prepare("SELECT count(*) AS n FROM events WHERE type = 'old'").get() as { n: number }).n,
        ).toBe(20_000);
        expect(
          (copy.prepare("SELECT count(*) AS n FROM events WHERE type = 'busy'").get() as { n: number }).n,
        ).toBeGreaterThan(0);
      } finally {
        copy.close();
      }
    } finally {
      writer.kill();
    }
  }, 60_000);

  it('never writes over an existing file, and creates nothing without a database', async () => {
    const s = await open();
    await seed(s);
    const dest = join(dir, 'copy.db');
    writeFileSync(dest, 'keep me');
    await expect(backupSiteDatabase({ databasePath: db, destination: dest })).rejects.toMatchObject({
      code: 'STORE_CONFLICT',
    });
    expect(readFileSync(dest, 'utf8')).toBe('keep me');
    const missing = join(dir, 'nothing.db');
    const dest2 = join(dir, 'copy2.db');
    await expect(backupSiteDatabase({ databasePath: missing, destination: dest2 })).rejects.toMatchObject({
      code: 'STORE_NOT_FOUND',
    });
    expect(existsSync(dest2)).toBe(false);
  });
});

describe('oobkit rotate-key and backup', () => {
  const oobkit = (args: string[]) => runOobkit(dir, args, { cwd: dir });

  it('rotate the key and back up on the data folder; both refuse the API', async () => {
    const s = await open();
    await seed(s);
    const before = await secretsOf(s);
    const oldText = readFileSync(keyFile, 'utf8');

    const rotated = await oobkit(['rotate-key', '--json']);
    expect(rotated.code).toBe(0);
    expect(JSON.parse(rotated.stdout)).toEqual({ records: 10, replacedKeys: 1, phase: 'all', keyFile });
    expect(readFileSync(keyFile, 'utf8')).not.toBe(oldText);
    expect(await secretsOf(s)).toEqual(before); // the open store followed

    const human = await oobkit(['rotate-key', '--keep-old-key', join(dir, 'old.key')]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('rotated: 10 secret records');
    expect(human.stdout).toContain(join(dir, 'old.key'));

    const backup = await oobkit(['backup', join(dir, 'copy.db')]);
    expect(backup.code).toBe(0);
    expect(backup.stdout).toContain('check: ok');
    expect(backup.stdout).toContain(keyFile);
    const again = await oobkit(['backup', join(dir, 'copy.db')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('STORE_CONFLICT');

    for (const cmd of [
      ['rotate-key'],
      ['backup', join(dir, 'x.db')],
      ['prune-events', '--older-than', '30'],
    ]) {
      const r = await oobkit(['--api', 'http://127.0.0.1:9', ...cmd]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('data folder only');
    }
    expect(existsSync(join(dir, 'x.db'))).toBe(false);
  });

  it('prune-events deletes the events older than the given days and records it', async () => {
    const s = await open();
    await s.appendEvent(agedEvent('old', 'a', 40));
    await s.appendEvent(agedEvent('old', 'b', 31));
    await s.appendEvent(agedEvent('kept', 'c', 29));
    const r = await oobkit(['prune-events', '--older-than', '30', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ removed: 2, before: expect.any(String) });
    expect(await s.listEvents({ type: 'old' })).toEqual([]);
    expect((await s.listEvents({ type: 'kept' })).map((e) => e.message)).toEqual(['c']);
    expect((await s.listEvents({ type: 'events.pruned' })).map((e) => e.data)).toEqual([
      { removed: 2, before: expect.any(String), retentionDays: 30, by: 'cli' },
    ]);
    for (const bad of [['--older-than', '0'], ['--older-than', 'week'], []]) {
      const u = await oobkit(['prune-events', ...bad]);
      expect(u.code).toBe(2);
    }
    expect((await s.listEvents({ type: 'kept' })).map((e) => e.message)).toEqual(['c']);
  });
});
