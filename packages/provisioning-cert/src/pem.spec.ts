import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProvisioningCertError } from './errors.js';
import { decodePem, decodePemCertificates, encodePem } from './pem.js';

describe('PEM', () => {
  it('round-trips any bytes under any label', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 600 }),
        fc.constantFrom('CERTIFICATE', 'PRIVATE KEY', 'X509 CRL'),
        (bytes, label) => {
          const [block, ...rest] = decodePem(encodePem(bytes, label));
          expect(rest).toEqual([]);
          expect(block?.label).toBe(label);
          expect(Buffer.compare(block?.der ?? Buffer.alloc(0), bytes)).toBe(0);
        },
      ),
    );
  });

  it('writes 64-character lines', () => {
    const pem = encodePem(new Uint8Array(100).fill(7));
    const lines = pem.trimEnd().split('\n');
    expect(lines[0]).toBe('-----BEGIN CERTIFICATE-----');
    expect(lines[1]).toHaveLength(64);
    expect(lines.at(-1)).toBe('-----END CERTIFICATE-----');
  });

  it('leaves no empty line when the base64 is an exact multiple of 64 characters', () => {
    // 48 and 96 bytes encode to 64 and 128 characters: the case that once broke OpenSSL loading.
    for (const size of [48, 96, 47, 49]) {
      const body = encodePem(new Uint8Array(size).fill(9)).trimEnd().split('\n').slice(1, -1);
      expect(body.every((l) => l.length > 0 && l.length <= 64)).toBe(true);
      expect(Buffer.from(body.join(''), 'base64')).toEqual(Buffer.alloc(size, 9));
    }
  });

  it('keeps order and ignores text between blocks (openssl "Bag Attributes")', () => {
    const a = encodePem(Buffer.from([1, 2, 3]));
    const b = encodePem(Buffer.from([4, 5, 6]), 'PRIVATE KEY');
    const c = encodePem(Buffer.from([7, 8, 9]));
    const text = `Bag Attributes\n    localKeyID: 01 02\nsubject=CN = x\n${a}junk: here\n${b}\r\n${c.replace(/\n/g, '\r\n')}`;
    expect(decodePem(text).map((x) => x.label)).toEqual(['CERTIFICATE', 'PRIVATE KEY', 'CERTIFICATE']);
    expect(decodePemCertificates(text).map((d) => [...d])).toEqual([
      [1, 2, 3],
      [7, 8, 9],
    ]);
  });

  it('skips RFC 1421 header lines inside a block', () => {
    const body = Buffer.from('hello world').toString('base64');
    const text = `-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n${body}\n-----END RSA PRIVATE KEY-----\n`;
    expect(decodePem(text)[0]?.der.toString()).toBe('hello world');
  });

  it.each([
    ['an unterminated block', '-----BEGIN CERTIFICATE-----\nAAAA\n'],
    ['mismatched labels', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n'],
    ['bad base64', '-----BEGIN CERTIFICATE-----\nA*AA\n-----END CERTIFICATE-----\n'],
    ['an empty body', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'],
  ])('refuses %s', (_name, text) => {
    expect(() => decodePem(text)).toThrow(ProvisioningCertError);
  });

  it('wants at least one certificate block', () => {
    expect(() => decodePemCertificates(encodePem(Buffer.from([1]), 'PRIVATE KEY'))).toThrowError(
      expect.objectContaining({ code: 'PCERT_PEM_INVALID' }),
    );
    expect(decodePem('no blocks at all')).toEqual([]);
  });

  it('throws nothing but ProvisioningCertError on random or mutated text', () => {
    const valid = encodePem(Buffer.from('certificate bytes'));
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc
        .tuple(fc.nat({ max: valid.length }), fc.string({ maxLength: 8 }))
        .map(([at, s]) => valid.slice(0, at) + s + valid.slice(at)),
      fc.nat({ max: valid.length - 1 }).map((at) => valid.slice(0, at) + valid.slice(at + 1)),
    );
    fc.assert(
      fc.property(text, (t) => {
        try {
          for (const block of decodePem(t)) expect(block.der.length).toBeGreaterThan(0);
        } catch (err) {
          expect(err).toBeInstanceOf(ProvisioningCertError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('PEM header lines', () => {
  it('refuses a 200,000-colon line quickly (the header-line pattern once backtracked quadratically)', () => {
    const text = `-----BEGIN CERTIFICATE-----\n${':'.repeat(200_000)}-----END CERTIFICATE-----\n`;
    expect(() => decodePem(text)).toThrow(ProvisioningCertError);
  });

  it('still drops RFC 1421 header lines before the base64', () => {
    const text =
      '-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAEC\n-----END X-----\n';
    expect(decodePem(text)).toEqual([{ label: 'X', der: Buffer.from([0, 1, 2]) }]);
  });
});
