/**
 * Site upkeep: a new secret key (every record sealed again), a consistent copy of the site
 * database, and the event log's retention. All of it works while services run on the database.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, link, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
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
 */
export async function rotateSecretKey(opts: RotateKeyOptions): Promise<RotateKeyResult> {
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
  return withRotationLock(opts.keyFile, () => rotateLocked(opts, say));
}

async function rotateLocked(opts: RotateKeyOptions, say: (line: string) => void): Promise<RotateKeyResult> {
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
    if (phase !== 'finish') await writeKeyFile(opts.keyFile, [next, ...old]);
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
    await writeKeyFile(opts.keyFile, [next]);
    say(`${records} secret records now sealed under the new key; old key removed from ${opts.keyFile}`);
    if (phase === 'finish')
      say(`copy ${opts.keyFile} to every host's instances again (the old key can go there too)`);
    await store.appendEvent({
      level: 'info',
      type: 'secret-key.rotated',
      message: `secret key rotated: ${records} records sealed again under the new key`,
      data: { records, replacedKeys: old.length, oldKeysKept: oldKeysFile !== undefined },
    });
    return { records, replacedKeys: old.length, ...(oldKeysFile ? { oldKeysFile } : {}) };
  } finally {
    await store.close();
  }
}

/**
 * One rotation at a time per key file: two interleaved ones could each leave the file holding
 * its own new key while the records are sealed under the other's. The lock is a file made with
 * O_EXCL beside the key file, naming its process; one left by a process that is gone (a crash)
 * is taken over.
 */
async function withRotationLock<T>(keyFile: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${keyFile}.rotating`;
  // The lock appears with its process id already in it (written aside, then hard-linked into
  // place, which fails if the lock exists): a lock seen without one is never mistaken for a
  // dead owner's while its owner is still writing it.
  const take = async (): Promise<boolean> => {
    const aside = `${lock}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(aside, `${process.pid}\n`, { mode: 0o600, flag: 'wx' });
    try {
      await link(aside, lock);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
      return false;
    } finally {
      await rm(aside, { force: true });
    }
  };
  if (!(await take())) {
    const pid = Number.parseInt(await readFile(lock, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
      throw new StoreConflictError(`another key rotation (process ${pid}) is running on ${keyFile}`);
    }
    await rm(lock, { force: true });
    if (!(await take())) throw new StoreConflictError(`another key rotation is starting on ${keyFile}`);
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
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
