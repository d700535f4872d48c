import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  X509Certificate as NodeX509,
  sign,
} from 'node:crypto';
import { createCertificateAuthority, loadCertificateAuthority } from '@oobkit/provisioning-cert';
import { batchOf, type Comparison } from '../harness.js';

// The provisioning service's per-device certificate: CertificateAuthority.issue() with the key the
// device generated (PEM SPKI), against its floor — one RSA-2048 SHA-256 signature over a
// certificate-sized buffer with the same CA key (node:crypto, key pre-parsed), which no issuer can
// skip. The ratio is what building and encoding the certificate costs on top of the signature.

export async function comparisons(): Promise<Comparison[]> {
  const created = await createCertificateAuthority({ commonName: 'oobkit bench CA' });
  // The service re-opens its CA from disk after a restart: measure that object.
  const ca = loadCertificateAuthority(created.certPem, created.keyPem);
  const devicePem = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();
  const caKey = createPrivateKey(ca.keyPem);
  const caPublic = createPublicKey(caKey);
  let i = 0;
  const issue = () => ca.issue({ commonName: `amt-${i++ % 1000}.corp.example.com`, publicKey: devicePem });
  const sample = await issue();
  if (!new NodeX509(sample.der).verify(caPublic)) throw new Error('issued certificate does not verify');
  const tbsSized = Buffer.alloc(700, 0x5a);
  const floor = () => sign('sha256', tbsSized, caKey);
  return [
    {
      title: 'CertificateAuthority.issue (RSA-2048 CA, device PEM SPKI) vs one RSA-2048 SHA-256 signature',
      baseline: { name: 'node:crypto sign, 700 B (floor)', fn: floor },
      subject: await batchOf('ca.issue', issue),
      unit: 'cert',
    },
  ];
}
