import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProvisioningCertError } from './errors.js';
import { createRsaKeyCache } from './keys.js';
import { createPfx, loadPfx } from './pfx.js';
import { createTestPki, type TestPki } from './test-pki.js';

const keys = createRsaKeyCache();
let pki: TestPki;

beforeAll(async () => {
  pki = await createTestPki({ serverFqdn: 'ps.oobkit.test', keys, pfxPassword: 'Pfx!Passw0rd' });
});

async function failure(p: Promise<unknown>): Promise<ProvisioningCertError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProvisioningCertError);
  return err as ProvisioningCertError;
}

describe('PKCS#12', () => {
  it('reads back the chain (leaf → root) and key it wrote', async () => {
    const chain = await loadPfx(pki.pfx, 'Pfx!Passw0rd');
    expect(chain.certPem).toBe(pki.chain.certPem);
    expect(chain.keyPem).toBe(pki.leaf.keyPem);
    expect(chain.certificates.map((c) => c.subject)).toEqual(pki.chain.certificates.map((c) => c.subject));
  });

  it('round-trips non-ASCII and empty passwords and other iteration counts', async () => {
    for (const [password, iterations] of [
      ['pässwörd ✓ 秘密', 1000],
      ['', 1],
    ] as const) {
      const pfx = await createPfx(pki.chain, password, { iterations });
      expect((await loadPfx(pfx, password)).keyPem).toBe(pki.leaf.keyPem);
    }
  });

  it('refuses a wrong password without naming it', async () => {
    const err = await failure(loadPfx(pki.pfx, 'Wrong!Passw0rd'));
    expect(err.code).toBe('PCERT_PFX_PASSWORD');
    expect(err.message).not.toContain('Wrong!');
    expect(err.message).not.toContain('Pfx!');
  });

  it('refuses bytes that are not a PFX', async () => {
    expect((await failure(loadPfx(Buffer.from('not a pfx'), 'x'))).code).toBe('PCERT_PFX_INVALID');
    expect((await failure(loadPfx('text' as never, 'x'))).code).toBe('PCERT_PFX_INVALID');
  });

  it('never loads different content from a PFX with a byte changed', async () => {
    // asn1js tolerates some wrong lengths on outer wrappers the MAC does not cover; whatever
    // loads must still be exactly what was written.
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: pki.pfx.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, xor) => {
          const bytes = Buffer.from(pki.pfx);
          bytes[at] = (bytes[at] ?? 0) ^ xor;
          const loaded = await loadPfx(bytes, 'Pfx!Passw0rd').then(
            (chain) => chain,
            (err: unknown) => err,
          );
          if (loaded instanceof ProvisioningCertError) {
            expect(['PCERT_PFX_INVALID', 'PCERT_PFX_PASSWORD', 'PCERT_PFX_UNSUPPORTED']).toContain(
              loaded.code,
            );
          } else {
            expect(loaded).toMatchObject({ certPem: pki.chain.certPem, keyPem: pki.leaf.keyPem });
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('throws only its own error on random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        const err = await failure(loadPfx(bytes, 'x'));
        expect(err.code).toMatch(/^PCERT_/);
      }),
      { numRuns: 200 },
    );
  });

  it('needs the leaf key to write a PFX', async () => {
    const { keyPem: _drop, ...noKey } = pki.chain;
    expect((await failure(createPfx(noKey, 'pw'))).code).toBe('PCERT_OPTION_INVALID');
    expect((await failure(createPfx({ ...pki.chain, keyPem: pki.root.keyPem }, 'pw'))).code).toBe(
      'PCERT_KEY_MISMATCH',
    );
    expect((await failure(createPfx(pki.chain, 'pw', { iterations: 0 }))).code).toBe('PCERT_OPTION_INVALID');
  });
});
