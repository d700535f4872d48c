import type { StoredProvisioningCertificate } from '../store/types.js';

// Kept apart from certificates.ts so the CLI can use them without loading the certificate parser.

/** A certificate upload: a PEM chain with its key, or a PKCS#12 file (base64) with its password. */
export type CertificateBody =
  | { name: string; certPem: string; keyPem: string; keyPassphrase?: string; enabled?: boolean }
  | { name: string; pfx: string; password: string; enabled?: boolean };

/** What the API and the CLI show of a stored certificate: never the key. */
export function publicCertificate(c: StoredProvisioningCertificate) {
  return {
    id: c.id,
    name: c.name,
    certPem: c.certPem,
    rootHashes: c.rootHashes,
    enabled: c.enabled,
    createdAt: c.createdAt,
  };
}
