import { createHash, type KeyObject, sign, webcrypto } from 'node:crypto';
import {
  bitString,
  boolean,
  type Der,
  type DerElement,
  encode,
  explicit,
  implicit,
  integer,
  octetString,
  oid,
  readElement,
  sequence,
  set,
  TAG,
  time,
  tlv,
} from './der.js';
import { ProvisioningCertError } from './errors.js';
import { spkiDer } from './keys.js';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  type Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  type X509Certificate,
} from './x509.js';

/**
 * The CA's per-device path. `issueCertificate` (the @peculiar/x509 generator) re-imports the CA key,
 * rebuilds every extension and round-trips each through encode+parse, then parses the finished
 * certificate again: ~95% of an issue was ASN.1 bookkeeping, not the RSA signature. Here everything
 * that depends only on the CA (issuer name, AKI, the fixed extensions, signing key) is encoded once
 * per CA; per device the TBSCertificate is written directly as DER (der.ts) and signed with
 * node:crypto. The output is byte-for-byte what `issueCertificate` produces for the same serial and
 * times (pinned by leaf.spec.ts, including a differential property test).
 */

// RFC 4055 §5: sha256WithRSAEncryption, parameters NULL.
const SHA256_WITH_RSA = encode(sequence(oid('1.2.840.113549.1.1.11'), tlv(TAG.NULL)));
// RFC 5280 §4.1: [0] EXPLICIT Version v3(2).
const VERSION_V3 = encode(explicit(0, tlv(TAG.INTEGER, new Uint8Array([2]))));
const ID_AT_COMMON_NAME = oid('2.5.4.3');
// RFC 5280 §4.2.1.2 / §4.2.1.6.
const ID_CE_SUBJECT_KEY_IDENTIFIER = oid('2.5.29.14');
const ID_CE_SUBJECT_ALT_NAME = oid('2.5.29.17');
// GeneralName CHOICE tag of dNSName (RFC 5280 §4.2.1.6).
const DNS_NAME_TAG = 2;
const EKU_CACHE_MAX = 8;
// RFC 5280 §4.1.2.2: at most 20 octets.
const SERIAL_MAX_OCTETS = 20;
const SERIAL_HEX = /^(?:[0-9a-fA-F]{2})+$/;
// @peculiar/x509 `Name.isPrintableString`: what it encodes as PrintableString (else UTF8String).
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
// A lone surrogate has no UTF-8 form (with /u, a valid pair is one code point, not Cs).
const LONE_SURROGATE = /\p{Cs}/u;

export interface LeafSpec {
  commonName: string;
  /** Subject SPKI DER. */
  spki: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  extendedKeyUsages: readonly string[];
  dnsNames: readonly string[];
  /** Serial number, hex (positive, as `serialNumber()` makes). */
  serialHex: string;
}

export type LeafIssuer = (spec: LeafSpec) => Promise<Buffer>;

/** RFC 5280 §4.1 Extension: critical only when TRUE (DEFAULT FALSE is omitted in DER). */
function extension(id: Uint8Array, critical: boolean, value: Der): Der {
  return critical ? sequence(id, boolean(true), octetString(value)) : sequence(id, octetString(value));
}

/** An @peculiar/x509 extension's DER, for the parts encoded once per CA. */
function fromX509(ext: Extension): Buffer {
  return encode(extension(oid(ext.type), ext.critical, new Uint8Array(ext.value)));
}

/** X.690 §8.19.2: non-empty, the last octet ends a subidentifier, none starts with 0x80. */
function isOidContent(content: Uint8Array): boolean {
  if (content.length === 0 || (content[content.length - 1] as number) & 0x80) return false;
  for (let i = 0; i < content.length; i++) {
    if (content[i] === 0x80 && (i === 0 || !((content[i - 1] as number) & 0x80))) return false;
  }
  return true;
}

/**
 * Whether an element of the algorithm parameters is DER all the way down, for the types real
 * keys carry there (NULL for RSA, a curve OID for EC, SEQUENCEs of INTEGERs and OIDs, the
 * tagged fields of RSASSA-PSS). The key is embedded verbatim, so it must be what a decoder
 * re-encodes unchanged: an OID subidentifier starting 0x80 (X.690 §8.19.2), an empty BIT STRING
 * claiming unused bits (§8.6.2.3), a non-minimal INTEGER (§8.3.2) or a BOOLEAN other than
 * 00/FF (§11.1) is refused, as is any other universal type.
 */
function isDerValue(bytes: Uint8Array, el: DerElement, depth: number): boolean {
  const content = bytes.subarray(el.contentStart, el.end);
  if (el.tag & 0x20) {
    if (depth >= 8) return false;
    for (let at = el.contentStart; at < el.end; ) {
      const child = readElement(bytes, at, el.end);
      if (!isDerValue(bytes, child, depth + 1)) return false;
      at = child.end;
    }
    return true;
  }
  // Primitive context-specific (or application/private) values carry octets as they are.
  if (el.tag & 0xc0) return true;
  const [a = 0, b = 0] = content;
  switch (el.tag) {
    case TAG.NULL:
      return content.length === 0;
    case TAG.OID:
      return isOidContent(content);
    case TAG.BOOLEAN:
      return content.length === 1 && (a === 0 || a === 0xff);
    case TAG.INTEGER:
      return content.length === 1 || !((a === 0 && b < 0x80) || (a === 0xff && b >= 0x80));
    case TAG.BIT_STRING: {
      if (content.length === 0 || a > 7 || (content.length === 1 && a !== 0)) return false;
      return ((content[content.length - 1] as number) & ((1 << a) - 1)) === 0;
    }
    case TAG.OCTET_STRING:
      return true;
    default:
      return false;
  }
}

/**
 * The subjectPublicKey bits of a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), checked enough to
 * embed it verbatim: one SEQUENCE filling the input, an AlgorithmIdentifier (OID, at most one
 * parameters element, DER throughout), a BIT STRING of whole octets.
 */
function subjectPublicKeyOf(spki: Uint8Array): Uint8Array {
  try {
    if (!(spki instanceof Uint8Array)) throw new TypeError('spki is not bytes');
    const outer = readElement(spki, 0);
    if (outer.tag !== TAG.SEQUENCE || outer.end !== spki.length) throw new RangeError('not one SEQUENCE');
    const algorithm = readElement(spki, outer.contentStart, outer.end);
    if (algorithm.tag !== TAG.SEQUENCE) throw new RangeError('algorithm is not a SEQUENCE');
    const algorithmId = readElement(spki, algorithm.contentStart, algorithm.end);
    if (
      algorithmId.tag !== TAG.OID ||
      !isOidContent(spki.subarray(algorithmId.contentStart, algorithmId.end))
    ) {
      throw new RangeError('algorithm OID malformed');
    }
    if (algorithmId.end < algorithm.end) {
      const parameters = readElement(spki, algorithmId.end, algorithm.end);
      if (parameters.end !== algorithm.end || !isDerValue(spki, parameters, 0)) {
        throw new RangeError('algorithm parameters malformed');
      }
    }
    const key = readElement(spki, algorithm.end, outer.end);
    if (key.tag !== TAG.BIT_STRING || key.end !== outer.end || key.end === key.contentStart) {
      throw new RangeError('subjectPublicKey is not the last element, a BIT STRING');
    }
    if (spki[key.contentStart] !== 0) throw new RangeError('subjectPublicKey is not whole octets');
    return spki.subarray(key.contentStart + 1, key.end);
  } catch (cause) {
    throw new ProvisioningCertError('PCERT_KEY_INVALID', 'subject key is not a DER SubjectPublicKeyInfo', {
      cause,
    });
  }
}

function serialOf(hex: string): Der {
  const magnitude = typeof hex === 'string' && SERIAL_HEX.test(hex) ? Buffer.from(hex, 'hex') : undefined;
  if (!magnitude?.some((b) => b !== 0)) {
    throw new ProvisioningCertError(
      'PCERT_OPTION_INVALID',
      'serial number must be positive, in whole hex octets',
    );
  }
  const serial = integer(magnitude);
  if (serial.length > SERIAL_MAX_OCTETS) {
    throw new ProvisioningCertError('PCERT_OPTION_INVALID', 'serial number must be at most 20 octets');
  }
  return serial;
}

function certTime(date: Date, field: string): Der {
  try {
    return time(date);
  } catch (cause) {
    throw new ProvisioningCertError('PCERT_OPTION_INVALID', `${field} must be a date from 1950 to 9999`, {
      cause,
    });
  }
}

/**
 * Subject `CN=<commonName>`, encoded the way @peculiar/x509's `Name` encodes `[{ CN: [cn] }]`:
 * PrintableString when every character is in its printable set, UTF8String otherwise. `Name` gives
 * a leading '#' (hex DER), '"' (quoting) and '\' (escapes) a meaning, and refuses lone surrogates;
 * such names (never a device's) go through `Name` itself, so bytes and errors stay identical.
 */
function subjectOf(commonName: string): Der {
  if (
    typeof commonName !== 'string' ||
    commonName.startsWith('#') ||
    commonName.includes('"') ||
    commonName.includes('\\') ||
    LONE_SURROGATE.test(commonName)
  ) {
    return new Uint8Array(new Name([{ CN: [commonName] }]).toArrayBuffer());
  }
  const value = PRINTABLE.test(commonName)
    ? tlv(TAG.PRINTABLE_STRING, Buffer.from(commonName, 'latin1'))
    : tlv(TAG.UTF8_STRING, Buffer.from(commonName, 'utf8'));
  return sequence(set(sequence(ID_AT_COMMON_NAME, value)));
}

function signAsync(data: Uint8Array, key: KeyObject): Promise<Buffer> {
  // The callback form runs the RSA operation on libuv's pool, like WebCrypto, off the event loop.
  return new Promise((resolve, reject) => {
    sign('sha256', data, key, (err, sig) => (err ? reject(err) : resolve(sig)));
  });
}

/**
 * A fast SHA-256 issuer for `key` (an RSA private key, PKCS#1 v1.5), or undefined for other key
 * types (the caller then keeps the generic generator and its errors).
 */
export function createLeafIssuer(issuer: {
  certificate: X509Certificate;
  key: KeyObject;
}): LeafIssuer | undefined {
  if (issuer.key.asymmetricKeyType !== 'rsa' || issuer.key.type !== 'private') return undefined;
  const key = issuer.key;
  // Same encoding the generator uses for `issuer: certificate.subjectName`.
  const issuerName = new Uint8Array(issuer.certificate.subjectName.toArrayBuffer());
  const constant = (async () => {
    const aki = await AuthorityKeyIdentifierExtension.create(spkiDer(key), false, webcrypto);
    return {
      basicConstraints: fromX509(new BasicConstraintsExtension(false, undefined, true)),
      keyUsage: fromX509(
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment, true),
      ),
      aki: fromX509(aki),
    };
  })();
  // The EKU value comes from @peculiar/x509 (its OID parsing, quirks included); a handful of
  // lists are in use at a time, so each is encoded once.
  const ekus = new Map<string, Buffer>();
  const ekuExtension = (oids: readonly string[]): Buffer => {
    const id = JSON.stringify(oids);
    let ext = ekus.get(id);
    if (!ext) {
      ext = fromX509(new ExtendedKeyUsageExtension([...oids]));
      if (ekus.size >= EKU_CACHE_MAX) ekus.clear();
      ekus.set(id, ext);
    }
    return ext;
  };

  return async (spec) => {
    const fixed = await constant;
    // Everything is checked and encoded before the signature: bad input signs nothing.
    const subjectPublicKey = subjectPublicKeyOf(spec.spki);
    // RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's bytes, as the
    // @peculiar/x509 SubjectKeyIdentifierExtension computes it.
    const keyId = createHash('sha1').update(subjectPublicKey).digest();
    const extensions: Der[] = [
      fixed.basicConstraints,
      fixed.keyUsage,
      extension(ID_CE_SUBJECT_KEY_IDENTIFIER, false, octetString(keyId)),
      fixed.aki,
      // Like issueCertificate: an EKU extension whenever a list is given.
      ekuExtension(spec.extendedKeyUsages),
    ];
    if (spec.dnsNames.length) {
      // dNSName is an IA5String; asn1js (under the generator) keeps the low byte of each UTF-16
      // unit, as latin1 does, so even a non-ASCII name gets the generator's bytes.
      const names = spec.dnsNames.map((name) => implicit(DNS_NAME_TAG, Buffer.from(name, 'latin1')));
      extensions.push(extension(ID_CE_SUBJECT_ALT_NAME, false, sequence(...names)));
    }
    const tbs = encode(
      sequence(
        VERSION_V3,
        serialOf(spec.serialHex),
        SHA256_WITH_RSA,
        issuerName,
        sequence(certTime(spec.notBefore, 'notBefore'), certTime(spec.notAfter, 'notAfter')),
        subjectOf(spec.commonName),
        spec.spki,
        explicit(3, sequence(...extensions)),
      ),
    );
    const signature = await signAsync(tbs, key);
    return encode(sequence(tbs, SHA256_WITH_RSA, bitString(signature)));
  };
}
