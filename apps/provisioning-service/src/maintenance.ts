/**
 * Site upkeep: a new secret key (every record sealed again), a consistent copy of the site
 * database, and the event log's retention. All of it works while services run on the database.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, link, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import {
  createKeyFile,
  fileKeyProvider,
  SECRET_KEY_BYTES,
  secretKeysOf,
  writeKeyFile,
} from './secrets/index.js';
import { SecretKeyError, ServiceError, StoreConflictError } from './store/errors.js';
import { openConfiguredStore } from './store/open.js';
import type { SiteStore } from './store/types.js';

/**
 * Deletes the events older than `days` days and, when any went, records how many in one
 * `events.pruned` event (the service runs this hourly; `oobkit prune-events` on demand).
 */
export async function pruneEventLog(
  store: SiteStore,
  days: number,
  opts: { by?: string; now?: number } = {},
): Promise<{ removed: number; before: string }> {
  if (!Number.isInteger(days) || days < 1) throw new TypeError('days must be a whole number, 1 or more');
  const before = new Date((opts.now ?? Date.now()) - days * 86_400_000).toISOString();
  const removed = await store.pruneEvents(before);
  if (removed > 0) {
    await store.appendEvent({
      level: 'info',
      type: 'events.pruned',
      message: `${removed} events older than ${days} days deleted${opts.by ? ` (${opts.by})` : ''}`,
      data: { removed, before, retentionDays: days, ...(opts.by ? { by: opts.by } : {}) },
    });
  }
  return { removed, before };
}

export interface RotateKeyOptions {
  /** The site database (it must exist: a rotation never creates a store). */
  databasePath: string;
  /** A PostgreSQL site store instead of the SQLite file (`databasePath` is then not used). */
  databaseUrl?: string;
  /**
   * `all` (default): the whole rotation here, for a site whose instances all read this key file.
   * Where instances on other hosts have their own copy (PostgreSQL), in two steps with a copy
   * of the key file to every host after each: `stage` adds the new key in front of the old one
   * (nothing is sealed with it yet); `finish`, once every host has that file, seals every record
   * again under it and leaves it alone in this file.
   */
  phase?: 'all' | 'stage' | 'finish';
  /** The key file the services read (`secret.key` in the data folder by default). */
  keyFile: string;
  /**
   * Where to keep the key(s) being replaced (a new 0600 file; an existing one is refused),
   * for database copies taken before the rotation. Left out, they are gone once this returns.
   */
  keepOldKeysIn?: string;
  /** Progress lines for a person at a terminal. */
  progress?: (line: string) => void;
  /** A fresh key (tests inject one); default 32 random bytes. */
  newKey?: () => Buffer;
}

export interface RotateKeyResult {
  /** Secret records sealed again under the new key (0 for `stage`). */
  records: number;
  /** How many old keys left the key file. */
  replacedKeys: number;
  /** Where the old keys were kept, when asked. */
  oldKeysFile?: string;
  /**
   * `incomplete`: on the SQLite file, the write-ahead log could not be emptied after the
   * rotation (mostly: another process kept reading or writing through SQLite's busy timeout).
   * The rotation stands, but the pages written before it, old-key ciphertexts among them, stay
   * in the `-wal` file until the last process on the database closes it. Absent when it was
   * emptied (or on PostgreSQL).
   */
  walCheckpoint?: 'incomplete';
}

/** @internal Tests only: a step run inside a rotation, to change the world at that point. */
export interface RotateKeyTestHooks {
  /** After the records were sealed again, before the key file's last write. */
  afterSealing?: () => Promise<void> | void;
}

/**
 * A new secret key for the site, with no secret ever unreadable on the way:
 * 1. the key file becomes new key + old key(s) (one atomic replace);
 * 2. every record is sealed again under the new key in one transaction (all or none);
 * 3. the key file becomes the new key alone.
 *
 * A crash after 1 or 2 leaves a key file that still opens every record; running the rotation
 * again finishes the job. Services running meanwhile keep working: a store finding records it
 * cannot open, or a key check sealed under another key, reads the key file again
 * (`SECRET_KEY_ROTATED` only if the file keeps changing through every try of one write). One
 * rotation at a time per key file (a lock file beside it); a second is `STORE_CONFLICT`.
 * Every write of the key file is made only over the keys this rotation last saw or wrote there:
 * a file changed meanwhile (by anything but this rotation) is left alone, `SECRET_KEY_ROTATED`.
 * On the SQLite file, the write-ahead log is emptied after the records moved (with
 * `secure_delete`, the old ciphertexts are then gone from the database's files).
 */
export async function rotateSecretKey(
  opts: RotateKeyOptions,
  /** @internal tests only */
  hooks: RotateKeyTestHooks = {},
): Promise<RotateKeyResult> {
  const say = opts.progress ?? (() => undefined);
  if (opts.databaseUrl === undefined && !existsSync(opts.databasePath)) {
    throw new ServiceError('STORE_NOT_FOUND', `no site store at ${opts.databasePath}: nothing to rotate`);
  }
  // A missing key file would be created afresh by the provider: a key that opens nothing here.
  if (!existsSync(opts.keyFile)) {
    throw new SecretKeyError(
      'SECRET_KEY_INVALID',
      `no key file at ${opts.keyFile}: restore it before rotating`,
    );
  }
  if (opts.keepOldKeysIn !== undefined && existsSync(opts.keepOldKeysIn)) {
    throw new StoreConflictError(`${opts.keepOldKeysIn} exists; old keys are only written to a new file`);
  }
  return withRotationLock(opts.keyFile, (stillLocked) => rotateLocked(opts, say, stillLocked, hooks));
}

async function rotateLocked(
  opts: RotateKeyOptions,
  say: (line: string) => void,
  stillLocked: () => Promise<boolean>,
  hooks: RotateKeyTestHooks,
): Promise<RotateKeyResult> {
  const provider = fileKeyProvider(opts.keyFile);
  const phase = opts.phase ?? 'all';
  // Opening the store first proves the key file opens this database before anything changes.
  const store = await openConfiguredStore(opts, provider);
  try {
    const ring = await secretKeysOf(provider, true);
    if (phase === 'stage' && ring.length > 1) {
      throw new StoreConflictError(
        `${opts.keyFile} already holds ${ring.length} keys (a staged rotation): copy it to every host, then finish it with \`oobkit rotate-key --finish\``,
      );
    }
    if (phase === 'finish' && ring.length < 2) {
      throw new StoreConflictError(
        `${opts.keyFile} holds one key: nothing is staged (run \`oobkit rotate-key --stage\` first)`,
      );
    }
    // Finishing seals under the staged key (the first); the rest are the ones it replaces.
    const [next, ...old] =
      phase === 'finish'
        ? (ring as [Buffer, ...Buffer[]])
        : [opts.newKey?.() ?? randomBytes(SECRET_KEY_BYTES), ...ring];
    if (phase !== 'finish' && old.some((k) => k.equals(next))) {
      throw new SecretKeyError('SECRET_KEY_INVALID', 'the new key equals a key in use');
    }
    let oldKeysFile: string | undefined;
    if (opts.keepOldKeysIn !== undefined) {
      await createKeyFile(opts.keepOldKeysIn, old).catch((err: unknown) => {
        throw new StoreConflictError(`cannot create ${opts.keepOldKeysIn}: ${(err as Error).message}`);
      });
      oldKeysFile = opts.keepOldKeysIn;
      say(`old key(s) kept in ${oldKeysFile}`);
    }
    // Over the ring read above only: another writer since then is refused, not overwritten.
    if (phase !== 'finish') await replaceKeyFile(opts.keyFile, ring, [next, ...old], stillLocked);
    if (phase === 'stage') {
      say(
        `new key staged in ${opts.keyFile}, in front of the old one (nothing is sealed with it yet): copy this file to every host's instances, then run \`oobkit rotate-key --finish\``,
      );
      await store.appendEvent({
        level: 'info',
        type: 'secret-key.staged',
        message: 'a new secret key was staged; records are still sealed under the old one',
        data: { keys: old.length + 1 },
      });
      return { records: 0, replacedKeys: 0, ...(oldKeysFile ? { oldKeysFile } : {}) };
    }
    say(`new key in ${opts.keyFile}; sealing every secret record again…`);
    const { records } = await store.reencryptSecrets();
    await hooks.afterSealing?.();
    // The records are under `next` now (the first key of the file as it was just re-read): the
    // old keys leave the file only if it still is the very ring sealed with. Written over
    // anything else, it could drop a key another writer's records are sealed under.
    await replaceKeyFile(opts.keyFile, [next, ...old], [next], stillLocked);
    say(`${records} secret records now sealed under the new key; old key removed from ${opts.keyFile}`);
    if (phase === 'finish')
      say(`copy ${opts.keyFile} to every host's instances again (the old key can go there too)`);
    const wal = opts.databaseUrl === undefined ? truncateWal(opts.databasePath) : undefined;
    const walCheckpoint = wal === undefined ? undefined : ('incomplete' as const);
    if (wal !== undefined) {
      say(
        `${opts.databasePath}-wal could not be emptied now (${wal}): the rotation stands, but the pages written before it, old-key ciphertexts among them, stay in that file until every process on the database has closed it`,
      );
    }
    await store.appendEvent({
      level: 'info',
      type: 'secret-key.rotated',
      message: `secret key rotated: ${records} records sealed again under the new key`,
      data: {
        records,
        replacedKeys: old.length,
        oldKeysKept: oldKeysFile !== undefined,
        ...(walCheckpoint ? { walCheckpoint } : {}),
      },
    });
    return {
      records,
      replacedKeys: old.length,
      ...(oldKeysFile ? { oldKeysFile } : {}),
      ...(walCheckpoint ? { walCheckpoint } : {}),
    };
  } finally {
    await store.close();
  }
}

/**
 * Replaces the key file's keys with `keys` only if it holds exactly `expected` now (re-read from
 * disk, not from a provider's cache) and this process still holds the rotation lock. Otherwise
 * the file is left as it is: `SECRET_KEY_ROTATED` (another writer changed it), or
 * `STORE_CONFLICT` (the lock is no longer this rotation's). When the records were sealed under
 * `keys[0]` and the file found no longer holds that key, the ring `expected` is saved to a new
 * 0600 file beside it first (named in the message), so no record is left without its key.
 */
async function replaceKeyFile(
  keyFile: string,
  expected: readonly Buffer[],
  keys: readonly Buffer[],
  stillLocked: () => Promise<boolean>,
): Promise<void> {
  const found = await keysInFile(keyFile);
  if (!(await stillLocked())) {
    throw new StoreConflictError(
      `the rotation lock ${keyFile}.rotating is no longer this process's (another rotation took it): ${keyFile} was left as it is`,
    );
  }
  if (found.length === expected.length && found.every((k, i) => k.equals(expected[i] as Buffer))) {
    await writeKeyFile(keyFile, keys);
    return;
  }
  let saved = '';
  const sealedUnder = expected[0] as Buffer;
  if (keys.length === 1 && keys[0]?.equals(sealedUnder) && !found.some((k) => k.equals(sealedUnder))) {
    const aside = `${keyFile}.sealed-under.${Date.now()}.${randomBytes(4).toString('hex')}`;
    saved = await createKeyFile(aside, expected).then(
      () =>
        `; the records are sealed under the first key of ${aside} (saved there just now, with the keys it replaced): put it back in the key file before anything else`,
      (err: unknown) =>
        `; the records are sealed under a key it no longer holds, and saving that key beside it failed (${(err as Error).message})`,
    );
  }
  throw new SecretKeyError(
    'SECRET_KEY_ROTATED',
    `${keyFile} changed during this rotation (another rotation or an edit): it was left as it is${saved}`,
  );
}

/** The keys in the key file as it is on disk now (none when it is gone or unreadable as keys). */
async function keysInFile(keyFile: string): Promise<Buffer[]> {
  const text = await readFile(keyFile, 'utf8').catch((err: unknown) => {
    if ((err as { code?: string }).code === 'ENOENT') return '';
    throw err;
  });
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => Buffer.from(l, 'base64'));
}

/**
 * Empties the SQLite database's write-ahead log after a rotation: its frames are copied into
 * the database file and the log is cut to 0 bytes (`wal_checkpoint(TRUNCATE)`), so the pages
 * written before the rotation no longer linger in it. Through a connection of its own, as
 * another process's: services keep running on the database. SQLite waits (its busy timeout,
 * 5 s) for a writer to finish and for readers still on older frames to move on; if one is
 * still busy then, the log is left as SQLite keeps it and this returns why (undefined: emptied).
 * The rotation stands either way: its records are in the log, and SQLite removes the log when
 * the last connection to the database closes. Never VACUUM: not on a live database.
 */
function truncateWal(databasePath: string): string | undefined {
  let db: Database.Database | undefined;
  try {
    db = new Database(databasePath, { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    return r?.busy === 0 ? undefined : 'another process kept the database busy';
  } catch (err) {
    return (err as Error).message;
  } finally {
    db?.close();
  }
}

/**
 * One rotation at a time per key file: two interleaved ones could each leave the file holding
 * its own new key while the records are sealed under the other's. The lock is a file beside the
 * key file, naming its process; one left by a process that is gone (a crash) is taken over
 * (`takeOverStaleLock`: by one process only, however many find it). `fn` gets a check that the
 * lock is still this process's, for just before each key file write.
 */
async function withRotationLock<T>(
  keyFile: string,
  fn: (stillLocked: () => Promise<boolean>) => Promise<T>,
): Promise<T> {
  const lock = `${keyFile}.rotating`;
  const mine = await acquireRotationLock(lock, keyFile);
  const stillLocked = async () => (await readRotationLock(lock))?.file === mine;
  try {
    return await fn(stillLocked);
  } finally {
    // Removed only if it is still ours: never the lock of a rotation that took over from us.
    if (await stillLocked().catch(() => false)) await rm(lock, { force: true });
  }
}

async function acquireRotationLock(lock: string, keyFile: string): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const mine = await createRotationLock(lock);
    if (mine !== undefined) return mine;
    const holder = await readRotationLock(lock);
    if (holder === undefined) continue; // released meanwhile
    if (holder.pid > 0 && processAlive(holder.pid)) {
      throw new StoreConflictError(`another key rotation (process ${holder.pid}) is running on ${keyFile}`);
    }
    const moved = await takeOverStaleLock(lock, holder);
    // Another process took it over first: start over (its own lock is then found, live).
    if (moved === undefined) continue;
    try {
      const taken = await createRotationLock(lock);
      if (taken !== undefined) return taken;
    } finally {
      // Only now: while it exists, no lock made meanwhile can have the stale file's identity.
      await rm(moved, { force: true });
    }
  }
  throw new StoreConflictError(`another key rotation is starting on ${keyFile}`);
}

/** @internal A rotation lock as found: the process it names (0: none) and the file's identity. */
export interface RotationLockHolder {
  pid: number;
  /** Device and inode: which file this is, whatever path it has by then. */
  file: string;
}

/** @internal The lock at `lock` now (read through one open file: its pid and identity agree). */
export async function readRotationLock(lock: string): Promise<RotationLockHolder | undefined> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(lock, 'r');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const st = await fh.stat({ bigint: true });
    const pid = Number.parseInt(await fh.readFile('utf8'), 10);
    return { pid: Number.isInteger(pid) && pid > 0 ? pid : 0, file: `${st.dev}:${st.ino}` };
  } finally {
    await fh.close();
  }
}

/**
 * @internal Makes the lock, unless there is one: it appears with its process id already in it
 * (written aside, then hard-linked into place, which fails if the lock exists), so a lock seen
 * without one is never mistaken for a dead owner's while its owner is still writing it. Returns
 * the new lock's identity, or undefined if a lock was there.
 */
export async function createRotationLock(lock: string): Promise<string | undefined> {
  const aside = `${lock}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(aside, `${process.pid}\n`, { mode: 0o600, flag: 'wx' });
  try {
    const st = await stat(aside, { bigint: true });
    await link(aside, lock);
    return `${st.dev}:${st.ino}`;
  } catch (err) {
    if ((err as { code?: string }).code !== 'EEXIST') throw err;
    return undefined;
  } finally {
    await rm(aside, { force: true });
  }
}

/**
 * @internal Moves a dead owner's lock (`stale`, as read) away from `lock`, for this process to
 * make its own there; returns where it went (the caller removes it once its own lock is made),
 * or undefined if another process took it over first. Removing it by name could remove a lock
 * another process has just made in its place: it is renamed, so of all the processes that found
 * the same stale file only one moves it (the others find no file at `lock`, ENOENT, or a newer
 * one). A newer lock moved by mistake (made between the check below and the rename) is seen not
 * to be the stale file and is linked back in place, the same file; if a third process made a lock
 * in that instant, the newer lock's owner finds its lock gone before it writes the key file.
 */
export async function takeOverStaleLock(
  lock: string,
  stale: RotationLockHolder,
): Promise<string | undefined> {
  const now = await readRotationLock(lock);
  if (now === undefined || now.file !== stale.file) return undefined;
  const aside = `${lock}.stale-${stale.pid}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await rename(lock, aside);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    throw err;
  }
  const moved = await readRotationLock(aside);
  if (moved !== undefined && moved.file === stale.file && moved.pid === stale.pid) return aside;
  try {
    await link(aside, lock);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'EEXIST' && code !== 'ENOENT') throw err;
  } finally {
    await rm(aside, { force: true });
  }
  return undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as { code?: string }).code === 'EPERM';
  }
}

export interface BackupOptions {
  databasePath: string;
  /** The copy to write: a new file (an existing one is refused), mode 0600. */
  destination: string;
}

export interface BackupResult {
  destination: string;
  bytes: number;
  /** `PRAGMA quick_check` of the copy: `ok`, or what SQLite found. */
  check: string;
}

/**
 * A consistent copy of the site database through SQLite's online backup (WAL content
 * included), while services keep running on it. The copy holds the secrets sealed, exactly as
 * the database does: restoring it needs the key file that opened the database at the time.
 */
export async function backupSiteDatabase(opts: BackupOptions): Promise<BackupResult> {
  if (!existsSync(opts.databasePath)) {
    throw new ServiceError('STORE_NOT_FOUND', `no site store at ${opts.databasePath}`);
  }
  // Created empty and exclusive first: never over an existing file, never readable by others.
  const fh = await open(opts.destination, 'wx', 0o600).catch((err: unknown) => {
    const code = (err as { code?: string }).code;
    throw code === 'EEXIST'
      ? new StoreConflictError(`${opts.destination} exists; a backup is only written to a new file`)
      : new ServiceError('STORE_NOT_FOUND', `cannot create ${opts.destination}: ${(err as Error).message}`);
  });
  await fh.close();
  try {
    const source = new Database(opts.databasePath, { readonly: true, fileMustExist: true });
    try {
      // SQLite restarts an online backup whenever another connection writes between two of its
      // steps: in small steps, a busy service would keep it from ever finishing. After SQLite's
      // first step (100 pages), the rest goes in one step, under one read snapshot (WAL: the
      // service's writers are not blocked).
      await source.backup(opts.destination, { progress: ({ totalPages }) => totalPages + 1 });
    } finally {
      source.close();
    }
    // The copy is in WAL mode as its source was; a backup is better one self-contained file, and
    // a WAL-mode file opened even read-only leaves -wal and -shm files beside it.
    const copy = new Database(opts.destination, { fileMustExist: true });
    let check: string;
    try {
      copy.pragma('journal_mode = DELETE');
      check = (copy.pragma('quick_check') as Array<{ quick_check: string }>)
        .map((r) => r.quick_check)
        .join('; ');
    } finally {
      copy.close();
    }
    await chmod(opts.destination, 0o600);
    return { destination: opts.destination, bytes: (await stat(opts.destination)).size, check };
  } catch (err) {
    for (const f of [opts.destination, `${opts.destination}-wal`, `${opts.destination}-shm`])
      await rm(f, { force: true });
    throw err;
  }
}
