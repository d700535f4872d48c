import { amtDigestPassword } from '@oobkit/http-digest';
import {
  AmtReturnValueError,
  embeddedInstance,
  endpointReference,
  type WsmanClient,
  type WsmanItem,
} from '@oobkit/wsman';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, device, testPki, uri, wsman } from './helpers.js';

async function all(c: WsmanClient, cls: string): Promise<WsmanItem[]> {
  const out: WsmanItem[] = [];
  for await (const item of c.enumerate(uri(cls), { maxElements: 2 })) out.push(item);
  return out;
}

async function rv(p: Promise<unknown>): Promise<number> {
  return p.then(
    () => 0,
    (e: unknown) => {
      if (e instanceof AmtReturnValueError) return e.returnValue;
      throw e;
    },
  );
}

const AUTH = uri('AMT_AuthorizationService');

async function provisioned(extra: Parameters<typeof device>[0] = {}) {
  const d = await device({ provisioned: true, adminPassword: ADMIN_PASSWORD, ...extra });
  return { d, c: wsman(d, { password: ADMIN_PASSWORD }) };
}

describe('stage 2 over WS-Man', () => {
  it('empties the ACL list (except system accounts) and sets the configured users', async () => {
    const { d, c } = await provisioned({
      seed: {
        systemAccount: true,
        userAcls: [
          { username: 'old1', password: 'Old1!passw' },
          { username: 'old2', password: 'Old2!passw' },
        ],
      },
    });
    const list = await c.invoke(AUTH, 'EnumerateUserAclEntries', { StartIndex: 1 });
    expect(list.TotalCount).toBe('3');
    const handles = ([] as unknown[]).concat(list.Handles).map(String);
    const removed: number[] = [];
    for (const h of handles) removed.push(await rv(c.invoke(AUTH, 'RemoveUserAclEntry', { Handle: h })));
    expect(removed.sort()).toEqual([0, 0, 0x10]);
    expect(await rv(c.invoke(AUTH, 'RemoveUserAclEntry', { Handle: 999 }))).toBe(0x805);

    const add = (name: string, realms: number[]) =>
      c.invoke(AUTH, 'AddUserAclEntryEx', {
        DigestUsername: name,
        DigestPassword: amtDigestPassword(name, d.realm, 'Us3r!passw').base64,
        AccessPermission: 2,
        Realms: realms,
      });
    const added = await add('helpdesk', [3, 5, 13]);
    expect(Number(added.Handle)).toBeGreaterThan(0);
    expect(await rv(add('helpdesk', [3]))).toBe(0x80a);
    expect(await rv(add('badrealm', [99]))).toBe(0x807);
    const sid = Buffer.from([
      1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xe9, 3, 0, 0,
    ]);
    await c.invoke(AUTH, 'AddUserAclEntryEx', {
      KerberosUserSid: sid.toString('base64'),
      AccessPermission: 1,
      Realms: [3],
    });
    for (let i = 0; i < 6; i++) await add(`user${i}`, [3]);
    expect(await rv(add('user6', [3]))).toBe(0x17);
    const entry = await c.invoke(AUTH, 'GetUserAclEntryEx', { Handle: Number(added.Handle) });
    expect(entry).toMatchObject({
      DigestUsername: 'helpdesk',
      AccessPermission: '2',
      Realms: ['3', '5', '13'],
    });
    expect(d.state().userAcls.map((u) => u.username ?? u.kerberosSid)).toContain(sid.toString('base64'));
    // The new user logs in with its own password.
    const helpdesk = wsman(d, { username: 'helpdesk', password: 'Us3r!passw' });
    expect((await helpdesk.get(uri('AMT_GeneralSettings'))).DigestRealm).toBe(d.realm);
  });

  it('turns on ping, the web console, SOL and IDER', async () => {
    const { d, c } = await provisioned();
    const gs = await c.get(uri('AMT_GeneralSettings'));
    await c.put(uri('AMT_GeneralSettings'), {
      ...gs,
      PingResponseEnabled: 'false',
      RmcpPingResponseEnabled: 'true',
    });
    await c.invoke(uri('AMT_WebUIService'), 'RequestStateChange', { RequestedState: 2 });
    await c.invoke(uri('AMT_RedirectionService'), 'RequestStateChange', { RequestedState: 32771 });
    const redir = await c.get(uri('AMT_RedirectionService'));
    await c.put(uri('AMT_RedirectionService'), { ...redir, ListenerEnabled: 'true' });
    expect(await rv(c.invoke(uri('AMT_WebUIService'), 'RequestStateChange', { RequestedState: 7 }))).toBe(
      0x24,
    );
    const s = d.state();
    expect(s.ping).toEqual({ icmp: false, rmcp: true });
    expect(s.webUi).toBe(true);
    expect(s.redirection).toEqual({ listener: true, sol: true, ider: true });
    expect((await c.get(uri('AMT_RedirectionService'))).EnabledState).toBe('32771');
    // The web console now answers (behind digest).
    const page = await request(`http://${d.address}:${d.ports.http}/index.htm`);
    await page.body.text();
    expect(page.statusCode).toBe(401);
  });

  it('writes Kerberos settings; the master key is write-only', async () => {
    const { d, c } = await provisioned();
    const key = Buffer.alloc(16, 7).toString('base64');
    const k = await c.get(uri('AMT_KerberosSettingData'));
    await c.put(uri('AMT_KerberosSettingData'), {
      ...k,
      RealmName: 'EXAMPLE.TEST',
      ServicePrincipalName: ['HTTP/pc1.example.test:16992', 'HTTP/pc1.example.test:16993'],
      KeyVersion: 3,
      EncryptionAlgorithm: 0,
      MasterKey: key,
      KrbEnabled: 'true',
    });
    await c.invoke(uri('AMT_KerberosSettingData'), 'SetCredentialCacheState', { Enable: 'true' });
    const back = await c.get(uri('AMT_KerberosSettingData'));
    expect(back.RealmName).toBe('EXAMPLE.TEST');
    expect(back.ServicePrincipalName).toEqual(['HTTP/pc1.example.test:16992', 'HTTP/pc1.example.test:16993']);
    expect(back.MasterKey).toBeUndefined();
    expect(d.state().kerberos).toMatchObject({
      masterKey: key,
      krbEnabled: true,
      keyVersion: 3,
      credentialCacheEnabled: true,
    });
    await expect(
      c.put(uri('AMT_KerberosSettingData'), { ...back, MasterKey: 'c2hvcnQ=' }),
    ).rejects.toMatchObject({
      code: 'WSMAN_FAULT',
    });
  });

  it('lists power schemes with the current one and switches scheme', async () => {
    const { d, c } = await provisioned({ wireless: true });
    const schemes = await all(c, 'AMT_SystemPowerScheme');
    expect(schemes.map((s) => s.Description)).toEqual(d.state().power.schemes.map((s) => s.description));
    const current = (await all(c, 'CIM_ElementSettingData')).find((e) => e.IsCurrent === '1');
    const currentId = (current?.SettingData as { selectors: Record<string, string> } | undefined)?.selectors
      .InstanceID;
    expect(currentId).toBe(d.state().power.currentId);
    const alwaysOn = schemes[schemes.length - 1]!;
    await c.invoke(
      uri('AMT_SystemPowerScheme'),
      'SetPowerScheme',
      {},
      { selectors: { InstanceID: String(alwaysOn.InstanceID) } },
    );
    expect(d.state().power.current?.description).toBe('Mobile: ON in S0, S3/AC, S4-5/AC');
  });

  it('replaces Wi-Fi profiles and their certificates, and configures wired 802.1X', async () => {
    const pki = await testPki();
    const { d, c } = await provisioned({
      wireless: true,
      seed: {
        certificates: [
          { name: 'client', der: pki.leaf.der },
          { name: 'ca', der: pki.root.der, trustedRoot: true },
          { name: 'wired', der: pki.intermediates[0]!.der, trustedRoot: true },
        ],
        wifiProfiles: [
          { elementName: 'old-psk', ssid: 'OldNet', priority: 1, passphrase: 'old-passphrase' },
          {
            elementName: 'old-eap',
            ssid: 'Corp',
            priority: 2,
            authenticationMethod: 7,
            ieee8021x: { elementName: 'old-eap', authenticationProtocol: 0 },
            clientCertificate: 'client',
            caCertificate: 'ca',
          },
        ],
        wired8021x: { enabled: true, serverCertificateIssuer: 'wired' },
      },
    });
    expect((await all(c, 'CIM_WiFiPort')).length).toBe(1);
    expect((await all(c, 'AMT_EthernetPortSettings')).map((p) => p.InstanceID)).toEqual([
      'Intel(r) AMT Ethernet Port Settings 0',
      'Intel(r) AMT Ethernet Port Settings 1',
    ]);
    const linked = (await all(c, 'CIM_CredentialContext')).map(
      (x) => (x.ElementInContext as { selectors: Record<string, string> }).selectors.InstanceID,
    );
    expect(linked).toHaveLength(3);
    for (const p of await all(c, 'CIM_WiFiEndpointSettings')) {
      await c.delete(uri('CIM_WiFiEndpointSettings'), { selectors: { InstanceID: String(p.InstanceID) } });
    }
    for (const id of new Set(linked)) {
      await c.delete(uri('AMT_PublicKeyCertificate'), { selectors: { InstanceID: id ?? '' } });
    }
    expect(d.state().certificates).toEqual([]);
    expect(d.state().ieee8021x.linkedCertificates).toEqual([]);

    const passphrase = 'p&ss<word>"quoted"';
    const add = (name: string, priority: number) =>
      c.invoke(uri('AMT_WiFiPortConfigurationService'), 'AddWiFiSettings', {
        WiFiEndpoint: endpointReference(uri('CIM_WiFiEndpoint'), { Name: 'WiFi Endpoint 0' }),
        WiFiEndpointSettingsInput: embeddedInstance(uri('CIM_WiFiEndpointSettings'), {
          ElementName: name,
          InstanceID: `Intel(r) AMT:WiFi Endpoint Settings ${name}`,
          AuthenticationMethod: 6,
          EncryptionMethod: 4,
          SSID: 'Office & Lab',
          Priority: priority,
          PSKPassPhrase: passphrase,
        }),
      });
    await add('office', 10);
    expect(await rv(add('office2', 10))).toBe(0x813);
    expect(d.state().wifi.profiles).toMatchObject([
      { elementName: 'office', ssid: 'Office & Lab', pskPassPhrase: passphrase },
    ]);

    const wired = await c.get(uri('IPS_IEEE8021xSettings'));
    await c.put(uri('IPS_IEEE8021xSettings'), {
      ...wired,
      Enabled: 2,
      AuthenticationProtocol: 2,
      Username: 'pc1',
      Password: 'x',
    });
    expect(d.state().ieee8021x.wired).toMatchObject({
      enabled: true,
      ipsEnabled: 2,
      authenticationProtocol: 2,
      username: 'pc1',
    });
  });

  it('answers classes the device lacks and bad selectors with WS-Man faults', async () => {
    const { c } = await provisioned();
    await expect(c.get(uri('CIM_WiFiPort'))).rejects.toMatchObject({ code: 'WSMAN_FAULT' });
    await expect(
      c.get(uri('AMT_PublicKeyCertificate'), { selectors: { InstanceID: 'nope' } }),
    ).rejects.toMatchObject({ code: 'WSMAN_FAULT', subcode: expect.stringMatching(/InvalidSelectors$/) });
    expect(await rv(c.invoke(uri('AMT_WiFiPortConfigurationService'), 'DeleteAllITProfiles'))).not.toBe(0);
  });

  it('pages enumerations and reports the firmware version', async () => {
    const { d, c } = await provisioned();
    const ids = await all(c, 'CIM_SoftwareIdentity');
    expect(ids.length).toBeGreaterThan(4);
    expect(ids.find((i) => i.InstanceID === 'AMT')?.VersionString).toBe(d.firmwareVersion);
    const setup = await c.get(uri('AMT_SetupAndConfigurationService'));
    expect(setup).toMatchObject({ ProvisioningState: '2', ProvisioningMode: '1' });
  });
});
