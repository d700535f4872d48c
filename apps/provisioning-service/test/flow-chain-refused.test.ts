/**
 * Issue 9: a provisioning chain refused by the device for its missing AMT marker (no OID in the
 * leaf EKU, and no OU or not exactly `Intel(R) Client Setup Certificate`). The service's own
 * selection never presents such a chain (see flow-failures.test.ts), so these tests present it
 * through the `chooseChain` seam and let the simulated firmware judge it in the TLS handshake.
 */
import { X509Certificate } from 'node:crypto';
import { type SimulatedDevice, startDevice } from '@oobkit/amt-simulator';
import {
  AMT_PROVISIONING_OID,
  AMT_SETUP_OU,
  type BrokenChainKind,
  loadPemChain,
  type ProvisioningChain,
} from '@oobkit/provisioning-cert';
import { afterEach, describe, expect, it } from 'vitest';
import { builtInCertificateAuthority } from '../src/ca/index.js';
import { resolveConfig } from '../src/config.js';
import { type ChainChoice, type ChooseChain, chooseProvisioningChain } from '../src/flow/chain.js';
import { ProvisioningError } from '../src/flow/errors.js';
import type { JobFinished } from '../src/flow/pool.js';
import { AMT_FACTORY_PASSWORD } from '../src/flow/run.js';
import { createLogger } from '../src/log.js';
import { type RunningService, startService } from '../src/service.js';
import type { SiteStore } from '../src/store/types.js';
import {
  chainRootHashes,
  DOMAIN,
  fixtures,
  logCapture,
  openTestStore,
  siteSettings,
} from './flow-harness.js';

/**
 * A chooser that skips the provisioning-cert rules: the stored chain the hello matched, as is.
 * Counts its calls, so a test can tell the seam was used.
 */
function presentMatchedChain(): { choose: ChooseChain; calls: () => number } {
  let calls = 0;
  const choose: ChooseChain = async (store, hello) => {
    calls++;
    const match = hello?.matches[0];
    if (!match) throw new ProvisioningError('FLOW_NO_CERTIFICATE', 'test chooser: no hello match');
    const stored = (await store.listProvisioningCertificates()).find((c) => c.id === match.certificateId);
    if (!stored) throw new ProvisioningError('FLOW_NO_CERTIFICATE', 'test chooser: matched chain is gone');
    return {
      certificateId: stored.id,
      name: stored.name,
      algorithm: match.algorithm,
      // Leaf → root, as it goes on the wire.
      certPem: loadPemChain(stored.certPem).certPem,
      keyPem: stored.keyPem,
    } satisfies ChainChoice;
  };
  return { choose, calls: () => calls };
}

interface MiniSite {
  store: SiteStore;
  service: RunningService;
  device: SimulatedDevice;
  log: string[];
  provision(): Promise<JobFinished>;
  close(): Promise<void>;
}

/** One service (with the seam) on an in-memory store holding `chain`, and one device trusting its root. */
async function miniSite(chain: ProvisioningChain, name: string, chooseChain: ChooseChain): Promise<MiniSite> {
  const { keys, keyPool } = await fixtures();
  const store = await openTestStore();
  await store.putSettings(siteSettings());
  await store.addCredential({ label: 'factory default', username: 'admin', password: 'admin', priority: 10 });
  const rootHashes = chainRootHashes(chain.certPem);
  await store.addProvisioningCertificate({
    name,
    certPem: chain.certPem,
    keyPem: chain.keyPem ?? '',
    rootHashes,
    enabled: true,
  });
  const log = logCapture();
  const config = resolveConfig(
    {
      dataDir: '/nonexistent-oobkit-test',
      hello: { host: '127.0.0.1', port: 0 },
      api: { host: '127.0.0.1', port: 0, token: 'test-token-0123456789' },
      workers: 2,
      leaseMs: 10_000,
      instanceId: 'chain-refused',
      logLevel: 'debug',
    },
    {},
  );
  let service: RunningService | undefined;
  let device: SimulatedDevice | undefined;
  try {
    service = await startService(config, {
      store,
      ca: builtInCertificateAuthority({ keys }),
      api: false,
      logger: createLogger({ level: 'debug', destination: log.stream }),
      chooseChain,
    });
    device = await startDevice({
      dnsSuffix: DOMAIN,
      customTrustedHashes: [
        { algorithm: 'sha256', hash: new Uint8Array(Buffer.from(rootHashes.sha256, 'hex')) },
      ],
      keyPool,
      hello: { host: '127.0.0.1', port: service.helloAddress.port, autoStart: false },
    });
    await store.importComputers([
      { uuid: device.uuid, hostName: 'pc-1', domainName: DOMAIN, source: 'import' },
    ]);
  } catch (err) {
    await device?.stop();
    await service?.close();
    await store.close();
    throw err;
  }
  const s = service;
  const d = device;
  return {
    store,
    service: s,
    device: d,
    log: log.lines,
    provision() {
      const done = new Promise<JobFinished>((resolve) => {
        const fn = (e: JobFinished) => {
          if (e.job.uuid !== d.uuid) return;
          s.off('job-finished', fn);
          resolve(e);
        };
        s.on('job-finished', fn);
      });
      return d.sendHelloNow().then(() => done);
    },
    async close() {
      await d.stop();
      await s.close();
      await store.close();
    },
  };
}

function leafOf(chain: ProvisioningChain): X509Certificate {
  return new X509Certificate(loadPemChain(chain.certPem).certPem);
}

describe('a chain without the AMT OID and OU, presented anyway: the device refuses it (issue 9)', () => {
  let site: MiniSite | undefined;
  afterEach(async () => {
    await site?.close();
    site = undefined;
  });

  const cases: Array<{ kind: BrokenChainKind; ou: string | undefined }> = [
    { kind: 'ou-trailing-period', ou: `${AMT_SETUP_OU}.` },
    { kind: 'ou-wrong-case', ou: AMT_SETUP_OU.toLowerCase() },
    { kind: 'no-marker', ou: undefined },
  ];

  it.each(cases)('$kind', async ({ kind, ou }) => {
    const { pki } = await fixtures();
    const chain = await pki.broken(kind);
    // The fixture is what this test claims: no AMT OID in the leaf EKU, and the OU as stated.
    const leaf = leafOf(chain);
    expect(leaf.keyUsage ?? []).not.toContain(AMT_PROVISIONING_OID);
    const ous = leaf.subject
      .split('\n')
      .filter((l) => l.startsWith('OU='))
      .map((l) => l.slice(3));
    expect(ous).toEqual(ou === undefined ? [] : [ou]);

    const seam = presentMatchedChain();
    site = await miniSite(chain, `broken ${kind}`, seam.choose);
    const { store, device } = site;
    // Without the seam, the service itself refuses to present this chain.
    await expect(chooseProvisioningChain(store, undefined)).rejects.toMatchObject({
      code: 'FLOW_NO_CERTIFICATE',
      causeCode: 'LEAF_NO_AMT_MARKER',
    });
    const before = device.state();

    const done = await site.provision();
    expect(seam.calls()).toBe(1);

    // The job: failed at connect, with the chain-refused code.
    expect(done.outcome).toBe('failed');
    expect(done.error?.code).toBe('FLOW_TLS_REFUSED');
    const record = await store.getDevice(device.uuid);
    expect(record?.status).toBe('failed');
    expect(record?.lastError).toMatchObject({ code: 'FLOW_TLS_REFUSED', step: 'connect' });

    // The event log: the chain step chose the broken chain, then the refusal.
    const [chose] = await store.listEvents({ uuid: device.uuid, type: 'step.done' });
    expect(chose).toMatchObject({ step: 'chain', data: { name: `broken ${kind}` } });
    const failed = await store.listEvents({ uuid: device.uuid, type: 'job.failed' });
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ step: 'connect', data: { code: 'FLOW_TLS_REFUSED' } });
    const types = (await store.listEvents({ uuid: device.uuid })).map((e) => e.type);
    expect(types).not.toContain('login.ok');
    expect(types).not.toContain('secret.pending');

    // The device: refused every handshake for the missing marker, and for nothing else.
    const tls = device.events().filter((e) => e.type === 'tls');
    expect(tls.length).toBeGreaterThan(0);
    for (const e of tls) {
      expect(e).toMatchObject({ ok: false });
      expect(e.type === 'tls' && e.failures.map((f) => f.code)).toEqual(['LEAF_NO_AMT_MARKER']);
    }
    // No request (so no setup call, no password) reached the firmware.
    expect(device.events().filter((e) => e.type === 'request' || e.type === 'auth')).toEqual([]);

    // Unprovisioned and unchanged: factory passwords, no uncommitted change, nothing else moved.
    const after = device.state();
    expect(after.provisioningState).toBe('pre');
    expect(after.uncommittedChanges).toBe(false);
    // The firmware clock runs on real time: only whether it was set counts.
    const settled = (x: typeof after) => ({ ...x, clock: { ...x.clock, timeMs: 0 } });
    expect(settled(after)).toEqual(settled(before));
    expect(after.clock.set).toBe(false);
    expect(device.verifyAdminPassword(AMT_FACTORY_PASSWORD)).toBe(true);
    expect(device.verifyMebxPassword(AMT_FACTORY_PASSWORD)).toBe(true);
    // No secret was made for the device, pending or otherwise.
    expect(await store.listSecrets(device.uuid, { states: ['pending', 'current', 'retired'] })).toEqual([]);
  });

  it('positive control: the same seam with a marked chain provisions the device', async () => {
    const { pki } = await fixtures();
    const seam = presentMatchedChain();
    site = await miniSite(pki.chain, 'test PKI', seam.choose);
    const { store, device } = site;

    const done = await site.provision();
    expect(seam.calls()).toBe(1);
    expect(done.outcome).toBe('succeeded');
    const [chose] = await store.listEvents({ uuid: device.uuid, type: 'step.done' });
    expect(chose).toMatchObject({ step: 'chain', data: { name: 'test PKI' } });
    const tls = device.events().filter((e) => e.type === 'tls');
    expect(tls.length).toBeGreaterThan(0);
    expect(tls.every((e) => e.type === 'tls' && e.ok)).toBe(true);
    expect(device.state().provisioningState).toBe('post');
    const [admin] = await store.listSecrets(device.uuid, { kind: 'admin', states: ['current'] });
    expect(admin).toBeDefined();
    expect(device.verifyAdminPassword(admin!.value)).toBe(true);
    expect(device.verifyAdminPassword(AMT_FACTORY_PASSWORD)).toBe(false);
  });
});
