import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SecretKeyError } from '../store/errors.js';

export { openSecret, SECRET_RECORD_VERSION, sealSecret } from './cipher.js';

/** Where the store's 32-byte AES-256-GCM key comes from (a key file by default; a KMS can plug in). */
export interface SecretKeyProvider {
  /** Resolves to the 32-byte current key; rejects with `SecretKeyError` when it is unusable. */
  getKey(): Promise<Buffer>;
  /**
   * Every key that may still open a record, the current one first (a key ring). During a key
   * rotation the ring holds the new key and the old one; a store opens a record with whichever
   * key fits and, after the rotation, seals only with the new one. `reload` asks for the keys as
   * they are now (a rotation by another process), not as first read. Providers without a ring
   * leave this out: the ring is then `[await getKey()]`.
   */
  getKeys?(opts?: { reload?: boolean }): Promise<Buffer[]>;
}

export const SECRET_KEY_BYTES = 32;

/** The provider's key ring, current key first (see `SecretKeyProvider.getKeys`). */
export async function secretKeysOf(provider: SecretKeyProvider, reload = false): Promise<Buffer[]> {
  const keys = provider.getKeys ? await provider.getKeys({ reload }) : [await provider.getKey()];
  if (keys.length === 0) throw new SecretKeyError('SECRET_KEY_INVALID', 'the key provider gave no key');
  for (const k of keys) checkKeyLength(k.length, 'a secret key');
  return keys;
}

/** Fixed keys (tests, or keys obtained elsewhere), the current one first. The buffers are copied. */
export function staticKeyProvider(key: Buffer | readonly Buffer[]): SecretKeyProvider {
  const list = Buffer.isBuffer(key) ? [key] : [...key];
  if (list.length === 0) throw new SecretKeyError('SECRET_KEY_INVALID', 'static key ring is empty');
  for (const k of list) checkKeyLength(k.length, 'static key');
  const copies = list.map((k) => Buffer.from(k));
  return { getKey: async () => copies[0] as Buffer, getKeys: async () => [...copies] };
}

/**
 * Keys kept in a file as base64 text, one per line, the current key first (more than one only
 * while `oobkit rotate-key` runs, or after it was interrupted). A missing file is created (mode
 * 0600, directory 0700) with a fresh random key; creation is exclusive, so two processes starting
 * at once agree on one key. On POSIX a file readable by group or others is refused, as ssh
 * refuses such a key.
 */
export function fileKeyProvider(path: string): SecretKeyProvider {
  let pending: Promise<Buffer[]> | undefined;
  const keys = (reload: boolean): Promise<Buffer[]> => {
    if (reload) pending = undefined;
    pending ??= loadOrCreateKeyFile(path).catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
  return {
    getKey: async () => (await keys(false))[0] as Buffer,
    getKeys: async (opts) => [...(await keys(opts?.reload === true))],
  };
}

/**
 * Writes keys (current first) to a new file, mode 0600, flushed; an existing file is never
 * overwritten (the open fails with `EEXIST`). Checks nothing: callers check the keys.
 */
export async function createKeyFile(path: string, keys: readonly Buffer[]): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(keys.map((k) => `${k.toString('base64')}\n`).join(''));
    await fh.sync();
  } finally {
    await fh.close();
  }
  // The umask may have narrowed the mode further; it can never widen it, but be explicit.
  await chmod(path, 0o600);
}

/**
 * Replaces a key file's keys (current first) in one step: a new 0600 file beside it, flushed,
 * then renamed over it, so a crash leaves the old file or the new one, never a torn one.
 */
export async function writeKeyFile(path: string, keys: readonly Buffer[]): Promise<void> {
  if (keys.length === 0) throw new SecretKeyError('SECRET_KEY_INVALID', 'a key file needs at least one key');
  for (const k of keys) checkKeyLength(k.length, 'a secret key');
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await createKeyFile(tmp, keys);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new SecretKeyError('SECRET_KEY_INVALID', `cannot write the key file ${path}`, undefined, {
      cause: err,
    });
  }
  // The rename is durable once the directory is (best effort: not every platform opens one).
  try {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    /* a directory that cannot be opened or synced: the rename stands as the OS keeps it */
  }
}

async function loadOrCreateKeyFile(path: string): Promise<Buffer[]> {
  try {
    return await readKeyFile(path);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(SECRET_KEY_BYTES);
  try {
    await createKeyFile(path, [key]);
    return [key];
  } catch (err) {
    // Another process created it first: use theirs.
    if (isErrno(err, 'EEXIST')) return readKeyFile(path);
    throw new SecretKeyError('SECRET_KEY_INVALID', `cannot create the key file ${path}`, undefined, {
      cause: err,
    });
  }
}

async function readKeyFile(path: string): Promise<Buffer[]> {
  let text: string;
  try {
    if (process.platform !== 'win32') {
      const st = await stat(path);
      if ((st.mode & 0o077) !== 0) {
        throw new SecretKeyError(
          'SECRET_KEY_INVALID',
          `key file ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
        );
      }
    }
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof SecretKeyError || isErrno(err, 'ENOENT')) throw err;
    throw new SecretKeyError('SECRET_KEY_INVALID', `cannot read the key file ${path}`, undefined, {
      cause: err,
    });
  }
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines.length === 0 || lines.some((l) => !/^[A-Za-z0-9+/]+={0,2}$/.test(l))) {
    throw new SecretKeyError(
      'SECRET_KEY_INVALID',
      `key file ${path} does not hold base64 text (one key per line)`,
    );
  }
  return lines.map((l, i) => {
    const key = Buffer.from(l, 'base64');
    checkKeyLength(key.length, `key file ${path}${lines.length > 1 ? ` (line ${i + 1})` : ''}`);
    return key;
  });
}

function checkKeyLength(length: number, what: string): void {
  if (length !== SECRET_KEY_BYTES) {
    throw new SecretKeyError(
      'SECRET_KEY_INVALID',
      `${what} must be ${SECRET_KEY_BYTES} bytes (AES-256), got ${length}`,
    );
  }
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
