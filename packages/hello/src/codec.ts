import { HelloError } from './errors.js';

export type HashAlgorithm = 'sha1' | 'sha256' | 'sha384';

/** One trusted-root hash announced by AMT. Decoded hashes are `Buffer`s. */
export interface HelloHash {
  algorithm: HashAlgorithm;
  hash: Uint8Array;
}

/** Interface version 3: a PKI hello, carrying the trusted-root hashes stored in the firmware. */
export interface PkiHello {
  kind: 'pki';
  version: 3;
  adminCredentialsSet: boolean;
  retryCount: number;
  /** Canonical lower-case UUID string, read from the wire in SMBIOS byte order. */
  uuid: string;
  hashes: HelloHash[];
}

/** Interface version 2: a PSK hello (removed in AMT 11), carrying the 8-character PID. */
export interface PskHello {
  kind: 'psk';
  version: 2;
  adminCredentialsSet: boolean;
  retryCount: number;
  uuid: string;
  pid: string;
}

export type Hello = PkiHello | PskHello;

export interface DecodeHelloOptions {
  /** Inputs longer than this give `HELLO_TOO_LARGE` (default 16 KiB). */
  maxBytes?: number;
  /** `'reject'` (default) gives `HELLO_TRAILING_BYTES`; `'ignore'` decodes the message and drops the rest. */
  trailingBytes?: 'reject' | 'ignore';
}

/** The size cap of one hello (and the largest PKI hello, 25 + 255 × 50 bytes, fits under it). */
export const HELLO_MAX_BYTES = 16 * 1024;
/** A PSK hello is exactly this long. */
export const PSK_HELLO_LENGTH = 32;

/** Wire ids and digest lengths of the hash algorithms a hello can carry. */
export const HELLO_HASH_ALGORITHMS: Readonly<Record<HashAlgorithm, { id: number; length: number }>> = {
  sha1: { id: 1, length: 20 },
  sha256: { id: 2, length: 32 },
  sha384: { id: 3, length: 48 },
};

const ALGORITHM_BY_ID: readonly ({ name: HashAlgorithm; length: number } | undefined)[] = [
  undefined,
  { name: 'sha1', length: 20 },
  { name: 'sha256', length: 32 },
  { name: 'sha384', length: 48 },
];

const VERSION_PSK = 2;
const VERSION_PKI = 3;
const OFFSET_RETRY = 4;
const OFFSET_UUID = 8;
const OFFSET_BODY = 24;
const MAX_HASHES = 255;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PID_RE = /^[A-Z0-9]{8}$/;
// Wire order of the 16 UUID bytes, by position in the canonical string: SMBIOS stores the
// first three fields (u32, u16, u16) little-endian and the last eight bytes as they are.
const SMBIOS_ORDER = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15] as const;

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
// Where each of the 16 bytes' two hex digits go in the 36-character string (dashes fixed).
const UUID_CHAR_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34] as const;
const uuidScratch = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');

/** Formats 16 UUID bytes in SMBIOS byte order as the canonical lower-case string. */
export function uuidFromSmbiosBytes(bytes: Uint8Array, offset = 0): string {
  // An offset that is not an integer read `undefined` bytes as zeros: a wrong UUID, no error.
  if (!Number.isInteger(offset) || offset < 0 || bytes.length - offset < 16) {
    throw new HelloError('HELLO_TRUNCATED', 'a UUID needs 16 bytes', { offset });
  }
  // One string allocation: hex digits go into a scratch buffer, read back once as latin1.
  for (let i = 0; i < 16; i++) {
    const b = bytes[offset + SMBIOS_ORDER[i]!]!;
    const at = UUID_CHAR_AT[i]!;
    uuidScratch[at] = HEX_DIGITS[b >> 4]!;
    uuidScratch[at + 1] = HEX_DIGITS[b & 15]!;
  }
  return uuidScratch.toString('latin1');
}

/** The 16 bytes of a UUID string (either case) in SMBIOS byte order, as AMT puts them on the wire. */
export function uuidToSmbiosBytes(uuid: string): Buffer {
  const out = Buffer.alloc(16);
  writeUuid(uuid, out, 0, 0);
  return out;
}

function writeUuid(uuid: unknown, out: Uint8Array, at: number, errorOffset: number): void {
  if (typeof uuid !== 'string' || !UUID_RE.test(uuid)) {
    throw new HelloError('HELLO_BAD_UUID', 'the UUID must be 8-4-4-4-12 hex digits', { offset: errorOffset });
  }
  const hex = uuid.replace(/-/g, '');
  for (let i = 0; i < 16; i++) {
    out[at + SMBIOS_ORDER[i]!] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }
}

function fail(code: HelloError['code'], message: string, offset: number): never {
  throw new HelloError(code, message, { offset });
}

/**
 * Decodes one hello. Any malformed input throws a `HelloError` with a stable `code` and the
 * offset of the field at fault; nothing else is ever thrown.
 */
export function decodeHello(bytes: Uint8Array, options: DecodeHelloOptions = {}): Hello {
  return decode(bytes, options, false);
}

/** decodeHello for a buffer nobody else holds (a socket's bytes): the hashes are views into it. */
export function decodeOwnedHello(bytes: Buffer, options: DecodeHelloOptions = {}): Hello {
  return decode(bytes, options, true);
}

function decode(bytes: Uint8Array, options: DecodeHelloOptions, owned: boolean): Hello {
  if (!(bytes instanceof Uint8Array)) {
    throw new HelloError('HELLO_BAD_OPTIONS', 'decodeHello takes bytes (a Uint8Array or Buffer)');
  }
  const maxBytes = options.maxBytes ?? HELLO_MAX_BYTES;
  // NaN would compare false with every length and switch the size cap off.
  if (typeof maxBytes !== 'number' || !(maxBytes >= 0)) {
    throw new HelloError('HELLO_BAD_OPTIONS', 'maxBytes must be a number ≥ 0');
  }
  const n = bytes.length;
  if (n > maxBytes) fail('HELLO_TOO_LARGE', `the hello is longer than ${maxBytes} bytes`, maxBytes);
  if (n < 2) fail('HELLO_TRUNCATED', 'the hello ends before the admin-credentials flag', 0);
  const admin = bytes[0]! | (bytes[1]! << 8);
  if (admin > 1) fail('HELLO_BAD_ADMIN_FLAG', `the admin-credentials flag is ${admin}, not 0 or 1`, 0);
  if (n < 4) fail('HELLO_TRUNCATED', 'the hello ends before the interface version', 2);
  const version = bytes[2]! | (bytes[3]! << 8);
  if (version !== VERSION_PSK && version !== VERSION_PKI) {
    fail('HELLO_UNKNOWN_VERSION', `interface version ${version} is neither 2 (PSK) nor 3 (PKI)`, 2);
  }
  if (n < OFFSET_UUID) fail('HELLO_TRUNCATED', 'the hello ends before the retry count', OFFSET_RETRY);
  if (n < OFFSET_BODY) fail('HELLO_TRUNCATED', 'the hello ends inside the UUID', OFFSET_UUID);
  const retryCount = (bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16)) + bytes[7]! * 0x1000000;
  const adminCredentialsSet = admin === 1;
  const uuid = uuidFromSmbiosBytes(bytes, OFFSET_UUID);
  const rejectTrailing = options.trailingBytes !== 'ignore';

  if (version === VERSION_PSK) {
    if (n < PSK_HELLO_LENGTH) fail('HELLO_TRUNCATED', 'the hello ends inside the PID', OFFSET_BODY);
    let pid = '';
    for (let i = OFFSET_BODY; i < PSK_HELLO_LENGTH; i++) {
      const c = bytes[i]!;
      // A–Z or 0–9 only: the PID is typed in by people, and anything else is not a PID.
      if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39))) {
        fail('HELLO_BAD_PID', 'the PID must be 8 characters A–Z 0–9', i);
      }
      pid += String.fromCharCode(c);
    }
    if (n > PSK_HELLO_LENGTH && rejectTrailing) {
      fail('HELLO_TRAILING_BYTES', `${n - PSK_HELLO_LENGTH} bytes follow the PSK hello`, PSK_HELLO_LENGTH);
    }
    return { kind: 'psk', version: 2, adminCredentialsSet, retryCount, uuid, pid };
  }

  if (n <= OFFSET_BODY) fail('HELLO_TRUNCATED', 'the hello ends before the hash count', OFFSET_BODY);
  const count = bytes[OFFSET_BODY]!;
  // One copy of the whole message, every hash a view into it: the caller's buffer can be reused.
  const own = owned ? bytes : Buffer.from(bytes);
  const base = own.byteOffset;
  const hashes: HelloHash[] = new Array(count);
  let o = OFFSET_BODY + 1;
  for (let i = 0; i < count; i++) {
    if (o === n) {
      fail('HELLO_HASH_COUNT_MISMATCH', `the hello declares ${count} hashes but carries ${i}`, OFFSET_BODY);
    }
    const alg = ALGORITHM_BY_ID[bytes[o]!];
    if (alg === undefined) fail('HELLO_UNKNOWN_HASH_ALGORITHM', `unknown hash algorithm ${bytes[o]}`, o);
    if (o + 1 === n) fail('HELLO_TRUNCATED', 'the hello ends before a hash length', o + 1);
    const len = bytes[o + 1]!;
    if (len !== alg.length) {
      fail('HELLO_BAD_HASH_LENGTH', `a ${alg.name} hash is ${alg.length} bytes, not ${len}`, o + 1);
    }
    if (n - (o + 2) < len) fail('HELLO_TRUNCATED', 'the hello ends inside a hash', o + 2);
    hashes[i] = { algorithm: alg.name, hash: Buffer.from(own.buffer, base + o + 2, len) };
    o += 2 + len;
  }
  if (o < n && rejectTrailing) {
    if (isWholeEntries(bytes, o)) {
      fail('HELLO_HASH_COUNT_MISMATCH', `the hello declares ${count} hashes but carries more`, OFFSET_BODY);
    }
    fail('HELLO_TRAILING_BYTES', `${n - o} bytes follow the last hash`, o);
  }
  return { kind: 'pki', version: 3, adminCredentialsSet, retryCount, uuid, hashes };
}

/** True when the bytes from `o` to the end are one or more well-formed hash entries. */
function isWholeEntries(bytes: Uint8Array, o: number): boolean {
  const n = bytes.length;
  while (o < n) {
    const alg = ALGORITHM_BY_ID[bytes[o]!];
    if (alg === undefined || o + 1 >= n || bytes[o + 1] !== alg.length) return false;
    o += 2 + alg.length;
  }
  return o === n;
}

/**
 * Encodes a hello as AMT sends it. Validates everything first (in wire order) and throws a
 * `HelloError` whose offset is where the bad field would have gone.
 */
export function encodeHello(hello: Hello): Buffer {
  if (typeof hello !== 'object' || hello === null) {
    throw new HelloError('HELLO_UNKNOWN_VERSION', 'a hello must be an object', { offset: 2 });
  }
  const h = hello as unknown as Record<string, unknown>;
  if (typeof h.adminCredentialsSet !== 'boolean')
    fail('HELLO_BAD_ADMIN_FLAG', 'adminCredentialsSet must be a boolean', 0);
  const isPki = h.kind === 'pki' && h.version === VERSION_PKI;
  const isPsk = h.kind === 'psk' && h.version === VERSION_PSK;
  if (!isPki && !isPsk) fail('HELLO_UNKNOWN_VERSION', "kind/version must be 'pki'/3 or 'psk'/2", 2);
  const retry = h.retryCount;
  if (typeof retry !== 'number' || !Number.isInteger(retry) || retry < 0 || retry > 0xffffffff) {
    fail('HELLO_BAD_RETRY_COUNT', 'retryCount must be an integer from 0 to 2^32−1', OFFSET_RETRY);
  }
  const uuid = new Uint8Array(16);
  writeUuid(h.uuid, uuid, 0, OFFSET_UUID);

  let out: Buffer;
  if (isPsk) {
    if (typeof h.pid !== 'string' || !PID_RE.test(h.pid))
      fail('HELLO_BAD_PID', 'the PID must be 8 characters A–Z 0–9', OFFSET_BODY);
    out = Buffer.alloc(PSK_HELLO_LENGTH);
    out.write(h.pid, OFFSET_BODY, 'latin1');
  } else {
    const hashes = h.hashes;
    if (!Array.isArray(hashes)) fail('HELLO_HASH_COUNT_MISMATCH', 'hashes must be an array', OFFSET_BODY);
    if (hashes.length > MAX_HASHES) {
      fail('HELLO_TOO_MANY_HASHES', `at most ${MAX_HASHES} hashes fit in a hello`, OFFSET_BODY);
    }
    let size = OFFSET_BODY + 1;
    for (const entry of hashes as unknown[]) {
      const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
      const alg =
        typeof e.algorithm === 'string' && Object.hasOwn(HELLO_HASH_ALGORITHMS, e.algorithm)
          ? HELLO_HASH_ALGORITHMS[e.algorithm as HashAlgorithm]
          : undefined;
      if (alg === undefined) {
        fail('HELLO_UNKNOWN_HASH_ALGORITHM', "a hash algorithm must be 'sha1', 'sha256' or 'sha384'", size);
      }
      if (!(e.hash instanceof Uint8Array) || e.hash.length !== alg.length) {
        fail('HELLO_BAD_HASH_LENGTH', `a ${String(e.algorithm)} hash must be ${alg.length} bytes`, size + 1);
      }
      size += 2 + alg.length;
    }
    out = Buffer.alloc(size);
    out[OFFSET_BODY] = hashes.length;
    let o = OFFSET_BODY + 1;
    for (const entry of hashes as HelloHash[]) {
      const alg = HELLO_HASH_ALGORITHMS[entry.algorithm];
      out[o] = alg.id;
      out[o + 1] = alg.length;
      out.set(entry.hash, o + 2);
      o += 2 + alg.length;
    }
  }
  out.writeUInt16LE(h.adminCredentialsSet ? 1 : 0, 0);
  out.writeUInt16LE(isPki ? VERSION_PKI : VERSION_PSK, 2);
  out.writeUInt32LE(retry as number, OFFSET_RETRY);
  out.set(uuid, OFFSET_UUID);
  return out;
}
