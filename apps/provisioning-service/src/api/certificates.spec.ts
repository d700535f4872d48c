import { createRsaKeyCache, createTestPki, type TestPki } from '@oobkit/provisioning-cert';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCertificateBody } from './certificates.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ serverFqdn: 'provisionserver.oobkit.test', keys: createRsaKeyCache() });
});

const body = (name: string, c: { certPem: string; keyPem?: string }) => ({
  name,
  certPem: c.certPem,
  keyPem: c.keyPem ?? '',
});

describe('parseCertificateBody', () => {
  it('accepts a provisioning chain with its key, giving the root hashes hellos carry', async () => {
    const c = await parseCertificateBody(body('site', pki.chain));
    expect(c).toMatchObject({ name: 'site', enabled: true, keyPem: expect.stringContaining('PRIVATE KEY') });
    expect(c.rootHashes.sha256).toBe(pki.rootHashes.sha256.toString('hex'));
  });

  it('refuses a chain no device would accept, naming the rule, on the data folder as over the API', async () => {
    for (const [kind, code] of [
      ['no-marker', 'LEAF_NO_AMT_MARKER'],
      ['ou-wrong-case', 'LEAF_NO_AMT_MARKER'],
      ['no-server-auth', 'LEAF_NO_SERVER_AUTH'],
      ['expired', 'CERT_EXPIRED'],
      ['missing-root', 'CHAIN_NO_ROOT'],
    ] as const) {
      const chain = await pki.broken(kind);
      await expect(parseCertificateBody(body(kind, chain)), kind).rejects.toMatchObject({
        code: 'API_INVALID_CERTIFICATE',
        status: 400,
        details: expect.objectContaining({ code }),
      });
    }
  });

  it('accepts a renewal that is not valid yet (added ahead of its start)', async () => {
    const chain = await pki.broken('not-yet-valid');
    await expect(parseCertificateBody(body('next year', chain))).resolves.toMatchObject({
      name: 'next year',
    });
  });

  it('reports the package’s refusals (a key of another certificate) under the same code', async () => {
    const other = await createTestPki({ serverFqdn: 'other.oobkit.test', keys: createRsaKeyCache() });
    await expect(
      parseCertificateBody({ name: 'x', certPem: pki.chain.certPem, keyPem: other.chain.keyPem ?? '' }),
    ).rejects.toMatchObject({ code: 'API_INVALID_CERTIFICATE', details: { code: 'PCERT_KEY_MISMATCH' } });
  });
});
