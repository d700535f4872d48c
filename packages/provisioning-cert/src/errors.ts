/** Every code a `ProvisioningCertError` can carry; switch on it, never on the message. */
export type ProvisioningCertErrorCode =
  /** Text that should hold PEM blocks holds none, or a block is damaged. */
  | 'PCERT_PEM_INVALID'
  /** Bytes that should be a DER X.509 certificate do not parse as one. */
  | 'PCERT_CERT_INVALID'
  /** No certificate was given where at least one is needed. */
  | 'PCERT_CHAIN_EMPTY'
  /** The certificates do not form one chain (a stray certificate, two leaves, a gap). */
  | 'PCERT_CHAIN_UNLINKED'
  /** A private or public key does not parse, or is encrypted without a passphrase. */
  | 'PCERT_KEY_INVALID'
  /** The private key does not belong to the leaf certificate. */
  | 'PCERT_KEY_MISMATCH'
  /** The PKCS#12 bytes do not parse. */
  | 'PCERT_PFX_INVALID'
  /** The PKCS#12 integrity check or decryption failed: wrong password, or tampered file. */
  | 'PCERT_PFX_PASSWORD'
  /** The PKCS#12 file uses an algorithm this package cannot read (legacy RC2/3DES bags), or asks for too many KDF iterations. */
  | 'PCERT_PFX_UNSUPPORTED'
  /** A firmware version string or object is not `major.minor[.…]`. */
  | 'PCERT_FIRMWARE_INVALID'
  /** An option is malformed (DNS suffix, hash length, key size, date…). */
  | 'PCERT_OPTION_INVALID';

/** Base error of @oobkit/provisioning-cert: every error has a stable `code` to switch on. */
export class ProvisioningCertError extends Error {
  override readonly name: string = 'ProvisioningCertError';
  readonly code: ProvisioningCertErrorCode;
  /** Position (leaf = 0) of the certificate the error is about, when there is one. */
  readonly certificateIndex?: number;
  /** The algorithm OID the error is about (PCERT_PFX_UNSUPPORTED). */
  readonly oid?: string;

  constructor(
    code: ProvisioningCertErrorCode,
    message: string,
    options?: { cause?: unknown; certificateIndex?: number; oid?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options?.certificateIndex !== undefined) this.certificateIndex = options.certificateIndex;
    if (options?.oid !== undefined) this.oid = options.oid;
  }
}
