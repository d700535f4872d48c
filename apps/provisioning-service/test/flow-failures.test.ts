import { generateAmtPassword } from '@oobkit/http-digest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProvisioningError } from '../src/flow/errors.js';
import { requestProvisioning } from '../src/jobs.js';
import { chainRootHashes, createSite, expectNoSecretLeak, fixtures, type Site } from './flow-harness.js';

describe('hello screening (flow A.2)', () => {
  let site: Site;
  beforeAll(async () => {
    site = await createSite();
  });
  afterAll(async () => {
    await site?.close();
  });

  it('drops the hello of a UUID nobody imported, and queues nothing', async () => {
    const device = await site.device();
    const screened = site.nextScreened(device.uuid);
    await device.sendHelloNow();
    expect(await screened).toMatchObject({ action: 'dropped', reason: 'unknown-uuid' });
    const events = await site.store.listEvents({ uuid: device.uuid });
    expect(events.map((e) => e.type)).toEqual(['hello.dropped.unknown-uuid']);
    expect(await site.store.listJobs({ uuid: device.uuid })).toEqual([]);
    expect(await site.store.getDevice(device.uuid)).toBeUndefined();
  });

  it('drops a hello whose hashes match no provisioning root', async () => {
    // Only the firmware's built-in roots: the test PKI root is not among them.
    const device = await site.device({ customTrustedHashes: [] });
    await site.importDevice(device);
    const screened = site.nextScreened(device.uuid);
    await device.sendHelloNow();
    expect(await screened).toMatchObject({ action: 'dropped', reason: 'no-root-match' });
    const [event] = await site.store.listEvents({ uuid: device.uuid, type: 'hello.dropped.no-root-match' });
    expect(event?.data).toMatchObject({ address: device.address, algorithms: ['sha256'] });
    expect(await site.store.listJobs({ uuid: device.uuid })).toEqual([]);
    expect((await site.store.getDevice(device.uuid))?.status).toBe('discovered');
    expect(device.state().provisioningState).toBe('pre');
  });

  it('drops PSK hellos (only PKI provisioning is supported)', async () => {
    const device = await site.device({ personality: 'legacy' });
    await device.stop();
    const psk = await (await import('@oobkit/amt-simulator')).startDevice({
      personality: 'legacy',
      keyPool: site.keyPool,
      hello: { host: '127.0.0.1', port: site.service.helloAddress.port, kind: 'psk', autoStart: false },
    });
    try {
      await site.importDevice(psk);
      const screened = site.nextScreened(psk.uuid);
      await psk.sendHelloNow();
      expect(await screened).toMatchObject({ action: 'dropped', reason: 'psk' });
      expect(await site.store.listJobs({ uuid: psk.uuid })).toEqual([]);
    } finally {
      await psk.stop();
    }
  });

  it('queues one job however many hellos arrive while it is queued or running', async () => {
    const device = await site.device();
    await site.importDevice(device);
    const done = site.waitForJob(device.uuid, ['succeeded']);
    const screened = site.screenings(device.uuid, 4);
    await Promise.all(Array.from({ length: 4 }, () => device.sendHelloNow()));
    const outcomes = await screened;
    expect(outcomes.filter((o) => o.action === 'queued' && o.created)).toHaveLength(1);
    const ids = new Set(outcomes.map((o) => (o.action === 'queued' ? o.job.id : -1)));
    expect(ids.size).toBe(1);
    await done;
    const jobs = await site.store.listJobs({ uuid: device.uuid });
    expect(jobs).toHaveLength(1);
    const commits = device.events().filter((e) => e.type === 'request' && e.name.endsWith('CommitChanges'));
    expect(commits).toHaveLength(1);
  });
});

describe('provisioning chain checks (flow A.3)', () => {
  it('a chain whose CN is outside the device DNS suffix: the device refuses the TLS session', async () => {
    const { pki } = await fixtures();
    const wrongName = await pki.broken('wrong-name');
    const site = await createSite({
      noDefaultChain: true,
      chains: [{ name: 'wrong CN', certPem: wrongName.certPem, keyPem: wrongName.keyPem ?? '' }],
    });
    try {
      const device = await site.device();
      const done = await site.provision(device);
      expect(done.outcome).toBe('failed');
      expect(done.error?.code).toBe('FLOW_TLS_REFUSED');
      const record = await site.store.getDevice(device.uuid);
      expect(record?.status).toBe('failed');
      expect(record?.lastError).toMatchObject({ code: 'FLOW_TLS_REFUSED', step: 'connect' });
      const tls = device.events().filter((e) => e.type === 'tls');
      expect(tls.length).toBeGreaterThan(0);
      expect(tls.every((e) => e.type === 'tls' && !e.ok)).toBe(true);
      expect(JSON.stringify(tls)).toContain('NAME');
      expect(device.state().provisioningState).toBe('pre');
      expect(device.state().uncommittedChanges).toBe(false);
    } finally {
      await site.close();
    }
  });

  it('a chain with SHA-1 signatures on modern TLS: the handshake fails before AMT sees it', async () => {
    const { pki } = await fixtures();
    const sha1 = await pki.broken('sha1');
    const site = await createSite({
      noDefaultChain: true,
      chains: [{ name: 'sha1', certPem: sha1.certPem, keyPem: sha1.keyPem ?? '' }],
    });
    try {
      const root = chainRootHashes(sha1.certPem);
      const device = await site.device({
        firmwareVersion: '16.1.25',
        customTrustedHashes: [{ algorithm: 'sha256', hash: new Uint8Array(Buffer.from(root.sha256, 'hex')) }],
      });
      const done = await site.provision(device);
      expect(done.error?.code).toBe('FLOW_TLS_REFUSED');
      // OpenSSL 3 will not present a SHA-1 chain outside the legacy options (AMT 16 refuses it anyway).
      const [failed] = await site.store.listEvents({ uuid: device.uuid, type: 'job.failed' });
      expect(failed?.data).toMatchObject({ causeCode: 'ERR_SSL_CA_MD_TOO_WEAK' });
      expect(device.state().provisioningState).toBe('pre');
    } finally {
      await site.close();
    }
  });

  it('a chain without the AMT OID or OU is never presented: no usable certificate, device untouched', async () => {
    const { pki } = await fixtures();
    const noMarker = await pki.broken('no-marker');
    const badOu = await pki.broken('ou-wrong-case');
    const site = await createSite({
      noDefaultChain: true,
      chains: [
        { name: 'no marker', certPem: noMarker.certPem, keyPem: noMarker.keyPem ?? '' },
        { name: 'bad OU', certPem: badOu.certPem, keyPem: badOu.keyPem ?? '' },
      ],
    });
    try {
      const device = await site.device();
      const done = await site.provision(device);
      expect(done.error?.code).toBe('FLOW_NO_CERTIFICATE');
      const record = await site.store.getDevice(device.uuid);
      expect(record?.lastError).toMatchObject({ code: 'FLOW_NO_CERTIFICATE', step: 'chain' });
      expect(record?.lastError?.message).toContain('no marker');
      expect(record?.lastError?.message).toContain('bad OU');
      expect(device.events().filter((e) => e.type === 'tls')).toEqual([]);
    } finally {
      await site.close();
    }
  });

  it('a chain marked with the OU instead of the OID is accepted', async () => {
    const { pki } = await fixtures();
    const ou = await pki.issueLeaf({ marker: 'ou' });
    const site = await createSite({
      noDefaultChain: true,
      chains: [{ name: 'OU marker', certPem: ou.certPem, keyPem: ou.keyPem ?? '' }],
    });
    try {
      const device = await site.device();
      expect((await site.provision(device)).outcome).toBe('succeeded');
      expect(device.state().provisioningState).toBe('post');
    } finally {
      await site.close();
    }
  });
});

describe('credentials (flow A.4/A.5)', () => {
  it('all credentials wrong: the job fails at login, each credential tried once, nothing changed', async () => {
    const site = await createSite({
      credentials: [
        { label: 'factory default', username: 'admin', password: 'admin', priority: 1 },
        { label: 'old site password', username: 'admin', password: generateAmtPassword(), priority: 2 },
      ],
    });
    try {
      const device = await site.device({ mebxPassword: generateAmtPassword() });
      const done = await site.provision(device);
      expect(done.error?.code).toBe('FLOW_LOGIN_FAILED');
      const refused = await site.store.listEvents({ uuid: device.uuid, type: 'login.refused' });
      expect(refused.map((e) => e.data?.label)).toEqual(['factory default', 'old site password']);
      const auth = device.events().filter((e) => e.type === 'auth' && !e.ok);
      expect(auth).toHaveLength(2);
      expect(device.state().provisioningState).toBe('pre');
      expect(device.state().uncommittedChanges).toBe(false);
      expect(await site.store.listSecrets(device.uuid)).toEqual([]);
      await expectNoSecretLeak(site);
    } finally {
      await site.close();
    }
  });

  it('the second credential is right: provisioned, and the MEBx password (already changed) is left alone', async () => {
    const siteMebx = generateAmtPassword();
    const site = await createSite({
      credentials: [
        { label: 'factory default', username: 'admin', password: 'admin', priority: 1 },
        { label: 'site MEBx', username: 'admin', password: siteMebx, priority: 2 },
      ],
    });
    try {
      const device = await site.device({ mebxPassword: siteMebx });
      const done = await site.provision(device);
      expect(done.outcome).toBe('succeeded');
      const [ok] = await site.store.listEvents({ uuid: device.uuid, type: 'login.ok' });
      expect(ok?.data).toMatchObject({ source: 'credential', label: 'site MEBx', refused: 1 });
      const job = await site.store.getJob(done.job.id);
      expect(job?.journal['stage1.mebx-password']).toEqual({ skipped: 'already-changed' });
      expect(device.verifyMebxPassword(siteMebx)).toBe(true);
      expect(await site.store.listSecrets(device.uuid, { kind: 'mebx' })).toEqual([]);
      const [admin] = await site.store.listSecrets(device.uuid, { kind: 'admin', states: ['current'] });
      expect(device.verifyAdminPassword(admin!.value)).toBe(true);
      await expectNoSecretLeak(site);
    } finally {
      await site.close();
    }
  });
});

describe('a device-side failure, then the next hello', () => {
  it('fails the job with the AMT status, and the next hello provisions it', async () => {
    const site = await createSite();
    try {
      const device = await site.device();
      device.injectFault('AMT_GeneralSettings.Put', { kind: 'soapFault', reason: 'simulated' });
      const first = await site.provision(device);
      expect(first.outcome).toBe('failed');
      expect(first.error?.code).toBe('FLOW_DEVICE_ERROR');
      expect((await site.store.getDevice(device.uuid))?.lastError?.step).toBe('stage1.network');
      const second = await site.provision(device);
      expect(second.outcome).toBe('succeeded');
      expect(second.job.id).not.toBe(first.job.id);
      expect(device.state().hostName).toBe('pc-1');
    } finally {
      await site.close();
    }
  });

  it('rides out a dropped TLS connection, a dropped request and a reboot', async () => {
    const site = await createSite();
    try {
      const device = await site.device();
      device.injectFault('tls', { kind: 'drop' });
      device.injectFault('AMT_RedirectionService.RequestStateChange', { kind: 'drop' });
      device.injectFault('AMT_SystemPowerScheme', { kind: 'reboot' });
      const done = await site.provision(device);
      expect(done.outcome).toBe('succeeded');
      const retries = await site.store.listEvents({ uuid: device.uuid, type: 'step.retry' });
      expect(retries.map((e) => e.step).sort()).toEqual(['stage2.features', 'stage2.power']);
      expect(device.state().redirection.sol).toBe(true);
    } finally {
      await site.close();
    }
  });

  it('a power loss in stage 1 (uncommitted changes lost) restarts stage 1 with the same secrets', async () => {
    const site = await createSite();
    try {
      const device = await site.device();
      device.injectFault('SetMEBxPassword', { kind: 'powerLoss' });
      const done = await site.provision(device);
      expect(done.outcome).toBe('succeeded');
      expect(await site.store.listEvents({ uuid: device.uuid, type: 'stage1.restart' })).toHaveLength(1);
      const s = device.state();
      expect(s.hostName).toBe('pc-1');
      expect(s.tls.remote.enabled).toBe(true);
      // One admin and one MEBx secret: the restart reused the pending ones.
      const secrets = await site.store.listSecrets(device.uuid, {
        states: ['pending', 'current', 'retired'],
      });
      expect(secrets.map((x) => `${x.kind}:${x.state}`).sort()).toEqual(['admin:current', 'mebx:current']);
      expect(device.verifyAdminPassword(secrets.find((x) => x.kind === 'admin')!.value)).toBe(true);
      expect(device.verifyMebxPassword(site.settings.mebxPassword)).toBe(true);
    } finally {
      await site.close();
    }
  });
});

describe('a job that stops after the commit, then an operator retry', () => {
  it('confirms the secrets the committed device holds, so the site can give them out', async () => {
    // The first job fails right after AMT committed (an outage, say), before confirming.
    const failAfterCommit = new Set<string>();
    const site = await createSite({
      checkpoint: (p) => {
        if (p.step === 'stage1.commit' && p.phase === 'effect' && failAfterCommit.delete(p.uuid))
          throw new ProvisioningError('FLOW_DEVICE_ERROR', 'the device stopped answering after the commit');
      },
    });
    try {
      const device = await site.device({ wireless: false });
      failAfterCommit.add(device.uuid);
      const first = await site.provision(device);
      expect(first.outcome).toBe('failed');
      expect(device.state().provisioningState).toBe('post');
      const pending = await site.store.listSecrets(device.uuid, { states: ['pending'] });
      expect(pending.map((s) => s.kind).sort()).toEqual(['admin', 'mebx']);
      expect(await site.store.listSecrets(device.uuid, { states: ['current'] })).toEqual([]);

      // A committed AMT says no more hellos: the operator retries.
      const done = site.waitForJob(device.uuid, ['succeeded', 'failed']);
      expect((await requestProvisioning(site.store, device.uuid, 'retry')).outcome).toBe('queued');
      expect((await done).outcome).toBe('succeeded');
      const current = await site.store.listSecrets(device.uuid, { states: ['current'] });
      expect(current.map((s) => [s.kind, s.id]).sort()).toEqual(pending.map((s) => [s.kind, s.id]).sort());
      expect(await site.store.listSecrets(device.uuid, { states: ['pending'] })).toEqual([]);
      const admin = current.find((s) => s.kind === 'admin');
      expect(device.verifyAdminPassword(admin!.value)).toBe(true);
      expect(device.verifyMebxPassword(current.find((s) => s.kind === 'mebx')!.value)).toBe(true);
    } finally {
      await site.close();
    }
  });
});
