import { generateAmtPassword } from '@oobkit/http-digest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestProvisioning } from '../src/jobs.js';
import { createSite, expectNoSecretLeak, type Site } from './flow-harness.js';

describe('re-provisioning a device whose provisioning data was partly or wholly removed', () => {
  let site: Site;
  beforeAll(async () => {
    site = await createSite();
  });
  afterAll(async () => {
    await site?.close();
  });

  for (const kind of ['partial', 'full'] as const) {
    it(`after a ${kind} unprovision: provisioned again with a new admin password`, async () => {
      const device = await site.device({ wireless: true });
      expect((await site.provision(device)).outcome).toBe('succeeded');
      const [first] = await site.store.listSecrets(device.uuid, { kind: 'admin', states: ['current'] });

      // Unprovisioning restarts the device's hellos: listen before it.
      const next = site.waitForJob(device.uuid, ['succeeded', 'failed']);
      device.unprovision(kind);
      expect(device.state().provisioningState).toBe('pre');
      if (kind === 'full') {
        // A full unprovision also clears the custom root hashes: a technician adds ours again in MEBx.
        expect(device.state().trustedHashes.custom).toEqual([]);
        device.configureMebx({
          customTrustedHashes: [{ algorithm: 'sha256', hash: new Uint8Array(site.pki.rootHashes.sha256) }],
        });
      }
      await device.sendHelloNow();
      // A hello does not re-provision a device on record as provisioned: what answers could be
      // another machine using its UUID. The job stops before anything is written to the device,
      // and the device stays provisioned on record, the error saying how to go on.
      const held = await next;
      expect(held.outcome).toBe('failed');
      expect(held.error).toMatchObject({ code: 'FLOW_NEEDS_APPROVAL' });
      expect(held.error?.message).toContain(`oobkit provision ${device.uuid} --retry`);
      // (Its setup session alone moves AMT into in-provisioning; nothing was committed.)
      expect(device.state().provisioningState).not.toBe('post');
      const heldEvents = await site.store.listEvents({ jobId: held.job.id });
      expect(heldEvents.filter((e) => e.type === 'secret.pending' || e.step?.startsWith('stage'))).toEqual(
        [],
      );
      expect(await site.store.getDevice(device.uuid)).toMatchObject({
        status: 'provisioned',
        lastError: { code: 'FLOW_NEEDS_APPROVAL' },
      });
      expect(
        (await site.store.listSecrets(device.uuid, { kind: 'admin' })).map((x) => [x.id, x.state]),
      ).toEqual([[first!.id, 'current']]);

      // The operator approves: `oobkit provision <uuid> --retry`.
      const approved = site.waitForJob(device.uuid, ['succeeded', 'failed']);
      expect((await requestProvisioning(site.store, device.uuid, 'retry')).outcome).toBe('queued');
      const again = await approved;
      expect(again.outcome).toBe('succeeded');

      // Partial keeps the admin account (our stored admin password opens it); full puts the MEBx
      // password back in its place (our stored MEBx secret opens it). Either way a stored secret.
      const [ok] = await site.store.listEvents({ jobId: again.job.id, type: 'login.ok' });
      expect(ok?.data).toMatchObject({
        source: 'secret',
        label: expect.stringContaining(kind === 'partial' ? 'admin' : 'mebx'),
      });
      const admins = await site.store.listSecrets(device.uuid, {
        kind: 'admin',
        states: ['current', 'retired'],
      });
      const current = admins.filter((a) => a.state === 'current');
      expect(current).toHaveLength(1);
      expect(current[0]!.id).not.toBe(first!.id);
      expect(admins.find((a) => a.id === first!.id)?.state).toBe('retired');
      expect(device.verifyAdminPassword(current[0]!.value)).toBe(true);
      expect(device.verifyAdminPassword(first!.value)).toBe(false);
      // The MEBx password we set the first time is still the device's (never set twice).
      expect(device.verifyMebxPassword(site.settings.mebxPassword)).toBe(true);
      const s = device.state();
      expect(s.provisioningState).toBe('post');
      expect(s.wifi.profiles.map((p) => p.elementName)).toEqual(['corp']);
      expect(s.userAcls).toHaveLength(2);
    });
  }

  it('a device left with an old admin password, ACLs, profiles and certificates: all replaced', async () => {
    const old = generateAmtPassword();
    const known = await site.store.addCredential({
      label: 'old admin password',
      username: 'admin',
      password: old,
      priority: 50,
    });
    const { pki } = site;
    const device = await site.device({
      wireless: true,
      adminPassword: old,
      seed: {
        hostName: 'old-name',
        systemAccount: true,
        userAcls: [
          { username: 'leftover', password: generateAmtPassword() },
          { kerberosSid: 'AQEAAAAAAAUSAAAA' },
        ],
        certificates: [
          { name: 'wifi-client', der: pki.leaf.der },
          { name: 'wifi-ca', der: pki.root.der, trustedRoot: true },
          { name: 'wired-client', der: pki.intermediates[0]!.der },
        ],
        wifiProfiles: [
          { elementName: 'old-psk', ssid: 'old', priority: 2, passphrase: generateAmtPassword(20) },
          {
            elementName: 'old-8021x',
            ssid: 'old-eap',
            priority: 3,
            authenticationMethod: 7,
            ieee8021x: { elementName: 'old-8021x', authenticationProtocol: 0 },
            clientCertificate: 'wifi-client',
            caCertificate: 'wifi-ca',
          },
        ],
        wired8021x: { enabled: true, clientCertificate: 'wired-client' },
      },
    });
    expect(device.state().ieee8021x.linkedCertificates).toHaveLength(3);
    const done = await site.provision(device);
    expect(done.outcome).toBe('succeeded');
    const [ok] = await site.store.listEvents({ jobId: done.job.id, type: 'login.ok' });
    expect(ok?.data).toMatchObject({ source: 'credential', id: known.id });
    const job = await site.store.getJob(done.job.id);
    expect(job?.journal['stage2.wireless']).toMatchObject({
      removedProfiles: 2,
      removedCertificates: 3,
      wireless: true,
      profiles: 1,
    });
    expect(job?.journal['stage2.acl']).toMatchObject({ removed: 2, added: 2 });
    const s = device.state();
    expect(s.hostName).toBe('pc-3');
    expect(s.userAcls.map((a) => a.username ?? a.kerberosSid).sort()).toEqual(
      ['$$OsAdmin', 'operator', site.settings.userAcls[1]!.kerberosSid].sort(),
    );
    expect(s.wifi.profiles.map((p) => p.elementName)).toEqual(['corp']);
    expect(s.ieee8021x.linkedCertificates).toEqual([]);
    expect(s.certificates.map((c) => c.instanceId)).toEqual([s.tls.credentialCertificateId]);
    const [admin] = await site.store.listSecrets(device.uuid, { kind: 'admin', states: ['current'] });
    expect(device.verifyAdminPassword(admin!.value)).toBe(true);
    expect(device.verifyAdminPassword(old)).toBe(false);
    await expectNoSecretLeak(site);
  });

  it("another machine saying hello with a provisioned device's UUID gets nothing, and moves nothing", async () => {
    const real = await site.device({ wireless: true });
    expect((await site.provision(real)).outcome).toBe('succeeded');
    const [admin] = await site.store.listSecrets(real.uuid, { kind: 'admin' });
    // AMT sends its UUID and trusted root hashes in clear: anyone can copy them.
    const impostor = await site.device({ uuid: real.uuid, wireless: true });
    expect(impostor.address).not.toBe(real.address);
    const held = site.waitForJob(real.uuid, ['succeeded', 'failed', 'cancelled']);
    await impostor.sendHelloNow();
    const job = await held;
    expect(job.outcome).toBe('failed');
    expect(job.error).toMatchObject({ code: 'FLOW_NEEDS_APPROVAL' });
    expect(job.error?.message).toContain(impostor.address);
    // The impostor was given no site secret and committed nothing.
    expect(impostor.verifyMebxPassword(site.settings.mebxPassword)).toBe(false);
    expect(impostor.state().provisioningState).not.toBe('post');
    // The real device is untouched on record and in fact: same address, same admin password.
    expect(await site.store.getDevice(real.uuid)).toMatchObject({
      status: 'provisioned',
      address: real.address,
    });
    expect((await site.store.listSecrets(real.uuid, { kind: 'admin' })).map((x) => [x.id, x.state])).toEqual([
      [admin!.id, 'current'],
    ]);
    expect(real.verifyAdminPassword(admin!.value)).toBe(true);
    await expectNoSecretLeak(site);
  });
});
