import { hash, randomBytes } from 'node:crypto';
import { DigestError } from './errors.js';
import { buildAuthorization, type DigestAuthorization, type DigestChallenge } from './header.js';

/** The algorithms of RFC 7616 §3.2 (MD5 is what AMT uses). */
export type DigestAlgorithm =
  | 'MD5'
  | 'MD5-sess'
  | 'SHA-256'
  | 'SHA-256-sess'
  | 'SHA-512-256'
  | 'SHA-512-256-sess';

/** The qop values this package implements. */
export type DigestQop = 'auth' | 'auth-int';

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = [
  'MD5',
  'MD5-sess',
  'SHA-256',
  'SHA-256-sess',
  'SHA-512-256',
  'SHA-512-256-sess',
];

const NODE_HASH: Record<DigestAlgorithm, string> = {
  MD5: 'md5',
  'MD5-sess': 'md5',
  'SHA-256': 'sha256',
  'SHA-256-sess': 'sha256',
  'SHA-512-256': 'sha512-256',
  'SHA-512-256-sess': 'sha512-256',
};

/** A user name and password to answer a challenge with. */
export interface DigestCredentials {
  username: string;
  password: string;
}

/** `true` when `name` (canonical spelling) is one of `DIGEST_ALGORITHMS`. */
export function isDigestAlgorithm(name: string | undefined): name is DigestAlgorithm {
  return name !== undefined && Object.hasOwn(NODE_HASH, name);
}

/** Length in hex digits of a hash of `algorithm` (32 for MD5, 64 for the SHA ones). */
export function digestHexLength(algorithm: DigestAlgorithm): number {
  return NODE_HASH[algorithm] === 'md5' ? 32 : 64;
}

/** H(data) in lower-case hex; strings are hashed as UTF-8 (RFC 7616 `charset=UTF-8`). */
export function digestHash(algorithm: DigestAlgorithm, data: string | Uint8Array): string {
  return hash(NODE_HASH[algorithm], data, 'hex');
}

/** What `computeDigestResponse` needs. Give `password`, or the stored `ha1` = H(user:realm:password) in hex. */
export interface DigestResponseInput {
  /** Default MD5 (a challenge without `algorithm`). */
  algorithm?: DigestAlgorithm;
  username: string;
  realm: string;
  password?: string;
  ha1?: string;
  nonce: string;
  method: string;
  uri: string;
  /** Absent for an RFC 2069 style exchange (no nc/cnonce). */
  qop?: DigestQop;
  /** 8 hex digits; required with `qop`. */
  nc?: string;
  /** Required with `qop` and with the `-sess` algorithms. */
  cnonce?: string;
  /** The request body, for `auth-int` (absent = empty). */
  body?: string | Uint8Array;
}

/** H(username:realm:password) in hex: the "HA1" AMT and most servers store instead of a password. */
export function computeHa1(
  algorithm: DigestAlgorithm,
  username: string,
  realm: string,
  password: string,
): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`);
}

/** The `response` value of RFC 7616 §3.4.1 (and RFC 2617 §3.2.2 when `qop` is absent), in hex. */
export function computeDigestResponse(input: DigestResponseInput): string {
  const alg = input.algorithm ?? 'MD5';
  let ha1: string;
  if (input.ha1 !== undefined) ha1 = input.ha1.toLowerCase();
  else if (input.password !== undefined) ha1 = computeHa1(alg, input.username, input.realm, input.password);
  else throw new DigestError('DIGEST_INVALID_ARGUMENT', 'either password or ha1 is required');
  if (alg.endsWith('-sess')) {
    if (input.cnonce === undefined) {
      throw new DigestError('DIGEST_INVALID_ARGUMENT', 'the -sess algorithms need a cnonce');
    }
    ha1 = digestHash(alg, `${ha1}:${input.nonce}:${input.cnonce}`);
  }
  const ha2 =
    input.qop === 'auth-int'
      ? digestHash(alg, `${input.method}:${input.uri}:${digestHash(alg, input.body ?? '')}`)
      : digestHash(alg, `${input.method}:${input.uri}`);
  if (input.qop === undefined) return digestHash(alg, `${ha1}:${input.nonce}:${ha2}`);
  if (input.nc === undefined || input.cnonce === undefined) {
    throw new DigestError('DIGEST_INVALID_ARGUMENT', 'qop needs nc and cnonce');
  }
  return digestHash(alg, `${ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`);
}

// One CSPRNG call per 256 cnonces instead of one each: it showed in client profiles.
const CNONCE_BYTES = 16;
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

/** A fresh client nonce: 16 random bytes in hex. */
export function randomCnonce(): string {
  if (randomOffset + CNONCE_BYTES > randomPool.length) {
    randomPool = randomBytes(CNONCE_BYTES * 256);
    randomOffset = 0;
  }
  const out = randomPool.toString('hex', randomOffset, randomOffset + CNONCE_BYTES);
  randomOffset += CNONCE_BYTES;
  return out;
}

/** Formats a nonce count as the 8 hex digits RFC 7616 requires. */
export function formatNc(count: number): string {
  if (!Number.isInteger(count) || count < 1 || count > 0xffffffff) {
    throw new DigestError('DIGEST_INVALID_ARGUMENT', 'nc must be an integer in 1..0xffffffff');
  }
  return count.toString(16).padStart(8, '0');
}

/**
 * The first challenge (in the server's order, RFC 7616 §3.7) whose algorithm we implement, or a
 * `DigestError` `DIGEST_UNSUPPORTED_ALGORITHM` when there is none.
 */
export function selectChallenge(challenges: readonly DigestChallenge[], header = ''): DigestChallenge {
  for (const c of challenges) if (isDigestAlgorithm(c.algorithm ?? 'MD5')) return c;
  throw new DigestError('DIGEST_UNSUPPORTED_ALGORITHM', 'no offered digest algorithm is supported', {
    algorithm: challenges.map((c) => c.algorithm ?? 'MD5').join(', '),
    challenge: header,
  });
}

/**
 * The qop to answer with: `auth` whenever offered (AMT and most peers expect it even when
 * `auth-int, auth` is offered), else `auth-int`; `undefined` for an RFC 2069 challenge without qop.
 */
export function selectQop(challenge: DigestChallenge): DigestQop | undefined {
  if (challenge.qop === undefined) return undefined;
  if (challenge.qop.includes('auth')) return 'auth';
  if (challenge.qop.includes('auth-int')) return 'auth-int';
  throw new DigestError('DIGEST_UNSUPPORTED_QOP', `unsupported qop "${challenge.qop.join(', ')}"`, {
    realm: challenge.realm,
  });
}

/** The request a challenge is answered for. */
export interface DigestRequestTarget {
  method: string;
  /** The request-target exactly as sent, e.g. `/wsman` or `/path?query`. */
  uri: string;
  /** Needed for `auth-int`; absent = empty body. */
  body?: string | Uint8Array;
}

/**
 * Answers `challenge` for one request: the complete `Authorization` value. `nc` counts the
 * requests made with this nonce (1 for the first); `cnonce` defaults to 16 random bytes.
 */
export function answerChallenge(
  challenge: DigestChallenge,
  credentials: DigestCredentials,
  request: DigestRequestTarget,
  options: {
    nc?: number;
    cnonce?: string;
    /** H(username:realm:password) for this challenge's hash, if the caller has it cached. */
    ha1?: string;
  } = {},
): string {
  const algorithm = challenge.algorithm ?? 'MD5';
  if (!isDigestAlgorithm(algorithm)) {
    throw new DigestError('DIGEST_UNSUPPORTED_ALGORITHM', `unsupported algorithm "${algorithm}"`, {
      algorithm,
    });
  }
  const qop = selectQop(challenge);
  const fields: DigestAuthorization = {
    username: credentials.username,
    realm: challenge.realm,
    nonce: challenge.nonce,
    uri: request.uri,
    response: '',
  };
  // Echo `algorithm` only when the server named it: AMT's challenges omit it.
  if (challenge.algorithm !== undefined) fields.algorithm = algorithm;
  const input: DigestResponseInput = {
    algorithm,
    username: credentials.username,
    realm: challenge.realm,
    nonce: challenge.nonce,
    method: request.method,
    uri: request.uri,
  };
  if (options.ha1 !== undefined) input.ha1 = options.ha1;
  else input.password = credentials.password;
  if (request.body !== undefined) input.body = request.body;
  if (qop !== undefined || algorithm.endsWith('-sess')) {
    input.cnonce = options.cnonce ?? randomCnonce();
    fields.cnonce = input.cnonce;
  }
  if (qop !== undefined) {
    input.qop = qop;
    input.nc = formatNc(options.nc ?? 1);
    fields.qop = qop;
    fields.nc = input.nc;
  }
  fields.response = computeDigestResponse(input);
  if (challenge.opaque !== undefined) fields.opaque = challenge.opaque;
  return buildAuthorization(fields);
}
