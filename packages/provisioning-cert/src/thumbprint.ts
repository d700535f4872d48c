import { createHash } from 'node:crypto';
import { HASH_ALGORITHMS, type HashAlgorithm } from './constants.js';
import { ProvisioningCertError } from './errors.js';
import { decodePemCertificates } from './pem.js';
import { X509Certificate } from './x509.js';

export function assertHashAlgorithm(algorithm: unknown): asserts algorithm is HashAlgorithm {
  if (!HASH_ALGORITHMS.includes(algorithm as HashAlgorithm)) {
    throw new ProvisioningCertError(
      'PCERT_OPTION_INVALID',
      `hash algorithm must be one of ${HASH_ALGORITHMS.join(', ')}: ${JSON.stringify(String(algorithm).slice(0, 20))}`,
    );
  }
}

function derOf(cert: X509Certificate | Uint8Array | string): Uint8Array {
  if (typeof cert === 'string') {
    const certs = decodePemCertificates(cert);
    if (certs.length !== 1) {
      throw new ProvisioningCertError('PCERT_PEM_INVALID', `expected one certificate, found ${certs.length}`);
    }
    return certs[0] as Buffer;
  }
  if (cert instanceof Uint8Array) return cert;
  if (cert instanceof X509Certificate) return new Uint8Array(cert.rawData);
  const raw = (cert as { rawData?: unknown } | null)?.rawData;
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw);
  throw new ProvisioningCertError('PCERT_CERT_INVALID', 'not a certificate');
}

/** The certificate's thumbprint: `algorithm` over its DER bytes (what AMT stores and sends in hellos). */
export function thumbprint(cert: X509Certificate | Uint8Array | string, algorithm: HashAlgorithm): Buffer {
  assertHashAlgorithm(algorithm);
  return createHash(algorithm).update(derOf(cert)).digest();
}

/** `thumbprint` as lower-case hex. */
export function thumbprintHex(cert: X509Certificate | Uint8Array | string, algorithm: HashAlgorithm): string {
  return thumbprint(cert, algorithm).toString('hex');
}
