import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  computeDigestResponse,
  type DigestAlgorithm,
  type DigestQop,
  type DigestResponseInput,
  digestHexLength,
  isDigestAlgorithm,
} from './digest.js';
import { DigestError } from './errors.js';
import { type DigestAuthorization, formatChallenge, parseAuthorization } from './header.js';

/** What `lookup` returns for a known user: the password, or the stored HA1 (as AMT keeps it). */
export type DigestUserSecret =
  | { password: string }
  | {
      /** H(username:realm:password) in hex. */
      ha1: string;
      /** The hash the HA1 was made with (default MD5); requests with another hash are refused. */
      algorithm?: 'MD5' | 'SHA-256' | 'SHA-512-256';
    };

export interface DigestVerifierOptions {
  realm: string;
  lookup: (username: string) => DigestUserSecret | undefined | Promise<DigestUserSecret | undefined>;
  /** Offered in this order, one challenge each (default `['MD5']`). */
  algorithms?: readonly DigestAlgorithm[];
  /** Offered and accepted qop values, in this order (default `['auth']`). */
  qop?: readonly DigestQop[];
  /** How long a nonce is accepted, in ms (default 300 000). */
  nonceTtl?: number;
  /** HMAC key for nonces (default 32 random bytes). Share it to accept nonces across instances. */
  secret?: Uint8Array;
  /** Clock in ms (default `Date.now`); inject one in tests. */
  now?: () => number;
  /** Upper bound on nonces whose `nc` is tracked (default 10 000); see README. */
  maxTrackedNonces?: number;
}

/** Why a verification failed. `stale` ones carried a correct digest for a nonce we no longer accept. */
export type DigestRefusalReason =
  | 'missing'
  | 'malformed'
  | 'realm'
  | 'algorithm'
  | 'qop'
  | 'uri'
  | 'unsupported'
  | 'unknown-user'
  | 'wrong-response'
  | 'stale-nonce'
  | 'nc-replay';

export type DigestVerifyResult =
  | { ok: true; username: string; algorithm: DigestAlgorithm; qop?: DigestQop }
  | { ok: false; reason: DigestRefusalReason; stale?: boolean; username?: string };

export interface DigestVerifier {
  readonly realm: string;
  /** The `WWW-Authenticate` value to send with a 401: one challenge per algorithm, comma-joined. */
  challenge(options?: { stale?: boolean }): string;
  /** The same challenges, one per element (to send as separate header lines). */
  challenges(options?: { stale?: boolean }): string[];
  /** Checks the `Authorization` header of a request. `body` is needed for `auth-int` (absent = empty). */
  verify(
    method: string,
    uri: string,
    authorization: string | undefined,
    body?: Uint8Array | string,
  ): Promise<DigestVerifyResult>;
  /** Invalidates every nonce issued so far, as AMT does at times; their next use is answered `stale`. */
  resetNonces(): void;
}

// Nonce: 6-byte issue time (ms) ‖ 6 random bytes ‖ 12-byte HMAC tag = 24 bytes, 32 base64
// characters, the same size as AMT's nonces.
const TIME_BYTES = 6;
const RANDOM_BYTES = 6;
const TAG_BYTES = 12;
const BODY_BYTES = TIME_BYTES + RANDOM_BYTES;
const NONCE_BYTES = BODY_BYTES + TAG_BYTES;
const NONCE_CHARS = 32;
// Tolerate a small backward clock step before calling a nonce "from the future".
const CLOCK_SKEW_MS = 1_000;

interface TrackedNonce {
  nc: number;
  issued: number;
}

/** An unknown user gets the same work as a known one, so timing does not reveal which names exist. */
const DUMMY_SECRET: DigestUserSecret = { password: 'not-a-real-password' };

function hexEqual(expected: string, given: string): boolean {
  if (expected.length !== given.length) return false;
  return timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(given, 'latin1'));
}

/** Creates a server-side verifier; see `DigestVerifier`. */
export function createDigestVerifier(options: DigestVerifierOptions): DigestVerifier {
  const { realm, lookup } = options;
  if (typeof realm !== 'string' || realm.length === 0) {
    throw new DigestError('DIGEST_INVALID_ARGUMENT', 'realm must be a non-empty string');
  }
  if (typeof lookup !== 'function') throw new DigestError('DIGEST_INVALID_ARGUMENT', 'lookup is required');
  const algorithms = [...(options.algorithms ?? ['MD5'])];
  const qops = [...(options.qop ?? ['auth'])];
  if (algorithms.length === 0 || !algorithms.every((a) => isDigestAlgorithm(a))) {
    throw new DigestError(
      'DIGEST_INVALID_ARGUMENT',
      'algorithms must be a non-empty list of known algorithms',
    );
  }
  if (qops.length === 0 || !qops.every((q) => q === 'auth' || q === 'auth-int')) {
    throw new DigestError('DIGEST_INVALID_ARGUMENT', 'qop must be a non-empty list of auth / auth-int');
  }
  const ttl = options.nonceTtl ?? 300_000;
  const maxTracked = options.maxTrackedNonces ?? 10_000;
  if (!(ttl > 0) || !(maxTracked > 0)) {
    throw new DigestError('DIGEST_INVALID_ARGUMENT', 'nonceTtl and maxTrackedNonces must be positive');
  }
  const secret = options.secret === undefined ? randomBytes(32) : Buffer.from(options.secret);
  const now = options.now ?? Date.now;
  const realmBytes = Buffer.from(realm, 'utf8');
  let epoch = 0;
  // Nonces issued at or before this time are refused: set when tracking has to forget one early.
  let floor = -1;
  const tracked = new Map<string, TrackedNonce>();

  function tag(body: Uint8Array): Buffer {
    const epochBytes = Buffer.alloc(4);
    epochBytes.writeUInt32BE(epoch);
    return createHmac('sha256', secret)
      .update(epochBytes)
      .update(body)
      .update(realmBytes)
      .digest()
      .subarray(0, TAG_BYTES);
  }

  function issueNonce(): string {
    const bytes = Buffer.alloc(NONCE_BYTES);
    bytes.writeUIntBE(Math.max(0, Math.floor(now())), 0, TIME_BYTES);
    randomBytes(RANDOM_BYTES).copy(bytes, TIME_BYTES);
    tag(bytes.subarray(0, BODY_BYTES)).copy(bytes, BODY_BYTES);
    return bytes.toString('base64');
  }

  /** Issue time of a nonce we made in this epoch and still accept, else undefined. */
  function checkNonce(nonce: string): number | undefined {
    if (nonce.length !== NONCE_CHARS) return undefined;
    const bytes = Buffer.from(nonce, 'base64');
    if (bytes.length !== NONCE_BYTES || bytes.toString('base64') !== nonce) return undefined;
    if (!timingSafeEqual(tag(bytes.subarray(0, BODY_BYTES)), bytes.subarray(BODY_BYTES))) return undefined;
    const issued = bytes.readUIntBE(0, TIME_BYTES);
    return isLive(issued) ? issued : undefined;
  }

  function isLive(issued: number): boolean {
    const t = now();
    return issued > floor && t - issued <= ttl && issued - t <= CLOCK_SKEW_MS;
  }

  function track(nonce: string, entry: TrackedNonce): void {
    tracked.delete(nonce);
    tracked.set(nonce, entry);
    if (tracked.size <= maxTracked) return;
    const t = now();
    for (const [k, v] of tracked) if (t - v.issued > ttl) tracked.delete(k);
    // Still too many live nonces: forget the least recently used, and refuse every nonce issued
    // no later than it, so forgetting never re-opens a replay.
    for (const [k, v] of tracked) {
      if (tracked.size <= maxTracked) break;
      tracked.delete(k);
      floor = Math.max(floor, v.issued);
    }
  }

  function challenges(opts: { stale?: boolean } = {}): string[] {
    const nonce = issueNonce();
    return algorithms.map((algorithm) =>
      formatChallenge({
        realm,
        nonce,
        stale: opts.stale === true,
        qop: qops,
        // AMT's MD5 challenge names no algorithm; any other one must.
        ...(algorithm === 'MD5' ? {} : { algorithm }),
      }),
    );
  }

  async function verify(
    method: string,
    uri: string,
    authorization: string | undefined,
    body?: Uint8Array | string,
  ): Promise<DigestVerifyResult> {
    if (authorization === undefined || authorization === '') return { ok: false, reason: 'missing' };
    let a: DigestAuthorization;
    try {
      a = parseAuthorization(authorization);
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    const refuse = (reason: DigestRefusalReason, stale?: boolean): DigestVerifyResult =>
      stale
        ? { ok: false, reason, stale, username: a.username }
        : { ok: false, reason, username: a.username };
    if (a.realm !== realm) return refuse('realm');
    const algorithm = a.algorithm ?? 'MD5';
    if (!isDigestAlgorithm(algorithm) || !algorithms.includes(algorithm)) return refuse('algorithm');
    if (a.qop === undefined || !qops.includes(a.qop as DigestQop)) return refuse('qop');
    const qop = a.qop as DigestQop;
    if (a.uri !== uri) return refuse('uri');
    if (a.userhash === true) return refuse('unsupported');

    const found = await lookup(a.username);
    const user = found ?? DUMMY_SECRET;
    const input: DigestResponseInput = {
      algorithm,
      username: a.username,
      realm,
      nonce: a.nonce,
      method,
      uri: a.uri,
      qop,
      nc: a.nc as string,
      cnonce: a.cnonce as string,
    };
    if (body !== undefined) input.body = body;
    let usable = true;
    if ('ha1' in user) {
      const base = user.algorithm ?? 'MD5';
      usable = algorithm.replace(/-sess$/, '') === base && /^[0-9a-fA-F]+$/.test(user.ha1);
      usable &&= user.ha1.length === digestHexLength(algorithm);
      input.ha1 = usable ? user.ha1 : '0'.repeat(digestHexLength(algorithm));
    } else {
      input.password = user.password;
    }
    const expected = computeDigestResponse(input);
    const match = hexEqual(expected, a.response.toLowerCase());
    if (found === undefined) return refuse('unknown-user');
    if (!usable) return refuse('algorithm');
    if (!match) return refuse('wrong-response');

    // The digest is right: from here on a refusal is `stale`, so an honest client retries with
    // a fresh nonce instead of giving up on its password (RFC 7616 §3.3, "stale").
    // A tracked nonce passed its HMAC check in this epoch already; only its age can change.
    const seen = tracked.get(a.nonce);
    const issued = seen === undefined ? checkNonce(a.nonce) : isLive(seen.issued) ? seen.issued : undefined;
    if (issued === undefined) return refuse('stale-nonce', true);
    const nc = Number.parseInt(a.nc as string, 16);
    if (seen !== undefined && nc <= seen.nc) return refuse('nc-replay', true);
    track(a.nonce, { nc, issued });
    return { ok: true, username: a.username, algorithm, qop };
  }

  return {
    realm,
    challenge: (opts) => challenges(opts).join(', '),
    challenges,
    verify,
    resetNonces() {
      epoch = (epoch + 1) >>> 0;
      tracked.clear();
    },
  };
}
