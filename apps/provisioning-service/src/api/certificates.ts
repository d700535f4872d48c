import {
  loadPemChain,
  loadPfx,
  ProvisioningCertError,
  selectProvisioningCertificate,
  thumbprint,
  thumbprintHex,
} from '@oobkit/provisioning-cert';
import { ApiError } from '../store/errors.js';
import type { StoredProvisioningCertificate } from '../store/types.js';
import type { CertificateBody } from './views.js';

/**
 * The chain leaf → root with its key, and the root's thumbprints (what hellos carry). Refused
 * (`API_INVALID_CERTIFICATE`, the package's or the rule's code in `details.code`, on the data
 * folder as over the API): no key, no self-signed root, or a chain no device could accept (no AMT
 * provisioning OID or OU on the leaf, no server-authentication use, expired). A chain not valid
 * yet is accepted: a renewal is added ahead of its start.
 */
export async function parseCertificateBody(
  b: CertificateBody,
  now: Date = new Date(),
): Promise<Omit<StoredProvisioningCertificate, 'id' | 'createdAt'>> {
  let chain: Awaited<ReturnType<typeof loadPfx>>;
  try {
    chain =
      'pfx' in b
        ? await loadPfx(decodeBase64(b.pfx), b.password)
        : loadPemChain(
            b.certPem,
            b.keyPem,
            b.keyPassphrase === undefined ? undefined : { keyPassphrase: b.keyPassphrase },
          );
  } catch (err) {
    if (err instanceof ProvisioningCertError) {
      throw new ApiError(400, 'API_INVALID_CERTIFICATE', err.message, { code: err.code }, { cause: err });
    }
    throw err;
  }
  if (!chain.keyPem)
    throw new ApiError(400, 'API_INVALID_CERTIFICATE', 'the private key of the leaf is missing');
  const root = chain.certificates.at(-1);
  // AMT matches the hash of the root: a chain that stops below its root could never match.
  if (!root || root.subject !== root.issuer) {
    throw new ApiError(
      400,
      'API_INVALID_CERTIFICATE',
      'the chain must include its self-signed root certificate',
      {
        code: 'CHAIN_NO_ROOT',
      },
    );
  }
  // The service's own selection rules, as for a hello carrying this root's hash; names are
  // checked per device later (the DNS suffix is the device's).
  const selection = selectProvisioningCertificate([chain], {
    helloHashes: [{ algorithm: 'sha256', hash: thumbprint(root, 'sha256') }],
    now,
  });
  const fatal = selection.ok ? [] : selection.reasons.filter((r) => r.code !== 'CERT_NOT_YET_VALID');
  if (fatal[0]) {
    throw new ApiError(
      400,
      'API_INVALID_CERTIFICATE',
      `no device would accept this chain: ${fatal.map((r) => r.message).join('; ')}`,
      { code: fatal[0].code, reasons: fatal.map((r) => r.code) },
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
