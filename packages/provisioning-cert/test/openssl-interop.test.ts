import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRsaKeyCache,
  createTestPki,
  loadPemChain,
  loadPfx,
  type ProvisioningChain,
  type TestPki,
  thumbprint,
  type ValidateProvisioningChainOptions,
  validateProvisioningChain,
} from '../src/index.js';

// Chains made by the openssl command line must get the same verdicts as createTestPki chains
// with the same properties, and PKCS#12 files must cross between the two in both directions.
const work = mkdtempSync(join(tmpdir(), 'oobkit-pcert-openssl-'));
const keys = createRsaKeyCache();
const SUFFIX = 'corp.example.com';
const DAY = 86_400_000;
const PFX_PASSWORD = 'Interop!Passw0rd';
let pki: TestPki;

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, PFXPW: PFX_PASSWORD },
  });
}

function file(name: string, text: string | Buffer): string {
  writeFileSync(join(work, name), text);
  return name;
}

const LEAF_EXT = (eku: string) =>
  [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    `extendedKeyUsage = ${eku}`,
    `subjectAltName = DNS:ps.${SUFFIX}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
  ].join('\n');

/** An openssl-signed leaf under the openssl intermediate; returns leaf → root PEM. */
function opensslLeaf(name: string, subject: string, eku: string, extra: string[] = []): string {
  file(`${name}.ext`, LEAF_EXT(eku));
  openssl('req', '-new', '-key', 'leaf.key', '-subj', subject, '-out', `${name}.csr`);
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'int.pem',
    '-CAkey',
    'int.key',
    '-set_serial',
    `0x${Date.now().toString(16)}`,
    '-days',
    '30',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
    ...(extra.length ? extra : ['-sha256']),
  );
  return (
    readFileSync(join(work, `${name}.pem`), 'utf8') +
    readFileSync(join(work, 'int.pem'), 'utf8') +
    readFileSync(join(work, 'root.pem'), 'utf8')
  );
}

let opensslRoot: Buffer;

beforeAll(async () => {
  pki = await createTestPki({ serverFqdn: `ps.${SUFFIX}`, keys, pfxPassword: PFX_PASSWORD });
  const pem = async (slot: number) =>
    (await keys.rsaKey(2048, slot)).export({ type: 'pkcs8', format: 'pem' }).toString();
  file('root.key', await pem(0));
  file('int.key', await pem(1));
  file('leaf.key', await pem(2));
  file(
    'ca.ext',
    'basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid',
  );
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    'root.key',
    '-subj',
    '/O=openssl interop/CN=OpenSSL Root CA',
    '-days',
    '3650',
    '-sha256',
    '-out',
    'root.pem',
  );
  openssl(
    'req',
    '-new',
    '-key',
    'int.key',
    '-subj',
    '/O=openssl interop/CN=OpenSSL Intermediate CA',
    '-out',
    'int.csr',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    'int.csr',
    '-CA',
    'root.pem',
    '-CAkey',
    'root.key',
    '-set_serial',
    '7',
    '-days',
    '3650',
    '-sha256',
    '-extfile',
    'ca.ext',
    '-out',
    'int.pem',
  );
  opensslRoot = execFileSync('openssl', ['x509', '-in', 'root.pem', '-outform', 'DER'], { cwd: work });
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

const OU = 'Intel(R) Client Setup Certificate';
const OID_EKU = 'serverAuth, 2.16.840.1.113741.1.2.3';

interface Scenario {
  name: string;
  openssl: () => string;
  ours: () => Promise<ProvisioningChain>;
  opts?: Partial<ValidateProvisioningChainOptions>;
  expect: string[];
}

const scenarios: Scenario[] = [
  {
    name: 'AMT OID marker',
    openssl: () => opensslLeaf('oid', `/O=x/CN=ps.${SUFFIX}`, OID_EKU),
    ours: async () => pki.chain,
    expect: [],
  },
  {
    name: 'setup OU marker',
    openssl: () => opensslLeaf('ou', `/O=x/OU=${OU}/CN=ps.${SUFFIX}`, 'serverAuth'),
    ours: () => pki.issueLeaf({ marker: 'ou' }),
    expect: [],
  },
  {
    name: 'no marker',
    openssl: () => opensslLeaf('none', `/O=x/CN=ps.${SUFFIX}`, 'serverAuth'),
    ours: () => pki.broken('no-marker'),
    expect: ['LEAF_NO_AMT_MARKER@0'],
  },
  {
    name: 'OU in lower case',
    openssl: () => opensslLeaf('oulc', `/O=x/OU=${OU.toLowerCase()}/CN=ps.${SUFFIX}`, 'serverAuth'),
    ours: () => pki.broken('ou-wrong-case'),
    expect: ['LEAF_NO_AMT_MARKER@0'],
  },
  {
    name: 'serverAuth missing',
    openssl: () => opensslLeaf('nosa', `/O=x/CN=ps.${SUFFIX}`, '2.16.840.1.113741.1.2.3'),
    ours: () => pki.broken('no-server-auth'),
    expect: ['LEAF_NO_SERVER_AUTH@0'],
  },
  {
    name: 'SHA-1 signed leaf on ME 16',
    openssl: () => opensslLeaf('sha1', `/O=x/CN=ps.${SUFFIX}`, OID_EKU, ['-sha1']),
    ours: () => pki.issueLeaf({ hash: 'SHA-1' }),
    expect: ['SIGNATURE_SHA1_REFUSED@0'],
  },
  {
    name: 'SHA-1 signed leaf on AMT 11',
    openssl: () => opensslLeaf('sha1b', `/O=x/CN=ps.${SUFFIX}`, OID_EKU, ['-sha1']),
    ours: () => pki.issueLeaf({ hash: 'SHA-1' }),
    opts: { firmware: '11.8.50' },
    expect: [],
  },
  {
    name: 'leaf expired (checked in 60 days)',
    openssl: () => opensslLeaf('exp', `/O=x/CN=ps.${SUFFIX}`, OID_EKU),
    ours: () => pki.issueLeaf({ notAfter: new Date(Date.now() + 30 * DAY) }),
    opts: { now: new Date(Date.now() + 60 * DAY) },
    expect: ['CERT_EXPIRED@0'],
  },
  {
    name: 'device in another domain',
    openssl: () => opensslLeaf('dom', `/O=x/CN=ps.${SUFFIX}`, OID_EKU),
    ours: async () => pki.chain,
    opts: { dnsSuffix: 'example.org' },
    expect: ['NAME_OUTSIDE_SUFFIX@0'],
  },
];

describe('interop with the openssl command line', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))(
    'same verdict for openssl and createTestPki chains: %s',
    async (_n, s) => {
      const codes = async (chain: ProvisioningChain, trusted: Uint8Array) => {
        const result = await validateProvisioningChain(chain, {
          dnsSuffix: SUFFIX,
          firmware: '16.1',
          trustedHashes: [{ algorithm: 'sha256', hash: thumbprint(trusted, 'sha256') }],
          ...s.opts,
        });
        return result.failures.map((f) => `${f.code}@${f.certificateIndex}`);
      };
      const fromOpenssl = loadPemChain(s.openssl(), readFileSync(join(work, 'leaf.key'), 'utf8'));
      expect(fromOpenssl.certificates).toHaveLength(3);
      expect(await codes(fromOpenssl, opensslRoot)).toEqual(s.expect);
      expect(await codes(await s.ours(), pki.root.der)).toEqual(s.expect);
    },
  );

  it('openssl verifies createTestPki chains as TLS server certificates', () => {
    file('our-root.pem', pki.root.pem);
    file('our-int.pem', pki.intermediates[0]?.pem as string);
    file('our-leaf.pem', pki.leaf.pem);
    const out = openssl(
      'verify',
      '-purpose',
      'sslserver',
      '-CAfile',
      'our-root.pem',
      '-untrusted',
      'our-int.pem',
      'our-leaf.pem',
    );
    expect(out.trim()).toBe('our-leaf.pem: OK');
    expect(openssl('x509', '-in', 'our-leaf.pem', '-noout', '-ext', 'extendedKeyUsage')).toContain(
      '2.16.840.1.113741.1.2.3',
    );
  });

  it('openssl opens our PFX with the same certificates and key', () => {
    file('ours.pfx', pki.pfx);
    const certs = openssl('pkcs12', '-in', 'ours.pfx', '-passin', 'env:PFXPW', '-nokeys');
    expect(loadPemChain(certs).certPem).toBe(pki.chain.certPem);
    const key = openssl('pkcs12', '-in', 'ours.pfx', '-passin', 'env:PFXPW', '-nocerts', '-nodes');
    expect(loadPemChain(certs, key).keyPem).toBe(pki.leaf.keyPem);
  });

  it('we open openssl PFX files, and refuse legacy 3DES ones with PCERT_PFX_UNSUPPORTED', async () => {
    const chainPem = opensslLeaf('pfx', `/O=x/CN=ps.${SUFFIX}`, OID_EKU);
    file('pfx-chain.pem', chainPem);
    // Root first on purpose: loading orders it.
    file(
      'pfx-extra.pem',
      readFileSync(join(work, 'root.pem'), 'utf8') + readFileSync(join(work, 'int.pem'), 'utf8'),
    );
    const base = [
      'pkcs12',
      '-export',
      '-in',
      'pfx.pem',
      '-certfile',
      'pfx-extra.pem',
      '-passout',
      'env:PFXPW',
    ];
    openssl(...base, '-inkey', 'leaf.key', '-out', 'modern.pfx');
    const loaded = await loadPfx(readFileSync(join(work, 'modern.pfx')), PFX_PASSWORD);
    expect(loaded.certPem).toBe(loadPemChain(chainPem).certPem);
    expect(loaded.keyPem).toBe(readFileSync(join(work, 'leaf.key'), 'utf8'));

    openssl(...base, '-nokeys', '-out', 'certs-only.pfx');
    const certsOnly = await loadPfx(readFileSync(join(work, 'certs-only.pfx')), PFX_PASSWORD);
    expect(certsOnly.keyPem).toBeUndefined();
    expect(certsOnly.certificates).toHaveLength(3);

    openssl(
      ...base,
      '-inkey',
      'leaf.key',
      '-certpbe',
      'PBE-SHA1-3DES',
      '-keypbe',
      'PBE-SHA1-3DES',
      '-macalg',
      'sha1',
      '-out',
      'legacy.pfx',
    );
    await expect(loadPfx(readFileSync(join(work, 'legacy.pfx')), PFX_PASSWORD)).rejects.toMatchObject({
      code: 'PCERT_PFX_UNSUPPORTED',
      oid: '1.2.840.113549.1.12.1.3',
    });
    await expect(loadPfx(readFileSync(join(work, 'modern.pfx')), 'wrong')).rejects.toMatchObject({
      code: 'PCERT_PFX_PASSWORD',
    });
  });
});
