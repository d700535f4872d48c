import { generateKeyPairSync, webcrypto } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from './ca.js';
import type { ProvisioningChain } from './chain.js';
import { AMT_PROVISIONING_OID, AMT_SETUP_OU, type HashAlgorithm, SERVER_AUTH_OID } from './constants.js';
import { ProvisioningCertError } from './errors.js';
import { createRsaKeyCache } from './keys.js';
import { createTestPki, type TestPki } from './test-pki.js';
import { thumbprint } from './thumbprint.js';
import {
  type TrustedHash,
  type ValidateProvisioningChainOptions,
  validateProvisioningChain,
} from './validate.js';
import { ExtendedKeyUsageExtension, type X509Certificate, X509CertificateGenerator } from './x509.js';

const keys = createRsaKeyCache({ keysPerSize: 4, limits: { 4096: 1, 512: 1 } });
const SUFFIX = 'corp.example.com';
const FQDN = `ps.${SUFFIX}`;
const YEAR = 365 * 86_400_000;

let pki: TestPki;
let base: ValidateProvisioningChainOptions;

beforeAll(async () => {
  pki = await createTestPki({ serverFqdn: FQDN, keys });
  base = { dnsSuffix: SUFFIX, trustedHashes: pki.trustedHashes, firmware: '16.1' };
});

function der(chain: ProvisioningChain): Buffer[] {
  return chain.certificates.map((c) => Buffer.from(c.rawData));
}

function rootOf(chain: ProvisioningChain): X509Certificate {
  return chain.certificates[chain.certificates.length - 1] as X509Certificate;
}

function trust(cert: X509Certificate | Uint8Array, ...algorithms: HashAlgorithm[]): TrustedHash[] {
  return (algorithms.length ? algorithms : (['sha1', 'sha256', 'sha384'] as const)).map((algorithm) => ({
    algorithm,
    hash: thumbprint(cert, algorithm),
  }));
}

function flipLastByte(bytes: Uint8Array): Buffer {
  const copy = Buffer.from(bytes);
  copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 0x01;
  return copy;
}

async function ecLeafChain(): Promise<Buffer[]> {
  // An EC leaf key, RSA CA: only the key algorithm is wrong.
  const ca = await createCertificateAuthority({ commonName: 'oobkit EC test CA', keys });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = await ca.issue({
    commonName: FQDN,
    publicKey: ec.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    extendedKeyUsages: [SERVER_AUTH_OID, AMT_PROVISIONING_OID],
  });
  return [leaf.der, Buffer.from(ca.certificate.rawData)];
}

async function ecdsaRoot(): Promise<X509Certificate> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const pair = await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify']);
  return X509CertificateGenerator.createSelfSigned(
    {
      name: [{ CN: [FQDN] }],
      keys: pair,
      signingAlgorithm: alg,
      extensions: [new ExtendedKeyUsageExtension([SERVER_AUTH_OID, AMT_PROVISIONING_OID])],
    },
    webcrypto,
  );
}

interface BadCase {
  name: string;
  chain: () => Promise<Array<X509Certificate | Uint8Array | string> | ProvisioningChain>;
  opts?: () => Partial<ValidateProvisioningChainOptions>;
  /** Exactly these failures, as `CODE@index` (index omitted when the failure has none). */
  expect: string[];
}

const leafOnly = (o: Parameters<TestPki['issueLeaf']>[0]) => () => pki.issueLeaf(o);

// The negative corpus: every chain here is refused, with exactly the listed failures.
const corpus: BadCase[] = [
  {
    name: 'AMT OID missing and OU absent',
    chain: () => pki.broken('no-marker'),
    expect: ['LEAF_NO_AMT_MARKER@0'],
  },
  {
    name: 'setup OU in lower case',
    chain: () => pki.broken('ou-wrong-case'),
    expect: ['LEAF_NO_AMT_MARKER@0'],
  },
  {
    name: 'setup OU in upper case',
    chain: leafOnly({ marker: 'none', organizationalUnit: AMT_SETUP_OU.toUpperCase() }),
    expect: ['LEAF_NO_AMT_MARKER@0'],
  },
  {
    name: 'setup OU with a trailing period',
    chain: () => pki.broken('ou-trailing-period'),
    expect: ['LEAF_NO_AMT_MARKER@0'],
  },
  {
    name: 'setup OU with a trailing space',
    chain: leafOnly({ marker: 'none', organizationalUnit: `${AMT_SETUP_OU} ` }),
    expect: ['LEAF_NO_AMT_MARKER@0'],
  },
  {
    name: 'setup OU without "(R)"',
    chain: leafOnly({ marker: 'none', organizationalUnit: 'Intel Client Setup Certificate' }),
    expect: ['LEAF_NO_AMT_MARKER@0'],
  },
  {
    name: 'remote-console OID (.1.2.1) instead of the provisioning OID',
    chain: leafOnly({ marker: 'none', extendedKeyUsages: [SERVER_AUTH_OID, '2.16.840.1.113741.1.2.1'] }),
    expect: ['LEAF_NO_AMT_MARKER@0'],
  },
  {
    name: 'serverAuth missing (OID only)',
    chain: () => pki.broken('no-server-auth'),
    expect: ['LEAF_NO_SERVER_AUTH@0'],
  },
  {
    name: 'no EKU extension, OU marker',
    chain: () => pki.broken('no-eku'),
    expect: ['LEAF_NO_SERVER_AUTH@0'],
  },
  {
    name: 'no EKU extension and no OU',
    chain: leafOnly({ marker: 'oid', extendedKeyUsages: null }),
    expect: ['LEAF_NO_SERVER_AUTH@0', 'LEAF_NO_AMT_MARKER@0'],
  },
  {
    name: 'clientAuth instead of serverAuth',
    chain: leafOnly({ marker: 'both', extendedKeyUsages: ['1.3.6.1.5.5.7.3.2', AMT_PROVISIONING_OID] }),
    expect: ['LEAF_NO_SERVER_AUTH@0'],
  },
  { name: 'CN outside the suffix', chain: () => pki.broken('wrong-name'), expect: ['NAME_OUTSIDE_SUFFIX@0'] },
  {
    name: 'evil-example.com against example.com',
    chain: leafOnly({ commonName: 'ps.evil-example.com' }),
    opts: () => ({ dnsSuffix: 'example.com' }),
    expect: ['NAME_OUTSIDE_SUFFIX@0'],
  },
  {
    name: 'suffix inside the name but not at its end',
    chain: leafOnly({ commonName: `${FQDN}.attacker.test` }),
    expect: ['NAME_OUTSIDE_SUFFIX@0'],
  },
  {
    name: 'wildcard over a TLD (*.com)',
    chain: leafOnly({ commonName: '*.com' }),
    expect: ['NAME_WILDCARD_INVALID@0'],
  },
  {
    name: 'partial-label wildcard',
    chain: leafOnly({ commonName: `p*.${SUFFIX}` }),
    expect: ['NAME_WILDCARD_INVALID@0'],
  },
  {
    name: 'wildcard not leftmost',
    chain: leafOnly({ commonName: 'ps.*.example.com' }),
    expect: ['NAME_WILDCARD_INVALID@0'],
  },
  {
    name: 'two wildcards',
    chain: leafOnly({ commonName: '*.*.example.com' }),
    expect: ['NAME_WILDCARD_INVALID@0'],
  },
  {
    name: 'wildcard over a registry (*.co.uk)',
    chain: leafOnly({ commonName: '*.co.uk' }),
    opts: () => ({ dnsSuffix: 'corp.example.co.uk', firmware: '11.8' }),
    expect: ['NAME_WILDCARD_INVALID@0'],
  },
  {
    name: 'wildcard for another domain',
    chain: leafOnly({ commonName: '*.example.org' }),
    expect: ['NAME_OUTSIDE_SUFFIX@0'],
  },
  { name: 'no CN and no SAN', chain: leafOnly({ commonName: null }), expect: ['NAME_MISSING@0'] },
  {
    name: 'shared .com second-level on AMT 2.5 (rule starts at 2.6)',
    chain: leafOnly({ commonName: 'ps.example.com' }),
    opts: () => ({ dnsSuffix: 'sales.example.com', firmware: '2.5' }),
    expect: ['NAME_OUTSIDE_SUFFIX@0'],
  },
  {
    name: 'shared .org domain on AMT 4.0 (TLD depth starts at 4.1)',
    chain: leafOnly({ commonName: 'ps.example.org' }),
    opts: () => ({ dnsSuffix: 'sales.example.org', firmware: '4.0' }),
    expect: ['NAME_OUTSIDE_SUFFIX@0'],
  },
  {
    name: 'shared .co.uk domain on AMT 5.0',
    chain: leafOnly({ commonName: 'ps.example.co.uk' }),
    opts: () => ({ dnsSuffix: 'sales.example.co.uk', firmware: '5.0' }),
    expect: ['NAME_OUTSIDE_SUFFIX@0'],
  },
  {
    name: 'only two labels shared under .uk (depth 3)',
    chain: leafOnly({ commonName: 'ps.other.co.uk' }),
    opts: () => ({ dnsSuffix: 'sales.example.co.uk', firmware: '11.8' }),
    expect: ['NAME_OUTSIDE_SUFFIX@0'],
  },
  {
    name: 'shared domain under a TLD without a depth entry',
    chain: leafOnly({ commonName: 'ps.example.xyz' }),
    opts: () => ({ dnsSuffix: 'sales.example.xyz', firmware: '11.8' }),
    expect: ['NAME_OUTSIDE_SUFFIX@0'],
  },
  { name: 'expired leaf', chain: () => pki.broken('expired'), expect: ['CERT_EXPIRED@0'] },
  { name: 'leaf not yet valid', chain: () => pki.broken('not-yet-valid'), expect: ['CERT_NOT_YET_VALID@0'] },
  {
    name: 'whole chain checked before it was valid',
    chain: async () => pki.chain,
    opts: () => ({ now: new Date(Date.now() - 5 * YEAR) }),
    expect: ['CERT_NOT_YET_VALID@0', 'CERT_NOT_YET_VALID@1', 'CERT_NOT_YET_VALID@2'],
  },
  {
    name: 'whole chain checked after it expired',
    chain: async () => pki.chain,
    opts: () => ({ now: new Date(Date.now() + 5 * YEAR) }),
    expect: ['CERT_EXPIRED@0', 'CERT_EXPIRED@1', 'CERT_EXPIRED@2'],
  },
  {
    name: 'broken leaf signature',
    chain: () => pki.broken('bad-signature'),
    expect: ['SIGNATURE_INVALID@0'],
  },
  {
    name: 'broken intermediate signature',
    chain: async () => [pki.leaf.der, flipLastByte(pki.intermediates[0]?.der as Buffer), pki.root.der],
    expect: ['SIGNATURE_INVALID@1'],
  },
  {
    name: 'broken root self-signature (root hash trusted as is)',
    chain: async () => [pki.leaf.der, pki.intermediates[0]?.der as Buffer, flipLastByte(pki.root.der)],
    opts: () => ({ trustedHashes: trust(flipLastByte(pki.root.der)) }),
    expect: ['SIGNATURE_INVALID@2'],
  },
  {
    name: 'unlinked intermediate',
    chain: () => pki.broken('unlinked-intermediate'),
    expect: ['CHAIN_UNLINKED@0', 'CHAIN_UNLINKED@1'],
  },
  {
    name: 'intermediate left out',
    chain: async () => [pki.leaf.der, pki.root.der],
    expect: ['CHAIN_UNLINKED@0'],
  },
  { name: 'issuer is not a CA', chain: () => pki.broken('issuer-not-ca'), expect: ['ISSUER_NOT_CA@1'] },
  {
    name: 'root not in the hash list (empty list)',
    chain: async () => pki.chain,
    opts: () => ({ trustedHashes: [] }),
    expect: ['ROOT_NOT_TRUSTED@2'],
  },
  {
    name: 'root not in the hash list (another root)',
    chain: () => pki.broken('untrusted-root'),
    expect: ['ROOT_NOT_TRUSTED@2'],
  },
  {
    name: 'root missing from the chain',
    chain: () => pki.broken('missing-root'),
    expect: ['CHAIN_NO_ROOT@1', 'ROOT_NOT_TRUSTED@1'],
  },
  {
    name: 'root missing although the intermediate is trusted',
    chain: () => pki.broken('missing-root'),
    opts: () => ({ trustedHashes: trust(pki.intermediates[0]?.der as Buffer) }),
    expect: ['CHAIN_NO_ROOT@1'],
  },
  {
    name: 'SHA-1 root hash entry on ME 16',
    chain: async () => pki.chain,
    opts: () => ({ trustedHashes: trust(pki.root.der, 'sha1') }),
    expect: ['ROOT_HASH_ALGORITHM_UNSUPPORTED@2'],
  },
  {
    name: 'SHA-256 root hash entry on AMT 5',
    chain: async () => pki.chain,
    opts: () => ({ trustedHashes: trust(pki.root.der, 'sha256'), firmware: '5.1' }),
    expect: ['ROOT_HASH_ALGORITHM_UNSUPPORTED@2'],
  },
  {
    name: 'SHA-1 signed chain on ME 16',
    chain: () => pki.broken('sha1'),
    opts: () => ({ trustedHashes: [] }),
    expect: [
      'SIGNATURE_SHA1_REFUSED@0',
      'SIGNATURE_SHA1_REFUSED@1',
      'SIGNATURE_SHA1_REFUSED@2',
      'ROOT_NOT_TRUSTED@2',
    ],
  },
  {
    name: 'SHA-1 root (trusted by SHA-256) on ME 16',
    chain: async () => {
      const c = await pki.broken('sha1');
      corpusTrust.sha1Root = rootOf(c);
      return c;
    },
    opts: () => ({ trustedHashes: trust(corpusTrust.sha1Root as X509Certificate, 'sha256') }),
    expect: ['SIGNATURE_SHA1_REFUSED@0', 'SIGNATURE_SHA1_REFUSED@1', 'SIGNATURE_SHA1_REFUSED@2'],
  },
  {
    name: 'SHA-1 signed leaf on ME 16',
    chain: leafOnly({ hash: 'SHA-1' }),
    expect: ['SIGNATURE_SHA1_REFUSED@0'],
  },
  { name: '1024-bit leaf key on ME 16', chain: () => pki.broken('weak-key'), expect: ['KEY_TOO_SMALL@0'] },
  {
    name: '512-bit leaf key on AMT 11',
    chain: leafOnly({ keyBits: 512 }),
    opts: () => ({ firmware: '11.0' }),
    expect: ['KEY_TOO_SMALL@0'],
  },
  {
    name: '4096-bit leaf key on AMT 5',
    chain: leafOnly({ keyBits: 4096 }),
    opts: () => ({ firmware: '5.1', trustedHashes: trust(pki.root.der, 'sha1') }),
    expect: ['KEY_TOO_LARGE@0'],
  },
  {
    name: 'EC leaf key',
    chain: async () => {
      const chain = await ecLeafChain();
      corpusTrust.ecRoot = chain[1];
      return chain;
    },
    opts: () => ({ trustedHashes: trust(corpusTrust.ecRoot as Buffer) }),
    expect: ['KEY_ALGORITHM_UNSUPPORTED@0'],
  },
  {
    name: 'ECDSA-signed self-signed certificate',
    chain: async () => {
      const root = await ecdsaRoot();
      corpusTrust.ecdsa = root;
      return [root];
    },
    opts: () => ({ trustedHashes: trust(corpusTrust.ecdsa as X509Certificate) }),
    expect: ['KEY_ALGORITHM_UNSUPPORTED@0', 'SIGNATURE_ALGORITHM_UNSUPPORTED@0'],
  },
  {
    name: 'several rules at once (expired, unmarked, wrong name)',
    chain: leafOnly({
      marker: 'none',
      commonName: 'ps.elsewhere.test',
      notBefore: new Date(Date.now() - 2 * YEAR),
      notAfter: new Date(Date.now() - YEAR),
    }),
    expect: ['LEAF_NO_AMT_MARKER@0', 'NAME_OUTSIDE_SUFFIX@0', 'CERT_EXPIRED@0'],
  },
  { name: 'empty chain', chain: async () => [], expect: ['CHAIN_EMPTY'] },
  {
    name: 'garbage DER',
    chain: async () => [Buffer.from('30820000deadbeef', 'hex')],
    expect: ['CERT_MALFORMED@0'],
  },
  { name: 'text that is not PEM', chain: async () => ['not a certificate'], expect: ['CERT_MALFORMED@0'] },
];
const corpusTrust: { sha1Root?: X509Certificate; ecRoot?: Buffer; ecdsa?: X509Certificate } = {};

describe('validateProvisioningChain: negative corpus', () => {
  it('has at least 30 distinct bad chains', () => {
    expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length);
    expect(corpus.length).toBeGreaterThanOrEqual(30);
  });

  it.each(corpus.map((c) => [c.name, c] as const))('refuses: %s', async (_name, c) => {
    const chain = await c.chain();
    const result = await validateProvisioningChain(chain, { ...base, ...c.opts?.() });
    expect(result.ok).toBe(false);
    const got = result.failures.map((f) =>
      f.certificateIndex === undefined ? f.code : `${f.code}@${f.certificateIndex}`,
    );
    expect(got).toEqual(c.expect);
    for (const f of result.failures) expect(f.message.length).toBeGreaterThan(10);
  });

  it('reports root, intermediate and leaf problems of a reversed chain', async () => {
    const reversed = [...der(pki.chain)].reverse();
    const result = await validateProvisioningChain(reversed, base);
    const codes = result.failures.map((f) => f.code);
    expect(result.ok).toBe(false);
    expect(codes).toEqual(
      expect.arrayContaining([
        'CHAIN_UNLINKED',
        'CHAIN_NO_ROOT',
        'LEAF_NO_SERVER_AUTH',
        'LEAF_NO_AMT_MARKER',
      ]),
    );
  });

  it('never accepts a leaf with any single byte changed', async () => {
    const [leaf, ...rest] = der(pki.chain);
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: (leaf as Buffer).length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, xor) => {
          const mutated = Buffer.from(leaf as Buffer);
          mutated[at] = (mutated[at] ?? 0) ^ xor;
          const result = await validateProvisioningChain([mutated, ...rest], base);
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('never throws on random bytes as certificates, only reports CERT_MALFORMED', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 3 }),
        async (chain) => {
          const result = await validateProvisioningChain(chain, base);
          expect(result.ok).toBe(false);
          expect(result.failures.every((f) => f.code === 'CERT_MALFORMED')).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});

interface GoodCase {
  name: string;
  chain: () => Promise<Array<X509Certificate | Uint8Array | string> | ProvisioningChain>;
  opts?: () => Partial<ValidateProvisioningChainOptions>;
  rule?: string;
  algorithm?: HashAlgorithm;
}

const positives: GoodCase[] = [
  { name: 'AMT OID marker on ME 16', chain: async () => pki.chain, rule: 'exact', algorithm: 'sha384' },
  { name: 'OU instead of OID', chain: leafOnly({ marker: 'ou' }), rule: 'exact' },
  { name: 'OID and OU together', chain: leafOnly({ marker: 'both' }) },
  { name: 'wildcard covering the suffix', chain: leafOnly({ commonName: `*.${SUFFIX}` }), rule: 'wildcard' },
  {
    name: 'wildcard on old firmware',
    chain: leafOnly({ commonName: '*.example.org' }),
    opts: () => ({ dnsSuffix: 'example.org', firmware: '3.2', trustedHashes: trust(pki.root.der, 'sha1') }),
    rule: 'wildcard',
  },
  {
    name: 'second-level .com on AMT 2.6',
    chain: leafOnly({ commonName: 'ps.example.com' }),
    opts: () => ({ dnsSuffix: 'sales.example.com', firmware: '2.6' }),
    rule: 'shared-domain',
    algorithm: 'sha1',
  },
  {
    name: 'second-level .net on AMT 3',
    chain: leafOnly({ commonName: 'ps.it.example.net' }),
    opts: () => ({ dnsSuffix: 'b.sales.example.net', firmware: '3.0' }),
    rule: 'shared-domain',
  },
  {
    name: 'wildcard plus second-level .com',
    chain: leafOnly({ commonName: '*.example.com' }),
    rule: 'shared-domain',
  },
  {
    name: 'TLD depth 3 for .co.uk on AMT 4.1',
    chain: leafOnly({ commonName: 'ps.example.co.uk' }),
    opts: () => ({ dnsSuffix: 'sales.example.co.uk', firmware: '4.1' }),
    rule: 'shared-domain',
  },
  {
    name: 'TLD depth 3 for .co.uk on AMT 5.1',
    chain: leafOnly({ commonName: 'ps.example.co.uk' }),
    opts: () => ({
      dnsSuffix: 'sales.example.co.uk',
      firmware: '5.1',
      trustedHashes: trust(pki.root.der, 'sha1'),
    }),
    rule: 'shared-domain',
  },
  {
    name: 'TLD depth 2 for .org on ME 16',
    chain: leafOnly({ commonName: 'ps.example.org' }),
    opts: () => ({ dnsSuffix: 'lab.example.org' }),
    rule: 'shared-domain',
  },
  {
    name: 'SHA-1 root on AMT 5',
    chain: async () => {
      const c = await pki.broken('sha1');
      positiveTrust.sha1Root = rootOf(c);
      return c;
    },
    opts: () => ({
      firmware: '5.1',
      trustedHashes: trust(positiveTrust.sha1Root as X509Certificate, 'sha1'),
    }),
    algorithm: 'sha1',
  },
  {
    name: '1024-bit key on AMT 11',
    chain: () => pki.broken('weak-key'),
    opts: () => ({ firmware: '11.8.50.3425' }),
  },
  {
    name: '4096-bit key on AMT 6',
    chain: leafOnly({ keyBits: 4096 }),
    opts: () => ({ firmware: { major: 6, minor: 0 } }),
  },
  { name: 'name equal to the suffix', chain: leafOnly({ commonName: SUFFIX }), rule: 'exact' },
  {
    name: 'names compared without case',
    chain: leafOnly({ commonName: 'PS.Corp.Example.COM' }),
    opts: () => ({ dnsSuffix: 'CORP.example.com.' }),
  },
  { name: 'SAN dNSName without a CN', chain: leafOnly({ commonName: null, dnsNames: [FQDN] }) },
  {
    name: 'CN outside but a SAN inside',
    chain: leafOnly({ commonName: 'ps.elsewhere.test', dnsNames: ['ps.elsewhere.test', FQDN] }),
  },
  { name: 'chain as DER buffers', chain: async () => der(pki.chain) },
  { name: 'chain as one PEM string', chain: async () => [pki.chain.certPem] },
  {
    name: 'chain as one PEM string per certificate',
    chain: async () => [pki.leaf.pem, pki.intermediates[0]?.pem as string, pki.root.pem],
  },
];
const positiveTrust: { sha1Root?: X509Certificate } = {};

describe('validateProvisioningChain: allowances', () => {
  it.each(positives.map((c) => [c.name, c] as const))('accepts: %s', async (_name, c) => {
    const result = await validateProvisioningChain(await c.chain(), { ...base, ...c.opts?.() });
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(true);
    if (c.rule) expect(result.name?.rule).toBe(c.rule);
    if (c.algorithm) expect(result.matched?.algorithm).toBe(c.algorithm);
  });

  it('accepts PKIs without and with two intermediates', async () => {
    for (const intermediates of [0, 2]) {
      const other = await createTestPki({ serverFqdn: FQDN, keys, intermediates, marker: 'ou' });
      expect(other.chain.certificates).toHaveLength(intermediates + 2);
      const result = await validateProvisioningChain(other.chain, {
        ...base,
        trustedHashes: other.trustedHashes,
      });
      expect(result).toMatchObject({ ok: true, failures: [] });
    }
  });

  it('accepts a 1024-bit SHA-1 PKI on AMT 5 and refuses the same PKI on ME 16', async () => {
    const old = await createTestPki({ serverFqdn: FQDN, keys, keyBits: 1024, hash: 'SHA-1' });
    const opts = { ...base, trustedHashes: old.trustedHashes };
    expect((await validateProvisioningChain(old.chain, { ...opts, firmware: '5.0' })).ok).toBe(true);
    const codes = (await validateProvisioningChain(old.chain, opts)).failures.map((f) => f.code);
    expect(codes.filter((c) => c === 'KEY_TOO_SMALL')).toHaveLength(3);
    expect(codes.filter((c) => c === 'SIGNATURE_SHA1_REFUSED')).toHaveLength(3);
  });
});

describe('validateProvisioningChain: options', () => {
  const cases: Array<[string, Partial<ValidateProvisioningChainOptions>, string]> = [
    ['a DNS suffix with an empty label', { dnsSuffix: 'corp..example.com' }, 'PCERT_OPTION_INVALID'],
    ['an empty DNS suffix', { dnsSuffix: '' }, 'PCERT_OPTION_INVALID'],
    [
      'a hash of the wrong length',
      { trustedHashes: [{ algorithm: 'sha256', hash: new Uint8Array(20) }] },
      'PCERT_OPTION_INVALID',
    ],
    [
      'an unknown hash algorithm',
      { trustedHashes: [{ algorithm: 'md5' as HashAlgorithm, hash: new Uint8Array(16) }] },
      'PCERT_OPTION_INVALID',
    ],
    ['a firmware that is not a version', { firmware: 'eleven' }, 'PCERT_FIRMWARE_INVALID'],
    ['an invalid date', { now: new Date('x') }, 'PCERT_OPTION_INVALID'],
  ];
  it.each(cases)('throws for %s', async (_name, opts, code) => {
    const err = await validateProvisioningChain(pki.chain, { ...base, ...opts }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisioningCertError);
    expect((err as ProvisioningCertError).code).toBe(code);
  });
});
