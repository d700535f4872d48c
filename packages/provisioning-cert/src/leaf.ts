import { createHash, type KeyObject, sign, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import {
  AlgorithmIdentifier,
  Certificate,
  GeneralName,
  GeneralNames,
  Extension as PkiExtension,
  PublicKeyInfo,
  RelativeDistinguishedNames,
  Time,
} from 'pkijs';
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
 * that depends only on the CA (issuer name, AKI, the fixed extensions, signing key) is built once
 * per CA; per device the TBS is assembled from pkijs objects, encoded once, signed with node:crypto.
 * The output is byte-for-byte what `issueCertificate` produces for the same serial and times
 * (pinned by leaf.spec.ts).
 */

// RFC 4055 §5: sha256WithRSAEncryption, parameters NULL.
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
// RFC 5280 §4.2.1.2 / §4.2.1.6.
const ID_CE_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
const ID_CE_SUBJECT_ALT_NAME = '2.5.29.17';
// GeneralName CHOICE index of dNSName (RFC 5280 §4.2.1.6).
const DNS_NAME_CHOICE = 2;
const EKU_CACHE_MAX = 8;

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

function pkiExtension(ext: Extension): PkiExtension {
  return new PkiExtension({ extnID: ext.type, critical: ext.critical, extnValue: ext.value });
}

function fromBer<T>(der: ArrayBuffer | Uint8Array, make: (schema: asn1js.AsnType) => T): T {
  const parsed = asn1js.fromBER(der);
  if (parsed.offset === -1) throw new TypeError(`cannot decode: ${parsed.result.error}`);
  return make(parsed.result);
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds. */
function certTime(date: Date): Time {
  const value = new Date(date.getTime());
  value.setUTCMilliseconds(0);
  return new Time({ type: value.getUTCFullYear() > 2049 ? 1 : 0, value });
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
  // Same encoding the generator uses for `issuer: certificate.subjectName`; parsed once, shared.
  const issuerName = fromBer(
    issuer.certificate.subjectName.toArrayBuffer(),
    (schema) => new RelativeDistinguishedNames({ schema }),
  );
  const algorithm = () =>
    new AlgorithmIdentifier({ algorithmId: SHA256_WITH_RSA, algorithmParams: new asn1js.Null() });
  const signatureAlgorithm = algorithm();
  const constant = (async () => {
    const aki = await AuthorityKeyIdentifierExtension.create(spkiDer(key), false, webcrypto);
    return {
      basicConstraints: pkiExtension(new BasicConstraintsExtension(false, undefined, true)),
      keyUsage: pkiExtension(
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment, true),
      ),
      aki: pkiExtension(aki),
    };
  })();
  const ekus = new Map<string, PkiExtension>();
  const ekuExtension = (oids: readonly string[]): PkiExtension => {
    const id = oids.join(' ');
    let ext = ekus.get(id);
    if (!ext) {
      ext = pkiExtension(new ExtendedKeyUsageExtension([...oids]));
      if (ekus.size >= EKU_CACHE_MAX) ekus.clear();
      ekus.set(id, ext);
    }
    return ext;
  };

  return async (spec) => {
    const fixed = await constant;
    const spki = fromBer(spec.spki, (schema) => new PublicKeyInfo({ schema }));
    // RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's bytes, as the
    // @peculiar/x509 SubjectKeyIdentifierExtension computes it.
    const keyId = createHash('sha1').update(spki.subjectPublicKey.valueBlock.valueHexView).digest();
    const extensions = [
      fixed.basicConstraints,
      fixed.keyUsage,
      new PkiExtension({
        extnID: ID_CE_SUBJECT_KEY_IDENTIFIER,
        extnValue: new asn1js.OctetString({ valueHex: keyId }).toBER(),
      }),
      fixed.aki,
    ];
    // Like issueCertificate: an EKU extension whenever a list is given.
    extensions.push(ekuExtension(spec.extendedKeyUsages));
    if (spec.dnsNames.length) {
      const names = new GeneralNames({
        names: spec.dnsNames.map((value) => new GeneralName({ type: DNS_NAME_CHOICE, value })),
      });
      extensions.push(
        new PkiExtension({ extnID: ID_CE_SUBJECT_ALT_NAME, extnValue: names.toSchema().toBER() }),
      );
    }
    const subjectDer = new Name([{ CN: [spec.commonName] }]).toArrayBuffer();
    const cert = new Certificate({
      version: 2,
      serialNumber: new asn1js.Integer({ valueHex: Buffer.from(spec.serialHex, 'hex') }),
      signature: algorithm(),
      issuer: issuerName,
      notBefore: certTime(spec.notBefore),
      notAfter: certTime(spec.notAfter),
      subject: fromBer(subjectDer, (schema) => new RelativeDistinguishedNames({ schema })),
      subjectPublicKeyInfo: spki,
      extensions,
      signatureAlgorithm,
    });
    // Certificate.toSchema(true) would rebuild the TBS objects a second time; reuse them.
    const tbsSchema = cert.encodeTBS();
    const tbs = new Uint8Array(tbsSchema.toBER());
    const signature = new asn1js.BitString({ valueHex: await signAsync(tbs, key) });
    const certificate = new asn1js.Sequence({ value: [tbsSchema, signatureAlgorithm.toSchema(), signature] });
    return Buffer.from(certificate.toBER());
  };
}
