import { DigestError, type DigestErrorCode } from './errors.js';

/** A parsed `Digest` challenge from a `WWW-Authenticate` header (RFC 7616 §3.3). */
export interface DigestChallenge {
  realm: string;
  nonce: string;
  /** Canonical name when known (`MD5`, `SHA-256-sess`…), else as sent; absent means MD5. */
  algorithm?: string;
  /** Lower-cased qop tokens in the server's order; absent for an RFC 2069 style challenge. */
  qop?: string[];
  stale: boolean;
  opaque?: string;
  domain?: string[];
  charset?: string;
  userhash: boolean;
  /** Every parameter as sent, names lower-cased (unknown ones included). */
  params: Record<string, string>;
}

/** The fields of a `Digest` `Authorization` header (RFC 7616 §3.4). */
export interface DigestAuthorization {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm?: string;
  qop?: string;
  /** `nc` as sent: exactly 8 hex digits. */
  nc?: string;
  cnonce?: string;
  opaque?: string;
  userhash?: boolean;
}

/** What `formatChallenge` writes. */
export interface DigestChallengeInit {
  realm: string;
  nonce: string;
  algorithm?: string;
  qop?: readonly string[];
  stale?: boolean;
  opaque?: string;
  domain?: readonly string[];
  charset?: string;
  userhash?: boolean;
}

interface RawChallenge {
  scheme: string;
  start: number;
  params: Map<string, string>;
  duplicate?: string;
}

// A Map, not an object literal: a peer-chosen name such as `__proto__` must not hit a prototype.
const KNOWN_ALGORITHMS: ReadonlyMap<string, string> = new Map([
  ['md5', 'MD5'],
  ['md5-sess', 'MD5-sess'],
  ['sha-256', 'SHA-256'],
  ['sha-256-sess', 'SHA-256-sess'],
  ['sha-512-256', 'SHA-512-256'],
  ['sha-512-256-sess', 'SHA-512-256-sess'],
]);

/** `MD5`, `sha-256-SESS`… → canonical spelling; unknown names are returned unchanged. */
export function canonicalAlgorithmName(name: string): string {
  return KNOWN_ALGORITHMS.get(name.toLowerCase()) ?? name;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

// Character classes by char code, so the scanner does no regex or string work per character.
const IS_TCHAR = new Uint8Array(128);
const IS_TOKEN68 = new Uint8Array(128);
for (const c of "!#$%&'*+.^_`|~-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  IS_TCHAR[c.charCodeAt(0)] = 1;
}
for (const c of '._~+/-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz') {
  IS_TOKEN68[c.charCodeAt(0)] = 1;
}
const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const DQUOTE = 0x22;

function isWs(c: number): boolean {
  return c === SP || c === HTAB || c === CR || c === LF;
}

function fail(code: DigestErrorCode, message: string, header: string, offset?: number): never {
  const details: { challenge?: string; offset?: number } = {};
  // Echo challenges (server-chosen, not secret) but never an Authorization header: it carries a
  // response hash an attacker could brute-force offline.
  if (code === 'DIGEST_MALFORMED_CHALLENGE') details.challenge = header;
  if (offset !== undefined) details.offset = offset;
  throw new DigestError(code, message, details);
}

/**
 * Splits an RFC 7235 challenge list into schemes and their params. Lenient: any case, any
 * spacing, commas inside quotes, unquoted values holding base64, missing commas between params.
 */
function parseSchemes(header: string, code: DigestErrorCode): RawChallenge[] {
  if (typeof header !== 'string') fail(code, 'header is not a string', '');
  const out: RawChallenge[] = [];
  const n = header.length;
  // NaN past the end: every comparison with it is false, so no bounds checks are needed.
  const at = (p: number): number => header.charCodeAt(p);
  const skipWs = (p: number): number => {
    while (isWs(at(p))) p++;
    return p;
  };
  let current: RawChallenge | undefined;
  // Where the next backslash is, found once and reused: searching again from every quoted
  // string made a header of many short quoted values quadratic.
  let backslash = -1;
  let i = 0;
  while (i < n) {
    let c = at(i);
    while (isWs(c) || c === COMMA) c = at(++i);
    if (i >= n) break;
    const start = i;
    while (c < 128 && IS_TCHAR[c] === 1) c = at(++i);
    if (i === start) fail(code, `unexpected character at offset ${start}`, header, start);
    const name = header.slice(start, i);
    let j = skipWs(i);
    if (current !== undefined && at(j) === EQUALS) {
      j = skipWs(j + 1);
      let value: string;
      if (at(j) === DQUOTE) {
        value = '';
        let k = j + 1;
        for (;;) {
          const q = header.indexOf('"', k);
          if (q < 0) fail(code, `unterminated quoted string at offset ${j}`, header, j);
          if (backslash !== n && backslash < k) {
            backslash = header.indexOf('\\', k);
            if (backslash < 0) backslash = n;
          }
          const b = backslash;
          if (b > q) {
            value += header.slice(k, q);
            k = q + 1;
            break;
          }
          // quoted-pair: keep the escaped character, whatever it is.
          value += header.slice(k, b) + header.charAt(b + 1);
          k = b + 2;
        }
        i = k;
      } else {
        let k = j;
        for (let d = at(k); k < n && !isWs(d) && d !== COMMA; d = at(++k));
        value = header.slice(j, k);
        i = k;
      }
      const key = name.toLowerCase();
      if (current.params.has(key)) current.duplicate ??= key;
      else current.params.set(key, value);
      continue;
    }
    if (current === undefined && at(j) === EQUALS) {
      fail(code, `parameter before any scheme at offset ${start}`, header, start);
    }
    current = { scheme: name, start, params: new Map() };
    out.push(current);
    // A token68 (e.g. `Negotiate abc==`) stands alone; `name=value` is a parameter instead.
    let k = j;
    for (let d = at(k); d < 128 && IS_TOKEN68[d] === 1; d = at(++k));
    if (k > j) {
      while (at(k) === EQUALS) k++;
      const after = skipWs(k);
      if (after >= n || at(after) === COMMA) {
        i = after;
        continue;
      }
    }
    i = j;
  }
  return out;
}

function parseList(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .filter((t) => t.length > 0)
    .map((t) => t.toLowerCase());
}

function optional<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

/**
 * Parses a `WWW-Authenticate` value and returns its Digest challenges in the server's order
 * (other schemes are skipped). Throws `DigestError` `DIGEST_MALFORMED_CHALLENGE` on bad syntax or
 * a Digest challenge without realm or nonce.
 */
export function parseWwwAuthenticate(header: string): DigestChallenge[] {
  const result: DigestChallenge[] = [];
  for (const raw of parseSchemes(header, 'DIGEST_MALFORMED_CHALLENGE')) {
    if (raw.scheme.toLowerCase() !== 'digest') continue;
    const p = raw.params;
    const realm = p.get('realm');
    const nonce = p.get('nonce');
    if (realm === undefined || nonce === undefined || nonce === '') {
      fail('DIGEST_MALFORMED_CHALLENGE', 'Digest challenge without realm or nonce', header, raw.start);
    }
    const c: DigestChallenge = {
      realm,
      nonce,
      stale: p.get('stale')?.toLowerCase() === 'true',
      userhash: p.get('userhash')?.toLowerCase() === 'true',
      params: Object.fromEntries(p),
    };
    const algorithm = p.get('algorithm');
    optional(c, 'algorithm', algorithm === undefined ? undefined : canonicalAlgorithmName(algorithm));
    const qop = p.get('qop');
    optional(c, 'qop', qop === undefined ? undefined : parseList(qop));
    optional(c, 'opaque', p.get('opaque'));
    const domain = p.get('domain');
    optional(
      c,
      'domain',
      domain?.split(/\s+/).filter((d) => d.length > 0),
    );
    optional(c, 'charset', p.get('charset'));
    result.push(c);
  }
  return result;
}

const NC = /^[0-9a-fA-F]{8}$/;

/** RFC 8187 ext-value, UTF-8 only (the only charset RFC 7616 allows for `username*`). */
function decodeExtValue(value: string, header: string): string {
  const m = /^utf-8'[^']*'(.*)$/i.exec(value);
  if (m === null) fail('DIGEST_MALFORMED_AUTHORIZATION', 'username* is not a UTF-8 ext-value', header);
  try {
    return decodeURIComponent(m[1] as string);
  } catch (cause) {
    throw new DigestError('DIGEST_MALFORMED_AUTHORIZATION', 'username* has bad percent-encoding', { cause });
  }
}

function encodeExtValue(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  let out = "UTF-8''";
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += /^[A-Za-z0-9!#$&+.^_`|~-]$/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Parses a `Digest` `Authorization` value. Throws `DigestError` `DIGEST_MALFORMED_AUTHORIZATION`
 * on another scheme, bad syntax, a repeated parameter, a missing field, or `nc` not 8 hex digits.
 */
export function parseAuthorization(header: string): DigestAuthorization {
  const code = 'DIGEST_MALFORMED_AUTHORIZATION';
  const schemes = parseSchemes(header, code);
  const raw = schemes[0];
  if (schemes.length !== 1 || raw === undefined || raw.scheme.toLowerCase() !== 'digest') {
    fail(code, 'Authorization is not a single Digest credential', header);
  }
  if (raw.duplicate !== undefined) fail(code, `parameter "${raw.duplicate}" is repeated`, header);
  const p = raw.params;
  let username = p.get('username');
  const extended = p.get('username*');
  if (extended !== undefined) {
    if (username !== undefined) fail(code, 'both username and username* are present', header);
    username = decodeExtValue(extended, header);
  }
  const realm = p.get('realm');
  const nonce = p.get('nonce');
  const uri = p.get('uri');
  const response = p.get('response');
  if (username === undefined || realm === undefined || nonce === undefined || uri === undefined) {
    fail(code, 'Authorization lacks username, realm, nonce or uri', header);
  }
  if (response === undefined || response === '') fail(code, 'Authorization lacks a response', header);
  const a: DigestAuthorization = { username, realm, nonce, uri, response };
  const algorithm = p.get('algorithm');
  optional(a, 'algorithm', algorithm === undefined ? undefined : canonicalAlgorithmName(algorithm));
  const qop = p.get('qop');
  const nc = p.get('nc');
  const cnonce = p.get('cnonce');
  if (qop !== undefined) {
    if (!TOKEN.test(qop)) fail(code, 'qop is not a single token', header);
    if (nc === undefined || cnonce === undefined) fail(code, 'qop given without nc and cnonce', header);
    a.qop = qop.toLowerCase();
  }
  if (nc !== undefined) {
    if (!NC.test(nc)) fail(code, 'nc is not 8 hex digits', header);
    a.nc = nc.toLowerCase();
  }
  optional(a, 'cnonce', cnonce);
  optional(a, 'opaque', p.get('opaque'));
  const userhash = p.get('userhash');
  if (userhash !== undefined) a.userhash = userhash.toLowerCase() === 'true';
  return a;
}

// Field values end up in a header line: refuse anything that could split or corrupt it.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is exactly what it matches
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

const NEEDS_ESCAPE = /["\\]/;

function quote(field: string, value: string): string {
  if (typeof value !== 'string' || CONTROL.test(value)) {
    throw new DigestError('DIGEST_INVALID_ARGUMENT', `${field} is not a string without control characters`);
  }
  return NEEDS_ESCAPE.test(value) ? `"${value.replace(/["\\]/g, '\\$&')}"` : `"${value}"`;
}

function tokenOrQuoted(field: string, value: string): string {
  return TOKEN.test(value) ? value : quote(field, value);
}

/**
 * Writes a `Digest` `Authorization` value (RFC 7616 §3.4: qop, nc and algorithm unquoted). A user
 * name outside printable ASCII is sent as `username*` (RFC 8187). `parseAuthorization` reads it
 * back unchanged.
 */
export function buildAuthorization(a: DigestAuthorization): string {
  const user = /^[\u0020-\u007e]*$/.test(a.username)
    ? `username=${quote('username', a.username)}`
    : `username*=${encodeExtValue(a.username)}`;
  const parts = [
    user,
    `realm=${quote('realm', a.realm)}`,
    `nonce=${quote('nonce', a.nonce)}`,
    `uri=${quote('uri', a.uri)}`,
  ];
  if (a.algorithm !== undefined) parts.push(`algorithm=${tokenOrQuoted('algorithm', a.algorithm)}`);
  parts.push(`response=${quote('response', a.response)}`);
  if (a.qop !== undefined) {
    if (!TOKEN.test(a.qop)) throw new DigestError('DIGEST_INVALID_ARGUMENT', 'qop must be a token');
    parts.push(`qop=${a.qop}`);
  }
  if (a.nc !== undefined) {
    if (!NC.test(a.nc)) throw new DigestError('DIGEST_INVALID_ARGUMENT', 'nc must be 8 hex digits');
    parts.push(`nc=${a.nc}`);
  }
  if (a.cnonce !== undefined) parts.push(`cnonce=${quote('cnonce', a.cnonce)}`);
  if (a.opaque !== undefined) parts.push(`opaque=${quote('opaque', a.opaque)}`);
  if (a.userhash !== undefined) parts.push(`userhash=${a.userhash ? 'true' : 'false'}`);
  return `Digest ${parts.join(', ')}`;
}

/**
 * Writes one `Digest` challenge shaped like AMT's: `realm`, `nonce`, `stale` and `qop` quoted,
 * separated by `", "` then `","` (see amt-protocol.md §4); `algorithm` only when given.
 */
export function formatChallenge(c: DigestChallengeInit): string {
  let out = `Digest realm=${quote('realm', c.realm)}, nonce=${quote('nonce', c.nonce)}`;
  out += `,stale="${c.stale === true ? 'true' : 'false'}"`;
  if (c.qop !== undefined) {
    for (const q of c.qop) {
      if (!TOKEN.test(q)) throw new DigestError('DIGEST_INVALID_ARGUMENT', 'qop values must be tokens');
    }
    out += `,qop="${c.qop.join(',')}"`;
  }
  if (c.algorithm !== undefined) out += `,algorithm=${tokenOrQuoted('algorithm', c.algorithm)}`;
  if (c.opaque !== undefined) out += `,opaque=${quote('opaque', c.opaque)}`;
  if (c.domain !== undefined) out += `,domain=${quote('domain', c.domain.join(' '))}`;
  if (c.charset !== undefined) out += `,charset=${tokenOrQuoted('charset', c.charset)}`;
  if (c.userhash !== undefined) out += `,userhash=${c.userhash ? 'true' : 'false'}`;
  return out;
}

/**
 * Parses an `Authentication-Info` value (RFC 7616 §3.5: `nextnonce`, `qop`, `rspauth`…) into
 * lower-cased names and values. Throws `DIGEST_MALFORMED_CHALLENGE` on bad syntax.
 */
export function parseAuthenticationInfo(header: string): Record<string, string> {
  // The grammar is an auth-param list without a scheme: borrow the challenge parser.
  const raw = parseSchemes(`Info ${header}`, 'DIGEST_MALFORMED_CHALLENGE');
  if (raw.length !== 1 || raw[0] === undefined) {
    fail('DIGEST_MALFORMED_CHALLENGE', 'Authentication-Info is not a parameter list', header);
  }
  return Object.fromEntries(raw[0].params);
}
