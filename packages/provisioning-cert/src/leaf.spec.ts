import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  X509Certificate as NodeX509,
} from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CertificateAuthority, createCertificateAuthority, loadCertificateAuthority } from './ca.js';
import { SERVER_AUTH_OID } from './constants.js';
import { issueCertificate, serialNumber } from './issue.js';
import { createRsaKeyCache, spkiDer } from './keys.js';
import { createLeafIssuer, type LeafIssuer, type LeafSpec } from './leaf.js';
import {
  AuthorityKeyIdentifierExtension,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
} from './x509.js';

const keys = createRsaKeyCache({ keysPerSize: 2 });
const deviceSpki = spkiDer(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);

let ca: CertificateAuthority;
let fast: LeafIssuer;
let deviceRsaSpki: Buffer;

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
    const cases: LeafSpec[] = [
      spec({}),
      spec({ dnsNames: [], extendedKeyUsages: [SERVER_AUTH_OID, '1.3.6.1.5.5.7.3.2'] }),
      spec({ dnsNames: ['a.example.com', '*.b.example.com', 'c'] }),
      // From 2050 on the validity switches to GeneralizedTime (RFC 5280 §4.1.2.5).
      spec({ notAfter: new Date(Date.UTC(2126, 5, 1, 0, 0, 0, 1)) }),
      // Not a PrintableString: the name goes out as UTF8String.
      spec({ commonName: 'AMT device_42 — café', dnsNames: [] }),
      // A non-RSA device key: the SKI hashes whatever the BIT STRING holds.
      spec({ spki: deviceSpki }),
    ];
    for (const c of cases) {
      const der = await fast(c);
      expect(der.toString('hex')).toBe((await reference(c)).toString('hex'));
      expect(new NodeX509(der).verify(new NodeX509(Buffer.from(ca.certificate.rawData)).publicKey)).toBe(
        true,
      );
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
