export {
  type CertificateAuthority,
  createCertificateAuthority,
  createSelfSignedCertificate,
  type IssueCertificateOptions,
  type IssuedCertificate,
  loadCertificateAuthority,
} from './ca.js';
export {
  chainFromPeerCertificate,
  loadPemChain,
  type PeerCertificateLike,
  type ProvisioningChain,
} from './chain.js';
export {
  AMT_PROVISIONING_OID,
  AMT_SETUP_OU,
  HASH_ALGORITHMS,
  HASH_LENGTHS,
  type HashAlgorithm,
  SERVER_AUTH_OID,
} from './constants.js';
export { ProvisioningCertError, type ProvisioningCertErrorCode } from './errors.js';
export type { CertificateInput } from './facts.js';
export {
  type FirmwareRules,
  type FirmwareVersion,
  firmwareRules,
  formatFirmwareVersion,
  parseFirmwareVersion,
  TLD_MATCH_DEPTH,
} from './firmware.js';
export {
  createRsaKeyCache,
  generateRsaKey,
  type RsaKeySource,
  type SignatureHash,
} from './keys.js';
export {
  matchServerName,
  type NameMatch,
  type NameMatchRule,
  type NameMismatchReason,
} from './names.js';
export { decodePem, encodePem, type PemBlock } from './pem.js';
export { type CreatePfxOptions, createPfx, loadPfx } from './pfx.js';
export { pkcs1FromRsaSpki, rsaSpkiFromPkcs1 } from './rsa-spki.js';
export {
  type ProvisioningSelection,
  type SelectionReason,
  type SelectionReasonCode,
  type SelectProvisioningCertificateOptions,
  selectProvisioningCertificate,
} from './select.js';
export {
  BROKEN_CHAIN_KINDS,
  type BrokenChainKind,
  createTestPki,
  type TestLeafOptions,
  type TestPki,
  type TestPkiCertificate,
  type TestPkiMarker,
  type TestPkiOptions,
} from './test-pki.js';
export { thumbprint, thumbprintHex } from './thumbprint.js';
export {
  type ChainFailure,
  type ChainFailureCode,
  type ChainValidation,
  type TrustedHash,
  type ValidateProvisioningChainOptions,
  validateProvisioningChain,
  validateProvisioningChainSync,
} from './validate.js';
export { X509Certificate } from './x509.js';
