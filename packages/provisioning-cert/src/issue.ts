import { type KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { type SignatureHash, signingKey, spkiDer } from './keys.js';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  type Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  type Name,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  type X509Certificate,
  X509CertificateGenerator,
} from './x509.js';

/** One relative distinguished name per entry, e.g. `[{ O: ['oobkit'] }, { CN: ['ca'] }]`. */
export type NameSpec = Array<Record<string, string[]>>;

export interface IssueSpec {
  subject: NameSpec;
  /** The subject's public key: SPKI DER, or a private/public KeyObject. */
  subjectKey: KeyObject | Uint8Array;
  /** Absent: self-signed with `selfKey`. */
  issuer?: { certificate: X509Certificate; key: KeyObject };
  /** Private key that signs a self-signed certificate. */
  selfKey?: KeyObject;
  hash: SignatureHash;
  notBefore: Date;
  notAfter: Date;
  ca?: boolean;
  /** EKU OIDs; null or absent: no EKU extension. */
  extendedKeyUsages?: readonly string[] | null;
  dnsNames?: readonly string[];
  /** Hex; absent: random (tests pin it to compare encoders). */
  serialNumber?: string;
}

export function serialNumber(): string {
  const b = randomBytes(16);
  // Positive and full-length: DER INTEGER must not start with a sign bit.
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x40;
  return b.toString('hex');
}

/** Signs one certificate with @peculiar/x509 (node:crypto's WebCrypto). */
export async function issueCertificate(spec: IssueSpec): Promise<X509Certificate> {
  const subjectSpki = spec.subjectKey instanceof Uint8Array ? spec.subjectKey : spkiDer(spec.subjectKey);
  const signerKey = spec.issuer ? spec.issuer.key : spec.selfKey;
  if (!signerKey) throw new TypeError('issueCertificate needs issuer or selfKey');
  const issuerSpki = spec.issuer ? spkiDer(spec.issuer.key) : subjectSpki;
  const extensions: Extension[] = [
    new BasicConstraintsExtension(spec.ca === true, undefined, true),
    new KeyUsagesExtension(
      spec.ca
        ? KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign
        : KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment,
      true,
    ),
    await SubjectKeyIdentifierExtension.create(subjectSpki, false, webcrypto),
    await AuthorityKeyIdentifierExtension.create(issuerSpki, false, webcrypto),
  ];
  if (spec.extendedKeyUsages) extensions.push(new ExtendedKeyUsageExtension([...spec.extendedKeyUsages]));
  if (spec.dnsNames?.length) {
    extensions.push(
      new SubjectAlternativeNameExtension(spec.dnsNames.map((value) => ({ type: 'dns', value }))),
    );
  }
  const issuerName: Name | NameSpec = spec.issuer ? spec.issuer.certificate.subjectName : spec.subject;
  return X509CertificateGenerator.create(
    {
      serialNumber: spec.serialNumber ?? serialNumber(),
      subject: spec.subject,
      issuer: issuerName,
      notBefore: spec.notBefore,
      notAfter: spec.notAfter,
      publicKey: subjectSpki,
      signingKey: await signingKey(signerKey, spec.hash),
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: spec.hash },
      extensions,
    },
    webcrypto,
  );
}
