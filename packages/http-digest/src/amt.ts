import { hash, randomBytes, randomInt } from 'node:crypto';
import { DigestError } from './errors.js';

/** The AMT administrator account name. */
export const AMT_DEFAULT_USER = 'admin';

/**
 * The DigestPassword AMT's `SetAdminAclEntryEx` / `AddUserAclEntryEx` take: MD5(user:realm:password)
 * as base64 of the 16 raw bytes, and the same hash in hex (an HA1 for `createDigestVerifier`).
 */
export function amtDigestPassword(
  username: string,
  realm: string,
  password: string,
): { base64: string; hex: string } {
  for (const [name, v] of [
    ['username', username],
    ['realm', realm],
    ['password', password],
  ] as const) {
    if (typeof v !== 'string') throw new DigestError('DIGEST_INVALID_ARGUMENT', `${name} must be a string`);
  }
  const raw = hash('md5', `${username}:${realm}:${password}`, 'buffer');
  return { base64: raw.toString('base64'), hex: raw.toString('hex') };
}

/** A problem `checkAmtPassword` reports; stable strings to switch on. */
export type AmtPasswordProblem =
  | 'too-short'
  | 'too-long'
  | 'not-printable-ascii'
  | 'forbidden-character'
  | 'no-lowercase'
  | 'no-uppercase'
  | 'no-digit'
  | 'no-symbol';

// Intel's rule: 7-bit ASCII 0x20-0x7E without `:` `,` `"`; a symbol is a non-alphanumeric
// above 0x20, and `_` counts as alphanumeric (Intel SDK "Valid Usernames and Passwords").
const FORBIDDEN = new Set([':', ',', '"']);

/**
 * Checks the AMT / MEBx strong-password rule: 8–32 characters, at least one lower-case, upper-case,
 * digit and symbol. Never echoes the password.
 */
export function checkAmtPassword(password: string): { ok: boolean; problems: AmtPasswordProblem[] } {
  if (typeof password !== 'string') {
    throw new DigestError('DIGEST_INVALID_ARGUMENT', 'password must be a string');
  }
  const problems: AmtPasswordProblem[] = [];
  if (password.length < 8) problems.push('too-short');
  if (password.length > 32) problems.push('too-long');
  let lower = false;
  let upper = false;
  let digit = false;
  let symbol = false;
  let unprintable = false;
  let forbidden = false;
  for (const ch of password) {
    const c = ch.codePointAt(0) as number;
    if (c < 0x20 || c > 0x7e) unprintable = true;
    else if (FORBIDDEN.has(ch)) forbidden = true;
    else if (c >= 0x61 && c <= 0x7a) lower = true;
    else if (c >= 0x41 && c <= 0x5a) upper = true;
    else if (c >= 0x30 && c <= 0x39) digit = true;
    else if (c > 0x20 && ch !== '_') symbol = true;
  }
  if (unprintable) problems.push('not-printable-ascii');
  if (forbidden) problems.push('forbidden-character');
  if (!lower) problems.push('no-lowercase');
  if (!upper) problems.push('no-uppercase');
  if (!digit) problems.push('no-digit');
  if (!symbol) problems.push('no-symbol');
  return { ok: problems.length === 0, problems };
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
// No `:` `"` `,` `_` (policy), no space, no quote, backslash, `$` or backtick, and nothing XML
// must escape (`<>&`), so the password survives SOAP bodies, config files and copy-paste.
const SYMBOLS = '!#%()*+-./;=?@[]^{}|~';
const ALL = LOWER + UPPER + DIGITS + SYMBOLS;

function pick(set: string): string {
  return set[randomInt(set.length)] as string;
}

/**
 * A random password that always passes `checkAmtPassword` (length 8–32, default 16), drawn with
 * `crypto.randomInt`: one character of each class, the rest from all classes, then shuffled.
 */
export function generateAmtPassword(length = 16): string {
  if (!Number.isInteger(length) || length < 8 || length > 32) {
    throw new DigestError('DIGEST_INVALID_ARGUMENT', 'length must be an integer from 8 to 32');
  }
  const chars = [pick(LOWER), pick(UPPER), pick(DIGITS), pick(SYMBOLS)];
  while (chars.length < length) chars.push(pick(ALL));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}

/** AMT's realm shape: `Digest:` and 32 upper-case hex digits. */
export const AMT_REALM_PATTERN = /^Digest:[0-9A-F]{32}$/;

/** An AMT-shaped realm from 16 bytes (random when omitted). */
export function amtRealm(id?: Uint8Array): string {
  const bytes = id === undefined ? randomBytes(16) : Buffer.from(id);
  if (bytes.length !== 16) throw new DigestError('DIGEST_INVALID_ARGUMENT', 'a realm id is 16 bytes');
  return `Digest:${bytes.toString('hex').toUpperCase()}`;
}
