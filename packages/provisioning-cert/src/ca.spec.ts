import { createPrivateKey, createPublicKey, X509Certificate as NodeX509, webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCertificateAuthority, createSelfSignedCertificate, loadCertificateAuthority } from './ca.js';
import { SERVER_AUTH_OID } from './constants.js';
import { createRsaKeyCache } from './keys.js';
import { encodePem } from './pem.js';
import { ExtendedKeyUsageExtension } from './x509.js';

const keys = createRsaKeyCache({ keysPerSize: 3 });

describe('certificate authority', () => {
  it('issues a serverAuth certificate for the device name, with a new key', async () => {
    const ca = await createCertificateAuthority({ commonName: 'oobkit test CA', keys });
    const cert = await ca.issue({ commonName: 'amt-0001.corp.example.com', days: 30 });
    const node = new NodeX509(cert.der);
    expect(node.verify(new NodeX509(Buffer.from(ca.certificate.rawData)).publicKey)).toBe(true);
    expect(node.subjectAltName).toBe('DNS:amt-0001.corp.example.com');
    expect(node.keyUsage).toEqual([SERVER_AUTH_OID]);
    expect(node.ca).toBe(false);
    expect(node.checkPrivateKey(createPrivateKey(cert.keyPem as string))).toBe(true);
    const days = (Date.parse(node.validTo) - Date.parse(node.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(30);
    expect(new NodeX509(Buffer.from(ca.certificate.rawData)).ca).toBe(true);
  });

  it('certifies a key the device generated (PEM SPKI or WebCrypto key), returning no key', async () => {
    const ca = await createCertificateAuthority({ keys });
    const pair = await webcrypto.subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
      true,
      ['sign', 'verify'],
    );
    const spkiPem = createPublicKey({
      key: Buffer.from(await webcrypto.subtle.exportKey('spki', pair.publicKey)),
      format: 'der',
      type: 'spki',
    })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const pkcs1Pem = createPublicKey(spkiPem).export({ type: 'pkcs1', format: 'pem' }).toString();
    // A certificate PEM carries the key too (read through OpenSSL's own PEM reader).
    const carrier = await ca.issue({ commonName: 'carrier', publicKey: spkiPem });
    for (const publicKey of [pair.publicKey, spkiPem, pkcs1Pem, carrier.certPem]) {
      const cert = await ca.issue({
        commonName: 'AMT device 42',
        publicKey,
        extendedKeyUsages: [SERVER_AUTH_OID, '1.3.6.1.5.5.7.3.2'],
      });
      expect(cert.keyPem).toBeUndefined();
      expect(new NodeX509(cert.der).publicKey.export({ type: 'spki', format: 'pem' })).toBe(spkiPem);
      expect(cert.certificate.getExtension(ExtendedKeyUsageExtension)?.usages).toHaveLength(2);
      // "AMT device 42" is not a DNS name: no SAN.
      expect(new NodeX509(cert.der).subjectAltName).toBeUndefined();
    }
    const junk = encodePem(Buffer.from('3003020101', 'hex'), 'PUBLIC KEY');
    for (const bad of ['not a key', junk]) {
      await expect(ca.issue({ commonName: 'x', publicKey: bad })).rejects.toMatchObject({
        code: 'PCERT_KEY_INVALID',
      });
    }
    await expect(ca.issue({ commonName: '' })).rejects.toMatchObject({ code: 'PCERT_OPTION_INVALID' });
    await expect(ca.issue({ commonName: 'x', days: 0 })).rejects.toMatchObject({
      code: 'PCERT_OPTION_INVALID',
    });
  });

  it('re-opens from its PEM files and keeps issuing under the same certificate', async () => {
    const ca = await createCertificateAuthority({ keys });
    const again = loadCertificateAuthority(ca.certPem, ca.keyPem);
    expect(again.certPem).toBe(ca.certPem);
    const cert = await again.issue({ commonName: 'ps.example.com' });
    expect(new NodeX509(cert.der).checkIssued(new NodeX509(Buffer.from(ca.certificate.rawData)))).toBe(true);
    // 1024 bits: another key than the CA's 2048-bit one from the same cache.
    const leaf = await createSelfSignedCertificate({
      commonName: 'not-a-ca.example.com',
      keyBits: 1024,
      keys,
    });
    expect(() => loadCertificateAuthority(leaf.certPem, leaf.keyPem as string)).toThrowError(
      expect.objectContaining({ code: 'PCERT_OPTION_INVALID' }),
    );
    expect(() => loadCertificateAuthority(ca.certPem, leaf.keyPem as string)).toThrowError(
      expect.objectContaining({ code: 'PCERT_KEY_MISMATCH' }),
    );
  });

  it('makes a self-signed device certificate with its key', async () => {
    const self = await createSelfSignedCertificate({
      commonName: 'Intel(R) AMT 11 device',
      keyBits: 1024,
      keys,
    });
    const node = new NodeX509(self.der);
    expect(node.verify(node.publicKey)).toBe(true);
    expect(node.subject).toBe('CN=Intel(R) AMT 11 device');
    expect(node.checkPrivateKey(createPrivateKey(self.keyPem as string))).toBe(true);
  });
});
