import { createHash, type KeyObject, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { AMT_SETUP_OU, type HashAlgorithm } from './constants.js';
import { ProvisioningCertError } from './errors.js';
import { decodePemCertificates } from './pem.js';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
} from './x509.js';

/** A certificate as callers hold it: a parsed @peculiar/x509 object, DER bytes, or PEM text. */
export type CertificateInput = X509Certificate | Uint8Array | string;

/** Everything the rules read from one certificate, parsed once. */
export interface CertFacts {
  readonly certificate: X509Certificate;
  readonly der: Buffer;
  /** node:crypto's parse of the same bytes: native signature checks and key details. */
  readonly native: NodeX509Certificate;
  readonly publicKey: KeyObject;
  readonly keyType: string;
  readonly keyBits: number | undefined;
  /** e.g. `sha256WithRSAEncryption`, or the algorithm name/OID when it is not RSA PKCS#1 v1.5. */
  readonly signatureName: string;
  /** The signature's hash when the algorithm is RSA PKCS#1 v1.5, else undefined. */
  readonly signatureHash: 'sha1' | 'sha256' | 'sha384' | 'sha512' | undefined;
  readonly subject: string;
  readonly subjectDer: string;
  readonly issuerDer: string;
  readonly notBefore: number;
  readonly notAfter: number;
  /** EKU OIDs, or null when the certificate has no EKU extension. */
  readonly extendedKeyUsages: readonly string[] | null;
  readonly organizationalUnits: readonly string[];
  readonly hasSetupOu: boolean;
  readonly commonNames: readonly string[];
  readonly dnsNames: readonly string[];
  /** basicConstraints cA, or undefined when the extension is absent. */
  readonly basicConstraintsCa: boolean | undefined;
  readonly hasExtensions: boolean;
  readonly subjectKeyId: string | undefined;
  readonly authorityKeyId: string | undefined;
  readonly selfIssued: boolean;
  /** Thumbprints computed so far. */
  readonly hashes: Partial<Record<HashAlgorithm, Buffer>>;
}

const HASH_OF: Record<string, CertFacts['signatureHash']> = {
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
};

function hex(buf: ArrayBuffer): string {
  return Buffer.from(buf).toString('hex');
}

function extension<T>(read: () => T | null): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

function buildFacts(certificate: X509Certificate, der: Buffer, sha256?: Buffer): CertFacts {
  const native = new NodeX509Certificate(der);
  const publicKey = native.publicKey;
  const sig = certificate.signatureAlgorithm as { name: string; hash?: { name?: string } };
  const hashName = sig.hash?.name ?? '';
  const signatureHash = sig.name === 'RSASSA-PKCS1-v1_5' ? HASH_OF[hashName] : undefined;
  const eku = extension(() => certificate.getExtension(ExtendedKeyUsageExtension));
  const san = extension(() => certificate.getExtension(SubjectAlternativeNameExtension));
  const bc = extension(() => certificate.getExtension(BasicConstraintsExtension));
  const ski = extension(() => certificate.getExtension(SubjectKeyIdentifierExtension));
  const aki = extension(() => certificate.getExtension(AuthorityKeyIdentifierExtension));
  const subjectDer = hex(certificate.subjectName.toArrayBuffer());
  const issuerDer = hex(certificate.issuerName.toArrayBuffer());
  const ous = certificate.subjectName.getField('OU');
  const dnsNames: string[] = [];
  if (san) {
    try {
      for (const n of san.names.items) if (n.type === 'dns') dnsNames.push(n.value);
    } catch {
      // A SAN entry @peculiar/x509 cannot decode (odd otherName) leaves only the CN to match.
    }
  }
  return {
    certificate,
    der,
    native,
    publicKey,
    keyType: publicKey.asymmetricKeyType ?? 'unknown',
    keyBits: publicKey.asymmetricKeyDetails?.modulusLength,
    signatureName: signatureHash
      ? `${signatureHash}WithRSAEncryption`
      : hashName
        ? `${sig.name}/${hashName}`
        : sig.name,
    signatureHash,
    subject: certificate.subject,
    subjectDer,
    issuerDer,
    notBefore: certificate.notBefore.getTime(),
    notAfter: certificate.notAfter.getTime(),
    extendedKeyUsages: eku ? eku.usages.map(String) : null,
    organizationalUnits: ous,
    hasSetupOu: ous.includes(AMT_SETUP_OU),
    commonNames: certificate.subjectName.getField('CN'),
    dnsNames,
    basicConstraintsCa: bc ? bc.ca : undefined,
    hasExtensions: certificate.extensions.length > 0,
    subjectKeyId: ski?.keyId,
    authorityKeyId: aki?.keyId,
    selfIssued: subjectDer === issuerDer,
    hashes: sha256 ? { sha256 } : {},
  };
}

// Facts depend only on the bytes, so they are cached: by object for parsed certificates, and by
// SHA-256 of the DER (bounded, least recently used) for bytes, because a device simulator sees
// the same provisioning chain in every handshake. Verdicts are never cached.
const byObject = new WeakMap<object, CertFacts>();
const byDigest = new Map<string, CertFacts>();
const DIGEST_CACHE_SIZE = 256;

function fromDer(der: Buffer, index: number): CertFacts {
  const sha256 = createHash('sha256').update(der).digest();
  const key = sha256.toString('base64');
  const hit = byDigest.get(key);
  if (hit) {
    byDigest.delete(key);
    byDigest.set(key, hit);
    return hit;
  }
  let facts: CertFacts;
  try {
    facts = buildFacts(new X509Certificate(der), der, sha256);
  } catch (cause) {
    throw new ProvisioningCertError(
      'PCERT_CERT_INVALID',
      `certificate ${index} is not a DER X.509 certificate`,
      {
        cause,
        certificateIndex: index,
      },
    );
  }
  byDigest.set(key, facts);
  if (byDigest.size > DIGEST_CACHE_SIZE) {
    const oldest = byDigest.keys().next().value;
    if (oldest !== undefined) byDigest.delete(oldest);
  }
  return facts;
}

function isPeculiarCertificate(value: unknown): value is X509Certificate {
  return value instanceof X509Certificate;
}

/** Parsed facts of one certificate; `index` only labels errors. */
export function certificateFacts(input: X509Certificate | Uint8Array, index = 0): CertFacts {
  if (isPeculiarCertificate(input)) {
    const hit = byObject.get(input);
    if (hit) return hit;
    let facts: CertFacts;
    try {
      facts = buildFacts(input, Buffer.from(new Uint8Array(input.rawData)));
    } catch (cause) {
      throw new ProvisioningCertError('PCERT_CERT_INVALID', `certificate ${index} cannot be read`, {
        cause,
        certificateIndex: index,
      });
    }
    byObject.set(input, facts);
    return facts;
  }
  if (input instanceof Uint8Array) {
    // A private copy: the caller may reuse its buffer, the cache must not change with it.
    return fromDer(Buffer.from(input), index);
  }
  // Another copy of @peculiar/x509 (duplicate install): fall back to its DER bytes.
  const raw = (input as { rawData?: unknown } | null)?.rawData;
  if (raw instanceof ArrayBuffer) return fromDer(Buffer.from(new Uint8Array(raw)), index);
  throw new ProvisioningCertError('PCERT_CERT_INVALID', `certificate ${index} is not a certificate`, {
    certificateIndex: index,
  });
}

/** Facts of every certificate in `inputs`, PEM strings expanded in place (one string may hold several). */
export function chainFacts(inputs: readonly CertificateInput[]): CertFacts[] {
  const out: CertFacts[] = [];
  for (const input of inputs) {
    if (typeof input === 'string') {
      for (const der of decodePemCertificates(input)) out.push(certificateFacts(der, out.length));
    } else {
      out.push(certificateFacts(input, out.length));
    }
  }
  return out;
}

/** Thumbprint of the certificate's DER, memoized on its facts. */
export function factsThumbprint(facts: CertFacts, algorithm: HashAlgorithm): Buffer {
  const cached = facts.hashes[algorithm];
  if (cached) return cached;
  const digest = createHash(algorithm).update(facts.der).digest();
  (facts.hashes as Partial<Record<HashAlgorithm, Buffer>>)[algorithm] = digest;
  return digest;
}

/** Whether `child` names `parent` as its issuer (names equal; key ids equal when both present). */
export function namesIssuer(child: CertFacts, parent: CertFacts): boolean {
  if (child.issuerDer !== parent.subjectDer) return false;
  if (child.authorityKeyId && parent.subjectKeyId && child.authorityKeyId !== parent.subjectKeyId)
    return false;
  return true;
}

/** Whether `child`'s signature verifies with `parent`'s public key. */
export function signedBy(child: CertFacts, parent: CertFacts): boolean {
  try {
    return child.native.verify(parent.publicKey);
  } catch {
    return false;
  }
}
