import { connect } from 'node:net';
import { AmtSoapStatusError } from '@oobkit/amt-soap';
import { amtDigestPassword } from '@oobkit/http-digest';
import { AmtReturnValueError, type WsmanClient } from '@oobkit/wsman';
import { describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, DOMAIN, device, nextEvent, setupDevice, soap, uri, wsman } from './helpers.js';

const MEBX = 'Mebx!Passw0rd';

async function returnValueOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (err) {
    if (err instanceof AmtReturnValueError) return err.returnValue;
    throw err;
  }
}

async function soapStatusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (err) {
    if (err instanceof AmtSoapStatusError) return err.statusCode;
    throw err;
  }
}

function closed(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port });
    s.on('error', () => resolve(true));
    s.on('close', () => resolve(true));
    s.on('data', () => resolve(false));
    s.write('POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
  });
}

async function setAdmin(c: WsmanClient, realm: string): Promise<void> {
  await c.invoke(uri('AMT_AuthorizationService'), 'SetAdminAclEntryEx', {
    Username: 'admin',
    DigestPassword: amtDigestPassword('admin', realm, ADMIN_PASSWORD).base64,
  });
}

describe('modern stage 1 over WS-Man (TLS with the provisioning chain)', () => {
  it('moves pre → in → post and keeps changes only once committed', async () => {
    const { device: d, pki } = await setupDevice();
    expect(d.state().provisioningState).toBe('pre');
    expect(await closed(d.address, d.ports.http)).toBe(true);

    const c = wsman(d, { password: 'admin', tls: pki.chain });
    const gs = await c.get(uri('AMT_GeneralSettings'));
    expect(gs.DigestRealm).toBe(d.realm);
    expect(d.state().provisioningState).toBe('in');
    expect(d.state().committedProvisioningState).toBe('pre');

    const ta0 = Number(
      (await c.invoke(uri('AMT_TimeSynchronizationService'), 'GetLowAccuracyTimeSynch')).Ta0,
    );
    const tm = Math.floor(Date.now() / 1000) + 3600;
    await c.invoke(uri('AMT_TimeSynchronizationService'), 'SetHighAccuracyTimeSynch', {
      Ta0: ta0,
      Tm1: tm,
      Tm2: tm,
    });
    await c.put(uri('AMT_GeneralSettings'), { ...gs, HostName: 'pc-042', DomainName: DOMAIN });
    await setAdmin(c, d.realm);
    await c.invoke(uri('AMT_SetupAndConfigurationService'), 'SetMEBxPassword', { Password: MEBX });

    const pending = d.state();
    expect(pending.uncommittedChanges).toBe(true);
    expect(pending.hostName).toBe('pc-042');
    expect(pending.clock.set).toBe(true);
    expect(pending.clock.offsetMs).toBeGreaterThan(3_500_000);
    expect(d.verifyAdminPassword(ADMIN_PASSWORD)).toBe(false);

    await c.invoke(uri('AMT_SetupAndConfigurationService'), 'CommitChanges');
    const s = d.state();
    expect(s.provisioningState).toBe('post');
    expect(s.provisioningMode).toBe(1);
    expect(s.uncommittedChanges).toBe(false);
    expect(s.mebx.changed).toBe(true);
    expect(d.verifyMebxPassword(MEBX)).toBe(true);
    expect(d.verifyAdminPassword(ADMIN_PASSWORD)).toBe(true);
    expect(s.admin.ha1).toBe(amtDigestPassword('admin', d.realm, ADMIN_PASSWORD).hex);
  });

  it('loses uncommitted setup on power loss but keeps it over a reboot', async () => {
    const { device: d, pki } = await setupDevice();
    const c = wsman(d, { password: 'admin', tls: pki.chain });
    const gs = await c.get(uri('AMT_GeneralSettings'));
    await c.put(uri('AMT_GeneralSettings'), { ...gs, HostName: 'kept-over-reboot' });
    await d.reboot();
    expect(d.state().hostName).toBe('kept-over-reboot');
    expect(d.state().provisioningState).toBe('in');
    await d.powerLoss();
    expect(d.state().hostName).toBe('');
    expect(d.state().provisioningState).toBe('pre');
    expect(d.state().uncommittedChanges).toBe(false);
  });

  it('refuses CommitChanges without an admin password (DATA_MISSING) and stays in setup', async () => {
    const { device: d, pki } = await setupDevice();
    const c = wsman(d, { password: 'admin', tls: pki.chain });
    expect(await returnValueOf(c.invoke(uri('AMT_SetupAndConfigurationService'), 'CommitChanges'))).toBe(
      0x809,
    );
    expect(d.state().provisioningState).toBe('in');
  });

  it('enforces the MEBx password policy', async () => {
    const { device: d, pki } = await setupDevice();
    const c = wsman(d, { password: 'admin', tls: pki.chain });
    const set = (Password: string) =>
      returnValueOf(c.invoke(uri('AMT_SetupAndConfigurationService'), 'SetMEBxPassword', { Password }));
    expect(await set('weak')).toBe(2054);
    expect(d.state().mebx.changed).toBe(false);
    expect(await set(MEBX)).toBe(0);
    expect(d.state().mebx.changed).toBe(true);
    expect(await set('An0ther!Passw0rd')).toBe(16);
    // Like every setup change it waits for CommitChanges.
    expect(d.verifyMebxPassword(MEBX)).toBe(false);
    await setAdmin(c, d.realm);
    await c.invoke(uri('AMT_SetupAndConfigurationService'), 'CommitChanges');
    expect(d.verifyMebxPassword(MEBX)).toBe(true);
  });

  it('refuses SetMEBxPassword when the MEBx password was changed by a technician', async () => {
    const { device: d, pki } = await setupDevice({ mebxPassword: 'Tech!Passw0rd1' });
    expect(d.state().mebx.changed).toBe(true);
    const c = wsman(d, { password: 'Tech!Passw0rd1', tls: pki.chain });
    const rv = await returnValueOf(
      c.invoke(uri('AMT_SetupAndConfigurationService'), 'SetMEBxPassword', { Password: MEBX }),
    );
    expect(rv).toBe(16);
  });

  it('answers Unprovision before provisioning with NOT_PERMITTED', async () => {
    const { device: d, pki } = await setupDevice();
    const c = wsman(d, { password: 'admin', tls: pki.chain });
    const rv = await returnValueOf(
      c.invoke(uri('AMT_SetupAndConfigurationService'), 'Unprovision', { ProvisioningMode: 1 }),
    );
    expect(rv).toBe(16);
  });

  it('serves the stored TLS certificate once TLS is enabled and committed, and closes 16992', async () => {
    const { device: d, pki } = await setupDevice();
    const c = wsman(d, { password: 'admin', tls: pki.chain });
    const gen = await c.invoke(uri('AMT_PublicKeyManagementService'), 'GenerateKeyPair', {
      KeyAlgorithm: 0,
      KeyLength: 2048,
    });
    const keyId = (gen.KeyPair as { selectors: Record<string, string> }).selectors.InstanceID ?? '';
    const key = await c.get(uri('AMT_PublicPrivateKeyPair'), { selectors: { InstanceID: keyId } });
    const spki = (await import('node:crypto'))
      .createPublicKey({ key: Buffer.from(String(key.DERKey), 'base64'), format: 'der', type: 'pkcs1' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const { createCertificateAuthority } = await import('@oobkit/provisioning-cert');
    const ca = await createCertificateAuthority({ commonName: 'Sim Test CA' });
    const issued = await ca.issue({ commonName: `pc-1.${DOMAIN}`, publicKey: spki });
    const added = await c.invoke(uri('AMT_PublicKeyManagementService'), 'AddCertificate', {
      CertificateBlob: issued.der.toString('base64'),
    });
    const certId =
      (added.CreatedCertificate as { selectors: Record<string, string> }).selectors.InstanceID ?? '';
    await c.create(uri('AMT_TLSCredentialContext'), {
      ElementInContext: {
        address: '/wsman',
        resourceUri: uri('AMT_PublicKeyCertificate'),
        selectors: { InstanceID: certId },
      },
      ElementProvidingContext: {
        address: '/wsman',
        resourceUri: uri('AMT_TLSProtocolEndpointCollection'),
        selectors: { ElementName: 'TLSProtocolEndpointInstances Collection' },
      },
    });
    await c.put(
      uri('AMT_TLSSettingData'),
      { InstanceID: 'Intel(r) AMT 802.3 TLS Settings', Enabled: true, MutualAuthentication: false },
      { selectors: { InstanceID: 'Intel(r) AMT 802.3 TLS Settings' } },
    );
    await setAdmin(c, d.realm);
    await c.invoke(uri('AMT_SetupAndConfigurationService'), 'CommitChanges');
    expect(d.state().tls.remote.enabled).toBe(true);
    expect(await closed(d.address, d.ports.http)).toBe(true);

    const tls = await import('node:tls');
    const presented = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: d.address, port: d.ports.tls, rejectUnauthorized: false }, () => {
        resolve(s.getPeerX509Certificate()?.subject ?? '');
        s.destroy();
      });
      s.on('error', reject);
    });
    expect(presented).toContain(`pc-1.${DOMAIN}`);
    // Stage 2 reaches it over TLS without a client chain, with the new admin password.
    const post = wsman(d, { password: ADMIN_PASSWORD, tls: true });
    const gs = await post.get(uri('AMT_GeneralSettings'));
    expect(gs.DigestRealm).toBe(d.realm);
  });
});

describe('legacy stage 1 over SOAP', () => {
  it('provisions through the EOI services and answers wrong-state calls with PT_STATUS', async () => {
    const { device: d, pki } = await setupDevice({ personality: 'legacy' });
    const c = soap(d, { password: 'admin', tls: pki.chain });
    expect(await c.securityAdministration.getCoreVersion()).toBe('5.2.10');
    const realm = await c.securityAdministration.getDigestRealm();
    expect(realm).toBe(d.realm);
    await c.networkTime.syncClock();
    await c.networkAdministration.setHostName('legacy-pc');
    await c.networkAdministration.setDomainName(DOMAIN);
    expect(await soapStatusOf(c.networkAdministration.setDomainName('bad..name'))).toBe(0x1c);
    expect(await soapStatusOf(c.securityAdministration.unprovision(1))).toBe(0x10);
    await c.securityAdministration.setAdminAclEntryEx(
      'admin',
      amtDigestPassword('admin', realm, ADMIN_PASSWORD).base64,
    );
    await c.securityAdministration.setMEBxPassword(MEBX);
    expect(await c.generalInfo.getProvisioningState()).toBe(1);
    await c.securityAdministration.commitChanges();
    const s = d.state();
    expect(s.provisioningState).toBe('post');
    expect(s.hostName).toBe('legacy-pc');
    expect(s.domainName).toBe(DOMAIN);
    expect(s.mebx.changed).toBe(true);
    expect(d.verifyAdminPassword(ADMIN_PASSWORD)).toBe(true);
  });

  it('has no SOAP services on a modern device', async () => {
    const d = await device({ provisioned: true, adminPassword: ADMIN_PASSWORD });
    const c = soap(d, { password: ADMIN_PASSWORD });
    await expect(c.securityAdministration.getCoreVersion()).rejects.toMatchObject({ code: 'SOAP_HTTP' });
  });
});

describe('unprovision', () => {
  async function provisioned(personality: 'legacy' | 'modern' = 'modern') {
    const { device: d, pki } = await setupDevice({
      personality,
      provisioned: true,
      adminPassword: ADMIN_PASSWORD,
      seed: { hostName: 'old', userAcls: [{ username: 'operator', password: 'Op3rator!pw' }] },
    });
    return { d, pki };
  }

  it('full unprovision clears settings, ACLs and custom hashes but not the MEBx password', async () => {
    const { d } = await provisioned();
    d.configureMebx({ password: MEBX });
    const c = wsman(d, { password: ADMIN_PASSWORD });
    const reset = nextEvent(d, 'state');
    await c.invoke(uri('AMT_SetupAndConfigurationService'), 'Unprovision', { ProvisioningMode: 1 });
    expect((await reset).provisioningState).toBe('pre');
    const s = d.state();
    expect(s.hostName).toBe('');
    expect(s.userAcls).toEqual([]);
    expect(s.admin.ha1).toBeUndefined();
    expect(s.trustedHashes.custom).toEqual([]);
    expect(d.verifyMebxPassword(MEBX)).toBe(true);
    expect(s.mebx.changed).toBe(true);
  });

  it('partial unprovision keeps the admin account and custom hashes', async () => {
    const { d, pki } = await provisioned();
    const c = wsman(d, { password: ADMIN_PASSWORD });
    const reset = nextEvent(d, 'state');
    await c.invoke(uri('AMT_SetupAndConfigurationService'), 'PartialUnprovision');
    expect((await reset).reason).toBe('partial unprovision');
    const s = d.state();
    expect(s.userAcls).toEqual([]);
    expect(s.hostName).toBe('');
    expect(s.trustedHashes.custom.map((h) => Buffer.from(h.hash).toString('hex'))).toEqual([
      pki.rootHashes.sha256.toString('hex'),
    ]);
    // The kept admin password is what a re-provisioning logs in with.
    const again = wsman(d, { password: ADMIN_PASSWORD, tls: pki.chain });
    expect((await again.get(uri('AMT_GeneralSettings'))).DigestRealm).toBe(d.realm);
  });

  it('legacy SOAP Unprovision resets the device', async () => {
    const { d } = await provisioned('legacy');
    const c = soap(d, { password: ADMIN_PASSWORD });
    const reset = nextEvent(d, 'state');
    await c.securityAdministration.unprovision(1);
    expect((await reset).reason).toBe('full unprovision');
    expect(d.state().userAcls).toEqual([]);
  });
});
