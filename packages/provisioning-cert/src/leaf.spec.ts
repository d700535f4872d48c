import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  X509Certificate as NodeX509,
  verify,
} from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CertificateAuthority, createCertificateAuthority, loadCertificateAuthority } from './ca.js';
import { SERVER_AUTH_OID } from './constants.js';
import { readElement } from './der.js';
import { ProvisioningCertError } from './errors.js';
import { issueCertificate, serialNumber } from './issue.js';
import { createRsaKeyCache, spkiDer } from './keys.js';
import { createLeafIssuer, type LeafIssuer, type LeafSpec } from './leaf.js';
import {
  AuthorityKeyIdentifierExtension,
  Name,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
} from './x509.js';

const keys = createRsaKeyCache({ keysPerSize: 2 });
/**
 * A device's P-256 public key, fixed (made once with node:crypto) rather than fresh per run: the
 * single-octet-flip property derives its inputs from it, so the seed fast-check prints on a
 * failure replays the failure.
 */
const deviceSpki = Buffer.from(
  '3059301306072a8648ce3d020106082a8648ce3d030107034200040449fb391eafd672326ad2a5ff6a7d5b8c28511411' +
    '6c470554ddd9b20ff8c9db86b5d1d41aa7ca0af08f35eaae183a2b865b3b894e849c5c98a809fbfa3d4e06',
  'hex',
);
/** The P-256 device key with its algorithm parameters replaced by `paramsHex` (one element). */
function spkiWithParams(paramsHex: string): Buffer {
  const algorithm = Buffer.concat([Buffer.from('06072a8648ce3d0201', 'hex'), Buffer.from(paramsHex, 'hex')]);
  const key = deviceSpki.subarray(deviceSpki.indexOf(Buffer.from('034200', 'hex')));
  const alg = Buffer.concat([Buffer.from([0x30, algorithm.length]), algorithm]);
  const body = Buffer.concat([alg, key]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

let ca: CertificateAuthority;
let fast: LeafIssuer;
let deviceRsaSpki: Buffer;
/** Device keys of other shapes: EC P-384, Ed25519, RSA-PSS with parameters in the SPKI. */
const otherSpkis = [
  spkiDer(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey),
  spkiDer(generateKeyPairSync('ed25519').privateKey),
  spkiDer(
    generateKeyPairSync('rsa-pss', {
      modulusLength: 1024,
      hashAlgorithm: 'sha256',
      mgf1HashAlgorithm: 'sha256',
    }).privateKey,
  ),
];

beforeAll(async () => {
  ca = await createCertificateAuthority({ commonName: 'leaf spec CA', keys });
  const issuer = createLeafIssuer({ certificate: ca.certificate, key: createPrivateKey(ca.keyPem) });
  if (!issuer) throw new Error('an RSA CA must get the fast issuer');
  fast = issuer;
  deviceRsaSpki = spkiDer(await keys.rsaKey(2048, 1));
});

/** What the generic @peculiar/x509 generator makes for the same inputs. */
async function reference(spec: LeafSpec, authority = ca): Promise<Buffer> {
  const cert = await issueCertificate({
    subject: [{ CN: [spec.commonName] }],
    subjectKey: spec.spki,
    issuer: { certificate: authority.certificate, key: createPrivateKey(authority.keyPem) },
    hash: 'SHA-256',
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    extendedKeyUsages: spec.extendedKeyUsages,
    dnsNames: spec.dnsNames,
    serialNumber: spec.serialHex,
  });
  return Buffer.from(cert.rawData);
}

function spec(over: Partial<LeafSpec>): LeafSpec {
  return {
    commonName: 'amt-0001.corp.example.com',
    spki: deviceRsaSpki,
    notBefore: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)),
    notAfter: new Date(Date.UTC(2027, 0, 2, 3, 4, 5, 999)),
    extendedKeyUsages: [SERVER_AUTH_OID],
    dnsNames: ['amt-0001.corp.example.com'],
    serialHex: serialNumber(),
    ...over,
  };
}

describe('fast leaf issuer', () => {
  it('encodes byte-for-byte what the @peculiar/x509 generator does (RSA signatures are deterministic)', async () => {
    const cases: Array<[string, LeafSpec]> = [
      ['defaults', spec({})],
      ['no SAN, two EKUs', spec({ dnsNames: [], extendedKeyUsages: [SERVER_AUTH_OID, '1.3.6.1.5.5.7.3.2'] })],
      ['three SANs', spec({ dnsNames: ['a.example.com', '*.b.example.com', 'c'] })],
      [
        'four EKUs, one with arcs past 2^53',
        spec({
          extendedKeyUsages: [
            SERVER_AUTH_OID,
            '1.3.6.1.5.5.7.3.2',
            '2.16.840.1.113741.1.2.3',
            '2.999.18446744073709551616',
          ],
        }),
      ],
      // From 2050 on the validity switches to GeneralizedTime (RFC 5280 §4.1.2.5).
      ['GeneralizedTime notAfter', spec({ notAfter: new Date(Date.UTC(2126, 5, 1, 0, 0, 0, 1)) })],
      [
        'last UTCTime second, first GeneralizedTime second',
        spec({ notBefore: new Date('2049-12-31T23:59:59.999Z'), notAfter: new Date('2050-01-01T00:00:00Z') }),
      ],
      ['earliest UTCTime year', spec({ notBefore: new Date('1950-01-01T00:00:00Z') })],
      // Not a PrintableString: the name goes out as UTF8String.
      ['UTF8String CN', spec({ commonName: 'AMT device_42 — café', dnsNames: [] })],
      ['PrintableString CN, every punctuation it has', spec({ commonName: "Amt (42) +,-./:=? 'x'" })],
      ['non-BMP CN', spec({ commonName: 'amt \u{1f600} \u{10ffff}' })],
      // 200 characters: the name, RDN and attribute lengths need the long form (0x81 xx).
      [
        'long CN and SANs',
        spec({
          commonName: `${'a'.repeat(60)}.`.repeat(3) + 'b'.repeat(17),
          dnsNames: ['x'.repeat(300), 'y'.repeat(253)],
        }),
      ],
      // > 64 KiB of SANs: three length octets (0x83) on the certificate, TBS and extensions.
      [
        'SANs past 64 KiB',
        spec({ dnsNames: Array.from({ length: 280 }, (_, i) => `${i}.${'d'.repeat(240)}`) }),
      ],
      // A non-RSA device key: the SKI hashes whatever the BIT STRING holds.
      ['EC P-256 key', spec({ spki: deviceSpki })],
      ...otherSpkis.map((spki, i): [string, LeafSpec] => [`other key ${i}`, spec({ spki })]),
      // serialNumber() sets 0x40 and clears 0x80 on the first octet: 16 octets, no sign octet.
      ['serialNumber() top octet 0x40', spec({ serialHex: `40${'00'.repeat(15)}` })],
      ['serialNumber() top octet 0x7f', spec({ serialHex: `7f${'ff'.repeat(15)}` })],
      // Outside what serialNumber() makes, both encoders keep the INTEGER minimal and positive.
      ['serial with the top bit set', spec({ serialHex: 'ff'.repeat(16) })],
      ['serial with leading zero octets', spec({ serialHex: '000080' })],
      ['20-octet serial', spec({ serialHex: '7f'.repeat(20) })],
    ];
    for (const [name, c] of cases) {
      const der = await fast(c);
      expect(der.toString('hex'), name).toBe((await reference(c)).toString('hex'));
      expect(
        new NodeX509(der).verify(new NodeX509(Buffer.from(ca.certificate.rawData)).publicKey),
        name,
      ).toBe(true);
    }
  });

  it('writes multi-byte DER lengths for long names and SAN lists', async () => {
    const big = await fast(
      spec({ dnsNames: Array.from({ length: 280 }, (_, i) => `${i}.${'d'.repeat(240)}`) }),
    );
    expect(big.subarray(0, 2).toString('hex')).toBe('3083');
    expect(big.readUIntBE(2, 3)).toBe(big.length - 5);
    const cn = 'n'.repeat(200);
    const der = await fast(spec({ commonName: cn }));
    // SEQUENCE { SET { SEQUENCE { OID, PrintableString } } }, each length in the long form.
    const subject = `3081d6 3181d3 3081d0 0603550403 1381c8${Buffer.from(cn).toString('hex')}`.replace(
      / /g,
      '',
    );
    expect(der.toString('hex')).toContain(subject);
  });

  it('chooses PrintableString or UTF8String for the CN exactly as @peculiar/x509 Name does', async () => {
    const cases: Array<[string, number]> = [
      ['amt-0001.corp.example.com', 0x13],
      ["A-Z a-z 0-9 '()+,-./:=?", 0x13],
      // Outside PrintableString's set (X.680 §41.4): '_', '*', '@', '&', non-ASCII, controls.
      ['amt_0001.corp.example.com', 0x0c],
      ['*.corp.example.com', 0x0c],
      ['admin@example.com', 0x0c],
      ['R&D', 0x0c],
      ['café', 0x0c],
      ['tab\there', 0x0c],
    ];
    for (const [cn, tag] of cases) {
      const der = await fast(spec({ commonName: cn }));
      const name = Buffer.from(new Name([{ CN: [cn] }]).toArrayBuffer());
      const value = Buffer.from(cn, tag === 0x13 ? 'latin1' : 'utf8');
      expect(name.subarray(name.length - value.length - 2).toString('hex'), cn).toBe(
        Buffer.concat([Buffer.from([tag, value.length]), value]).toString('hex'),
      );
      expect(der.includes(name), cn).toBe(true);
    }
  });

  it('gives names that @peculiar/x509 reads specially the same bytes or the same error', async () => {
    const outcome = (p: Promise<Buffer>) =>
      p.then(
        (der) => der.toString('hex'),
        (err: unknown) => `error: ${String(err)}`,
      );
    // '#' is hex DER, '"' quotes, '\\' escapes; a lone surrogate has no UTF-8.
    for (const commonName of ['#0c03616d74', '#zz', 'a "quoted" name', 'a\\,b', 'x\ud800y', '"amt"']) {
      const c = spec({ commonName });
      expect(await outcome(fast(c)), commonName).toBe(await outcome(reference(c)));
    }
  });

  it('matches the generator for a CA re-opened from PEM', async () => {
    const again = loadCertificateAuthority(ca.certPem, ca.keyPem);
    const issuer = createLeafIssuer({ certificate: again.certificate, key: createPrivateKey(again.keyPem) });
    const c = spec({ commonName: 'ps.example.com', dnsNames: ['ps.example.com'] });
    expect((await issuer?.(c))?.toString('hex')).toBe((await reference(c, again)).toString('hex'));
  });

  it('matches the generator for any names, SAN lists, EKU lists and validity', async () => {
    const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
    const dns = fc.oneof(
      fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.')),
      // Junk a caller might pass: both encoders must still agree.
      fc.string({ unit: 'grapheme', maxLength: 12 }),
    );
    const oid = fc
      .array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 5 })
      .map((arcs) => `1.3.${arcs.join('.')}`);
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 }),
        fc.array(dns, { maxLength: 3 }),
        fc.array(oid, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 36_500 }),
        async (commonName, dnsNames, extendedKeyUsages, days) => {
          const notBefore = new Date(Date.UTC(2026, 1, 3, 4, 5, 6));
          const c = spec({
            commonName,
            dnsNames,
            extendedKeyUsages,
            notBefore,
            notAfter: new Date(notBefore.getTime() + days * 86_400_000),
          });
          // Same bytes, or the same refusal (e.g. @peculiar/x509's Name reads a CN that starts with
          // '#' as hex DER, on both paths).
          const outcome = (p: Promise<Buffer>) =>
            p.then(
              (der) => der.toString('hex'),
              (err: unknown) => `error: ${String(err)}`,
            );
          expect(await outcome(fast(c))).toBe(await outcome(reference(c)));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('matches the generator for any serial, validity and device key', async () => {
    // Serials as serialNumber() makes them, and any other positive ones up to 20 octets.
    const serial = fc.oneof(
      fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
        b[0] = ((b[0] ?? 0) & 0x7f) | 0x40;
        return Buffer.from(b).toString('hex');
      }),
      fc
        .uint8Array({ minLength: 1, maxLength: 20 })
        .filter((b) => b.some((x) => x !== 0) && !(b.length === 20 && (b[0] as number) >= 0x80))
        .map((b) => Buffer.from(b).toString('hex')),
    );
    const instant = fc
      .integer({ min: Date.UTC(1950, 0, 1), max: Date.UTC(2200, 0, 1) })
      .map((t) => new Date(t));
    const printable = fc.string({
      unit: fc.constantFrom(..."Az09 '()+,-./:=?"),
      minLength: 1,
      maxLength: 80,
    });
    await fc.assert(
      fc.asyncProperty(
        serial,
        instant,
        instant,
        fc.constantFrom(deviceRsaSpki, deviceSpki, ...otherSpkis),
        fc.oneof(printable, fc.string({ unit: 'binary', minLength: 1, maxLength: 80 })),
        async (serialHex, notBefore, notAfter, spki, commonName) => {
          const c = spec({ serialHex, notBefore, notAfter, spki, commonName, dnsNames: [commonName] });
          expect((await fast(c)).toString('hex')).toBe((await reference(c)).toString('hex'));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses a subject key that is not a DER SubjectPublicKeyInfo with PCERT_KEY_INVALID', async () => {
    const good = deviceRsaSpki;
    const indefinite = Buffer.concat([Buffer.from([0x30, 0x80]), good.subarray(4), Buffer.from([0, 0])]);
    // The BIT STRING's unused-bits octet sits right after its header, 19 octets before the key.
    const bitsAt = good.indexOf(Buffer.from('0382010f00', 'hex'));
    expect(bitsAt).toBeGreaterThan(0);
    const unusedBits = Buffer.from(good);
    unusedBits[bitsAt + 4] = 1;
    const noOid = Buffer.from(good);
    noOid[6] = 0x04;
    // rsaEncryption's OID content is octets 8..16: a subidentifier may not start with 0x80 nor
    // the last one be left open (X.690 §8.19.2).
    expect(good.subarray(6, 17).toString('hex')).toBe('06092a864886f70d010101');
    const oidPadded = Buffer.from(good);
    oidPadded[9] = 0x80;
    const oidOpen = Buffer.from(good);
    oidOpen[16] = 0x81;
    // id-ecPublicKey with the P-256 curve OID as parameters: 3059 3013 0607<ecPublicKey>
    // 0608<prime256v1> 0342…; the parameters must be DER too (found by the property below).
    expect(deviceSpki.subarray(0, 26).toString('hex')).toBe(
      '3059301306072a8648ce3d020106082a8648ce3d030107034200',
    );
    const ecWith = (at: number, octet: number) => {
      const b = Buffer.from(deviceSpki);
      b[at] = octet;
      return b;
    };
    // The algorithm OID's length swallows the curve OID's header, leaving `03 01 07`: an empty
    // BIT STRING claiming 7 unused bits (X.690 §8.6.2.3).
    const emptyBitsParams = ecWith(5, 0x0e);
    const curvePadded = ecWith(16, 0x80);
    const bad: Array<[string, Uint8Array]> = [
      ['EC parameters: empty BIT STRING with unused bits', emptyBitsParams],
      ['EC parameters: curve OID subidentifier starting 0x80', curvePadded],
      ['EC parameters: a UTF8String, not an OID', ecWith(13, 0x0c)],
      ['EC parameters: INTEGER not minimal', spkiWithParams('02020001')],
      ['EC parameters: BOOLEAN neither 00 nor FF', spkiWithParams('010101')],
      ['EC parameters: SEQUENCE holding a bad OID', spkiWithParams('3003060180')],
      ['empty', new Uint8Array(0)],
      ['text', Buffer.from('-----BEGIN PUBLIC KEY-----')],
      ['trailing octet', Buffer.concat([good, Buffer.from([0])])],
      ['BER indefinite length', indefinite],
      ['unused bits in the key', unusedBits],
      ['algorithm without an OID', noOid],
      ['OID subidentifier starting 0x80', oidPadded],
      ['OID ending mid-subidentifier', oidOpen],
      ['a private key (PKCS#8)', createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'der' })],
      ['a certificate', Buffer.from(ca.certificate.rawData)],
      ['not bytes', 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A' as unknown as Uint8Array],
      ...Array.from({ length: good.length }, (_, n): [string, Uint8Array] => [
        `cut at ${n}`,
        good.subarray(0, n),
      ]),
    ];
    for (const [what, spki] of bad) {
      const err = await fast(spec({ spki })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(ProvisioningCertError);
      expect((err as ProvisioningCertError).code, what).toBe('PCERT_KEY_INVALID');
    }
  });

  it('takes DER parameters of the shapes real keys carry (NULL, OID, SEQUENCE, INTEGER, BOOLEAN, tagged)', async () => {
    for (const params of [
      '0500',
      '06082a8648ce3d030107',
      '3006020100020180',
      '0101ff',
      '3005a003020114',
      '800100',
    ]) {
      const der = await fast(spec({ spki: spkiWithParams(params) }));
      expect(der.includes(spkiWithParams(params)), params).toBe(true);
    }
  });

  it('gives any bytes as subject key a certificate or PCERT_KEY_INVALID, nothing else', async () => {
    const caPublic = createPublicKey(createPrivateKey(ca.keyPem));
    let issued = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 80 }),
          // Flip one octet of a real key: often still a well-formed SPKI at the DER level.
          fc.tuple(fc.nat(deviceSpki.length - 1), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
            const b = Buffer.from(deviceSpki);
            b[at] = (b[at] as number) ^ x;
            return b;
          }),
        ),
        async (spki) => {
          const c = spec({ spki });
          const out = await fast(c).then(
            (der) => der,
            (e: unknown) => e,
          );
          if (!Buffer.isBuffer(out)) {
            expect(out).toBeInstanceOf(ProvisioningCertError);
            expect((out as ProvisioningCertError).code).toBe('PCERT_KEY_INVALID');
            return;
          }
          issued++;
          // Embedded verbatim, the TBS signed by the CA, and what the generator makes when it
          // takes the key too (it decodes the key, OpenSSL need not).
          expect(out.includes(Buffer.from(spki))).toBe(true);
          const cert = readElement(out, 0);
          const tbs = readElement(out, cert.contentStart, cert.end);
          const sigAlg = readElement(out, tbs.end, cert.end);
          const sig = readElement(out, sigAlg.end, cert.end);
          expect(
            verify(
              'sha256',
              out.subarray(tbs.start, tbs.end),
              caPublic,
              out.subarray(sig.contentStart + 1, sig.end),
            ),
          ).toBe(true);
          const ref = await reference(c).then(
            (der) => der.toString('hex'),
            () => undefined,
          );
          if (ref !== undefined) expect(out.toString('hex')).toBe(ref);
        },
      ),
      { numRuns: 100 },
    );
    expect(issued).toBeGreaterThan(0);
  });

  it('refuses serials and dates it cannot encode with PCERT_OPTION_INVALID', async () => {
    const bad: Array<[string, Partial<LeafSpec>]> = [
      ['empty serial', { serialHex: '' }],
      ['zero serial', { serialHex: '0000' }],
      ['odd hex digits', { serialHex: '401' }],
      ['not hex', { serialHex: '40zz' }],
      ['21-octet serial', { serialHex: '7f'.repeat(21) }],
      ['20 octets plus a sign octet', { serialHex: 'ff'.repeat(20) }],
      ['before 1950 (no UTCTime)', { notBefore: new Date('1949-12-31T23:59:59Z') }],
      ['after 9999', { notAfter: new Date(Date.UTC(10_000, 0, 1)) }],
      ['invalid date', { notAfter: new Date(Number.NaN) }],
    ];
    for (const [what, over] of bad) {
      const err = await fast(spec(over)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(ProvisioningCertError);
      expect((err as ProvisioningCertError).code, what).toBe('PCERT_OPTION_INVALID');
    }
  });

  it('is used only for RSA CA keys', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    expect(createLeafIssuer({ certificate: ca.certificate, key: ec })).toBeUndefined();
  });
});

describe('CertificateAuthority.issue output', () => {
  it('pins the extensions, key identifiers and serial numbers', async () => {
    const caCert = new X509Certificate(ca.certPem);
    const caSki = caCert.getExtension(SubjectKeyIdentifierExtension)?.keyId;
    expect(caSki).toMatch(/^[0-9a-f]{40}$/);
    const devicePem = createPublicKey({ key: deviceRsaSpki, format: 'der', type: 'spki' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const serials = new Set<string>();
    const n = 12;
    for (let i = 0; i < n; i++) {
      const out = await ca.issue({ commonName: `amt-${i}.corp.example.com`, publicKey: devicePem });
      const cert = out.certificate;
      expect(Buffer.from(cert.rawData).equals(out.der)).toBe(true);
      expect(cert.extensions.map((e) => [e.type, e.critical])).toEqual([
        ['2.5.29.19', true],
        ['2.5.29.15', true],
        ['2.5.29.14', false],
        ['2.5.29.35', false],
        ['2.5.29.37', false],
        ['2.5.29.17', false],
      ]);
      expect(cert.getExtension(AuthorityKeyIdentifierExtension)?.keyId).toBe(caSki);
      const node = new NodeX509(out.der);
      const bits = new X509Certificate(out.der).publicKey;
      const ski = cert.getExtension(SubjectKeyIdentifierExtension)?.keyId;
      expect(ski).toBe(Buffer.from(await bits.getKeyIdentifier()).toString('hex'));
      expect(ski).not.toBe(caSki);
      expect(cert.getExtension(SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
        { type: 'dns', value: `amt-${i}.corp.example.com` },
      ]);
      expect(node.issuer).toBe('CN=leaf spec CA');
      expect(node.checkIssued(new NodeX509(Buffer.from(ca.certificate.rawData)))).toBe(true);
      // 16 random bytes, positive, no leading zero octet.
      expect(node.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
      serials.add(node.serialNumber);
    }
    expect(serials.size).toBe(n);
  });
});
