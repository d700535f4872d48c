import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DigestError } from './errors.js';
import {
  buildAuthorization,
  canonicalAlgorithmName,
  type DigestAuthorization,
  type DigestChallengeInit,
  formatChallenge,
  parseAuthenticationInfo,
  parseAuthorization,
  parseWwwAuthenticate,
} from './header.js';

// amt-protocol.md §4: a real AMT 11.8 challenge, with its inconsistent separators.
const AMT_CHALLENGE =
  'Digest realm="Digest:A4070000000000000000000000000000", nonce="wlbEK1EtAAAAAAAAWW5aUHFp+mQQ1j63",stale="false",qop="auth"';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof DigestError ? err.code : `not a DigestError: ${String(err)}`;
  }
  return undefined;
}

describe('parseWwwAuthenticate', () => {
  it('reads the real AMT challenge', () => {
    const [c, ...rest] = parseWwwAuthenticate(AMT_CHALLENGE);
    expect(rest).toHaveLength(0);
    expect(c).toMatchObject({
      realm: 'Digest:A4070000000000000000000000000000',
      nonce: 'wlbEK1EtAAAAAAAAWW5aUHFp+mQQ1j63',
      stale: false,
      qop: ['auth'],
      userhash: false,
    });
    expect(c?.algorithm).toBeUndefined();
    expect(c?.opaque).toBeUndefined();
  });

  it('formatChallenge writes the AMT challenge byte for byte', () => {
    expect(
      formatChallenge({
        realm: 'Digest:A4070000000000000000000000000000',
        nonce: 'wlbEK1EtAAAAAAAAWW5aUHFp+mQQ1j63',
        qop: ['auth'],
      }),
    ).toBe(AMT_CHALLENGE);
  });

  it('splits several challenges and keeps only Digest ones, in order', () => {
    const header =
      'Negotiate YIIBhwYGKwYBBQUCoIIBezCCAXeg==, Basic realm="simple", ' +
      'Digest realm="a, b", nonce="n1", qop="auth-int, auth", algorithm=SHA-256, opaque="o",' +
      'Digest realm="a, b", nonce="n1", qop="auth"';
    const cs = parseWwwAuthenticate(header);
    expect(cs.map((c) => [c.realm, c.algorithm, c.qop])).toEqual([
      ['a, b', 'SHA-256', ['auth-int', 'auth']],
      ['a, b', undefined, ['auth']],
    ]);
    expect(cs[0]?.opaque).toBe('o');
  });

  it('accepts any case, unquoted base64 values, odd spacing and escapes', () => {
    const [c] = parseWwwAuthenticate(
      'dIgEsT   REALM = "say \\"hi\\"" ,NONCE=ab+/cd==,  QOP=AUTH,ALGORITHM=sha-256-SESS, STALE=TRUE domain="/a /b"',
    );
    expect(c).toMatchObject({
      realm: 'say "hi"',
      nonce: 'ab+/cd==',
      qop: ['auth'],
      algorithm: 'SHA-256-sess',
      stale: true,
      domain: ['/a', '/b'],
    });
  });

  it('keeps unknown algorithms as sent and the raw params', () => {
    const [c] = parseWwwAuthenticate('Digest realm=r, nonce=n, algorithm=SHA-1024, x-custom="1"');
    expect(c?.algorithm).toBe('SHA-1024');
    expect(c?.params).toMatchObject({ realm: 'r', nonce: 'n', algorithm: 'SHA-1024', 'x-custom': '1' });
  });

  it('returns nothing for headers without a Digest challenge', () => {
    expect(parseWwwAuthenticate('Basic realm="x"')).toEqual([]);
    expect(parseWwwAuthenticate('')).toEqual([]);
  });

  it.each([
    ['Digest realm="x', 'unterminated quote'],
    ['Digest nonce="n"', 'no realm'],
    ['Digest realm="r"', 'no nonce'],
    ['realm="r", nonce="n"', 'no scheme'],
    ['Digest realm="r", @nonce="n"', 'stray character'],
  ])('refuses %j (%s) with DIGEST_MALFORMED_CHALLENGE', (header) => {
    expect(codeOf(() => parseWwwAuthenticate(header))).toBe('DIGEST_MALFORMED_CHALLENGE');
  });

  it('reports where parsing failed and echoes the (non-secret) challenge', () => {
    try {
      parseWwwAuthenticate('Digest realm="r", nonce="abc');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DigestError);
      expect((err as DigestError).offset).toBe(24);
      expect((err as DigestError).challenge).toContain('realm="r"');
    }
  });
});

describe('parseAuthorization / buildAuthorization', () => {
  // RFC 2617 §3.5
  const rfc2617 =
    'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
    'uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", ' +
    'response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"';

  it('reads the RFC 2617 example', () => {
    expect(parseAuthorization(rfc2617)).toEqual({
      username: 'Mufasa',
      realm: 'testrealm@host.com',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      uri: '/dir/index.html',
      qop: 'auth',
      nc: '00000001',
      cnonce: '0a4f113b',
      response: '6629fae49393a05397450978507c4ef1',
      opaque: '5ccc069c403ebaf9f0171e9517f40e41',
    });
  });

  it('writes qop, nc and algorithm unquoted and the rest quoted', () => {
    const header = buildAuthorization({
      username: 'admin',
      realm: 'Digest:A4070000000000000000000000000000',
      nonce: 'wlbEK1EtAAAAAAAAWW5aUHFp+mQQ1j63',
      uri: '/wsman',
      algorithm: 'SHA-256',
      response: 'ab',
      qop: 'auth',
      nc: '0000000a',
      cnonce: 'c',
    });
    expect(header).toBe(
      'Digest username="admin", realm="Digest:A4070000000000000000000000000000", ' +
        'nonce="wlbEK1EtAAAAAAAAWW5aUHFp+mQQ1j63", uri="/wsman", algorithm=SHA-256, response="ab", ' +
        'qop=auth, nc=0000000a, cnonce="c"',
    );
  });

  it('round-trips a non-ASCII user name through username* (RFC 8187)', () => {
    const fields: DigestAuthorization = {
      username: 'Jäsøn Doe',
      realm: 'r',
      nonce: 'n',
      uri: '/',
      response: 'x',
    };
    const header = buildAuthorization(fields);
    expect(header).toContain("username*=UTF-8''J%C3%A4s%C3%B8n%20Doe");
    expect(parseAuthorization(header)).toEqual(fields);
  });

  it.each([
    ['Basic YWRtaW46YWRtaW4=', 'another scheme'],
    ['Digest username="a", realm="r", nonce="n", uri="/", response="x", realm="s"', 'repeated param'],
    ['Digest username="a", realm="r", nonce="n", uri="/"', 'no response'],
    ['Digest username="a", realm="r", uri="/", response="x"', 'no nonce'],
    ['Digest username="a", realm="r", nonce="n", uri="/", response="x", qop=auth', 'qop without nc'],
    [
      'Digest username="a", realm="r", nonce="n", uri="/", response="x", qop=auth, nc=1, cnonce="c"',
      'short nc',
    ],
    ['Digest username="a", username*=UTF-8\'\'b, realm="r", nonce="n", uri="/", response="x"', 'both names'],
    ['Digest username*=UTF-8\'\'%E0%A4, realm="r", nonce="n", uri="/", response="x"', 'bad UTF-8'],
    ['Digest realm="r", nonce="n", uri="/", response="x", Digest realm="r"', 'two credentials'],
  ])('refuses %j (%s) with DIGEST_MALFORMED_AUTHORIZATION', (header) => {
    expect(codeOf(() => parseAuthorization(header))).toBe('DIGEST_MALFORMED_AUTHORIZATION');
  });

  it('never echoes the Authorization header in its errors', () => {
    try {
      parseAuthorization('Digest username="a", response="5ec4e7", realm="r", response="5ec4e7"');
      expect.unreachable();
    } catch (err) {
      expect((err as DigestError).message).not.toContain('5ec4e7');
      expect((err as DigestError).challenge).toBeUndefined();
    }
  });

  it('refuses to write values that would break the header line', () => {
    const base: DigestAuthorization = { username: 'a', realm: 'r', nonce: 'n', uri: '/', response: 'x' };
    expect(codeOf(() => buildAuthorization({ ...base, uri: '/\r\nX-Evil: 1' }))).toBe(
      'DIGEST_INVALID_ARGUMENT',
    );
    expect(codeOf(() => buildAuthorization({ ...base, nc: '1' }))).toBe('DIGEST_INVALID_ARGUMENT');
    expect(codeOf(() => buildAuthorization({ ...base, qop: 'auth int' }))).toBe('DIGEST_INVALID_ARGUMENT');
  });
});

describe('parseAuthenticationInfo', () => {
  it('reads nextnonce and friends', () => {
    expect(
      parseAuthenticationInfo('nextnonce="abc", qop=auth, rspauth="ff", cnonce="c", nc=00000001'),
    ).toEqual({
      nextnonce: 'abc',
      qop: 'auth',
      rspauth: 'ff',
      cnonce: 'c',
      nc: '00000001',
    });
  });
});

// ---- properties ----------------------------------------------------------------------------

/** Strings safe in a header field: no control characters except HTAB. */
const fieldText = fc
  .string({ unit: 'grapheme', maxLength: 24 })
  // biome-ignore lint/suspicious/noControlCharactersInRegex: filtering them out is the point
  .filter((s) => !/[\u0000-\u0008\u000a-\u001f\u007f]/.test(s));
const nonEmptyField = fieldText.filter((s) => s.length > 0);
const tokenText = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const hexNc = fc.integer({ min: 1, max: 0xffffffff }).map((n) => n.toString(16).padStart(8, '0'));

function onlyDigestErrors(fn: () => unknown): boolean {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof DigestError)) throw err;
  }
  return true;
}

describe('properties', () => {
  const noise = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc
      .array(
        fc.constantFrom('Digest', ' ', ',', '=', '"', '\\', 'realm', 'nonce', 'qop', 'auth', 'x', '\t'),
        {
          maxLength: 40,
        },
      )
      .map((parts) => parts.join('')),
  );

  it('parsers throw nothing but DigestError on any input', () => {
    fc.assert(
      fc.property(noise, (s) => {
        onlyDigestErrors(() => parseWwwAuthenticate(s));
        onlyDigestErrors(() => parseAuthorization(s));
        onlyDigestErrors(() => parseAuthenticationInfo(s));
      }),
      { numRuns: 500 },
    );
  });

  it('mutations of the real AMT challenge throw nothing but DigestError', () => {
    fc.assert(
      fc.property(fc.nat(AMT_CHALLENGE.length), fc.nat(5), fc.string({ maxLength: 3 }), (at, cut, insert) => {
        const mutated = AMT_CHALLENGE.slice(0, at) + insert + AMT_CHALLENGE.slice(at + cut);
        onlyDigestErrors(() => parseWwwAuthenticate(mutated));
      }),
      { numRuns: 500 },
    );
  });

  it('parseAuthorization ∘ buildAuthorization is the identity', () => {
    const auth = fc.record(
      {
        username: fc.string({ unit: 'grapheme', maxLength: 16 }),
        realm: fieldText,
        nonce: nonEmptyField,
        uri: fieldText,
        response: nonEmptyField,
        algorithm: fc.oneof(
          fc.constantFrom('MD5', 'SHA-256-sess'),
          nonEmptyField.filter((s) => !/^(md5|sha-256|sha-512-256)(-sess)?$/i.test(s)),
        ),
        qop: fc.constantFrom('auth', 'auth-int'),
        nc: hexNc,
        cnonce: fieldText,
        opaque: fieldText,
        userhash: fc.boolean(),
      },
      { requiredKeys: ['username', 'realm', 'nonce', 'uri', 'response'] },
    );
    fc.assert(
      fc.property(auth, (a) => {
        // qop needs nc and cnonce; the parser rightly refuses it alone.
        const fields: DigestAuthorization =
          a.qop !== undefined && (a.nc === undefined || a.cnonce === undefined)
            ? (({ qop: _q, ...rest }) => rest)(a)
            : a;
        const parsed = parseAuthorization(buildAuthorization(fields));
        expect(parsed).toEqual(fields);
      }),
      { numRuns: 300 },
    );
  });

  it('parseWwwAuthenticate ∘ formatChallenge is the identity, for several challenges in one header', () => {
    const challenge = fc.record(
      {
        realm: fieldText,
        nonce: nonEmptyField,
        algorithm: fc.constantFrom('MD5', 'SHA-256', 'SHA-512-256-sess'),
        qop: fc.array(fc.constantFrom('auth', 'auth-int'), { minLength: 1, maxLength: 2 }),
        stale: fc.boolean(),
        opaque: fieldText,
        domain: fc.array(tokenText, { minLength: 1, maxLength: 3 }),
        charset: fc.constant('UTF-8'),
        userhash: fc.boolean(),
      },
      { requiredKeys: ['realm', 'nonce'] },
    );
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 3 }), (cs: DigestChallengeInit[]) => {
        const parsed = parseWwwAuthenticate(cs.map(formatChallenge).join(', '));
        expect(parsed).toHaveLength(cs.length);
        cs.forEach((c, i) => {
          const p = parsed[i];
          expect(p?.realm).toBe(c.realm);
          expect(p?.nonce).toBe(c.nonce);
          expect(p?.algorithm).toBe(c.algorithm);
          expect(p?.qop).toEqual(c.qop);
          expect(p?.stale).toBe(c.stale === true);
          expect(p?.opaque).toBe(c.opaque);
          expect(p?.domain).toEqual(c.domain);
          expect(p?.charset).toBe(c.charset);
          expect(p?.userhash).toBe(c.userhash === true);
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('names that collide with object prototype keys', () => {
  it('keeps `__proto__` and `constructor` as plain unknown algorithm names', () => {
    expect(canonicalAlgorithmName('__proto__')).toBe('__proto__');
    expect(canonicalAlgorithmName('constructor')).toBe('constructor');
    const fields = { username: 'u', realm: 'r', nonce: 'n', uri: '/', response: 'x', algorithm: '__proto__' };
    expect(parseAuthorization(buildAuthorization(fields))).toEqual(fields);
  });
});

describe('quoted strings: escapes spread over many values', () => {
  it('reads each value right when backslashes sit in some quoted strings and not others', () => {
    const header = String.raw`Digest realm="a\"b", nonce="plain", opaque="c\\", domain="/x /y", charset="\u", x="", y="\""`;
    const [c] = parseWwwAuthenticate(header);
    expect(c?.params).toEqual({
      realm: 'a"b',
      nonce: 'plain',
      opaque: 'c\\',
      domain: '/x /y',
      charset: 'u',
      x: '',
      y: '"',
    });
  });

  it('reads 50,000 quoted values with a backslash only at the end', () => {
    const n = 50_000;
    const params = Array.from({ length: n }, (_, i) => `p${i}="v${i}"`).join(', ');
    const [c] = parseWwwAuthenticate(`Digest realm="r", nonce="n", ${params}, last="\\!"`);
    expect(Object.keys(c?.params ?? {})).toHaveLength(n + 3);
    expect(c?.params[`p${n - 1}`]).toBe(`v${n - 1}`);
    expect(c?.params.last).toBe('!');
  });
});
