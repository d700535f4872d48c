import * as asn1js from 'asn1js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bitString,
  boolean,
  type Der,
  encode,
  explicit,
  implicit,
  integer,
  octetString,
  oid,
  readElement,
  sequence,
  set,
  TAG,
  time,
  tlv,
} from './der.js';

const hex = (d: Der) => encode(d).toString('hex');
const ber = (x: { toBER(): ArrayBuffer }) => Buffer.from(x.toBER()).toString('hex');

describe('DER writer', () => {
  it('writes short and long definite lengths at every boundary', () => {
    const header = (n: number) =>
      encode(octetString(new Uint8Array(n)))
        .subarray(0, 5)
        .toString('hex');
    expect(header(0)).toBe('0400');
    expect(header(127).slice(0, 4)).toBe('047f');
    expect(header(128).slice(0, 6)).toBe('048180');
    expect(header(255).slice(0, 6)).toBe('0481ff');
    expect(header(256).slice(0, 8)).toBe('04820100');
    expect(header(65_535).slice(0, 8)).toBe('0482ffff');
    expect(header(65_536).slice(0, 10)).toBe('0483010000');
    expect(header(16_777_216).slice(0, 10)).toBe('0484010000');
  });

  it('encodes nested structures as asn1js does', () => {
    const tree = fc.letrec<{ node: [Der, asn1js.AsnType] }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc
          .uint8Array({ maxLength: 300 })
          .map((b): [Der, asn1js.AsnType] => [octetString(b), new asn1js.OctetString({ valueHex: b })]),
        fc
          .array(tie('node'), { maxLength: 4 })
          .map((kids): [Der, asn1js.AsnType] => [
            sequence(...kids.map((k) => k[0])),
            new asn1js.Sequence({ value: kids.map((k) => k[1]) }),
          ]),
        fc
          .array(tie('node'), { maxLength: 4 })
          .map((kids): [Der, asn1js.AsnType] => [
            set(...kids.map((k) => k[0])),
            new asn1js.Set({ value: kids.map((k) => k[1]) }),
          ]),
      ),
    })).node;
    fc.assert(
      fc.property(tree, ([der, reference]) => {
        expect(hex(der)).toBe(ber(reference));
      }),
    );
  });

  it('takes finished encodings as content and copies them once into a buffer of their own', () => {
    const inner = encode(sequence(boolean(true), boolean(false)));
    expect(inner.toString('hex')).toBe('30060101ff010100');
    const outer = encode(explicit(3, inner, inner));
    expect(outer.toString('hex')).toBe(`a310${inner.toString('hex').repeat(2)}`);
    // Not a slice of Node's shared pool: `.buffer` is exactly the certificate.
    expect(outer.byteOffset).toBe(0);
    expect(outer.buffer.byteLength).toBe(outer.length);
  });

  it('writes context tags, BIT STRING, NULL and strings', () => {
    expect(hex(implicit(2, Buffer.from('a.example')))).toBe(
      `8209${Buffer.from('a.example').toString('hex')}`,
    );
    expect(hex(explicit(0, tlv(TAG.INTEGER, new Uint8Array([2]))))).toBe('a003020102');
    expect(hex(bitString(new Uint8Array([0xab, 0xcd])))).toBe('030300abcd');
    expect(hex(tlv(TAG.NULL))).toBe('0500');
    expect(hex(tlv(TAG.UTF8_STRING, Buffer.from('é', 'utf8')))).toBe('0c02c3a9');
  });

  it('refuses identifiers it cannot write in one octet', () => {
    for (const tag of [0x1f, 0x3f, 0x100, -1, 1.5]) expect(() => tlv(tag)).toThrow(RangeError);
  });
});

describe('DER INTEGER', () => {
  it('writes an unsigned magnitude as the minimal positive INTEGER', () => {
    const int = (h: string) => hex(integer(Buffer.from(h, 'hex')));
    expect(int('')).toBe('020100');
    expect(int('0000')).toBe('020100');
    expect(int('01')).toBe('020101');
    expect(int('7f')).toBe('02017f');
    // Top bit set: a zero octet keeps it positive.
    expect(int('80')).toBe('02020080');
    expect(int('ff01')).toBe('020300ff01');
    // Redundant leading zeros go.
    expect(int('000040')).toBe('020140');
    expect(int('0080')).toBe('02020080');
    expect(int('00000080')).toBe('02020080');
  });

  it('agrees with asn1js for any magnitude', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const value = bytes.length ? BigInt(`0x${Buffer.from(bytes).toString('hex')}`) : 0n;
        expect(hex(integer(bytes))).toBe(ber(asn1js.Integer.fromBigInt(value)));
      }),
    );
  });
});

describe('DER OBJECT IDENTIFIER', () => {
  it('encodes arcs base 128, the first two as 40 × first + second', () => {
    expect(Buffer.from(oid('1.2.840.113549.1.1.11')).toString('hex')).toBe('06092a864886f70d01010b');
    expect(Buffer.from(oid('2.5.29.17')).toString('hex')).toBe('0603551d11');
    expect(Buffer.from(oid('0.0')).toString('hex')).toBe('060100');
    // X.690 §8.19.5 example: the second arc may be large under 2.
    expect(Buffer.from(oid('2.999.3')).toString('hex')).toBe('0603883703');
    // Beyond 2^53: no precision lost.
    expect(Buffer.from(oid('2.999.18446744073709551616')).toString('hex')).toBe(
      '060c883782808080808080808000',
    );
  });

  it('agrees with asn1js for any OID', () => {
    const dotted = fc
      .tuple(
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 39 }),
        fc.array(fc.integer({ min: 0, max: 2 ** 31 }), { maxLength: 8 }),
      )
      .map(([a, b, rest]) => [a, b, ...rest].join('.'));
    fc.assert(
      fc.property(dotted, (d) => {
        expect(Buffer.from(oid(d)).toString('hex')).toBe(ber(new asn1js.ObjectIdentifier({ value: d })));
      }),
    );
  });

  it('refuses what is not dotted decimal', () => {
    for (const bad of ['', '1', '3.1', '1.40', '0.40', '1.02', '1..2', '1.2.', 'a.b', '1.-2', ' 1.2']) {
      expect(() => oid(bad), bad).toThrow(TypeError);
    }
  });
});

describe('DER Time', () => {
  const at = (iso: string) => hex(time(new Date(iso)));
  const ascii = (s: string) => Buffer.from(s).toString('hex');

  it('is UTCTime from 1950 through 2049 and GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)', () => {
    expect(at('1950-01-01T00:00:00Z')).toBe(`170d${ascii('500101000000Z')}`);
    expect(at('2026-03-04T05:06:07.890Z')).toBe(`170d${ascii('260304050607Z')}`);
    // The last millisecond of 2049 is still UTCTime; whole seconds only.
    expect(at('2049-12-31T23:59:59.999Z')).toBe(`170d${ascii('491231235959Z')}`);
    expect(at('2050-01-01T00:00:00Z')).toBe(`180f${ascii('20500101000000Z')}`);
    expect(at('9999-12-31T23:59:59.999Z')).toBe(`180f${ascii('99991231235959Z')}`);
  });

  it('refuses dates that have no such encoding', () => {
    for (const d of [
      new Date('1949-12-31T23:59:59.999Z'),
      new Date(Date.UTC(10_000, 0, 1)),
      new Date(Date.UTC(-5, 0, 1)),
      new Date(Number.NaN),
    ]) {
      expect(() => time(d)).toThrow(RangeError);
    }
  });

  it('agrees with asn1js for any second in range', () => {
    const seconds = fc.integer({
      min: Date.UTC(1950, 0, 1) / 1000,
      max: Date.UTC(9999, 11, 31, 23, 59, 59) / 1000,
    });
    fc.assert(
      fc.property(seconds, fc.integer({ min: 0, max: 999 }), (s, ms) => {
        const date = new Date(s * 1000 + ms);
        const whole = new Date(s * 1000);
        const reference =
          date.getUTCFullYear() < 2050
            ? new asn1js.UTCTime({ valueDate: whole })
            : new asn1js.GeneralizedTime({ valueDate: whole });
        expect(hex(time(date))).toBe(ber(reference));
      }),
    );
  });
});

describe('DER element reader', () => {
  it('locates elements and their content', () => {
    const bytes = encode(sequence(octetString(new Uint8Array(200)), boolean(true)));
    const outer = readElement(bytes, 0);
    expect(outer).toEqual({ tag: TAG.SEQUENCE, start: 0, contentStart: 3, end: bytes.length });
    const first = readElement(bytes, outer.contentStart, outer.end);
    expect(first).toEqual({ tag: TAG.OCTET_STRING, start: 3, contentStart: 6, end: 206 });
    expect(readElement(bytes, first.end, outer.end)).toEqual({
      tag: TAG.BOOLEAN,
      start: 206,
      contentStart: 208,
      end: 209,
    });
  });

  it('refuses truncation, indefinite and non-minimal lengths, high tags, and reads past the limit', () => {
    const bad: Array<[string, string, number?, number?]> = [
      ['empty', ''],
      ['identifier only', '30'],
      ['content cut short', '30030201'],
      ['indefinite length (BER)', '30800201010000'],
      ['long form for a short length', '30810100'],
      ['long form for a length below 128', `3082007f${'00'.repeat(127)}`],
      ['leading zero length octet', `30830000ff${'00'.repeat(255)}`],
      ['five length octets', '3085000000000100'],
      ['length octets truncated', '3082ff'],
      ['high-tag-number form', '1f0100'],
      ['runs past the limit', '0403aabbcc', 0, 4],
      ['offset past the end', '0400', 2],
      ['negative offset', '0400', -1],
    ];
    for (const [what, h, offset = 0, limit] of bad) {
      const bytes = Buffer.from(h, 'hex');
      expect(() => readElement(bytes, offset, limit ?? bytes.length), what).toThrow(RangeError);
    }
    expect(() => readElement(new Uint8Array(4), 0, 5)).toThrow(RangeError);
  });

  it('never reports an element outside its limit, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(64), (bytes, cut) => {
        const limit = Math.min(cut, bytes.length);
        let el: ReturnType<typeof readElement>;
        try {
          el = readElement(bytes, 0, limit);
        } catch (err) {
          expect(err).toBeInstanceOf(RangeError);
          return;
        }
        expect(el.contentStart).toBeGreaterThanOrEqual(2);
        expect(el.end).toBeGreaterThanOrEqual(el.contentStart);
        expect(el.end).toBeLessThanOrEqual(limit);
      }),
    );
  });

  it('reads back what the writer wrote', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 70_000 }), { maxLength: 3 }), (parts) => {
        const bytes = encode(sequence(...parts.map((p) => octetString(p))));
        const outer = readElement(bytes, 0);
        expect(outer.end).toBe(bytes.length);
        let at = outer.contentStart;
        for (const p of parts) {
          const el = readElement(bytes, at, outer.end);
          expect(el.tag).toBe(TAG.OCTET_STRING);
          expect(Buffer.compare(bytes.subarray(el.contentStart, el.end), p)).toBe(0);
          at = el.end;
        }
        expect(at).toBe(outer.end);
      }),
      { numRuns: 30 },
    );
  });
});
