import type { KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import type { ProvisioningChain } from './chain.js';
import {
  AMT_PROVISIONING_OID,
  AMT_SETUP_OU,
  HASH_ALGORITHMS,
  type HashAlgorithm,
  SERVER_AUTH_OID,
} from './constants.js';
import { ProvisioningCertError } from './errors.js';
import { issueCertificate, type NameSpec } from './issue.js';
import {
  checkKeyBits,
  checkSignatureHash,
  freshRsaKeys,
  pkcs8Pem,
  type RsaKeySource,
  type SignatureHash,
} from './keys.js';
import { encodePem } from './pem.js';
import { createPfx } from './pfx.js';
import { thumbprint } from './thumbprint.js';
import type { TrustedHash } from './validate.js';
import { X509Certificate } from './x509.js';

/** How the test leaf is marked as a provisioning certificate. */
export type TestPkiMarker = 'oid' | 'ou' | 'both' | 'none';

export interface TestPkiOptions {
  /** The provisioning server's FQDN: the leaf's CN and SAN dNSName. */
  serverFqdn: string;
  /** Default 'oid'. */
  marker?: TestPkiMarker;
  /** RSA size of every key in the PKI (default 2048). */
  keyBits?: 1024 | 2048 | 3072 | 4096;
  /** Signature hash of every certificate (default SHA-256). */
  hash?: SignatureHash;
  /** CA certificates between root and leaf (default 1, at most 4). */
  intermediates?: number;
  /** Validity of every certificate (default: from one hour ago, two years long). */
  notBefore?: Date;
  notAfter?: Date;
  /** Default: 18 random bytes, base64url. */
  pfxPassword?: string;
  /** Where keys come from (default: fresh keys). Tests pass `createRsaKeyCache()`. */
  keys?: RsaKeySource;
}

export interface TestPkiCertificate {
  certificate: X509Certificate;
  pem: string;
  der: Buffer;
  /** PKCS#8 PEM of this certificate's private key. */
  keyPem: string;
}

/** Leaf fields a test may change; everything else is the PKI's. */
export interface TestLeafOptions {
  /** null: no CN at all. Default: the PKI's serverFqdn. */
  commonName?: string | null;
  /** SAN dNSNames (default: the CN, if any). */
  dnsNames?: readonly string[];
  marker?: TestPkiMarker;
  /** An explicit OU value (added to whatever the marker adds). */
  organizationalUnit?: string;
  /** Replaces the EKU the marker implies; null: no EKU extension. */
  extendedKeyUsages?: readonly string[] | null;
  keyBits?: number;
  hash?: SignatureHash;
  notBefore?: Date;
  notAfter?: Date;
  /** Default true. */
  includeRoot?: boolean;
}

/** Deliberately broken chains, each failing one rule on any firmware unless noted. */
export type BrokenChainKind =
  | 'no-marker'
  | 'ou-wrong-case'
  | 'ou-trailing-period'
  | 'no-server-auth'
  | 'no-eku'
  | 'wrong-name'
  | 'expired'
  | 'not-yet-valid'
  | 'bad-signature'
  | 'unlinked-intermediate'
  | 'untrusted-root'
  | 'missing-root'
  | 'issuer-not-ca'
  /** SHA-1 signatures throughout: refused from ME 16. */
  | 'sha1'
  /** A 1024-bit leaf key: refused from ME 16. */
  | 'weak-key';

export const BROKEN_CHAIN_KINDS: readonly BrokenChainKind[] = [
  'no-marker',
  'ou-wrong-case',
  'ou-trailing-period',
  'no-server-auth',
  'no-eku',
  'wrong-name',
  'expired',
  'not-yet-valid',
  'bad-signature',
  'unlinked-intermediate',
  'untrusted-root',
  'missing-root',
  'issuer-not-ca',
  'sha1',
  'weak-key',
];

export interface TestPki {
  root: TestPkiCertificate;
  intermediates: TestPkiCertificate[];
  leaf: TestPkiCertificate;
  /** Leaf → root, with the leaf's key. */
  chain: ProvisioningChain;
  pfx: Buffer;
  pfxPassword: string;
  rootHashes: Record<HashAlgorithm, Buffer>;
  /** The root's three thumbprints, ready as `trustedHashes` or `helloHashes`. */
  trustedHashes: TrustedHash[];
  /** A new leaf (new key) under the same CAs, with some fields changed. */
  issueLeaf(overrides?: TestLeafOptions): Promise<ProvisioningChain>;
  /** A chain that breaks one rule on purpose. */
  broken(kind: BrokenChainKind): Promise<ProvisioningChain>;
}

const HOUR = 3_600_000;
const YEAR = 365 * 24 * HOUR;
const ORG = 'oobkit test PKI';

interface Node {
  certificate: X509Certificate;
  key: KeyObject;
}

function toTestCert(n: Node): TestPkiCertificate {
  const der = Buffer.from(new Uint8Array(n.certificate.rawData));
  return { certificate: n.certificate, der, pem: encodePem(der), keyPem: pkcs8Pem(n.key) };
}

function chainOf(nodes: readonly Node[], leafKey?: KeyObject): ProvisioningChain {
  const chain: ProvisioningChain = {
    certificates: nodes.map((n) => n.certificate),
    certPem: nodes.map((n) => encodePem(new Uint8Array(n.certificate.rawData))).join(''),
  };
  if (leafKey) chain.keyPem = pkcs8Pem(leafKey);
  return chain;
}

function leafSubject(cn: string | null, marker: TestPkiMarker, ou: string | undefined): NameSpec {
  const name: NameSpec = [{ O: [ORG] }];
  const ous = [
    ...(marker === 'ou' || marker === 'both' ? [AMT_SETUP_OU] : []),
    ...(ou === undefined ? [] : [ou]),
  ];
  for (const value of ous) name.push({ OU: [value] });
  if (cn !== null) name.push({ CN: [cn] });
  return name;
}

function leafEkus(marker: TestPkiMarker): string[] {
  return marker === 'oid' || marker === 'both' ? [SERVER_AUTH_OID, AMT_PROVISIONING_OID] : [SERVER_AUTH_OID];
}

/**
 * A throw-away provisioning PKI: root → intermediates → leaf for `serverFqdn`, marked with the AMT
 * OID or OU, as PEM and as PFX, plus the root hashes a device would trust and broken variants.
 */
export async function createTestPki(opts: TestPkiOptions): Promise<TestPki> {
  const fqdn = opts?.serverFqdn;
  if (typeof fqdn !== 'string' || fqdn.length === 0 || fqdn.length > 64) {
    throw new ProvisioningCertError('PCERT_OPTION_INVALID', 'serverFqdn must be 1 to 64 characters');
  }
  const marker = opts.marker ?? 'oid';
  if (!['oid', 'ou', 'both', 'none'].includes(marker)) {
    throw new ProvisioningCertError('PCERT_OPTION_INVALID', 'marker must be oid, ou, both or none');
  }
  const bits = checkKeyBits(opts.keyBits ?? 2048);
  const hash = checkSignatureHash(opts.hash ?? 'SHA-256');
  const depth = opts.intermediates ?? 1;
  if (!Number.isInteger(depth) || depth < 0 || depth > 4) {
    throw new ProvisioningCertError('PCERT_OPTION_INVALID', 'intermediates must be an integer from 0 to 4');
  }
  const now = Date.now();
  const notBefore = opts.notBefore ?? new Date(now - HOUR);
  const notAfter = opts.notAfter ?? new Date(now + 2 * YEAR);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw new ProvisioningCertError('PCERT_OPTION_INVALID', 'notBefore and notAfter must be valid dates');
  }
  const pfxPassword = opts.pfxPassword ?? randomBytes(18).toString('base64url');
  const keys = opts.keys ?? freshRsaKeys;

  // Slots: 0 root, 1..n intermediates, n+1 leaf, then spares for broken variants.
  async function caChain(
    rootSlot: number,
    caHash: SignatureHash,
    caBits: number,
    label = '',
  ): Promise<Node[]> {
    const rootKey = await keys.rsaKey(caBits, rootSlot);
    const rootName: NameSpec = [{ O: [ORG] }, { CN: [`oobkit Test Root CA${label}`] }];
    const nodes: Node[] = [
      {
        key: rootKey,
        certificate: await issueCertificate({
          subject: rootName,
          subjectKey: rootKey,
          selfKey: rootKey,
          hash: caHash,
          notBefore,
          notAfter,
          ca: true,
        }),
      },
    ];
    for (let i = 1; i <= depth; i++) {
      const key = await keys.rsaKey(caBits, rootSlot + i);
      const issuer = nodes[0] as Node;
      const certificate = await issueCertificate({
        subject: [{ O: [ORG] }, { CN: [`oobkit Test Intermediate CA ${i}${label}`] }],
        subjectKey: key,
        issuer: { certificate: issuer.certificate, key: issuer.key },
        hash: caHash,
        notBefore,
        notAfter,
        ca: true,
      });
      nodes.unshift({ certificate, key });
    }
    return nodes; // issuing CA first, root last
  }

  async function leafUnder(
    cas: readonly Node[],
    o: TestLeafOptions,
    slot = depth + 1,
  ): Promise<{ node: Node; chain: Node[] }> {
    const leafBits = o.keyBits === undefined ? bits : checkKeyBits(o.keyBits);
    const key = await keys.rsaKey(leafBits, slot);
    const cn = o.commonName === undefined ? fqdn : o.commonName;
    const m = o.marker ?? marker;
    const issuer = cas[0] as Node;
    const certificate = await issueCertificate({
      subject: leafSubject(cn, m, o.organizationalUnit),
      subjectKey: key,
      issuer: { certificate: issuer.certificate, key: issuer.key },
      hash: o.hash === undefined ? hash : checkSignatureHash(o.hash),
      notBefore: o.notBefore ?? notBefore,
      notAfter: o.notAfter ?? notAfter,
      extendedKeyUsages: o.extendedKeyUsages === undefined ? leafEkus(m) : o.extendedKeyUsages,
      dnsNames: o.dnsNames ?? (cn === null ? [] : [cn]),
    });
    const node = { certificate, key };
    const chain = [node, ...cas];
    return { node, chain: o.includeRoot === false ? chain.slice(0, -1) : chain };
  }

  const cas = await caChain(0, hash, bits);
  const leaf = await leafUnder(cas, {});
  const root = cas[cas.length - 1] as Node;
  const chain = chainOf(leaf.chain, leaf.node.key);
  const rootHashes = Object.fromEntries(
    HASH_ALGORITHMS.map((a) => [a, thumbprint(root.certificate, a)]),
  ) as Record<HashAlgorithm, Buffer>;

  const issueLeaf = async (o: TestLeafOptions = {}) => {
    const made = await leafUnder(cas, o);
    return chainOf(made.chain, made.node.key);
  };

  async function broken(kind: BrokenChainKind): Promise<ProvisioningChain> {
    switch (kind) {
      case 'no-marker':
        return issueLeaf({ marker: 'none' });
      case 'ou-wrong-case':
        return issueLeaf({ marker: 'none', organizationalUnit: AMT_SETUP_OU.toLowerCase() });
      case 'ou-trailing-period':
        return issueLeaf({ marker: 'none', organizationalUnit: `${AMT_SETUP_OU}.` });
      case 'no-server-auth':
        return issueLeaf({ marker: 'oid', extendedKeyUsages: [AMT_PROVISIONING_OID] });
      case 'no-eku':
        return issueLeaf({ marker: 'ou', extendedKeyUsages: null });
      case 'wrong-name':
        return issueLeaf({ commonName: 'provisioning.elsewhere.invalid' });
      case 'expired':
        return issueLeaf({
          notBefore: new Date(Date.now() - 3 * YEAR),
          notAfter: new Date(Date.now() - YEAR),
        });
      case 'not-yet-valid':
        return issueLeaf({
          notBefore: new Date(Date.now() + YEAR),
          notAfter: new Date(Date.now() + 2 * YEAR),
        });
      case 'bad-signature': {
        const der = Buffer.from(new Uint8Array(leaf.node.certificate.rawData));
        // The signature BIT STRING ends the certificate: flip its last byte.
        der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
        return chainOf(
          [{ certificate: new X509Certificate(der), key: leaf.node.key }, ...cas],
          leaf.node.key,
        );
      }
      case 'unlinked-intermediate': {
        const other = await caChain(depth + 3, hash, bits, ' (other)');
        // With no intermediate, the foreign CA is the root itself.
        const stray = depth === 0 ? other : [...other.slice(0, -1), root];
        return chainOf([leaf.node, ...stray], leaf.node.key);
      }
      case 'untrusted-root': {
        const other = await caChain(depth + 3, hash, bits);
        const made = await leafUnder(other, {});
        return chainOf(made.chain, made.node.key);
      }
      case 'missing-root':
        return issueLeaf({ includeRoot: false });
      case 'issuer-not-ca': {
        // The real leaf (not a CA) signs a second leaf.
        const made = await leafUnder([leaf.node, ...cas], { commonName: `ps2.${fqdn}` }, depth + 2);
        return chainOf(made.chain, made.node.key);
      }
      case 'sha1': {
        const sha1Cas = await caChain(0, 'SHA-1', bits);
        const made = await leafUnder(sha1Cas, { hash: 'SHA-1' });
        return chainOf(made.chain, made.node.key);
      }
      case 'weak-key':
        return issueLeaf({ keyBits: 1024 });
      default:
        throw new ProvisioningCertError('PCERT_OPTION_INVALID', `unknown broken chain kind: ${String(kind)}`);
    }
  }

  return {
    root: toTestCert(root),
    intermediates: cas.slice(0, -1).reverse().map(toTestCert),
    leaf: toTestCert(leaf.node),
    chain,
    pfx: await createPfx(chain, pfxPassword),
    pfxPassword,
    rootHashes,
    trustedHashes: HASH_ALGORITHMS.map((algorithm) => ({ algorithm, hash: rootHashes[algorithm] })),
    issueLeaf,
    broken,
  };
}
