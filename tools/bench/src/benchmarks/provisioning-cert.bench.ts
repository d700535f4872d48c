import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import {
  createRsaKeyCache,
  createTestPki,
  type ValidateProvisioningChainOptions,
  validateProvisioningChain,
} from '@oobkit/provisioning-cert';
import { type BenchCase, batchOf, type Comparison } from '../harness.js';

// The firmware-side check of a 3-certificate provisioning chain (leaf, intermediate, root) against
// its floor: the three RSA-2048 signature verifications alone (node:crypto, keys pre-parsed), which
// no implementation can skip. The ratio shows what the rules cost on top of the cryptography.

export async function comparisons(): Promise<Comparison[]> {
  const pki = await createTestPki({ serverFqdn: 'ps.corp.example.com', keys: createRsaKeyCache() });
  const opts: ValidateProvisioningChainOptions = {
    dnsSuffix: 'corp.example.com',
    trustedHashes: pki.trustedHashes,
    firmware: '16.1',
  };
  const ders = pki.chain.certificates.map((c) => Buffer.from(c.rawData));
  const natives = ders.map((d) => new NodeX509Certificate(d));
  const checks = natives.map((cert, i) => ({ cert, key: (natives[i + 1] ?? cert).publicKey }));
  const floor = () => {
    let ok = true;
    for (const { cert, key } of checks) ok = cert.verify(key) && ok;
    if (!ok) throw new Error('floor: a signature did not verify');
    return ok;
  };
  floor();
  for (const chain of [pki.chain, ders]) {
    const verdict = await validateProvisioningChain(chain, opts);
    if (!verdict.ok) throw new Error(`bench chain does not validate: ${JSON.stringify(verdict.failures)}`);
  }
  const baseline: BenchCase = { name: '3 signature verifications (floor)', fn: floor };
  return [
    {
      title: 'validateProvisioningChain, 3-cert chain as parsed ProvisioningChain vs its signature checks',
      baseline,
      subject: await batchOf('validateProvisioningChain', () => validateProvisioningChain(pki.chain, opts)),
      unit: 'chain',
    },
    {
      title:
        'validateProvisioningChain, 3-cert chain as DER from a TLS peer (parse cache warm) vs its signature checks',
      baseline,
      subject: await batchOf('validateProvisioningChain(DER)', () => validateProvisioningChain(ders, opts)),
      unit: 'chain',
    },
  ];
}
