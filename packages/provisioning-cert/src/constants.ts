/** The EKU OID that marks an AMT provisioning certificate. */
export const AMT_PROVISIONING_OID = '2.16.840.1.113741.1.2.3';
/** The subject OU that marks an AMT provisioning certificate instead of the OID (exact, case-sensitive). */
export const AMT_SETUP_OU = 'Intel(R) Client Setup Certificate';
/** TLS web server authentication, which the provisioning certificate's EKU must contain. */
export const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';

/** Thumbprint algorithms AMT knows for its trusted root hashes (hello entries 1, 2, 3). */
export type HashAlgorithm = 'sha1' | 'sha256' | 'sha384';
export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha1', 'sha256', 'sha384'];
/** Digest length in bytes of each thumbprint algorithm. */
export const HASH_LENGTHS: Readonly<Record<HashAlgorithm, number>> = { sha1: 20, sha256: 32, sha384: 48 };
