import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  answerChallenge,
  computeDigestResponse,
  computeHa1,
  formatNc,
  selectChallenge,
  selectQop,
} from './digest.js';
import { DigestError } from './errors.js';
import { parseAuthorization, parseWwwAuthenticate } from './header.js';

describe('RFC test vectors', () => {
  it('RFC 2617 §3.5 (MD5, qop=auth)', () => {
    // The RFC's text says "Circle Of Life"; its response value matches that spelling.
    const input = {
      username: 'Mufasa',
      realm: 'testrealm@host.com',
      password: 'Circle Of Life',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      method: 'GET',
      uri: '/dir/index.html',
      qop: 'auth',
      nc: '00000001',
      cnonce: '0a4f113b',
    } as const;
    expect(computeHa1('MD5', input.username, input.realm, input.password)).toBe(
      '939e7578ed9e3c518a452acee763bce9',
    );
    expect(computeDigestResponse(input)).toBe('6629fae49393a05397450978507c4ef1');
  });

  // RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
  const rfc7616Challenge = (algorithm: string) =>
    `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, ` +
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';

  it.each([
    ['MD5', '8ca523f5e9506fed4657c9700eebdbec'],
    ['SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'],
  ])('RFC 7616 §3.9.1 (%s) through parse → answer → parse', (algorithm, response) => {
    const [challenge] = parseWwwAuthenticate(rfc7616Challenge(algorithm));
    if (challenge === undefined) throw new Error('no challenge');
    const header = answerChallenge(
      challenge,
      { username: 'Mufasa', password: 'Circle of Life' },
      { method: 'GET', uri: '/dir/index.html' },
      { nc: 1, cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ' },
    );
    expect(parseAuthorization(header)).toEqual({
      username: 'Mufasa',
      realm: 'http-auth@example.org',
      uri: '/dir/index.html',
      algorithm,
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      nc: '00000001',
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
      qop: 'auth',
      response,
      opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
    });
  });
});

describe('computeDigestResponse', () => {
  const base = {
    username: 'admin',
    realm: 'Digest:A4070000000000000000000000000000',
    password: 'P@ssw0rd',
    nonce: 'wlbEK1EtAAAAAAAAWW5aUHFp+mQQ1j63',
    method: 'POST',
    uri: '/wsman',
    nc: '00000001',
    cnonce: 'abc',
  } as const;

  it('gives the same answer from a stored HA1 as from the password', () => {
    for (const algorithm of ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256'] as const) {
      const ha1 = computeHa1(
        algorithm.replace('-sess', '') as 'MD5',
        base.username,
        base.realm,
        base.password,
      );
      const { password: _p, ...rest } = base;
      expect(computeDigestResponse({ ...rest, algorithm, ha1, qop: 'auth' })).toBe(
        computeDigestResponse({ ...base, algorithm, qop: 'auth' }),
      );
    }
  });

  it('binds auth-int to the body, and auth does not', () => {
    const a = computeDigestResponse({ ...base, qop: 'auth-int', body: '<Envelope/>' });
    expect(computeDigestResponse({ ...base, qop: 'auth-int', body: Buffer.from('<Envelope/>') })).toBe(a);
    expect(computeDigestResponse({ ...base, qop: 'auth-int', body: '<Envelope />' })).not.toBe(a);
    expect(computeDigestResponse({ ...base, qop: 'auth', body: 'x' })).toBe(
      computeDigestResponse({ ...base, qop: 'auth', body: 'y' }),
    );
  });

  it('binds -sess answers to the cnonce', () => {
    const a = computeDigestResponse({ ...base, algorithm: 'MD5-sess', qop: 'auth' });
    expect(computeDigestResponse({ ...base, algorithm: 'MD5-sess', qop: 'auth', cnonce: 'abd' })).not.toBe(a);
  });

  it('supports the RFC 2069 form without qop', () => {
    const ha1 = computeHa1('MD5', base.username, base.realm, base.password);
    const { nc: _n, cnonce: _c, ...rest } = base;
    // Recomputed by hand from RFC 2617 §3.2.2.1: H(HA1:nonce:H(method:uri)).
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    expect(computeDigestResponse(rest)).toBe(md5(`${ha1}:${base.nonce}:${md5('POST:/wsman')}`));
  });

  it('refuses incomplete input with DIGEST_INVALID_ARGUMENT', () => {
    const { password: _p, ...noSecret } = base;
    expect(() => computeDigestResponse({ ...noSecret, qop: 'auth' })).toThrow(DigestError);
    expect(() => computeDigestResponse({ ...base, qop: 'auth', nc: undefined })).toThrow(/nc and cnonce/);
    expect(() => formatNc(0)).toThrow(DigestError);
    expect(formatNc(0xffffffff)).toBe('ffffffff');
  });
});

describe('challenge and qop selection', () => {
  it('takes the first supported algorithm in the server order', () => {
    const cs = parseWwwAuthenticate(
      'Digest realm="r", nonce="n", algorithm=SHA-1024, Digest realm="r", nonce="n", algorithm=SHA-256, ' +
        'Digest realm="r", nonce="n"',
    );
    expect(selectChallenge(cs).algorithm).toBe('SHA-256');
    try {
      selectChallenge(cs.slice(0, 1));
      expect.unreachable();
    } catch (err) {
      expect((err as DigestError).code).toBe('DIGEST_UNSUPPORTED_ALGORITHM');
      expect((err as DigestError).algorithm).toBe('SHA-1024');
    }
  });

  it('prefers auth even when auth-int is listed first', () => {
    const [c] = parseWwwAuthenticate('Digest realm="r", nonce="n", qop="auth-int, auth"');
    expect(c && selectQop(c)).toBe('auth');
    const [onlyInt] = parseWwwAuthenticate('Digest realm="r", nonce="n", qop="auth-int"');
    expect(onlyInt && selectQop(onlyInt)).toBe('auth-int');
    const [odd] = parseWwwAuthenticate('Digest realm="r", nonce="n", qop="auth-conf"');
    expect(() => odd && selectQop(odd)).toThrow(expect.objectContaining({ code: 'DIGEST_UNSUPPORTED_QOP' }));
  });

  it('omits algorithm in the answer when the challenge omitted it (AMT)', () => {
    const [c] = parseWwwAuthenticate('Digest realm="r", nonce="n",stale="false",qop="auth"');
    if (c === undefined) throw new Error('no challenge');
    const header = answerChallenge(
      c,
      { username: 'admin', password: 'x' },
      { method: 'POST', uri: '/wsman' },
    );
    expect(header).not.toMatch(/algorithm/);
    const fields = parseAuthorization(header);
    expect(fields.nc).toBe('00000001');
    expect(fields.cnonce).toMatch(/^[0-9a-f]{32}$/);
  });
});
