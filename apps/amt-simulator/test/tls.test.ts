import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, connect } from 'node:tls';
import {
  BROKEN_CHAIN_KINDS,
  type BrokenChainKind,
  type ChainFailureCode,
  createSelfSignedCertificate,
  type ProvisioningChain,
  thumbprint,
} from '@oobkit/provisioning-cert';
import { describe, expect, it } from 'vitest';
import type { DeviceEvent, SimulatedDevice } from '../src/index.js';
import { DOMAIN, nextEvent, rootHash, setupDevice, testPki } from './helpers.js';

type TlsEvent = Extract<DeviceEvent, { type: 'tls' }>;

/** Opens a TLS connection presenting `chain` and returns the device's verdict on it. */
async function handshake(
  d: SimulatedDevice,
  chain: ProvisioningChain | undefined,
  extra: ConnectionOptions = {},
) {
  const verdict = nextEvent(d, 'tls');
  const socket = connect({
    host: d.address,
    port: d.ports.tls,
    rejectUnauthorized: false,
    // Weak test chains (SHA-1, 1024-bit) must reach the firmware rules, not stop in our own stack.
    ciphers: 'DEFAULT:@SECLEVEL=0',
    ...(chain ? { cert: chain.certPem, key: chain.keyPem } : {}),
    ...extra,
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const e = (await verdict) as TlsEvent;
  return { event: e, socket, closed };
}

/** The rule each broken chain of the test PKI breaks, as ME 16 reports it. */
const EXPECTED: Record<BrokenChainKind, ChainFailureCode[]> = {
  'no-marker': ['LEAF_NO_AMT_MARKER'],
  'ou-wrong-case': ['LEAF_NO_AMT_MARKER'],
  'ou-trailing-period': ['LEAF_NO_AMT_MARKER'],
  'no-server-auth': ['LEAF_NO_SERVER_AUTH'],
  'no-eku': ['LEAF_NO_SERVER_AUTH'],
  'wrong-name': ['NAME_OUTSIDE_SUFFIX'],
  expired: ['CERT_EXPIRED'],
  'not-yet-valid': ['CERT_NOT_YET_VALID'],
  'bad-signature': ['SIGNATURE_INVALID'],
  // Node hands the server only certificates that link by issuer, so an unlinked or non-CA
  // issuer shows up as a chain that stops short of its root.
  'unlinked-intermediate': ['CHAIN_NO_ROOT'],
  'untrusted-root': ['ROOT_NOT_TRUSTED'],
  'missing-root': ['CHAIN_NO_ROOT'],
  'issuer-not-ca': ['CHAIN_NO_ROOT'],
  sha1: ['SIGNATURE_SHA1_REFUSED'],
  'weak-key': ['KEY_TOO_SMALL'],
};

describe('the provisioning chain is checked in the TLS handshake', () => {
  it('accepts the test PKI chain (OID marker and OU marker)', async () => {
    const { device: d, pki } = await setupDevice();
    const ok = await handshake(d, pki.chain);
    expect(ok.event.ok).toBe(true);
    expect(ok.event.protocol).toBe('TLSv1.2');
    ok.socket.destroy();
    const ou = await pki.issueLeaf({ marker: 'ou' });
    expect((await handshake(d, ou)).event.ok).toBe(true);
  });

  it.each(BROKEN_CHAIN_KINDS)('refuses a chain with %s before any HTTP', async (kind) => {
    const { device: d, pki } = await setupDevice();
    const chain = await pki.broken(kind);
    // Chains with their own root get it trusted, so only the rule under test can fail.
    const root = chain.certificates[chain.certificates.length - 1];
    if (kind !== 'untrusted-root' && root && !thumbprint(root, 'sha256').equals(pki.rootHashes.sha256)) {
      d.configureMebx({
        customTrustedHashes: [
          rootHash(pki),
          { algorithm: 'sha256', hash: new Uint8Array(thumbprint(root, 'sha256')) },
        ],
      });
    }
    const { event, closed } = await handshake(d, chain);
    expect(event.ok).toBe(false);
    const codes = event.failures.map((f) => f.code);
    for (const code of EXPECTED[kind]) expect(codes).toContain(code);
    await closed;
    expect(d.events().filter((e) => e.type === 'auth' || e.type === 'request')).toEqual([]);
    expect(d.state().provisioningState).toBe('pre');
  });

  it('applies ME 16 rules only from ME 16: a 1024-bit leaf passes on AMT 12', async () => {
    const { device: d, pki } = await setupDevice({ firmwareVersion: '12.0.45' });
    const { event } = await handshake(d, await pki.broken('weak-key'));
    expect(event.ok).toBe(true);
  });

  it('refuses a connection without a client certificate, and a device without a DNS suffix', async () => {
    const { device: d, pki } = await setupDevice();
    expect((await handshake(d, undefined)).event.failures.map((f) => f.code)).toEqual([
      'NO_CLIENT_CERTIFICATE',
    ]);
    const { device: bare } = await setupDevice({ dnsSuffix: undefined });
    expect((await handshake(bare, pki.chain)).event.failures.map((f) => f.code)).toEqual(['NO_DNS_SUFFIX']);
    bare.configureMebx({ dnsSuffix: DOMAIN });
    expect((await handshake(bare, pki.chain)).event.ok).toBe(true);
  });

  it('refuses a chain whose name is outside the device suffix', async () => {
    const { device: d, pki } = await setupDevice({ dnsSuffix: 'other.test' });
    const { event } = await handshake(d, pki.chain);
    expect(event.failures.map((f) => f.code)).toContain('NAME_OUTSIDE_SUFFIX');
  });
});

describe('only the certificates the client sent count', () => {
  it('a chain without its root is refused even when Node could complete it (NODE_EXTRA_CA_CERTS)', async () => {
    const pki = await testPki();
    const chain = await pki.broken('missing-root');
    const server = await createSelfSignedCertificate({ commonName: 'control.local' });
    const dir = await mkdtemp(join(tmpdir(), 'amt-sim-root-'));
    try {
      await writeFile(join(dir, 'root.pem'), pki.root.pem);
      await writeFile(
        join(dir, 'input.json'),
        JSON.stringify({
          certPem: chain.certPem,
          keyPem: chain.keyPem,
          serverCertPem: server.certPem,
          serverKeyPem: server.keyPem,
          rootSha256: pki.rootHashes.sha256.toString('hex'),
          domain: DOMAIN,
        }),
      );
      const out = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', join(__dirname, 'fixtures', 'missing-root-child.ts'), join(dir, 'input.json')],
          { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'root.pem') }, timeout: 30_000 },
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
        );
      });
      const result = JSON.parse(out) as { plainLength: number; ok: boolean; codes: string[] };
      // The control proves the root was in Node's store: a default server sees 3 certificates.
      expect(result.plainLength).toBe(3);
      expect(result.ok).toBe(false);
      expect(result.codes).toContain('CHAIN_NO_ROOT');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 40_000);
});

describe('TLS versions by personality', () => {
  const tls10: ConnectionOptions = {
    minVersion: 'TLSv1',
    maxVersion: 'TLSv1',
    ciphers: 'AES128-SHA:@SECLEVEL=0',
  };

  it('legacy accepts TLS 1.0 with RSA key transport, and TLS 1.2', async () => {
    const { device: d, pki } = await setupDevice({ personality: 'legacy' });
    const old = await handshake(d, pki.chain, tls10);
    expect(old.event).toMatchObject({ ok: true, protocol: 'TLSv1' });
    old.socket.destroy();
    const modern = await handshake(d, pki.chain);
    expect(modern.event).toMatchObject({ ok: true, protocol: 'TLSv1.2' });
  });

  it('modern refuses TLS 1.0 and TLS 1.3-only clients', async () => {
    const { device: d, pki } = await setupDevice();
    const old = await handshake(d, pki.chain, tls10);
    expect(old.event.ok).toBe(false);
    expect(old.event.failures[0]?.code).toBe('TLS_HANDSHAKE');
    const v13 = await handshake(d, pki.chain, { minVersion: 'TLSv1.3' });
    expect(v13.event.ok).toBe(false);
  });

  it('a legacy chain signed with SHA-1 passes on legacy firmware', async () => {
    const pki = await testPki();
    const chain = await pki.broken('sha1');
    const root = chain.certificates[chain.certificates.length - 1]!;
    const { device: d } = await setupDevice({
      personality: 'legacy',
      customTrustedHashes: [{ algorithm: 'sha1', hash: new Uint8Array(thumbprint(root, 'sha1')) }],
    });
    expect((await handshake(d, chain, tls10)).event.ok).toBe(true);
  });
});
