import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SecretKeyError } from '../store/errors.js';

export { openSecret, SECRET_RECORD_VERSION, sealSecret } from './cipher.js';

/** Where the store's 32-byte AES-256-GCM key comes from (a key file by default; a KMS can plug in). */
export interface SecretKeyProvider {
  /** Resolves to the 32-byte key; rejects with `SecretKeyError` when it is unusable. */
  getKey(): Promise<Buffer>;
}

export const SECRET_KEY_BYTES = 32;

/** A fixed key (tests, or a key obtained elsewhere). The buffer is copied. */
export function staticKeyProvider(key: Buffer): SecretKeyProvider {
  checkKeyLength(key.length, 'static key');
  const copy = Buffer.from(key);
  return { getKey: async () => copy };
}

/**
 * A key kept in a file as base64 text. A missing file is created (mode 0600, directory 0700)
 * with a fresh random key; creation is exclusive, so two processes starting at once agree on one
 * key. On POSIX a file readable by group or others is refused, as ssh refuses such a key.
 */
export function fileKeyProvider(path: string): SecretKeyProvider {
  let pending: Promise<Buffer> | undefined;
  return {
    getKey() {
      pending ??= loadOrCreateKeyFile(path).catch((err: unknown) => {
        pending = undefined;
        throw err;
      });
      return pending;
    },
  };
}

async function loadOrCreateKeyFile(path: string): Promise<Buffer> {
  try {
    return await readKeyFile(path);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(SECRET_KEY_BYTES);
  try {
    const fh = await open(path, 'wx', 0o600);
    try {
      await fh.writeFile(`${key.toString('base64')}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    // The umask may have narrowed the mode further; it can never widen it, but be explicit.
    await chmod(path, 0o600);
    return key;
  } catch (err) {
    // Another process created it first: use theirs.
    if (isErrno(err, 'EEXIST')) return readKeyFile(path);
    throw new SecretKeyError('SECRET_KEY_INVALID', `cannot create the key file ${path}`, undefined, {
      cause: err,
    });
  }
}

async function readKeyFile(path: string): Promise<Buffer> {
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
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
    throw new SecretKeyError('SECRET_KEY_INVALID', `key file ${path} does not hold base64 text`);
  }
  const key = Buffer.from(trimmed, 'base64');
  checkKeyLength(key.length, `key file ${path}`);
  return key;
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
