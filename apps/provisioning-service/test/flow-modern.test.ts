import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyDeviceLogin } from '../src/flow/verify.js';
import { createSite, DOMAIN, expectNoSecretLeak, FLOW_STEPS, ha1, type Site } from './flow-harness.js';

describe('flow A end to end: modern device (AMT 16, WS-Man)', () => {
  let site: Site;
  beforeAll(async () => {
    site = await createSite();
  });
  afterAll(async () => {
    await site?.close();
  });

  it('provisions it, every step leaving its effect in the firmware', async () => {
    const device = await site.device({ personality: 'modern', wireless: true });
    const done = await site.provision(device);
    expect(done.outcome).toBe('succeeded');

    const s = device.state();
    expect(s.provisioningState).toBe('post');
    expect(s.committedProvisioningState).toBe('post');
    expect(s.provisioningMode).toBe(1);
    expect(s.uncommittedChanges).toBe(false);
    // A.7.1 clock, A.7.2 names
    expect(s.clock.set).toBe(true);
    expect(s.hostName).toBe('pc-1');
    expect(s.domainName).toBe(DOMAIN);
    // A.7.3 a CA-issued certificate for the FQDN, bound to TLS, TLS on
    expect(s.tls.remote.enabled).toBe(true);
    const tlsCert = s.certificates.find((c) => c.instanceId === s.tls.credentialCertificateId);
    expect(tlsCert?.subject).toContain(`pc-1.${DOMAIN}`);
    expect(tlsCert?.issuer).toContain('oobkit device CA');
    expect(tlsCert?.keyInstanceId).toBeDefined();
    // A.7.4 the admin password is the stored one (current), A.7.5 the MEBx one too
    const secrets = await site.store.listSecrets(device.uuid, { states: ['current'] });
    const admin = secrets.find((x) => x.kind === 'admin');
    const mebx = secrets.find((x) => x.kind === 'mebx');
    expect(admin).toBeDefined();
    expect(s.admin.username).toBe('admin');
    expect(s.admin.ha1).toBe(ha1('admin', s.realm, admin!.value));
    expect(device.verifyAdminPassword(admin!.value)).toBe(true);
    expect(mebx?.value).toBe(site.settings.mebxPassword);
    expect(s.mebx.changed).toBe(true);
    expect(device.verifyMebxPassword(site.settings.mebxPassword)).toBe(true);
    expect(await site.store.listSecrets(device.uuid, { states: ['pending'] })).toEqual([]);
    // A.8.1 ACLs: exactly the configured entries
    expect(s.userAcls).toHaveLength(2);
    const operator = s.userAcls.find((a) => a.username === 'operator');
    const op = site.settings.userAcls[0]!;
    expect(operator?.ha1).toBe(ha1('operator', s.realm, op.password!));
    expect(operator?.realms).toEqual(op.realms);
    expect(operator?.accessPermission).toBe(2);
    expect(s.userAcls.find((a) => a.kerberosSid !== undefined)?.kerberosSid).toBe(
      site.settings.userAcls[1]!.kerberosSid,
    );
    // A.8.2 features as configured
    expect(s.ping.icmp).toBe(true);
    expect(s.webUi).toBe(true);
    expect(s.redirection).toEqual({ listener: true, sol: true, ider: false });
    // A.8.3 no directory: Kerberos left off, and the event log says why
    expect(s.kerberos.krbEnabled).toBe(false);
    const notes = await site.store.listEvents({ uuid: device.uuid, type: 'step.note' });
    expect(notes.some((e) => e.step === 'stage2.kerberos')).toBe(true);
    // SP1: scheme 5 = AMT on in S0–S5 on AC (the mobile platform's last scheme)
    expect(s.power.current?.description).toBe('Mobile: ON in S0, S3/AC, S4-5/AC');
    // A.8.4 wireless: the configured profile written; wired 802.1X (IPS class on AMT 16)
    expect(s.wifi.profiles.map((p) => [p.elementName, p.ssid, p.priority, p.pskPassPhrase])).toEqual([
      ['corp', 'corp-wifi', 1, site.settings.wifiProfiles[0]!.pskPassphrase],
    ]);
    expect(s.ieee8021x.wired.ipsEnabled).toBe(6);
    expect(s.ieee8021x.wired.username).toBe('amt-wired');
    // A.9 report
    const record = await site.store.getDevice(device.uuid);
    expect(record?.status).toBe('provisioned');
    expect(record?.amtVersion).toBe('16.1.25.3425');
    expect(record?.provisionedAt).toBeDefined();
    // Every step journaled and in the event log with its duration
    const job = await site.store.getJob(done.job.id);
    expect(job?.state).toBe('succeeded');
    expect(Object.keys(job!.journal)).toEqual(expect.arrayContaining(FLOW_STEPS));
    const stepEvents = await site.store.listEvents({ jobId: done.job.id, type: 'step.done', limit: 100 });
    expect(stepEvents.map((e) => e.step)).toEqual(FLOW_STEPS);
    for (const e of stepEvents) expect(e.durationMs).toBeGreaterThanOrEqual(0);
    // And a fresh login with the stored password opens it (TLS now with the CA's certificate)
    expect(
      await verifyDeviceLogin({
        host: device.address,
        port: device.ports.tls,
        username: 'admin',
        password: admin!.value,
      }),
    ).toBe(true);
    expect(
      await verifyDeviceLogin({
        host: device.address,
        port: device.ports.tls,
        username: 'admin',
        password: 'admin',
      }),
    ).toBe(false);
  });

  it('writes no secret into any log line or event', async () => {
    const { secrets, lines } = await expectNoSecretLeak(site);
    expect(secrets).toBeGreaterThanOrEqual(7);
    expect(lines).toBeGreaterThan(40);
  });

  it('writes log lines that name each field once (log shippers refuse repeated keys)', () => {
    const jobLines = site.log.filter((l) => l.includes('"jobId"'));
    expect(jobLines.length).toBeGreaterThan(20);
    for (const line of site.log) {
      // JSON.parse keeps the last of repeated keys; count the top-level keys in the text instead.
      const parsed = JSON.parse(line) as Record<string, unknown>;
      for (const key of Object.keys(parsed)) {
        const n = line.split(`"${key}":`).length - 1;
        const nested = JSON.stringify(Object.values(parsed)).split(`"${key}":`).length - 1;
        expect({ key, line: line.slice(0, 160), count: n - nested }).toMatchObject({ count: 1 });
      }
    }
  });
});

describe('extension points: a directory and a CA', () => {
  it('creates the account with a password stored first, and turns Kerberos on with its key', async () => {
    const { randomBytes } = await import('node:crypto');
    const calls: Array<{ fqdn: string; ou?: string; password: string; storedBefore: boolean }> = [];
    let site: Site | undefined;
    const key = randomBytes(16);
    site = await createSite({
      directory: {
        name: 'test-ad',
        createsAccounts: true,
        async ensureComputerAccount(req) {
          const stored = await site!.store.listSecrets(req.uuid, {
            kind: 'directory',
            states: ['pending', 'current'],
          });
          calls.push({
            fqdn: req.fqdn,
            ...(req.ou !== undefined ? { ou: req.ou } : {}),
            password: req.password,
            storedBefore: stored.some((x) => x.value === req.password),
          });
          return {
            distinguishedName: `CN=${req.hostName},OU=AMT,DC=oobkit,DC=test`,
            servicePrincipalNames: [`HTTP/${req.fqdn}:16992`, `HTTP/${req.fqdn}:16993`],
            kerberos: { realm: 'OOBKIT.TEST', keyVersion: 2, encryptionAlgorithm: 0, masterKey: key },
          };
        },
      },
    });
    try {
      const device = await site.device();
      await site.store.importComputers([
        { uuid: device.uuid, hostName: 'pc-7', domainName: DOMAIN, ou: 'OU=AMT', source: 'import' },
      ]);
      const done = await site.provision(device);
      expect(done.outcome).toBe('succeeded');
      expect(calls).toEqual([
        { fqdn: `pc-7.${DOMAIN}`, ou: 'OU=AMT', password: expect.any(String), storedBefore: true },
      ]);
      const [secret] = await site.store.listSecrets(device.uuid, { kind: 'directory', states: ['current'] });
      expect(secret?.value).toBe(calls[0]!.password);
      const k = device.state().kerberos;
      expect(k).toMatchObject({
        krbEnabled: true,
        realmName: 'OOBKIT.TEST',
        keyVersion: 2,
        masterKey: key.toString('base64'),
      });
      expect(k.servicePrincipalNames).toEqual([`HTTP/pc-7.${DOMAIN}:16992`, `HTTP/pc-7.${DOMAIN}:16993`]);
      await expectNoSecretLeak(site);
      expect((await site.allOutput()).some((l) => l.includes(key.toString('base64')))).toBe(false);
    } finally {
      await site.close();
    }
  });

  it('a failing CA fails the job at stage1.tls with FLOW_CA_FAILED, before any password is written', async () => {
    const site = await createSite({
      ca: {
        name: 'broken',
        async issueTlsCertificate() {
          throw new Error('CA offline');
        },
      },
    });
    try {
      const device = await site.device();
      const done = await site.provision(device);
      expect(done.error).toMatchObject({ code: 'FLOW_CA_FAILED', step: 'stage1.tls' });
      expect(device.state().committedProvisioningState).toBe('pre');
      expect(await site.store.listSecrets(device.uuid)).toEqual([]);
    } finally {
      await site.close();
    }
  });
});

describe('power behaviour (flow A.8.3)', () => {
  it('SP2 sets the configured scheme; a scheme the platform lacks is noted, not fatal', async () => {
    const site = await createSite({ settings: { powerBehaviour: 'SP2', powerScheme: 3 } });
    try {
      const mobile = await site.device({ wireless: true });
      expect((await site.provision(mobile)).outcome).toBe('succeeded');
      expect(mobile.state().power.current?.description).toBe('Mobile: ON in S0, S3/AC');
      const desktop = await site.device({ wireless: false });
      const done = await site.provision(desktop);
      expect(done.outcome).toBe('succeeded');
      const job = await site.store.getJob(done.job.id);
      expect(job?.journal['stage2.power']).toMatchObject({
        behaviour: 'SP2',
        scheme: 3,
        skipped: 'not-offered',
      });
      expect(desktop.state().power.current?.description).toBe('Desktop: ON in S0');
    } finally {
      await site.close();
    }
  });

  it('SP1 leaves scheme 5 alone when it is already current', async () => {
    const site = await createSite();
    try {
      const device = await site.device({
        wireless: false,
        seed: { powerSchemeId: 'Intel(r) AMT Power Scheme 3' },
      });
      expect(device.state().power.current?.description).toBe('Desktop: ON in S0, S3, S4-5');
      const done = await site.provision(device);
      const job = await site.store.getJob(done.job.id);
      expect(job?.journal['stage2.power']).toEqual({ behaviour: 'SP1', scheme: 5, unchanged: true });
      const calls = device.events().flatMap((e) => (e.type === 'request' ? [e.name] : []));
      expect(calls.some((n) => n.endsWith('SetPowerScheme'))).toBe(false);
    } finally {
      await site.close();
    }
  });
});
