import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AMT_REALM_PATTERN,
  amtDigestPassword,
  amtRealm,
  checkAmtPassword,
  generateAmtPassword,
} from './amt.js';
import { DigestError } from './errors.js';

const REALM = 'Digest:A4070000000000000000000000000000';

describe('amtDigestPassword', () => {
  it('is base64 of the 16 raw bytes of MD5(user:realm:password), plus the hex form', () => {
    const { base64, hex } = amtDigestPassword('admin', REALM, 'P@ssw0rd');
    const raw = createHash('md5').update(`admin:${REALM}:P@ssw0rd`).digest();
    expect(Buffer.from(base64, 'base64')).toEqual(raw);
    expect(base64).toHaveLength(24);
    expect(hex).toBe(raw.toString('hex'));
  });

  it('matches the RFC 2617 HA1 for its example user', () => {
    expect(amtDigestPassword('Mufasa', 'testrealm@host.com', 'Circle Of Life').hex).toBe(
      '939e7578ed9e3c518a452acee763bce9',
    );
  });
});

describe('checkAmtPassword', () => {
  it.each([
    ['P@ssw0rd', []],
    ['Aa1!Aa1!', []],
    ['Aa1!'.repeat(8), []],
    ['Aa1! ~~~', []],
    ['Aa1!Aa1', ['too-short']],
    [`${'Aa1!'.repeat(8)}x`, ['too-long']],
    // Intel's own example: `_` counts as alphanumeric, so this has no symbol.
    ['Location_1', ['no-symbol']],
    ['Pass word1', ['no-symbol']],
    ['Pass:w0rd!', ['forbidden-character']],
    ['Pa,ss!w0rd', ['forbidden-character']],
    ['Pa"ss!w0rd', ['forbidden-character']],
    ['Pässw0rd!', ['not-printable-ascii']],
    ['Pass\tw0rd!', ['not-printable-ascii']],
    ['password1!', ['no-uppercase']],
    ['PASSWORD1!', ['no-lowercase']],
    ['Password!!', ['no-digit']],
    ['', ['too-short', 'no-lowercase', 'no-uppercase', 'no-digit', 'no-symbol']],
  ])('%j → %j', (password, problems) => {
    expect(checkAmtPassword(password)).toEqual({ ok: problems.length === 0, problems });
  });

  it('never puts the password in what it returns', () => {
    const secret = 'Sec:ret1';
    expect(JSON.stringify(checkAmtPassword(secret))).not.toContain(secret);
  });
});

describe('generateAmtPassword', () => {
  it('always meets the policy and never uses : " , _ or space', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 32 }), (length) => {
        const p = generateAmtPassword(length);
        expect(p).toHaveLength(length);
        expect(checkAmtPassword(p)).toEqual({ ok: true, problems: [] });
        expect(p).not.toMatch(/[:",_ ]/);
      }),
      { numRuns: 300 },
    );
  });

  it('defaults to 16 characters and does not repeat itself', () => {
    const seen = new Set(Array.from({ length: 100 }, () => generateAmtPassword()));
    expect(seen.size).toBe(100);
    for (const p of seen) expect(p).toHaveLength(16);
  });

  it.each([7, 33, 8.5, Number.NaN])('refuses length %s', (length) => {
    expect(() => generateAmtPassword(length)).toThrow(DigestError);
  });
});

describe('amtRealm', () => {
  it('is Digest: and 32 upper-case hex digits', () => {
    expect(amtRealm()).toMatch(AMT_REALM_PATTERN);
    expect(amtRealm(Buffer.from('a4070000000000000000000000000000', 'hex'))).toBe(REALM);
    expect(() => amtRealm(new Uint8Array(15))).toThrow(DigestError);
  });
});
