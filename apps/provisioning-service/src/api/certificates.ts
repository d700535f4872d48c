import { loadPemChain, loadPfx, thumbprintHex } from '@oobkit/provisioning-cert';
import { ApiError } from '../store/errors.js';
import type { StoredProvisioningCertificate } from '../store/types.js';
import type { CertificateBody } from './views.js';

/** The chain leaf → root with its key, and the root's thumbprints (what hellos carry). */
export async function parseCertificateBody(
  b: CertificateBody,
): Promise<Omit<StoredProvisioningCertificate, 'id' | 'createdAt'>> {
  const chain =
    'pfx' in b
      ? await loadPfx(decodeBase64(b.pfx), b.password)
      : loadPemChain(
          b.certPem,
          b.keyPem,
          b.keyPassphrase === undefined ? undefined : { keyPassphrase: b.keyPassphrase },
        );
  if (!chain.keyPem)
    throw new ApiError(400, 'API_INVALID_CERTIFICATE', 'the private key of the leaf is missing');
  const root = chain.certificates.at(-1);
  // AMT matches the hash of the root: a chain that stops below its root could never match.
  if (!root || root.subject !== root.issuer) {
    throw new ApiError(
      400,
      'API_INVALID_CERTIFICATE',
      'the chain must include its self-signed root certificate',
    );
  }
  return {
    name: b.name,
    certPem: chain.certPem,
    keyPem: chain.keyPem,
    rootHashes: {
      sha1: thumbprintHex(root, 'sha1'),
      sha256: thumbprintHex(root, 'sha256'),
      sha384: thumbprintHex(root, 'sha384'),
    },
    enabled: b.enabled ?? true,
  };
}

function decodeBase64(s: string): Buffer {
  const compact = s.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    throw new ApiError(400, 'API_INVALID_CERTIFICATE', 'pfx must be base64');
  }
  return Buffer.from(compact, 'base64');
}
