import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyDeviceLogin } from '../src/flow/verify.js';
import { createSite, DOMAIN, expectNoSecretLeak, ha1, type Site } from './flow-harness.js';

describe('flow A end to end: legacy device (AMT 5, SOAP stage 1, TLS 1.0-capable)', () => {
  let site: Site;
  beforeAll(async () => {
    site = await createSite();
  });
  afterAll(async () => {
    await site?.close();
  });

  it('provisions it with SOAP in stage 1 and WS-Man in stage 2', async () => {
    const device = await site.device({ personality: 'legacy', firmwareVersion: '5.2.10' });
    const done = await site.provision(device);
    expect(done.error).toBeUndefined();
    expect(done.outcome).toBe('succeeded');
    const job = await site.store.getJob(done.job.id);
    expect(job?.journal.connect).toMatchObject({ tls: 'legacy', stage1: 'soap', firmware: '5.2.10.3425' });
    expect(job?.journal.chain).toMatchObject({ algorithm: 'sha1' });

    const s = device.state();
    expect(s.provisioningState).toBe('post');
    expect(s.clock.set).toBe(true);
    expect(s.hostName).toBe('pc-1');
    expect(s.domainName).toBe(DOMAIN);
    expect(s.tls.remote.enabled).toBe(true);
    const tlsCert = s.certificates.find((c) => c.instanceId === s.tls.credentialCertificateId);
    expect(tlsCert?.subject).toContain(`pc-1.${DOMAIN}`);
    const [admin] = await site.store.listSecrets(device.uuid, { kind: 'admin', states: ['current'] });
    expect(s.admin.ha1).toBe(ha1('admin', s.realm, admin!.value));
    expect(device.verifyMebxPassword(site.settings.mebxPassword)).toBe(true);
    expect(s.userAcls.map((a) => a.username ?? a.kerberosSid).sort()).toEqual(
      ['operator', site.settings.userAcls[1]!.kerberosSid].sort(),
    );
    expect(s.ping.icmp).toBe(true);
    expect(s.webUi).toBe(true);
    expect(s.redirection).toEqual({ listener: true, sol: true, ider: false });
    // Desktop platform: its last scheme is ConfigMgr's 5.
    expect(s.power.current?.description).toBe('Desktop: ON in S0, S3, S4-5');
    // No Wi-Fi port: nothing written; wired 802.1X through AMT_8021XProfile (AMT ≤ 11)
    expect(s.wifi.capable).toBe(false);
    expect(s.wifi.profiles).toEqual([]);
    expect(s.ieee8021x.wired.enabled).toBe(true);
    expect(s.ieee8021x.wired.username).toBe('amt-wired');
    const record = await site.store.getDevice(device.uuid);
    expect(record).toMatchObject({ status: 'provisioned', amtVersion: '5.2.10.3425' });
    const soapCalls = device.events().filter((e) => e.type === 'request' && e.protocol === 'soap');
    expect(soapCalls.map((e) => (e.type === 'request' ? e.name : '')).join(' ')).toContain('CommitChanges');
    expect(
      await verifyDeviceLogin({
        host: device.address,
        port: device.ports.tls,
        username: 'admin',
        password: admin!.value,
        profile: 'legacy',
      }),
    ).toBe(true);
    await expectNoSecretLeak(site);
  });
});
