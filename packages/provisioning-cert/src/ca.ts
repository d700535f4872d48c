import { createPublicKey, type KeyObject, webcrypto } from 'node:crypto';
import { assertKeyMatchesLeaf, privateKeyFromPem } from './chain.js';
import { SERVER_AUTH_OID } from './constants.js';
import { ProvisioningCertError } from './errors.js';
import { certificateFacts } from './facts.js';
import { type IssueSpec, issueCertificate, serialNumber } from './issue.js';
import { checkKeyBits, freshRsaKeys, pkcs8Pem, type RsaKeySource } from './keys.js';
import { createLeafIssuer, type LeafIssuer } from './leaf.js';
import { decodePem, decodePemCertificates, encodePem } from './pem.js';
import { checkRsaPublicKey, pkcs1FromRsaSpki, rsaSpkiFromPkcs1 } from './rsa-spki.js';
import { X509Certificate } from './x509.js';

/** A certificate with its encodings (and its private key when this package generated it). */
export interface IssuedCertificate {
  certificate: X509Certificate;
  certPem: string;
  der: Buffer;
  /** PKCS#8 PEM; absent when the caller supplied the public key. */
  keyPem?: string;
}

export interface IssueCertificateOptions {
  commonName: string;
  /** SAN dNSNames; default `[commonName]` when it is a DNS name. */
  dnsNames?: readonly string[];
  /** The subject's key (a WebCrypto public key or PEM SPKI); absent: a key is generated. */
  publicKey?: webcrypto.CryptoKey | string;
  /** Size of a generated key (default 2048). */
  keyBits?: number;
  /** Validity in days (default 365). */
  days?: number;
  /** EKU OIDs (default serverAuth). */
  extendedKeyUsages?: readonly string[];
}

export interface CertificateAuthority {
  certificate: X509Certificate;
  certPem: string;
  /** The CA's private key, PKCS#8 PEM. Keep it secret. */
  keyPem: string;
  /** Issues an end-entity certificate (e.g. the TLS certificate an AMT device gets in stage 1). */
  issue(opts: IssueCertificateOptions): Promise<IssuedCertificate>;
}

const DAY = 86_400_000;
// Devices are provisioned before their clock is set: back-date a little.
const BACKDATE = 3_600_000;
const DNS_NAME =
  /^(?:\*\.)?(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

function checkCommonName(cn: unknown): string {
  if (typeof cn !== 'string' || cn.length === 0 || cn.length > 64) {
    throw new ProvisioningCertError('PCERT_OPTION_INVALID', 'commonName must be 1 to 64 characters');
  }
  return cn;
}

function checkDays(days: unknown, fallback: number): number {
  const d = days ?? fallback;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > 36_500) {
    throw new ProvisioningCertError('PCERT_OPTION_INVALID', 'days must be an integer from 1 to 36500');
  }
  return d;
}

/**
 * SPKI DER from a PEM public key. OpenSSL's PEM reader tries decoder after decoder (~0.35 ms for
 * an RSA key) and its SPKI import/export cost ~0.3 ms more; an RSA key (`PUBLIC KEY` or PKCS#1
 * `RSA PUBLIC KEY`) is read here and only its PKCS#1 part checked by OpenSSL (~8 µs). Other PEM
 * (another algorithm, a certificate, a private key) still goes through OpenSSL's reader.
 */
function spkiFromPem(pem: string): Buffer {
  const blocks = decodePem(pem);
  const only = blocks.length === 1 ? blocks[0] : undefined;
  if (only?.label === 'RSA PUBLIC KEY') return rsaSpkiFromPkcs1(only.der);
  if (only?.label === 'PUBLIC KEY') {
    // An RSA key in canonical form is used as is once its PKCS#1 part checks out.
    const pkcs1 = pkcs1FromRsaSpki(only.der);
    if (pkcs1) {
      checkRsaPublicKey(pkcs1);
      return only.der;
    }
    return createPublicKey({ key: only.der, format: 'der', type: 'spki' }).export({
      type: 'spki',
      format: 'der',
    });
  }
  return createPublicKey(pem).export({ type: 'spki', format: 'der' });
}

async function subjectKeyOf(
  publicKey: webcrypto.CryptoKey | string | undefined,
  keyBits: number | undefined,
  keys: RsaKeySource,
): Promise<{ spki: Buffer; privateKey?: KeyObject }> {
  if (publicKey === undefined) {
    const privateKey = await keys.rsaKey(checkKeyBits(keyBits ?? 2048), 1);
    return { spki: createPublicKey(privateKey).export({ type: 'spki', format: 'der' }), privateKey };
  }
  try {
    if (typeof publicKey === 'string') return { spki: spkiFromPem(publicKey) };
    return { spki: Buffer.from(await webcrypto.subtle.exportKey('spki', publicKey)) };
  } catch (cause) {
    throw new ProvisioningCertError(
      'PCERT_KEY_INVALID',
      'publicKey is not an exportable public key or PEM SPKI',
      { cause },
    );
  }
}

function issued(certificate: X509Certificate, privateKey?: KeyObject): IssuedCertificate {
  const der = Buffer.from(new Uint8Array(certificate.rawData));
  return {
    certificate,
    der,
    certPem: encodePem(der),
    ...(privateKey ? { keyPem: pkcs8Pem(privateKey) } : {}),
  };
}

/** From DER; the parsed `certificate` (~1 ms of ASN.1) is built on first read only. */
function issuedFromDer(der: Buffer, privateKey?: KeyObject): IssuedCertificate {
  let certificate: X509Certificate | undefined;
  return {
    get certificate() {
      certificate ??= new X509Certificate(der);
      return certificate;
    },
    der,
    certPem: encodePem(der),
    ...(privateKey ? { keyPem: pkcs8Pem(privateKey) } : {}),
  };
}

function authority(certificate: X509Certificate, key: KeyObject, keys: RsaKeySource): CertificateAuthority {
  const der = Buffer.from(certificate.rawData);
  // Built on first issue, then reused: everything that depends only on the CA.
  let leafIssuer: LeafIssuer | undefined | null = null;
  return {
    certificate,
    certPem: encodePem(der),
    keyPem: pkcs8Pem(key),
    async issue(opts) {
      const commonName = checkCommonName(opts?.commonName);
      const days = checkDays(opts.days, 365);
      const dnsNames = opts.dnsNames ?? (DNS_NAME.test(commonName) ? [commonName] : []);
      const subjectKey = await subjectKeyOf(opts.publicKey, opts.keyBits, keys);
      const now = Date.now();
      const notBefore = new Date(now - BACKDATE);
      const notAfter = new Date(now + days * DAY);
      const extendedKeyUsages = opts.extendedKeyUsages ?? [SERVER_AUTH_OID];
      if (leafIssuer === null) leafIssuer = createLeafIssuer({ certificate, key });
      if (leafIssuer) {
        const leaf = await leafIssuer({
          commonName,
          spki: subjectKey.spki,
          notBefore,
          notAfter,
          extendedKeyUsages,
          dnsNames,
          serialHex: serialNumber(),
        });
        return issuedFromDer(leaf, subjectKey.privateKey);
      }
      const cert = await issueCertificate({
        subject: [{ CN: [commonName] }],
        subjectKey: subjectKey.spki,
        issuer: { certificate, key },
        hash: 'SHA-256',
        notBefore,
        notAfter,
        extendedKeyUsages,
        dnsNames,
      });
      return issued(cert, subjectKey.privateKey);
    },
  };
}

/** A self-signed SHA-256 certificate for `key`, backdated a little, valid `days`. */
function selfSigned(
  commonName: string,
  key: KeyObject,
  days: number,
  extra: Pick<IssueSpec, 'ca' | 'extendedKeyUsages' | 'dnsNames'>,
): Promise<X509Certificate> {
  const now = Date.now();
  return issueCertificate({
    subject: [{ CN: [commonName] }],
    subjectKey: key,
    selfKey: key,
    hash: 'SHA-256',
    notBefore: new Date(now - BACKDATE),
    notAfter: new Date(now + days * DAY),
    ...extra,
  });
}

/**
 * A small self-signed CA (RSA, SHA-256) — the built-in `CertificateAuthority` of the service, which
 * issues each AMT device its TLS server certificate.
 */
export async function createCertificateAuthority(opts?: {
  commonName?: string;
  keyBits?: number;
  days?: number;
  keys?: RsaKeySource;
}): Promise<CertificateAuthority> {
  const commonName = checkCommonName(opts?.commonName ?? 'oobkit AMT TLS CA');
  const days = checkDays(opts?.days, 3650);
  const keys = opts?.keys ?? freshRsaKeys;
  const key = await keys.rsaKey(checkKeyBits(opts?.keyBits ?? 2048), 0);
  const certificate = await selfSigned(commonName, key, days, { ca: true });
  return authority(certificate, key, keys);
}

/** Re-opens a CA from its certificate and PKCS#8 (or PKCS#1) key, e.g. after a restart. */
export function loadCertificateAuthority(certPem: string, keyPem: string): CertificateAuthority {
  const [der] = decodePemCertificates(certPem);
  const facts = certificateFacts(der as Buffer);
  if (facts.basicConstraintsCa !== true) {
    throw new ProvisioningCertError('PCERT_OPTION_INVALID', `${facts.subject} is not a CA certificate`);
  }
  const key = privateKeyFromPem(keyPem);
  assertKeyMatchesLeaf(key, facts);
  return authority(new X509Certificate(der as Buffer), key, freshRsaKeys);
}

/**
 * A self-signed end-entity certificate with a new key — what an AMT device presents on 16993
 * before provisioning (the service does not validate it).
 */
export async function createSelfSignedCertificate(opts: {
  commonName: string;
  dnsNames?: readonly string[];
  keyBits?: number;
  days?: number;
  keys?: RsaKeySource;
}): Promise<IssuedCertificate> {
  const commonName = checkCommonName(opts?.commonName);
  const days = checkDays(opts.days, 365);
  const key = await (opts.keys ?? freshRsaKeys).rsaKey(checkKeyBits(opts.keyBits ?? 2048), 0);
  const certificate = await selfSigned(commonName, key, days, {
    extendedKeyUsages: [SERVER_AUTH_OID],
    dnsNames: opts.dnsNames ?? (DNS_NAME.test(commonName) ? [commonName] : []),
  });
  return issued(certificate, key);
}
