import { createPrivateKey, X509Certificate as NodeX509 } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { chainFromPeerCertificate, loadPemChain, type PeerCertificateLike } from './chain.js';
import type { ProvisioningCertError } from './errors.js';
import { createRsaKeyCache } from './keys.js';
import { encodePem } from './pem.js';
import { createTestPki, type TestPki } from './test-pki.js';
import { thumbprint, thumbprintHex } from './thumbprint.js';

const keys = createRsaKeyCache({ keysPerSize: 5 });
let pki: TestPki;
let deep: TestPki;

beforeAll(async () => {
  pki = await createTestPki({ serverFqdn: 'ps.oobkit.test', keys });
  deep = await createTestPki({ serverFqdn: 'ps.oobkit.test', keys, intermediates: 3 });
});

function subjects(chain: { certificates: { subject: string }[] }): string[] {
  return chain.certificates.map((c) => c.subject);
}

describe('loadPemChain', () => {
  it('orders any permutation of a chain leaf → root', () => {
    const pems = [deep.leaf.pem, ...deep.intermediates.map((c) => c.pem), deep.root.pem];
    const expected = subjects(deep.chain);
    fc.assert(
      fc.property(
        fc.shuffledSubarray(pems, { minLength: pems.length, maxLength: pems.length }),
        (shuffled) => {
          const chain = loadPemChain(shuffled.join('\n'));
          expect(subjects(chain)).toEqual(expected);
          expect(chain.certPem).toBe(deep.chain.certPem);
          expect(chain.keyPem).toBeUndefined();
        },
      ),
      { numRuns: 30 },
    );
  });

  it('keeps the key, as PKCS#8, also when given as PKCS#1', () => {
    const pkcs1 = createPrivateKey(pki.leaf.keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
    const chain = loadPemChain(pki.chain.certPem, pkcs1);
    expect(chain.keyPem).toContain('-----BEGIN PRIVATE KEY-----');
    expect(createPrivateKey(chain.keyPem as string).export({ type: 'pkcs8', format: 'pem' })).toBe(
      pki.leaf.keyPem,
    );
  });

  it('reads an encrypted key with its passphrase, and never echoes it when wrong', () => {
    const encrypted = createPrivateKey(pki.leaf.keyPem)
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'S3cret!pass' })
      .toString();
    expect(loadPemChain(pki.chain.certPem, encrypted, { keyPassphrase: 'S3cret!pass' }).keyPem).toBe(
      pki.leaf.keyPem,
    );
    for (const keyPassphrase of [undefined, 'Wr0ng!pass']) {
      const err = (() => {
        try {
          loadPemChain(
            pki.chain.certPem,
            encrypted,
            keyPassphrase === undefined ? undefined : { keyPassphrase },
          );
        } catch (e) {
          return e as ProvisioningCertError;
        }
      })();
      expect(err?.code).toBe('PCERT_KEY_INVALID');
      expect(err?.message).not.toContain('Wr0ng');
      expect(err?.message).not.toContain('S3cret');
    }
  });

  it('drops duplicates and accepts a chain without its root', () => {
    const chain = loadPemChain(pki.leaf.pem + pki.leaf.pem + (pki.intermediates[0]?.pem ?? ''));
    expect(chain.certificates).toHaveLength(2);
    expect(chain.certificates[0]?.subject).toBe(pki.leaf.certificate.subject);
  });

  it.each([
    [
      'a certificate that is not on the chain',
      () => pki.chain.certPem + deep.intermediates[1]?.pem,
      'PCERT_CHAIN_UNLINKED',
    ],
    ['two leaves', () => pki.leaf.pem + deep.leaf.pem, 'PCERT_CHAIN_UNLINKED'],
    ['a gap (intermediate missing)', () => pki.leaf.pem + pki.root.pem, 'PCERT_CHAIN_UNLINKED'],
    ['no certificate', () => 'nothing here', 'PCERT_PEM_INVALID'],
    ['a block that is not a certificate', () => encodePem(Buffer.from('garbage')), 'PCERT_CERT_INVALID'],
  ])('refuses %s', (_name, text, code) => {
    expect(() => loadPemChain(text())).toThrowError(expect.objectContaining({ code }));
  });

  it('refuses the key of another certificate', () => {
    expect(() => loadPemChain(pki.chain.certPem, pki.root.keyPem)).toThrowError(
      expect.objectContaining({ code: 'PCERT_KEY_MISMATCH', certificateIndex: 0 }),
    );
    expect(() => loadPemChain(pki.chain.certPem, 'not a key')).toThrowError(
      expect.objectContaining({ code: 'PCERT_KEY_INVALID' }),
    );
  });
});

describe('thumbprint', () => {
  it('agrees with the fingerprints node:crypto computes, for every input form', () => {
    const node = new NodeX509(pki.root.der);
    const hex = (fp: string) => fp.replace(/:/g, '').toLowerCase();
    for (const input of [pki.root.der, pki.root.pem, pki.root.certificate]) {
      expect(thumbprintHex(input, 'sha1')).toBe(hex(node.fingerprint));
      expect(thumbprintHex(input, 'sha256')).toBe(hex(node.fingerprint256));
      expect(thumbprint(input, 'sha384')).toHaveLength(48);
    }
    expect(pki.rootHashes.sha256.toString('hex')).toBe(hex(node.fingerprint256));
  });

  it('refuses unknown algorithms and PEM holding several certificates', () => {
    expect(() => thumbprint(pki.root.der, 'md5' as never)).toThrowError(
      expect.objectContaining({ code: 'PCERT_OPTION_INVALID' }),
    );
    expect(() => thumbprint(pki.chain.certPem, 'sha1')).toThrowError(
      expect.objectContaining({ code: 'PCERT_PEM_INVALID' }),
    );
  });
});

describe('chainFromPeerCertificate', () => {
  // The shape Node builds: each certificate links to its issuer, the root to itself.
  function peer(ders: Buffer[], selfLinkedRoot = true): PeerCertificateLike {
    const nodes: PeerCertificateLike[] = ders.map((raw) => ({ raw }));
    nodes.forEach((n, i) => {
      n.issuerCertificate = nodes[i + 1] ?? (selfLinkedRoot ? n : undefined);
    });
    return nodes[0] as PeerCertificateLike;
  }
  const ders = () => [pki.leaf.der, pki.intermediates[0]?.der as Buffer, pki.root.der];

  it('walks leaf → root and stops at the self-linked root', () => {
    expect(chainFromPeerCertificate(peer(ders())).map((d) => d.toString('hex'))).toEqual(
      ders().map((d) => d.toString('hex')),
    );
  });

  it('stops where the issuer link ends, and on a repeated certificate', () => {
    expect(chainFromPeerCertificate(peer(ders().slice(0, 2), false))).toHaveLength(2);
    const [a, b] = ders();
    const loop: PeerCertificateLike = { raw: a as Buffer };
    loop.issuerCertificate = { raw: b as Buffer, issuerCertificate: { raw: Buffer.from(b as Buffer) } };
    expect(chainFromPeerCertificate(loop)).toHaveLength(2);
  });

  it('returns nothing for no certificate', () => {
    expect(chainFromPeerCertificate(undefined)).toEqual([]);
    expect(chainFromPeerCertificate({})).toEqual([]);
    expect(chainFromPeerCertificate({ raw: Buffer.alloc(0) })).toEqual([]);
  });
});
