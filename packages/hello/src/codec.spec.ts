import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeHello,
  encodeHello,
  type Hello,
  type HelloHash,
  type PkiHello,
  type PskHello,
  uuidFromSmbiosBytes,
  uuidToSmbiosBytes,
} from './codec.js';
import { HelloError } from './errors.js';

// Vectors are written field by field from the layout in amt-protocol.md §1, never by encodeHello.
/** Hex with spaces, newlines and `# comments`. */
const hex = (s: string) => Buffer.from(s.replace(/#.*$/gm, '').replace(/[^0-9a-f]/gi, ''), 'hex');
/** `n` bytes counting up from `seed`: distinct, recognisable hash contents. */
const pattern = (seed: number, n: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (seed + i) & 0xff));

// UUID 00112233-4455-6677-8899-aabbccddeeff in SMBIOS order: u32 LE, u16 LE, u16 LE, then as is.
const UUID = '00112233-4455-6677-8899-aabbccddeeff';
const UUID_WIRE = '33221100 5544 7766 8899aabbccddeeff';

const SHA1_A = '742c3192e607e424eb4549542be1bbc53e6174e2';
const SHA1_B = 'a1db6393916f17e4185509400415c70240b0ae6b';

function codeOf(fn: () => unknown): { code: string; offset: number | undefined } | 'no error' {
  try {
    fn();
    return 'no error';
  } catch (e) {
    if (!(e instanceof HelloError)) throw e;
    return { code: e.code, offset: e.offset };
  }
}

describe('golden vectors', () => {
  it('PKI hello with SHA-1 entries, as AMT 2.6–5.x send', () => {
    const wire = hex(`
      0000            # admin credentials not set
      0300            # interface version 3 (PKI)
      00000000        # retry count 0
      ${UUID_WIRE}
      02              # two hashes
      01 14 ${SHA1_A}
      01 14 ${SHA1_B}`);
    expect(wire.length).toBe(25 + 2 * 22);
    const expected: PkiHello = {
      kind: 'pki',
      version: 3,
      adminCredentialsSet: false,
      retryCount: 0,
      uuid: UUID,
      hashes: [
        { algorithm: 'sha1', hash: hex(SHA1_A) },
        { algorithm: 'sha1', hash: hex(SHA1_B) },
      ],
    };
    expect(decodeHello(wire)).toEqual(expected);
    expect(encodeHello(expected).equals(wire)).toBe(true);
  });

  it('PKI hello with 23 SHA-256 entries, as AMT 11+ send, is 807 bytes', () => {
    const entries = Array.from({ length: 23 }, (_, i) => Buffer.concat([hex('02 20'), pattern(i * 7, 32)]));
    const wire = Buffer.concat([
      hex('0100'), // admin credentials set
      hex('0300'),
      hex('04030201'), // retry count 0x01020304, little-endian
      hex('efbeadde 3412 7856 0102030405060708'), // deadbeef-1234-5678-0102-030405060708
      hex('17'), // 23 hashes
      ...entries,
    ]);
    expect(wire.length).toBe(807);
    const hello = decodeHello(wire);
    expect(hello).toEqual({
      kind: 'pki',
      version: 3,
      adminCredentialsSet: true,
      retryCount: 0x01020304,
      uuid: 'deadbeef-1234-5678-0102-030405060708',
      hashes: Array.from({ length: 23 }, (_, i) => ({ algorithm: 'sha256', hash: pattern(i * 7, 32) })),
    });
    expect(encodeHello(hello).equals(wire)).toBe(true);
  });

  it('PKI hello with SHA-384 entries (and a mix of algorithms)', () => {
    const wire = hex(`
      0000 0300 ffffffff ${UUID_WIRE}
      03
      03 30 ${pattern(0x80, 48).toString('hex')}
      02 20 ${pattern(0x40, 32).toString('hex')}
      03 30 ${pattern(0xf0, 48).toString('hex')}`);
    const hello = decodeHello(wire) as PkiHello;
    expect(hello.retryCount).toBe(0xffffffff);
    expect(hello.hashes.map((h) => h.algorithm)).toEqual(['sha384', 'sha256', 'sha384']);
    expect(Buffer.from(hello.hashes[0]!.hash).equals(pattern(0x80, 48))).toBe(true);
    expect(Buffer.from(hello.hashes[2]!.hash).equals(pattern(0xf0, 48))).toBe(true);
    expect(encodeHello(hello).equals(wire)).toBe(true);
  });

  it('PSK hello: exactly 32 bytes, PID of 8 characters', () => {
    const wire = hex(`0100 0200 05000000 ${UUID_WIRE} ${Buffer.from('AB12CD34', 'latin1').toString('hex')}`);
    expect(wire.length).toBe(32);
    const expected: PskHello = {
      kind: 'psk',
      version: 2,
      adminCredentialsSet: true,
      retryCount: 5,
      uuid: UUID,
      pid: 'AB12CD34',
    };
    expect(decodeHello(wire)).toEqual(expected);
    expect(encodeHello(expected).equals(wire)).toBe(true);
  });

  it('PKI hello with no hashes decodes (the service then finds no matching root)', () => {
    expect(decodeHello(hex(`0000 0300 00000000 ${UUID_WIRE} 00`))).toMatchObject({ kind: 'pki', hashes: [] });
  });

  it('decoded hashes do not change when the input buffer is reused', () => {
    const wire = hex(`0000 0300 00000000 ${UUID_WIRE} 01 01 14 ${SHA1_A}`);
    const hello = decodeHello(wire) as PkiHello;
    wire.fill(0);
    expect(Buffer.from(hello.hashes[0]!.hash).toString('hex')).toBe(SHA1_A);
  });
});

describe('UUID byte order', () => {
  it('swaps the first three fields and keeps the last 8 bytes', () => {
    expect(uuidFromSmbiosBytes(hex(UUID_WIRE))).toBe(UUID);
    expect(uuidToSmbiosBytes(UUID).equals(hex(UUID_WIRE))).toBe(true);
    expect(uuidToSmbiosBytes(UUID.toUpperCase()).equals(hex(UUID_WIRE))).toBe(true);
  });

  it('refuses an offset that is not an integer instead of reading zeros', () => {
    const bytes = hex(`00 ${UUID_WIRE}`);
    expect(uuidFromSmbiosBytes(bytes, 1)).toBe(UUID);
    for (const offset of [Number.NaN, 0.5, '1' as unknown as number]) {
      expect(codeOf(() => uuidFromSmbiosBytes(bytes, offset))).toMatchObject({ code: 'HELLO_TRUNCATED' });
    }
  });

  it('rejects strings that are not UUIDs', () => {
    for (const bad of ['', '00112233445566778899aabbccddeeff', `${UUID}0`, UUID.replace('a', 'g')]) {
      expect(codeOf(() => uuidToSmbiosBytes(bad))).toEqual({ code: 'HELLO_BAD_UUID', offset: 0 });
    }
  });
});

describe('malformed hellos', () => {
  const pki = `0000 0300 00000000 ${UUID_WIRE} 01 01 14 ${SHA1_A}`; // 47 bytes
  const psk = `0000 0200 00000000 ${UUID_WIRE} 4142434431323334`;
  const cases: [string, string, string, number][] = [
    ['empty input', '', 'HELLO_TRUNCATED', 0],
    ['one byte', '00', 'HELLO_TRUNCATED', 0],
    ['admin flag 2', '0200 0300', 'HELLO_BAD_ADMIN_FLAG', 0],
    ['admin flag 0x0100 (high byte set)', '0001 0300', 'HELLO_BAD_ADMIN_FLAG', 0],
    ['no version', '0000', 'HELLO_TRUNCATED', 2],
    ['version 1', '0000 0100 00000000', 'HELLO_UNKNOWN_VERSION', 2],
    ['version 4', '0000 0400', 'HELLO_UNKNOWN_VERSION', 2],
    ['version 0x0103', '0000 0301', 'HELLO_UNKNOWN_VERSION', 2],
    ['cut in the retry count', '0000 0300 0000', 'HELLO_TRUNCATED', 4],
    ['cut in the UUID', `0000 0300 00000000 ${UUID_WIRE.slice(0, 13)}`, 'HELLO_TRUNCATED', 8],
    ['PKI without a hash count', `0000 0300 00000000 ${UUID_WIRE}`, 'HELLO_TRUNCATED', 24],
    [
      'unknown algorithm 0',
      `0000 0300 00000000 ${UUID_WIRE} 01 00 14 ${SHA1_A}`,
      'HELLO_UNKNOWN_HASH_ALGORITHM',
      25,
    ],
    [
      'unknown algorithm 4',
      `0000 0300 00000000 ${UUID_WIRE} 01 04 14 ${SHA1_A}`,
      'HELLO_UNKNOWN_HASH_ALGORITHM',
      25,
    ],
    [
      'SHA-1 with 32 bytes',
      `0000 0300 00000000 ${UUID_WIRE} 01 01 20 ${SHA1_A}${'00'.repeat(12)}`,
      'HELLO_BAD_HASH_LENGTH',
      26,
    ],
    [
      'SHA-256 with 20 bytes',
      `0000 0300 00000000 ${UUID_WIRE} 01 02 14 ${SHA1_A}`,
      'HELLO_BAD_HASH_LENGTH',
      26,
    ],
    ['cut before a hash length', `0000 0300 00000000 ${UUID_WIRE} 01 01`, 'HELLO_TRUNCATED', 26],
    ['cut inside a hash', pki.slice(0, -2), 'HELLO_TRUNCATED', 27],
    [
      'count 2, one entry',
      pki.replace(`${UUID_WIRE} 01`, `${UUID_WIRE} 02`),
      'HELLO_HASH_COUNT_MISMATCH',
      24,
    ],
    ['count 1, two entries', `${pki} 01 14 ${SHA1_B}`, 'HELLO_HASH_COUNT_MISMATCH', 24],
    [
      'count 0, one entry',
      pki.replace(`${UUID_WIRE} 01`, `${UUID_WIRE} 00`),
      'HELLO_HASH_COUNT_MISMATCH',
      24,
    ],
    ['PKI trailing byte', `${pki} 00`, 'HELLO_TRAILING_BYTES', 47],
    ['PKI trailing half entry', `${pki} 01 14 aabb`, 'HELLO_TRAILING_BYTES', 47],
    ['PSK cut in the PID', psk.slice(0, -4), 'HELLO_TRUNCATED', 24],
    ['PSK trailing byte', `${psk} 00`, 'HELLO_TRAILING_BYTES', 32],
    ['PSK lower-case PID', psk.replace('41424344', '61424344'), 'HELLO_BAD_PID', 24],
    ['PSK PID with a dash', psk.replace('31323334', '31322d34'), 'HELLO_BAD_PID', 30],
    ['PSK PID with NUL', psk.replace('31323334', '31323300'), 'HELLO_BAD_PID', 31],
  ];
  it.each(cases)('%s → %s', (_name, wire, code, offset) => {
    expect(codeOf(() => decodeHello(hex(wire)))).toEqual({ code, offset });
  });

  it('caps the size before reading anything (default 16 KiB)', () => {
    const big = Buffer.alloc(16 * 1024 + 1);
    expect(codeOf(() => decodeHello(big))).toEqual({ code: 'HELLO_TOO_LARGE', offset: 16384 });
    expect(codeOf(() => decodeHello(hex(pki), { maxBytes: 40 }))).toEqual({
      code: 'HELLO_TOO_LARGE',
      offset: 40,
    });
  });

  it('refuses a maxBytes that would switch the size cap off', () => {
    const big = Buffer.alloc(16 * 1024 + 1);
    for (const maxBytes of [Number.NaN, -1, '10' as unknown as number]) {
      expect(codeOf(() => decodeHello(big, { maxBytes }))).toEqual({
        code: 'HELLO_BAD_OPTIONS',
        offset: undefined,
      });
    }
  });

  it('refuses input that is not bytes with a HelloError', () => {
    for (const input of ['0000', [0, 0, 3, 0], null, undefined]) {
      expect(codeOf(() => decodeHello(input as unknown as Uint8Array))).toEqual({
        code: 'HELLO_BAD_OPTIONS',
        offset: undefined,
      });
    }
  });

  it("trailingBytes: 'ignore' decodes the message and drops the rest", () => {
    const hello = decodeHello(hex(`${pki} 01 14 ${SHA1_B} ff`), { trailingBytes: 'ignore' }) as PkiHello;
    expect(hello.hashes).toHaveLength(1);
    expect(decodeHello(hex(`${psk} 00`), { trailingBytes: 'ignore' })).toMatchObject({ pid: 'ABCD1234' });
  });
});

describe('encodeHello validation', () => {
  const base: PkiHello = {
    kind: 'pki',
    version: 3,
    adminCredentialsSet: false,
    retryCount: 0,
    uuid: UUID,
    hashes: [{ algorithm: 'sha1', hash: hex(SHA1_A) }],
  };
  const psk: PskHello = {
    kind: 'psk',
    version: 2,
    adminCredentialsSet: false,
    retryCount: 0,
    uuid: UUID,
    pid: 'ABCD1234',
  };
  const bad = (patch: Record<string, unknown>, from: Hello = base) =>
    ({ ...from, ...patch }) as unknown as Hello;
  const cases: [string, string, number, Hello][] = [
    ['admin flag not boolean', 'HELLO_BAD_ADMIN_FLAG', 0, bad({ adminCredentialsSet: 1 })],
    ['PKI with version 2', 'HELLO_UNKNOWN_VERSION', 2, bad({ version: 2 })],
    ['unknown kind', 'HELLO_UNKNOWN_VERSION', 2, bad({ kind: 'otp' })],
    ['negative retry count', 'HELLO_BAD_RETRY_COUNT', 4, bad({ retryCount: -1 })],
    ['retry count over u32', 'HELLO_BAD_RETRY_COUNT', 4, bad({ retryCount: 2 ** 32 })],
    ['fractional retry count', 'HELLO_BAD_RETRY_COUNT', 4, bad({ retryCount: 1.5 })],
    ['bad UUID', 'HELLO_BAD_UUID', 8, bad({ uuid: 'not-a-uuid' })],
    ['256 hashes', 'HELLO_TOO_MANY_HASHES', 24, bad({ hashes: Array(256).fill(base.hashes[0]) })],
    [
      'md5 hash',
      'HELLO_UNKNOWN_HASH_ALGORITHM',
      25,
      bad({ hashes: [{ algorithm: 'md5', hash: Buffer.alloc(16) }] }),
    ],
    [
      'prototype key as algorithm',
      'HELLO_UNKNOWN_HASH_ALGORITHM',
      25,
      bad({ hashes: [{ algorithm: 'toString', hash: Buffer.alloc(20) }] }),
    ],
    [
      'short second hash',
      'HELLO_BAD_HASH_LENGTH',
      48,
      bad({ hashes: [base.hashes[0], { algorithm: 'sha256', hash: Buffer.alloc(31) }] }),
    ],
    ['hash not bytes', 'HELLO_BAD_HASH_LENGTH', 26, bad({ hashes: [{ algorithm: 'sha1', hash: SHA1_A }] })],
    ['PID too short', 'HELLO_BAD_PID', 24, bad({ pid: 'ABC' }, psk)],
    ['PID lower case', 'HELLO_BAD_PID', 24, bad({ pid: 'abcd1234' }, psk)],
  ];
  it.each(cases)('%s → %s', (_name, code, offset, hello) => {
    expect(codeOf(() => encodeHello(hello))).toEqual({ code, offset });
  });
});

// ---------- properties ----------

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const uuidArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
  const h = toHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
});
const LENGTHS = { sha1: 20, sha256: 32, sha384: 48 } as const;
const hashArb: fc.Arbitrary<HelloHash> = fc
  .constantFrom('sha1' as const, 'sha256' as const, 'sha384' as const)
  .chain((algorithm) =>
    fc
      .uint8Array({ minLength: LENGTHS[algorithm], maxLength: LENGTHS[algorithm] })
      .map((b) => ({ algorithm, hash: Buffer.from(b) })),
  );
const common = {
  adminCredentialsSet: fc.boolean(),
  retryCount: fc.integer({ min: 0, max: 0xffffffff }),
  uuid: uuidArb,
};
const pkiArb: fc.Arbitrary<Hello> = fc.record({
  kind: fc.constant('pki' as const),
  version: fc.constant(3 as const),
  ...common,
  hashes: fc.array(hashArb, { maxLength: 40 }),
});
const pskArb: fc.Arbitrary<Hello> = fc.record({
  kind: fc.constant('psk' as const),
  version: fc.constant(2 as const),
  ...common,
  pid: fc.string({
    unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'),
    minLength: 8,
    maxLength: 8,
  }),
});
const helloArb = fc.oneof(pkiArb, pskArb);

function decodesOrHelloError(bytes: Uint8Array): void {
  try {
    const hello = decodeHello(bytes);
    // Whatever decodes is canonical: encoding it again gives the same bytes.
    expect(encodeHello(hello).equals(Buffer.from(bytes))).toBe(true);
  } catch (e) {
    expect(e).toBeInstanceOf(HelloError);
    const err = e as HelloError;
    expect(err.offset).toBeGreaterThanOrEqual(0);
    expect(err.offset).toBeLessThanOrEqual(Math.max(bytes.length, 16 * 1024));
  }
}

describe('properties', () => {
  it('decode ∘ encode is the identity', () => {
    fc.assert(
      fc.property(helloArb, (hello) => {
        expect(decodeHello(encodeHello(hello))).toEqual(hello);
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes decode canonically or throw only HelloError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), decodesOrHelloError), { numRuns: 1000 });
  });

  it('random bytes behind a valid header still decode canonically or throw only HelloError', () => {
    const header = fc.constantFrom(
      hex(`0000 0300 00000000 ${UUID_WIRE}`),
      hex(`0100 0200 01000000 ${UUID_WIRE}`),
    );
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 200 }), (h, tail) =>
        decodesOrHelloError(Buffer.concat([h, tail])),
      ),
      { numRuns: 1000 },
    );
  });

  it('mutated valid hellos (byte flips, cuts, insertions) give a hello or a HelloError', () => {
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ op: fc.constant('cut' as const), at: fc.nat(), value: fc.constant(0) }),
      fc.record({
        op: fc.constant('insert' as const),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
    );
    fc.assert(
      fc.property(helloArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (hello, mutations) => {
        let bytes = [...encodeHello(hello)];
        for (const m of mutations) {
          const at = bytes.length === 0 ? 0 : m.at % bytes.length;
          if (m.op === 'set') bytes[at] = m.value;
          else if (m.op === 'cut') bytes = bytes.slice(0, at);
          else bytes.splice(at, 0, m.value);
        }
        decodesOrHelloError(Uint8Array.from(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it('every strict prefix of a valid hello is rejected as truncated or as a count mismatch', () => {
    fc.assert(
      fc.property(helloArb, fc.nat(), (hello, cut) => {
        const bytes = encodeHello(hello);
        const prefix = bytes.subarray(0, cut % bytes.length);
        const r = codeOf(() => decodeHello(prefix));
        expect(r).not.toBe('no error');
        if (r !== 'no error') {
          expect(['HELLO_TRUNCATED', 'HELLO_HASH_COUNT_MISMATCH']).toContain(r.code);
          expect(r.offset).toBeLessThanOrEqual(prefix.length);
        }
      }),
      { numRuns: 500 },
    );
  });
});
