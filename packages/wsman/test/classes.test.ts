import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AmtReturnValueError,
  amt,
  CIM_URI_BASE,
  cim,
  decodeProperties,
  endpointReference,
  ips,
  KERBEROS_SETTINGS_INSTANCE_ID,
  resourceUriFor,
  TLS_PROTOCOL_ENDPOINT_COLLECTION,
  TLS_SETTINGS,
  WIFI_ENDPOINT_SETTINGS,
  WsmanClient,
  WsmanInvalidArgumentError,
  type WsmanItem,
  type WsmanRequest,
} from '../src/index.js';
import { type MiniAmt, startMiniAmt } from './mini-amt.js';

let sim: MiniAmt;
let agent: Agent;
let client: WsmanClient;

beforeAll(async () => {
  sim = await startMiniAmt();
  agent = new Agent();
  client = new WsmanClient({ dispatcher: agent, origin: sim.origin });
});
afterAll(async () => {
  await agent.close();
  await sim.close();
});
beforeEach(() => {
  sim.instances.clear();
  sim.methods.clear();
  sim.requests.length = 0;
});

/** Registers a method; returns the list of request bodies it received. */
function on(className: string, method: string, output: object = {}, returnValue = 0): WsmanItem[] {
  const seen: WsmanItem[] = [];
  sim.methods.set(`${className}.${method}`, (req: WsmanRequest) => {
    seen.push(req.body);
    return { returnValue, output };
  });
  return seen;
}

const lastRequest = () => sim.requests.at(-1) as WsmanRequest;
const cert = (h: number) =>
  endpointReference(resourceUriFor('AMT_PublicKeyCertificate'), {
    InstanceID: `Intel(r) AMT Certificate: Handle: ${h}`,
  });

describe('AMT_GeneralSettings', () => {
  it('get types the values; put writes the whole instance back in its order', async () => {
    sim.instances.set('AMT_GeneralSettings', [
      {
        DigestRealm: 'Digest:A4070000000000000000000000000000',
        HostName: 'old',
        IdleWakeTimeout: 65535,
        InstanceID: 'Intel(r) AMT: General Settings',
        PingResponseEnabled: true,
        PrivacyLevel: 0,
        VendorExtra: 'kept',
      },
    ]);
    const gs = await amt.generalSettings.get(client);
    expect(gs).toEqual({
      DigestRealm: 'Digest:A4070000000000000000000000000000',
      HostName: 'old',
      IdleWakeTimeout: 65535,
      InstanceID: 'Intel(r) AMT: General Settings',
      PingResponseEnabled: true,
      PrivacyLevel: 0,
      VendorExtra: 'kept',
    });
    const back = await amt.generalSettings.put(client, {
      ...gs,
      HostName: 'ws-1',
      PingResponseEnabled: false,
    });
    expect(back.PingResponseEnabled).toBe(false);
    const req = lastRequest();
    expect(req.kind).toBe('put');
    expect(req.bodyName).toBe('AMT_GeneralSettings');
    expect(Object.keys(req.body)).toEqual(Object.keys(gs));
    expect(req.body).toMatchObject({ HostName: 'ws-1', PingResponseEnabled: 'false', VendorExtra: 'kept' });
  });
});

describe('AMT_TimeSynchronizationService', () => {
  it('reads Ta0 and sets the clock with Ta0, Tm1, Tm2', async () => {
    on('AMT_TimeSynchronizationService', 'GetLowAccuracyTimeSynch', { Ta0: 1732795200 });
    const set = on('AMT_TimeSynchronizationService', 'SetHighAccuracyTimeSynch');
    const { Ta0 } = await amt.timeSynchronization.getLowAccuracyTimeSynch(client);
    expect(Ta0).toBe(1732795200);
    await amt.timeSynchronization.setHighAccuracyTimeSynch(client, Ta0, Ta0 + 1, Ta0 + 2);
    expect(set).toEqual([{ Ta0: '1732795200', Tm1: '1732795201', Tm2: '1732795202' }]);
    expect(Object.keys(set[0] as object)).toEqual(['Ta0', 'Tm1', 'Tm2']);
  });
});

describe('AMT_PublicKeyManagementService, AMT_PublicKeyCertificate, AMT_PublicPrivateKeyPair', () => {
  it('generates a key pair, a CSR, adds certificates and keys', async () => {
    const key = endpointReference(resourceUriFor('AMT_PublicPrivateKeyPair'), {
      InstanceID: 'Intel(r) AMT Key: Handle: 0',
    });
    const gen = on('AMT_PublicKeyManagementService', 'GenerateKeyPair', { KeyPair: key });
    const csr = on('AMT_PublicKeyManagementService', 'GeneratePKCS10RequestEx', {
      SignedCertificateRequest: 'TUlJQ1...',
    });
    const add = on('AMT_PublicKeyManagementService', 'AddCertificate', { CreatedCertificate: cert(1) });
    const root = on('AMT_PublicKeyManagementService', 'AddTrustedRootCertificate', {
      CreatedCertificate: cert(2),
    });
    const addKey = on('AMT_PublicKeyManagementService', 'AddKey', { CreatedKey: key });

    expect(await amt.publicKeyManagement.generateKeyPair(client, 2048)).toEqual(key);
    expect(gen).toEqual([{ KeyAlgorithm: '0', KeyLength: '2048' }]);
    expect(await amt.publicKeyManagement.generatePKCS10RequestEx(client, key, 'TnVsbA==')).toBe('TUlJQ1...');
    expect(csr).toEqual([{ KeyPair: key, SigningAlgorithm: '1', NullSignedCertificateRequest: 'TnVsbA==' }]);
    expect(await amt.publicKeyManagement.addCertificate(client, 'MIIB')).toEqual(cert(1));
    expect(add).toEqual([{ CertificateBlob: 'MIIB' }]);
    expect(await amt.publicKeyManagement.addTrustedRootCertificate(client, 'MIIC')).toEqual(cert(2));
    expect(root).toEqual([{ CertificateBlob: 'MIIC' }]);
    expect(await amt.publicKeyManagement.addKey(client, 'MIIE')).toEqual(key);
    expect(addKey).toEqual([{ KeyBlob: 'MIIE' }]);
  });

  it('a failed AddCertificate is an AmtReturnValueError', async () => {
    on('AMT_PublicKeyManagementService', 'AddCertificate', {}, 0x80f);
    await expect(amt.publicKeyManagement.addCertificate(client, 'bad')).rejects.toMatchObject({
      statusName: 'INVALID_CERT',
    });
  });

  it('enumerates certificates and keys typed, deletes them by InstanceID', async () => {
    sim.instances.set('AMT_PublicKeyCertificate', [
      { InstanceID: 'c1', ReadOnlyCertificate: true, TrustedRootCertificate: false, X509Certificate: 'MIIA' },
      { InstanceID: 'c2', ReadOnlyCertificate: false, TrustedRootCertificate: true, X509Certificate: 'MIIB' },
    ]);
    sim.instances.set('AMT_PublicPrivateKeyPair', [{ InstanceID: 'k1', DERKey: 'MIIK' }]);
    expect(await amt.publicKeyCertificate.enumerate(client)).toEqual([
      { InstanceID: 'c1', ReadOnlyCertificate: true, TrustedRootCertificate: false, X509Certificate: 'MIIA' },
      { InstanceID: 'c2', ReadOnlyCertificate: false, TrustedRootCertificate: true, X509Certificate: 'MIIB' },
    ]);
    await amt.publicKeyCertificate.deleteById(client, 'c2');
    expect(lastRequest()).toMatchObject({ kind: 'delete', selectors: { InstanceID: 'c2' } });
    expect(await amt.publicPrivateKeyPair.enumerate(client)).toEqual([{ InstanceID: 'k1', DERKey: 'MIIK' }]);
    await amt.publicPrivateKeyPair.deleteById(client, 'k1');
    expect(sim.instances.get('AMT_PublicPrivateKeyPair')).toEqual([]);
    expect(sim.instances.get('AMT_PublicKeyCertificate')?.map((c) => c.InstanceID)).toEqual(['c1']);
  });
});

describe('AMT_TLSSettingData, AMT_TLSCredentialContext', () => {
  it('gets and puts TLS settings with the InstanceID selector', async () => {
    sim.instances.set('AMT_TLSSettingData', [
      {
        ElementName: 'Intel(r) AMT 802.3 TLS Settings',
        InstanceID: TLS_SETTINGS.REMOTE,
        Enabled: false,
        MutualAuthentication: false,
        TrustedCN: 'one',
      },
      { ElementName: 'Intel(r) AMT LMS TLS Settings', InstanceID: TLS_SETTINGS.LOCAL, Enabled: false },
    ]);
    const remote = await amt.tlsSettingData.getById(client, TLS_SETTINGS.REMOTE);
    expect(remote).toMatchObject({ Enabled: false, TrustedCN: ['one'] });
    expect(lastRequest().selectors).toEqual({ InstanceID: TLS_SETTINGS.REMOTE });
    const after = await amt.tlsSettingData.putById(client, {
      ...remote,
      Enabled: true,
      TrustedCN: ['a', 'b'],
    });
    expect(after).toMatchObject({ Enabled: true, TrustedCN: ['a', 'b'] });
    expect(lastRequest()).toMatchObject({ kind: 'put', selectors: { InstanceID: TLS_SETTINGS.REMOTE } });
    await expect(amt.tlsSettingData.putById(client, { Enabled: true })).rejects.toBeInstanceOf(
      WsmanInvalidArgumentError,
    );
    expect(await amt.tlsSettingData.enumerate(client)).toHaveLength(2);
  });

  it('creates the credential context binding a certificate to the TLS endpoints', async () => {
    const epr = await amt.tlsCredentialContext.create(client, 'Intel(r) AMT Certificate: Handle: 1');
    expect(epr.resourceUri).toBe(resourceUriFor('AMT_TLSCredentialContext'));
    expect(lastRequest().body).toEqual({
      ElementInContext: cert(1),
      ElementProvidingContext: TLS_PROTOCOL_ENDPOINT_COLLECTION,
    });
    const [ctx] = await amt.tlsCredentialContext.enumerate(client);
    expect(ctx).toMatchObject({
      ElementInContext: cert(1),
      ElementProvidingContext: TLS_PROTOCOL_ENDPOINT_COLLECTION,
    });
    await amt.tlsCredentialContext.delete(client, { InstanceID: epr.selectors.InstanceID as string });
    expect(sim.instances.get('AMT_TLSCredentialContext')).toEqual([]);
  });
});

describe('AMT_AuthorizationService', () => {
  it('sets the admin entry and reads it back', async () => {
    const set = on('AMT_AuthorizationService', 'SetAdminAclEntryEx');
    on('AMT_AuthorizationService', 'GetAdminAclEntry', { Username: 'admin' });
    await amt.authorization.setAdminAclEntryEx(client, 'admin', 'q1Xz9UuHXuFZ8sRLu3b5iQ==');
    expect(set).toEqual([{ Username: 'admin', DigestPassword: 'q1Xz9UuHXuFZ8sRLu3b5iQ==' }]);
    expect(await amt.authorization.getAdminAclEntry(client)).toBe('admin');
  });

  it('lists every ACL handle across pages of 50', async () => {
    const all = Array.from({ length: 60 }, (_, i) => i + 10);
    const starts: number[] = [];
    sim.methods.set('AMT_AuthorizationService.EnumerateUserAclEntries', (req) => {
      const start = Number(req.body.StartIndex);
      starts.push(start);
      const page = all.slice(start - 1, start - 1 + 50);
      return { returnValue: 0, output: { TotalCount: all.length, HandlesCount: page.length, Handles: page } };
    });
    expect(await amt.authorization.listUserAclHandles(client)).toEqual(all);
    expect(starts).toEqual([1, 51]);
    expect(await amt.authorization.enumerateUserAclEntries(client, 51)).toEqual({
      totalCount: 60,
      handlesCount: 10,
      handles: all.slice(50),
    });
  });

  it('reads, adds and removes user entries', async () => {
    on('AMT_AuthorizationService', 'GetUserAclEntryEx', {
      DigestUsername: 'ops',
      AccessPermission: 2,
      Realms: [3],
    });
    const add = on('AMT_AuthorizationService', 'AddUserAclEntryEx', { Handle: 7 });
    const rm = on('AMT_AuthorizationService', 'RemoveUserAclEntry');
    expect(await amt.authorization.getUserAclEntryEx(client, 7)).toEqual({
      DigestUsername: 'ops',
      AccessPermission: 2,
      Realms: [3],
    });
    expect(
      await amt.authorization.addUserAclEntryEx(client, {
        Realms: [3, 5],
        AccessPermission: 2,
        DigestPassword: 'aGFzaA==',
        DigestUsername: 'ops',
      }),
    ).toBe(7);
    expect(add).toEqual([
      { DigestUsername: 'ops', DigestPassword: 'aGFzaA==', AccessPermission: '2', Realms: ['3', '5'] },
    ]);
    expect(Object.keys(add[0] as object)).toEqual([
      'DigestUsername',
      'DigestPassword',
      'AccessPermission',
      'Realms',
    ]);
    await amt.authorization.addUserAclEntryEx(client, {
      KerberosUserSid: 'AQUAAAAAAAU=',
      AccessPermission: 1,
      Realms: [3],
    });
    expect(add[1]).toEqual({ KerberosUserSid: 'AQUAAAAAAAU=', AccessPermission: '1', Realms: '3' });
    await amt.authorization.removeUserAclEntry(client, 7);
    expect(rm).toEqual([{ Handle: '7' }]);
    await expect(
      amt.authorization.addUserAclEntryEx(client, { AccessPermission: 1, Realms: [3] }),
    ).rejects.toBeInstanceOf(WsmanInvalidArgumentError);
  });

  it('reports MAX_LIMIT_REACHED', async () => {
    on('AMT_AuthorizationService', 'AddUserAclEntryEx', {}, 0x17);
    const err = await amt.authorization
      .addUserAclEntryEx(client, {
        DigestUsername: 'u8',
        DigestPassword: 'x',
        AccessPermission: 2,
        Realms: [3],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmtReturnValueError);
    expect(err).toMatchObject({
      returnValue: 23,
      statusName: 'MAX_LIMIT_REACHED',
      method: 'AddUserAclEntryEx',
    });
  });
});

describe('AMT_SetupAndConfigurationService', () => {
  it('reads the provisioning state and OTP, calls every method', async () => {
    sim.instances.set('AMT_SetupAndConfigurationService', [
      {
        Name: 'Intel(r) AMT Setup and Configuration Service',
        ProvisioningMode: 1,
        ProvisioningState: 1,
        ProvisioningServerOTP: 'T1RQLTEyMzQ1Njc4',
        ZeroTouchConfigurationEnabled: true,
      },
    ]);
    expect(await amt.setupAndConfiguration.get(client)).toMatchObject({
      ProvisioningState: 1,
      ProvisioningServerOTP: 'T1RQLTEyMzQ1Njc4',
      ZeroTouchConfigurationEnabled: true,
    });
    const mebx = on('AMT_SetupAndConfigurationService', 'SetMEBxPassword');
    const commit = on('AMT_SetupAndConfigurationService', 'CommitChanges');
    const unprov = on('AMT_SetupAndConfigurationService', 'Unprovision');
    const partial = on('AMT_SetupAndConfigurationService', 'PartialUnprovision');
    const extend = on('AMT_SetupAndConfigurationService', 'ExtendProvisioningPeriod');
    on('AMT_SetupAndConfigurationService', 'GetUuid', { UUID: 'ESIzRFVmd4iZqrvM3e7/AA==' });
    const otp = on('AMT_SetupAndConfigurationService', 'SetProvisioningServerOTP');
    await amt.setupAndConfiguration.setMEBxPassword(client, 'P@ss&<w0rd>');
    expect(mebx).toEqual([{ Password: 'P@ss&<w0rd>' }]);
    await amt.setupAndConfiguration.commitChanges(client);
    expect(commit).toEqual([{}]);
    await amt.setupAndConfiguration.unprovision(client, 1);
    expect(unprov).toEqual([{ ProvisioningMode: '1' }]);
    await amt.setupAndConfiguration.partialUnprovision(client);
    expect(partial).toHaveLength(1);
    await amt.setupAndConfiguration.extendProvisioningPeriod(client, 24);
    expect(extend).toEqual([{ Duration: '24' }]);
    expect(await amt.setupAndConfiguration.getUuid(client)).toBe('ESIzRFVmd4iZqrvM3e7/AA==');
    await amt.setupAndConfiguration.setProvisioningServerOTP(client, 'abcdefgh');
    expect(otp).toEqual([{ OTP: 'abcdefgh' }]);
  });

  it('CommitChanges 2057 is DATA_MISSING', async () => {
    on('AMT_SetupAndConfigurationService', 'CommitChanges', {}, 2057);
    await expect(amt.setupAndConfiguration.commitChanges(client)).rejects.toMatchObject({
      statusName: 'DATA_MISSING',
      returnValue: 2057,
    });
  });
});

describe('AMT_RedirectionService, AMT_WebUIService', () => {
  it('switches SOL/IDER, puts ListenerEnabled, switches the web UI', async () => {
    sim.instances.set('AMT_RedirectionService', [
      { Name: 'Intel(r) AMT Redirection Service', EnabledState: 32768, ListenerEnabled: false },
    ]);
    const rsc = on('AMT_RedirectionService', 'RequestStateChange');
    await amt.redirection.setFeatures(client, { sol: true, ider: false });
    await amt.redirection.setFeatures(client, { sol: true, ider: true });
    expect(rsc).toEqual([{ RequestedState: '32770' }, { RequestedState: '32771' }]);
    const r = await amt.redirection.get(client);
    expect(r).toEqual({
      Name: 'Intel(r) AMT Redirection Service',
      EnabledState: 32768,
      ListenerEnabled: false,
    });
    expect(await amt.redirection.put(client, { ...r, ListenerEnabled: true })).toMatchObject({
      ListenerEnabled: true,
    });
    const web = on('AMT_WebUIService', 'RequestStateChange');
    await amt.webUI.setEnabled(client, true);
    await amt.webUI.setEnabled(client, false);
    expect(web).toEqual([{ RequestedState: '2' }, { RequestedState: '3' }]);
  });

  it('RequestStateChange failures are named with CIM codes', async () => {
    on('AMT_WebUIService', 'RequestStateChange', {}, 1);
    await expect(amt.webUI.setEnabled(client, true)).rejects.toMatchObject({ statusName: 'NOT_SUPPORTED' });
  });
});

describe('AMT_KerberosSettingData', () => {
  it('gets and puts the settings (arrays typed), reads and sets the credential cache', async () => {
    sim.instances.set('AMT_KerberosSettingData', [
      {
        InstanceID: KERBEROS_SETTINGS_INSTANCE_ID,
        KrbEnabled: false,
        RealmName: 'CORP.TEST',
        ServicePrincipalName: ['HTTP/ws.corp.test:16992', 'HTTP/ws.corp.test:16993'],
        ServicePrincipalProtocol: [0, 1],
        MaximumClockTolerance: 5,
      },
    ]);
    const k = await amt.kerberosSettingData.get(client);
    expect(k).toMatchObject({
      KrbEnabled: false,
      ServicePrincipalName: ['HTTP/ws.corp.test:16992', 'HTTP/ws.corp.test:16993'],
      ServicePrincipalProtocol: [0, 1],
      MaximumClockTolerance: 5,
    });
    await amt.kerberosSettingData.put(client, {
      ...k,
      KrbEnabled: true,
      MasterKey: 'AAAAAAAAAAAAAAAAAAAAAA==',
      KeyVersion: 3,
    });
    expect(lastRequest().body).toMatchObject({
      KrbEnabled: 'true',
      MasterKey: 'AAAAAAAAAAAAAAAAAAAAAA==',
      KeyVersion: '3',
    });
    on('AMT_KerberosSettingData', 'GetCredentialCacheState', { Enabled: true });
    const set = on('AMT_KerberosSettingData', 'SetCredentialCacheState');
    expect(await amt.kerberosSettingData.getCredentialCacheState(client)).toBe(true);
    await amt.kerberosSettingData.setCredentialCacheState(client, false);
    expect(set).toEqual([{ Enable: 'false' }]);
  });
});

describe('AMT_SystemPowerScheme', () => {
  it('enumerates schemes and sets one by its InstanceID selector, with no input', async () => {
    sim.instances.set('AMT_SystemPowerScheme', [
      {
        Description: 'Mobile: ON in S0',
        ElementName: 'Intel(r) AMT Power Scheme',
        InstanceID: 'Intel(r) AMT Power Scheme 0',
        SchemeGUID: 'AQEBAQEBAQEBAQEBAQEBAQ==',
      },
      {
        Description: 'Mobile: ON in S0, ME Wake in S3, S4-5 (AC only)',
        ElementName: 'Intel(r) AMT Power Scheme',
        InstanceID: 'Intel(r) AMT Power Scheme 2',
        SchemeGUID: 'AgICAgICAgICAgICAgICAg==',
      },
    ]);
    const schemes = await amt.systemPowerScheme.enumerate(client);
    expect(schemes.map((s) => s.Description)).toEqual([
      'Mobile: ON in S0',
      'Mobile: ON in S0, ME Wake in S3, S4-5 (AC only)',
    ]);
    const set = on('AMT_SystemPowerScheme', 'SetPowerScheme');
    await amt.systemPowerScheme.setPowerScheme(client, 'Intel(r) AMT Power Scheme 2');
    expect(set).toEqual([{}]);
    expect(lastRequest().selectors).toEqual({ InstanceID: 'Intel(r) AMT Power Scheme 2' });
  });
});

describe('Wireless: AMT_WiFiPortConfigurationService, CIM_WiFiEndpointSettings, CIM_WiFiPort', () => {
  it('adds a profile as an embedded instance, passphrase escaped, secret last', async () => {
    const ieee = endpointReference(`${CIM_URI_BASE}CIM_IEEE8021xSettings`, { InstanceID: 'x' });
    const add = on('AMT_WiFiPortConfigurationService', 'AddWiFiSettings', { IEEE8021xSettings: ieee });
    const out = await amt.wifiPortConfiguration.addWiFiSettings(client, {
      PSKPassPhrase: `p&ss<w>rd"'1`,
      Priority: 1,
      SSID: 'corp & lab',
      EncryptionMethod: 4,
      AuthenticationMethod: 6,
      InstanceID: 'Intel(r) AMT:WiFi Endpoint Settings home',
      ElementName: 'home',
    });
    expect(out).toEqual({ IEEE8021xSettings: ieee });
    const body = add[0] as WsmanItem;
    expect(body.WiFiEndpoint).toEqual(
      endpointReference(`${CIM_URI_BASE}CIM_WiFiEndpoint`, { Name: 'WiFi Endpoint 0' }),
    );
    expect(body.WiFiEndpointSettingsInput).toEqual({
      ElementName: 'home',
      InstanceID: 'Intel(r) AMT:WiFi Endpoint Settings home',
      AuthenticationMethod: '6',
      EncryptionMethod: '4',
      SSID: 'corp & lab',
      Priority: '1',
      PSKPassPhrase: `p&ss<w>rd"'1`,
    });
    expect(Object.keys(body.WiFiEndpointSettingsInput as object).at(-1)).toBe('PSKPassPhrase');
    const raw = sim.requests.at(-1);
    expect(raw?.bodyName).toBe('AddWiFiSettings_INPUT');
    // The typed view of what the simulator received.
    expect(
      decodeProperties(WIFI_ENDPOINT_SETTINGS.properties, body.WiFiEndpointSettingsInput as WsmanItem),
    ).toMatchObject({ Priority: 1, AuthenticationMethod: 6 });
  });

  it('adds an 802.1X profile with credentials; duplicate priority is INVALID_PRIORITY', async () => {
    const add = on('AMT_WiFiPortConfigurationService', 'AddWiFiSettings');
    await amt.wifiPortConfiguration.addWiFiSettings(
      client,
      {
        ElementName: 'eap',
        InstanceID: 'Intel(r) AMT:WiFi Endpoint Settings eap',
        AuthenticationMethod: 7,
        EncryptionMethod: 4,
        SSID: 's',
        Priority: 2,
      },
      {
        ieee8021xSettings: { ElementName: 'eap', AuthenticationProtocol: 0, Username: 'u' },
        clientCredential: cert(3),
        caCredential: cert(4),
      },
    );
    expect(add[0]).toMatchObject({
      IEEE8021xSettingsInput: { ElementName: 'eap', AuthenticationProtocol: '0', Username: 'u' },
      ClientCredential: cert(3),
      CACredential: cert(4),
    });
    on('AMT_WiFiPortConfigurationService', 'AddWiFiSettings', {}, 0x813);
    await expect(
      amt.wifiPortConfiguration.addWiFiSettings(client, {
        ElementName: 'dup',
        Priority: 2,
        SSID: 's',
        AuthenticationMethod: 6,
        EncryptionMethod: 4,
        PSKPassPhrase: '12345678',
      }),
    ).rejects.toMatchObject({ statusName: 'INVALID_PRIORITY' });
    on('AMT_WiFiPortConfigurationService', 'AddWiFiSettings', {}, 4);
    await expect(
      amt.wifiPortConfiguration.addWiFiSettings(client, { ElementName: 'x' }),
    ).rejects.toMatchObject({ statusName: 'INVALID_REFERENCE' });
  });

  it('deletes profiles (all IT profiles, or one by InstanceID); enumerates them typed', async () => {
    const del = on('AMT_WiFiPortConfigurationService', 'DeleteAllITProfiles');
    on('AMT_WiFiPortConfigurationService', 'DeleteAllUserProfiles');
    await amt.wifiPortConfiguration.deleteAllITProfiles(client);
    await amt.wifiPortConfiguration.deleteAllUserProfiles(client);
    expect(del).toHaveLength(1);
    sim.instances.set('CIM_WiFiEndpointSettings', [
      {
        ElementName: 'home',
        InstanceID: 'Intel(r) AMT:WiFi Endpoint Settings home',
        Priority: 1,
        AuthenticationMethod: 6,
        SSID: 'net',
      },
    ]);
    expect(await cim.wifiEndpointSettings.enumerate(client)).toEqual([
      {
        ElementName: 'home',
        InstanceID: 'Intel(r) AMT:WiFi Endpoint Settings home',
        Priority: 1,
        AuthenticationMethod: 6,
        SSID: 'net',
      },
    ]);
    await cim.wifiEndpointSettings.deleteById(client, 'Intel(r) AMT:WiFi Endpoint Settings home');
    expect(sim.instances.get('CIM_WiFiEndpointSettings')).toEqual([]);
  });

  it('detects the wireless port and turns it on', async () => {
    expect(await cim.wifiPort.enumerate(client)).toEqual([]);
    sim.instances.set('CIM_WiFiPort', [
      {
        DeviceID: 'WiFi Port 0',
        EnabledState: 3,
        PermanentAddress: '00:11:22:33:44:55',
        OperationalStatus: [2],
      },
    ]);
    expect(await cim.wifiPort.enumerate(client)).toEqual([
      {
        DeviceID: 'WiFi Port 0',
        EnabledState: 3,
        PermanentAddress: '00:11:22:33:44:55',
        OperationalStatus: [2],
      },
    ]);
    const rsc = on('CIM_WiFiPort', 'RequestStateChange');
    await cim.wifiPort.requestStateChange(client, 32769);
    expect(rsc).toEqual([{ RequestedState: '32769' }]);
  });
});

describe('Wired 802.1X: AMT_8021XProfile, IPS_IEEE8021xSettings', () => {
  it('puts the AMT 3–11 profile with certificate references', async () => {
    sim.instances.set('AMT_8021XProfile', [{ InstanceID: 'Intel(r) AMT 802.1x Profile 0', Enabled: false }]);
    const p = await amt.ieee8021xProfile.get(client);
    const out = await amt.ieee8021xProfile.put(client, {
      ...p,
      Enabled: true,
      AuthenticationProtocol: 0,
      ClientCertificate: cert(5),
      ServerCertificateIssuer: cert(6),
      PxeTimeout: 120,
    });
    expect(out).toMatchObject({
      Enabled: true,
      AuthenticationProtocol: 0,
      ClientCertificate: cert(5),
      ServerCertificateIssuer: cert(6),
      PxeTimeout: 120,
    });
  });

  it('puts the newer settings and binds their certificates', async () => {
    sim.instances.set('IPS_IEEE8021xSettings', [
      { InstanceID: 'Intel(r) AMT: 8021X Settings', Enabled: 3, AvailableInS0: true },
    ]);
    const s = await ips.ieee8021xSettings.get(client);
    expect(s).toEqual({ InstanceID: 'Intel(r) AMT: 8021X Settings', Enabled: 3, AvailableInS0: true });
    expect(await ips.ieee8021xSettings.put(client, { ...s, Enabled: 2, Username: 'host/ws' })).toMatchObject({
      Enabled: 2,
    });
    const set = on('IPS_IEEE8021xSettings', 'SetCertificates');
    await ips.ieee8021xSettings.setCertificates(client, {
      serverCertificateIssuer: cert(6),
      clientCertificate: cert(5),
    });
    expect(set).toEqual([{ ServerCertificateIssuer: cert(6), ClientCertificate: cert(5) }]);
  });
});

describe('CIM_SoftwareIdentity', () => {
  it('enumerates versions and finds the AMT version', async () => {
    sim.instances.set('CIM_SoftwareIdentity', [
      { InstanceID: 'Flash', IsEntity: true, VersionString: '11.8.50' },
      { InstanceID: 'AMT', IsEntity: true, VersionString: '11.8.50' },
    ]);
    expect(await cim.softwareIdentity.amtVersion(client)).toBe('11.8.50');
    expect((await cim.softwareIdentity.enumerate(client))[0]).toEqual({
      InstanceID: 'Flash',
      IsEntity: true,
      VersionString: '11.8.50',
    });
    sim.instances.set('CIM_SoftwareIdentity', []);
    expect(await cim.softwareIdentity.amtVersion(client)).toBeUndefined();
  });
});

describe('CIM_ElementSettingData, CIM_CredentialContext', () => {
  const scheme = (id: string) =>
    endpointReference(resourceUriFor('AMT_SystemPowerScheme'), { InstanceID: id, SchemeGUID: 'AQID' });
  const system = endpointReference(resourceUriFor('CIM_ComputerSystem'), { Name: 'ManagedSystem' });

  it('types the association and finds the current settings of one class', async () => {
    sim.instances.set('CIM_ElementSettingData', [
      { IsCurrent: 2, IsDefault: 1, IsNext: 2, ManagedElement: system, SettingData: scheme('S0') },
      { IsCurrent: 1, IsDefault: 2, IsNext: 3, ManagedElement: system, SettingData: scheme('S1') },
      {
        IsCurrent: 1,
        ManagedElement: system,
        SettingData: endpointReference(resourceUriFor('AMT_TLSSettingData'), { InstanceID: 'T' }),
      },
    ]);
    const all = await cim.elementSettingData.enumerate(client);
    expect(all[1]).toEqual({
      IsCurrent: 1,
      IsDefault: 2,
      IsNext: 3,
      ManagedElement: system,
      SettingData: scheme('S1'),
    });
    expect(await cim.elementSettingData.currentSettings(client, amt.systemPowerScheme.resourceUri)).toEqual([
      scheme('S1'),
    ]);
    expect(await cim.elementSettingData.currentSettings(client, resourceUriFor('CIM_Nothing'))).toEqual([]);

    await cim.elementSettingData.get(client, { ManagedElement: system, SettingData: scheme('S1') });
    expect(lastRequest()).toMatchObject({
      kind: 'get',
      resourceUri: resourceUriFor('CIM_ElementSettingData'),
      referenceSelectors: { ManagedElement: system, SettingData: scheme('S1') },
    });
  });

  it('refuses an IsCurrent that is not a number', async () => {
    sim.instances.set('CIM_ElementSettingData', [{ IsCurrent: 'yes', SettingData: scheme('S0') }]);
    await expect(cim.elementSettingData.currentSettings(client, 'x')).rejects.toMatchObject({
      code: 'WSMAN_PARSE',
    });
  });

  it('types the credential contexts linking certificates to 802.1X settings', async () => {
    const settings = endpointReference(resourceUriFor('IPS_IEEE8021xSettings'), {
      InstanceID: 'Intel(r) AMT: 8021X Settings home',
    });
    sim.instances.set('CIM_CredentialContext', [
      { ElementInContext: cert(3), ElementProvidingContext: settings },
      { ElementInContext: cert(4), ElementProvidingContext: settings, Extra: 'kept' },
    ]);
    const all = await cim.credentialContext.enumerate(client);
    expect(all).toEqual([
      { ElementInContext: cert(3), ElementProvidingContext: settings },
      { ElementInContext: cert(4), ElementProvidingContext: settings, Extra: 'kept' },
    ]);
    expect(cim.credentialContext.schema.keys).toEqual(['ElementInContext', 'ElementProvidingContext']);
    expect(() => cim.credentialContext.decode({ ElementInContext: 'not a reference' })).toThrow(
      expect.objectContaining({ code: 'WSMAN_PARSE' }),
    );
  });
});

describe('IPS_HostBasedSetupService', () => {
  it('reads the control modes and runs the setup methods', async () => {
    sim.instances.set('IPS_HostBasedSetupService', [
      {
        Name: 'Intel(r) AMT Host Based Setup Service',
        CurrentControlMode: 0,
        AllowedControlModes: [1, 2],
        ConfigurationNonce: 'bm9uY2U=',
      },
    ]);
    expect(await ips.hostBasedSetup.get(client)).toEqual({
      Name: 'Intel(r) AMT Host Based Setup Service',
      CurrentControlMode: 0,
      AllowedControlModes: [1, 2],
      ConfigurationNonce: 'bm9uY2U=',
    });
    const setup = on('IPS_HostBasedSetupService', 'Setup');
    const admin = on('IPS_HostBasedSetupService', 'AdminSetup');
    const chain = on('IPS_HostBasedSetupService', 'AddNextCertInChain');
    const upgrade = on('IPS_HostBasedSetupService', 'UpgradeClientToAdmin');
    await ips.hostBasedSetup.setup(client, 'aGFzaA==');
    expect(setup).toEqual([{ NetAdminPassEncryptionType: '2', NetworkAdminPassword: 'aGFzaA==' }]);
    await ips.hostBasedSetup.addNextCertInChain(client, 'MIIL', true, false);
    expect(chain).toEqual([{ NextCertificate: 'MIIL', IsLeaf: 'true', IsRootCertificate: 'false' }]);
    await ips.hostBasedSetup.adminSetup(client, {
      passwordHash: 'aGFzaA==',
      mcNonce: 'bWM=',
      signingAlgorithm: 2,
      digitalSignature: 'c2ln',
    });
    expect(admin).toEqual([
      {
        NetAdminPassEncryptionType: '2',
        NetworkAdminPassword: 'aGFzaA==',
        McNonce: 'bWM=',
        SigningAlgorithm: '2',
        DigitalSignature: 'c2ln',
      },
    ]);
    await ips.hostBasedSetup.upgradeClientToAdmin(client, {
      mcNonce: 'bWM=',
      signingAlgorithm: 2,
      digitalSignature: 'c2ln',
    });
    expect(upgrade).toEqual([{ McNonce: 'bWM=', SigningAlgorithm: '2', DigitalSignature: 'c2ln' }]);
  });
});

describe('typed decoding refuses values that do not fit', () => {
  it('a non-numeric ProvisioningState is a typed error', async () => {
    sim.instances.set('AMT_SetupAndConfigurationService', [{ ProvisioningState: 'post' }]);
    await expect(amt.setupAndConfiguration.get(client)).rejects.toMatchObject({ code: 'WSMAN_PARSE' });
  });
});
