/**
 * Typed bindings of the AMT_ classes the provisioning flows use (amt-protocol.md §5, §10).
 * Property names are the wire names; values are typed by each class schema.
 */
import type { WsmanClient } from '../client.js';
import { WsmanInvalidArgumentError, WsmanUnexpectedResponseError } from '../errors.js';
import { AMT_URI_BASE, CIM_URI_BASE } from '../namespaces.js';
import { ADD_WIFI_SETTINGS_RETURN_VALUES } from '../pt-status.js';
import { orderProperties, type TypedProperties } from '../schema.js';
import { type EndpointReference, embeddedInstance, endpointReference, type Selectors } from '../values.js';
import { WIFI_ENDPOINT_SETTINGS, type WiFiEndpointSettings } from './cim.js';
import {
  defineClass,
  instanceOps,
  invokeMethod,
  REQUEST_STATE_CHANGE,
  SERVICE_PROPERTIES,
} from './common.js';

// --- AMT_GeneralSettings ---------------------------------------------------------------------

export const GENERAL_SETTINGS = defineClass(
  'AMT_GeneralSettings',
  {
    AMTNetworkEnabled: 'number',
    DDNSPeriodicUpdateInterval: 'number',
    DDNSTTL: 'number',
    DDNSUpdateByDHCPServerEnabled: 'boolean',
    DDNSUpdateEnabled: 'boolean',
    DHCPv6ConfigurationTimeout: 'number',
    DigestRealm: 'string',
    DomainName: 'string',
    ElementName: 'string',
    HostName: 'string',
    HostOSFQDN: 'string',
    IdleWakeTimeout: 'number',
    InstanceID: 'string',
    NetworkInterfaceEnabled: 'boolean',
    PingResponseEnabled: 'boolean',
    PowerSource: 'number',
    PreferredAddressFamily: 'number',
    PresenceNotificationInterval: 'number',
    PrivacyLevel: 'number',
    RmcpPingResponseEnabled: 'boolean',
    SharedFQDN: 'boolean',
    ThunderboltDockEnabled: 'number',
    WsmanOnlyMode: 'boolean',
  },
  { keys: ['InstanceID'] },
);
/** AMT_GeneralSettings: realm, host and domain name, ping responses. */
export interface AmtGeneralSettings extends TypedProperties<typeof GENERAL_SETTINGS.properties> {}

const generalSettings = {
  ...instanceOps<AmtGeneralSettings>(GENERAL_SETTINGS),
};

// --- AMT_TimeSynchronizationService -----------------------------------------------------------

export const TIME_SYNCHRONIZATION_SERVICE = defineClass(
  'AMT_TimeSynchronizationService',
  { ...SERVICE_PROPERTIES, LocalTimeSyncEnabled: 'number', TimeSource: 'number' },
  {
    keys: ['Name'],
    methods: {
      GetLowAccuracyTimeSynch: { input: {}, output: { Ta0: 'number' } },
      SetHighAccuracyTimeSynch: { input: { Ta0: 'number', Tm1: 'number', Tm2: 'number' }, output: {} },
    },
  },
);
export interface AmtTimeSynchronizationService
  extends TypedProperties<typeof TIME_SYNCHRONIZATION_SERVICE.properties> {}
type TimeMethods = typeof TIME_SYNCHRONIZATION_SERVICE.methods;

const timeSynchronization = {
  ...instanceOps<AmtTimeSynchronizationService>(TIME_SYNCHRONIZATION_SERVICE),
  /** AMT's clock, `Ta0`, in Unix seconds. */
  async getLowAccuracyTimeSynch(client: WsmanClient): Promise<{ Ta0: number }> {
    const out = await invokeMethod<TimeMethods['GetLowAccuracyTimeSynch']>(
      client,
      TIME_SYNCHRONIZATION_SERVICE,
      'GetLowAccuracyTimeSynch',
      {},
    );
    if (out.Ta0 === undefined)
      throw new WsmanUnexpectedResponseError('GetLowAccuracyTimeSynch returned no Ta0');
    return { Ta0: out.Ta0 };
  },
  /** Sets AMT's clock: Ta0 from AMT, Tm1 when it arrived, Tm2 now (Unix seconds). */
  async setHighAccuracyTimeSynch(client: WsmanClient, ta0: number, tm1: number, tm2: number): Promise<void> {
    await invokeMethod(client, TIME_SYNCHRONIZATION_SERVICE, 'SetHighAccuracyTimeSynch', {
      Ta0: ta0,
      Tm1: tm1,
      Tm2: tm2,
    });
  },
};

// --- AMT_PublicKeyManagementService -----------------------------------------------------------

export const PUBLIC_KEY_MANAGEMENT_SERVICE = defineClass(
  'AMT_PublicKeyManagementService',
  SERVICE_PROPERTIES,
  {
    keys: ['Name'],
    methods: {
      GenerateKeyPair: { input: { KeyAlgorithm: 'number', KeyLength: 'number' }, output: { KeyPair: 'epr' } },
      GeneratePKCS10RequestEx: {
        input: { KeyPair: 'epr', SigningAlgorithm: 'number', NullSignedCertificateRequest: 'string' },
        output: { SignedCertificateRequest: 'string' },
      },
      AddCertificate: { input: { CertificateBlob: 'string' }, output: { CreatedCertificate: 'epr' } },
      AddTrustedRootCertificate: {
        input: { CertificateBlob: 'string' },
        output: { CreatedCertificate: 'epr' },
      },
      AddKey: { input: { KeyBlob: 'string' }, output: { CreatedKey: 'epr' } },
    },
  },
);
export interface AmtPublicKeyManagementService
  extends TypedProperties<typeof PUBLIC_KEY_MANAGEMENT_SERVICE.properties> {}

function eprOut(v: EndpointReference | undefined, what: string): EndpointReference {
  if (v === undefined) throw new WsmanUnexpectedResponseError(`${what} returned no endpoint reference`);
  return v;
}

const publicKeyManagement = {
  ...instanceOps<AmtPublicKeyManagementService>(PUBLIC_KEY_MANAGEMENT_SERVICE),
  /** Generates an RSA key pair in AMT (KeyAlgorithm 0 = RSA); returns the key pair's reference. */
  async generateKeyPair(client: WsmanClient, keyLength = 2048): Promise<EndpointReference> {
    const out = await invokeMethod<(typeof PUBLIC_KEY_MANAGEMENT_SERVICE.methods)['GenerateKeyPair']>(
      client,
      PUBLIC_KEY_MANAGEMENT_SERVICE,
      'GenerateKeyPair',
      { KeyAlgorithm: 0, KeyLength: keyLength },
    );
    return eprOut(out.KeyPair, 'GenerateKeyPair');
  },
  /**
   * Has AMT sign a PKCS#10 request with the key pair: `nullSignedRequest` is a base64 DER CSR with
   * a null signature; SigningAlgorithm 0 = SHA1-RSA, 1 = SHA256-RSA.
   */
  async generatePKCS10RequestEx(
    client: WsmanClient,
    keyPair: EndpointReference,
    nullSignedRequest: string,
    signingAlgorithm = 1,
  ): Promise<string> {
    const out = await invokeMethod<(typeof PUBLIC_KEY_MANAGEMENT_SERVICE.methods)['GeneratePKCS10RequestEx']>(
      client,
      PUBLIC_KEY_MANAGEMENT_SERVICE,
      'GeneratePKCS10RequestEx',
      {
        KeyPair: keyPair,
        SigningAlgorithm: signingAlgorithm,
        NullSignedCertificateRequest: nullSignedRequest,
      },
    );
    if (out.SignedCertificateRequest === undefined) {
      throw new WsmanUnexpectedResponseError('GeneratePKCS10RequestEx returned no request');
    }
    return out.SignedCertificateRequest;
  },
  /** Stores a certificate (base64 DER); returns its AMT_PublicKeyCertificate reference. */
  async addCertificate(client: WsmanClient, certificateBase64: string): Promise<EndpointReference> {
    const out = await invokeMethod<(typeof PUBLIC_KEY_MANAGEMENT_SERVICE.methods)['AddCertificate']>(
      client,
      PUBLIC_KEY_MANAGEMENT_SERVICE,
      'AddCertificate',
      { CertificateBlob: certificateBase64 },
    );
    return eprOut(out.CreatedCertificate, 'AddCertificate');
  },
  /** Stores a trusted root certificate (base64 DER). */
  async addTrustedRootCertificate(
    client: WsmanClient,
    certificateBase64: string,
  ): Promise<EndpointReference> {
    const out = await invokeMethod<
      (typeof PUBLIC_KEY_MANAGEMENT_SERVICE.methods)['AddTrustedRootCertificate']
    >(client, PUBLIC_KEY_MANAGEMENT_SERVICE, 'AddTrustedRootCertificate', {
      CertificateBlob: certificateBase64,
    });
    return eprOut(out.CreatedCertificate, 'AddTrustedRootCertificate');
  },
  /** Stores a private key (base64 DER); returns its AMT_PublicPrivateKeyPair reference. */
  async addKey(client: WsmanClient, keyBase64: string): Promise<EndpointReference> {
    const out = await invokeMethod<(typeof PUBLIC_KEY_MANAGEMENT_SERVICE.methods)['AddKey']>(
      client,
      PUBLIC_KEY_MANAGEMENT_SERVICE,
      'AddKey',
      { KeyBlob: keyBase64 },
    );
    return eprOut(out.CreatedKey, 'AddKey');
  },
};

// --- AMT_PublicKeyCertificate, AMT_PublicPrivateKeyPair --------------------------------------

export const PUBLIC_KEY_CERTIFICATE = defineClass(
  'AMT_PublicKeyCertificate',
  {
    ElementName: 'string',
    InstanceID: 'string',
    Issuer: 'string',
    ReadOnlyCertificate: 'boolean',
    Subject: 'string',
    TrustedRootCertificate: 'boolean',
    X509Certificate: 'string',
  },
  { keys: ['InstanceID'] },
);
export interface AmtPublicKeyCertificate extends TypedProperties<typeof PUBLIC_KEY_CERTIFICATE.properties> {}

const byInstanceId = (instanceId: string): Selectors => ({ InstanceID: instanceId });

const publicKeyCertificate = {
  ...instanceOps<AmtPublicKeyCertificate>(PUBLIC_KEY_CERTIFICATE),
  /** Deletes a certificate by InstanceID. */
  async deleteById(client: WsmanClient, instanceId: string): Promise<void> {
    return client.delete(PUBLIC_KEY_CERTIFICATE.resourceUri, { selectors: byInstanceId(instanceId) });
  },
};

export const PUBLIC_PRIVATE_KEY_PAIR = defineClass(
  'AMT_PublicPrivateKeyPair',
  { DERKey: 'string', ElementName: 'string', InstanceID: 'string' },
  { keys: ['InstanceID'] },
);
export interface AmtPublicPrivateKeyPair extends TypedProperties<typeof PUBLIC_PRIVATE_KEY_PAIR.properties> {}

const publicPrivateKeyPair = {
  ...instanceOps<AmtPublicPrivateKeyPair>(PUBLIC_PRIVATE_KEY_PAIR),
  async deleteById(client: WsmanClient, instanceId: string): Promise<void> {
    return client.delete(PUBLIC_PRIVATE_KEY_PAIR.resourceUri, { selectors: byInstanceId(instanceId) });
  },
};

// --- AMT_TLSSettingData, AMT_TLSCredentialContext ---------------------------------------------

/** InstanceIDs of the two AMT_TLSSettingData instances. */
export const TLS_SETTINGS = {
  REMOTE: 'Intel(r) AMT 802.3 TLS Settings',
  LOCAL: 'Intel(r) AMT LMS TLS Settings',
} as const;

export const TLS_SETTING_DATA = defineClass(
  'AMT_TLSSettingData',
  {
    AcceptNonSecureConnections: 'boolean',
    ElementName: 'string',
    Enabled: 'boolean',
    InstanceID: 'string',
    MutualAuthentication: 'boolean',
    NonSecureConnectionsSupported: 'boolean',
    TrustedCN: 'string[]',
  },
  { keys: ['InstanceID'] },
);
export interface AmtTLSSettingData extends TypedProperties<typeof TLS_SETTING_DATA.properties> {}

const tlsSettingData = {
  ...instanceOps<AmtTLSSettingData>(TLS_SETTING_DATA),
  async getById(client: WsmanClient, instanceId: string): Promise<AmtTLSSettingData> {
    return tlsSettingData.get(client, byInstanceId(instanceId));
  },
  /** Put with the instance's own InstanceID as selector (as AMT requires). */
  async putById(client: WsmanClient, value: AmtTLSSettingData): Promise<AmtTLSSettingData> {
    if (!value.InstanceID) throw new WsmanInvalidArgumentError('AMT_TLSSettingData put needs an InstanceID');
    return tlsSettingData.put(client, value, byInstanceId(value.InstanceID));
  },
};

export const TLS_CREDENTIAL_CONTEXT = defineClass(
  'AMT_TLSCredentialContext',
  { ElementInContext: 'epr', ElementProvidingContext: 'epr' },
  { keys: ['ElementInContext', 'ElementProvidingContext'] },
);
export interface AmtTLSCredentialContext extends TypedProperties<typeof TLS_CREDENTIAL_CONTEXT.properties> {}

/** The collection a TLS certificate is bound to. */
export const TLS_PROTOCOL_ENDPOINT_COLLECTION = endpointReference(
  `${AMT_URI_BASE}AMT_TLSProtocolEndpointCollection`,
  { ElementName: 'TLSProtocolEndpointInstances Collection' },
);

const tlsCredentialContext = {
  ...instanceOps<AmtTLSCredentialContext>(TLS_CREDENTIAL_CONTEXT),
  /** Binds a certificate (its reference, or its InstanceID) to the TLS endpoints. */
  async create(client: WsmanClient, certificate: EndpointReference | string): Promise<EndpointReference> {
    const cert =
      typeof certificate === 'string'
        ? endpointReference(PUBLIC_KEY_CERTIFICATE.resourceUri, { InstanceID: certificate })
        : certificate;
    const { epr } = await client.create(TLS_CREDENTIAL_CONTEXT.resourceUri, {
      ElementInContext: cert,
      ElementProvidingContext: TLS_PROTOCOL_ENDPOINT_COLLECTION,
    });
    return epr;
  },
};

// --- AMT_AuthorizationService -------------------------------------------------------------------

/** ACL realms (§5). */
export const ACL_REALMS = {
  REDIRECTION: 2,
  PT_ADMINISTRATION: 3,
  HARDWARE_ASSET: 4,
  REMOTE_CONTROL: 5,
  STORAGE: 6,
  EVENT_MANAGER: 7,
  STORAGE_ADMIN: 8,
  AGENT_PRESENCE_LOCAL: 9,
  AGENT_PRESENCE_REMOTE: 10,
  CIRCUIT_BREAKER: 11,
  NETWORK_TIME: 12,
  GENERAL_INFO: 13,
  FIRMWARE_UPDATE: 14,
  EIT: 15,
  LOCAL_UN: 16,
  ENDPOINT_ACCESS_CONTROL: 17,
  ENDPOINT_ACCESS_CONTROL_ADMIN: 18,
  EVENT_LOG_READER: 19,
  AUDIT_LOG: 20,
  ACL: 21,
  LOCAL_SYSTEM: 24,
} as const;

/** AccessPermission of an ACL entry. */
export const ACCESS_PERMISSION = { LOCAL: 0, NETWORK: 1, ANY: 2 } as const;

export const AUTHORIZATION_SERVICE = defineClass(
  'AMT_AuthorizationService',
  { ...SERVICE_PROPERTIES, AllowHttpQopAuthOnly: 'number' },
  {
    keys: ['Name'],
    methods: {
      SetAdminAclEntryEx: { input: { Username: 'string', DigestPassword: 'string' }, output: {} },
      GetAdminAclEntry: { input: {}, output: { Username: 'string' } },
      EnumerateUserAclEntries: {
        input: { StartIndex: 'number' },
        output: { TotalCount: 'number', HandlesCount: 'number', Handles: 'number[]' },
      },
      GetUserAclEntryEx: {
        input: { Handle: 'number' },
        output: {
          DigestUsername: 'string',
          KerberosUserSid: 'string',
          AccessPermission: 'number',
          Realms: 'number[]',
        },
      },
      AddUserAclEntryEx: {
        input: {
          DigestUsername: 'string',
          DigestPassword: 'string',
          KerberosUserSid: 'string',
          AccessPermission: 'number',
          Realms: 'number[]',
        },
        output: { Handle: 'number' },
      },
      UpdateUserAclEntryEx: {
        input: {
          Handle: 'number',
          DigestUsername: 'string',
          DigestPassword: 'string',
          KerberosUserSid: 'string',
          AccessPermission: 'number',
          Realms: 'number[]',
        },
        output: {},
      },
      RemoveUserAclEntry: { input: { Handle: 'number' }, output: {} },
    },
  },
);
export interface AmtAuthorizationService extends TypedProperties<typeof AUTHORIZATION_SERVICE.properties> {}
type AuthMethods = typeof AUTHORIZATION_SERVICE.methods;

/** A user ACL entry: digest user (name + base64 HA1) or Kerberos SID (base64), with realms. */
export interface UserAclEntry {
  DigestUsername?: string;
  /** base64 of the 16 raw bytes of MD5(user:realm:password). */
  DigestPassword?: string;
  /** base64 of the binary Windows SID. */
  KerberosUserSid?: string;
  AccessPermission: number;
  Realms: number[];
}

const authorization = {
  ...instanceOps<AmtAuthorizationService>(AUTHORIZATION_SERVICE),
  /** Sets the admin account: user name and base64 digest HA1 (the password never travels). */
  async setAdminAclEntryEx(
    client: WsmanClient,
    username: string,
    digestPasswordBase64: string,
  ): Promise<void> {
    await invokeMethod(client, AUTHORIZATION_SERVICE, 'SetAdminAclEntryEx', {
      Username: username,
      DigestPassword: digestPasswordBase64,
    });
  },
  async getAdminAclEntry(client: WsmanClient): Promise<string> {
    const out = await invokeMethod<AuthMethods['GetAdminAclEntry']>(
      client,
      AUTHORIZATION_SERVICE,
      'GetAdminAclEntry',
      {},
    );
    return out.Username ?? '';
  },
  /** One page of ACL handles (≤ 50) from `startIndex` (1-based). */
  async enumerateUserAclEntries(
    client: WsmanClient,
    startIndex = 1,
  ): Promise<{ totalCount: number; handlesCount: number; handles: number[] }> {
    const out = await invokeMethod<AuthMethods['EnumerateUserAclEntries']>(
      client,
      AUTHORIZATION_SERVICE,
      'EnumerateUserAclEntries',
      { StartIndex: startIndex },
    );
    return {
      totalCount: out.TotalCount ?? 0,
      handlesCount: out.HandlesCount ?? 0,
      handles: out.Handles ?? [],
    };
  },
  /** Every user ACL handle, paging with StartIndex += HandlesCount (§10, paging unverified). */
  async listUserAclHandles(client: WsmanClient): Promise<number[]> {
    const all: number[] = [];
    let start = 1;
    for (let page = 0; page < 64; page++) {
      const r = await authorization.enumerateUserAclEntries(client, start);
      all.push(...r.handles);
      if (r.handlesCount === 0 || r.handles.length === 0 || all.length >= r.totalCount) break;
      start += r.handlesCount;
    }
    return all;
  },
  async getUserAclEntryEx(client: WsmanClient, handle: number): Promise<UserAclEntry> {
    const out = await invokeMethod<AuthMethods['GetUserAclEntryEx']>(
      client,
      AUTHORIZATION_SERVICE,
      'GetUserAclEntryEx',
      {
        Handle: handle,
      },
    );
    const entry: UserAclEntry = { AccessPermission: out.AccessPermission ?? 0, Realms: out.Realms ?? [] };
    if (out.DigestUsername !== undefined) entry.DigestUsername = out.DigestUsername;
    if (out.KerberosUserSid !== undefined) entry.KerberosUserSid = out.KerberosUserSid;
    return entry;
  },
  /** Adds a user ACL entry; returns its handle. */
  async addUserAclEntryEx(client: WsmanClient, entry: UserAclEntry): Promise<number> {
    if (!entry.KerberosUserSid && !(entry.DigestUsername && entry.DigestPassword)) {
      throw new WsmanInvalidArgumentError('an ACL entry needs a digest user and password, or a Kerberos SID');
    }
    const out = await invokeMethod<AuthMethods['AddUserAclEntryEx']>(
      client,
      AUTHORIZATION_SERVICE,
      'AddUserAclEntryEx',
      entry,
    );
    if (out.Handle === undefined)
      throw new WsmanUnexpectedResponseError('AddUserAclEntryEx returned no Handle');
    return out.Handle;
  },
  async removeUserAclEntry(client: WsmanClient, handle: number): Promise<void> {
    await invokeMethod(client, AUTHORIZATION_SERVICE, 'RemoveUserAclEntry', { Handle: handle });
  },
};

// --- AMT_SetupAndConfigurationService ---------------------------------------------------------

/** ProvisioningState values. */
export const PROVISIONING_STATE = { PRE: 0, IN: 1, POST: 2 } as const;

export const SETUP_AND_CONFIGURATION_SERVICE = defineClass(
  'AMT_SetupAndConfigurationService',
  {
    ...SERVICE_PROPERTIES,
    ConfigurationServerFQDN: 'string',
    DhcpDNSSuffix: 'string',
    PasswordModel: 'number',
    ProvisioningMode: 'number',
    ProvisioningServerOTP: 'string',
    ProvisioningState: 'number',
    TrustedDNSSuffix: 'string',
    ZeroTouchConfigurationEnabled: 'boolean',
  },
  {
    keys: ['Name'],
    methods: {
      SetMEBxPassword: { input: { Password: 'string' }, output: {} },
      CommitChanges: { input: {}, output: {} },
      Unprovision: { input: { ProvisioningMode: 'number' }, output: {} },
      PartialUnprovision: { input: {}, output: {} },
      ExtendProvisioningPeriod: { input: { Duration: 'number' }, output: {} },
      GetUuid: { input: {}, output: { UUID: 'string' } },
      SetProvisioningServerOTP: { input: { OTP: 'string' }, output: {} },
    },
  },
);
export interface AmtSetupAndConfigurationService
  extends TypedProperties<typeof SETUP_AND_CONFIGURATION_SERVICE.properties> {}

const setupAndConfiguration = {
  ...instanceOps<AmtSetupAndConfigurationService>(SETUP_AND_CONFIGURATION_SERVICE),
  async setMEBxPassword(client: WsmanClient, password: string): Promise<void> {
    await invokeMethod(client, SETUP_AND_CONFIGURATION_SERVICE, 'SetMEBxPassword', { Password: password });
  },
  /** Saves the settings in firmware (ReturnValue 38 flash write limit, 2057 data missing). */
  async commitChanges(client: WsmanClient): Promise<void> {
    await invokeMethod(client, SETUP_AND_CONFIGURATION_SERVICE, 'CommitChanges', {});
  },
  /** ProvisioningMode 0 current, 1 enterprise, 2 SMB, 3 remote connectivity. */
  async unprovision(client: WsmanClient, provisioningMode = 1): Promise<void> {
    await invokeMethod(client, SETUP_AND_CONFIGURATION_SERVICE, 'Unprovision', {
      ProvisioningMode: provisioningMode,
    });
  },
  async partialUnprovision(client: WsmanClient): Promise<void> {
    await invokeMethod(client, SETUP_AND_CONFIGURATION_SERVICE, 'PartialUnprovision', {});
  },
  /** Extends the provisioning period (Duration in hours). */
  async extendProvisioningPeriod(client: WsmanClient, hours: number): Promise<void> {
    await invokeMethod(client, SETUP_AND_CONFIGURATION_SERVICE, 'ExtendProvisioningPeriod', {
      Duration: hours,
    });
  },
  /** The platform UUID as AMT reports it (base64). */
  async getUuid(client: WsmanClient): Promise<string> {
    const out = await invokeMethod<(typeof SETUP_AND_CONFIGURATION_SERVICE.methods)['GetUuid']>(
      client,
      SETUP_AND_CONFIGURATION_SERVICE,
      'GetUuid',
      {},
    );
    return out.UUID ?? '';
  },
  async setProvisioningServerOTP(client: WsmanClient, otp: string): Promise<void> {
    await invokeMethod(client, SETUP_AND_CONFIGURATION_SERVICE, 'SetProvisioningServerOTP', { OTP: otp });
  },
};

// --- AMT_RedirectionService, AMT_WebUIService --------------------------------------------------

/** AMT_RedirectionService.RequestStateChange: 32768 + IDER·1 + SOL·2. */
export const REDIRECTION_STATE = { NONE: 32768, IDER: 32769, SOL: 32770, IDER_AND_SOL: 32771 } as const;

export const REDIRECTION_SERVICE = defineClass(
  'AMT_RedirectionService',
  { ...SERVICE_PROPERTIES, AccessLog: 'string[]', ListenerEnabled: 'boolean' },
  {
    keys: ['Name'],
    methods: {
      RequestStateChange: REQUEST_STATE_CHANGE,
    },
  },
);
export interface AmtRedirectionService extends TypedProperties<typeof REDIRECTION_SERVICE.properties> {}

const redirection = {
  ...instanceOps<AmtRedirectionService>(REDIRECTION_SERVICE),
  async requestStateChange(client: WsmanClient, requestedState: number): Promise<void> {
    await invokeMethod(client, REDIRECTION_SERVICE, 'RequestStateChange', { RequestedState: requestedState });
  },
  /** Turns SOL and IDE redirection on or off (the state only; ListenerEnabled is a Put). */
  async setFeatures(client: WsmanClient, features: { sol: boolean; ider: boolean }): Promise<void> {
    return redirection.requestStateChange(
      client,
      REDIRECTION_STATE.NONE + (features.ider ? 1 : 0) + (features.sol ? 2 : 0),
    );
  },
};

export const WEB_UI_SERVICE = defineClass('AMT_WebUIService', SERVICE_PROPERTIES, {
  keys: ['Name'],
  methods: {
    RequestStateChange: REQUEST_STATE_CHANGE,
  },
});
export interface AmtWebUIService extends TypedProperties<typeof WEB_UI_SERVICE.properties> {}

const webUI = {
  ...instanceOps<AmtWebUIService>(WEB_UI_SERVICE),
  /** RequestedState 2 = on, 3 = off. */
  async requestStateChange(client: WsmanClient, requestedState: number): Promise<void> {
    await invokeMethod(client, WEB_UI_SERVICE, 'RequestStateChange', { RequestedState: requestedState });
  },
  async setEnabled(client: WsmanClient, enabled: boolean): Promise<void> {
    return webUI.requestStateChange(client, enabled ? 2 : 3);
  },
};

// --- AMT_KerberosSettingData --------------------------------------------------------------------

/** The single instance's InstanceID (note the space before "(r)"). */
export const KERBEROS_SETTINGS_INSTANCE_ID = 'Intel (r) AMT: Kerberos Settings';

export const KERBEROS_SETTING_DATA = defineClass(
  'AMT_KerberosSettingData',
  {
    ConfiguredEncryptionAlgorithms: 'number[]',
    ElementName: 'string',
    EncryptionAlgorithm: 'number',
    InstanceID: 'string',
    IterationCount: 'number',
    KeyVersion: 'number',
    KrbEnabled: 'boolean',
    MasterKey: 'string',
    MaximumClockTolerance: 'number',
    Passphrase: 'string',
    RealmName: 'string',
    Salt: 'string',
    ServicePrincipalName: 'string[]',
    ServicePrincipalProtocol: 'number[]',
    SupportedEncryptionAlgorithms: 'number[]',
  },
  {
    keys: ['InstanceID'],
    methods: {
      GetCredentialCacheState: { input: {}, output: { Enabled: 'boolean' } },
      SetCredentialCacheState: { input: { Enable: 'boolean' }, output: {} },
    },
  },
);
export interface AmtKerberosSettingData extends TypedProperties<typeof KERBEROS_SETTING_DATA.properties> {}

const kerberosSettingData = {
  ...instanceOps<AmtKerberosSettingData>(KERBEROS_SETTING_DATA),
  async getCredentialCacheState(client: WsmanClient): Promise<boolean> {
    const out = await invokeMethod<(typeof KERBEROS_SETTING_DATA.methods)['GetCredentialCacheState']>(
      client,
      KERBEROS_SETTING_DATA,
      'GetCredentialCacheState',
      {},
    );
    return out.Enabled === true;
  },
  async setCredentialCacheState(client: WsmanClient, enable: boolean): Promise<void> {
    await invokeMethod(client, KERBEROS_SETTING_DATA, 'SetCredentialCacheState', { Enable: enable });
  },
};

// --- AMT_SystemPowerScheme ----------------------------------------------------------------------

export const SYSTEM_POWER_SCHEME = defineClass(
  'AMT_SystemPowerScheme',
  { Description: 'string', ElementName: 'string', InstanceID: 'string', SchemeGUID: 'string' },
  { keys: ['InstanceID', 'SchemeGUID'], methods: { SetPowerScheme: { input: {}, output: {} } } },
);
export interface AmtSystemPowerScheme extends TypedProperties<typeof SYSTEM_POWER_SCHEME.properties> {}

const systemPowerScheme = {
  ...instanceOps<AmtSystemPowerScheme>(SYSTEM_POWER_SCHEME),
  /** Makes the scheme with this InstanceID current (no input; the selector names it). */
  async setPowerScheme(client: WsmanClient, instanceId: string): Promise<void> {
    await invokeMethod(
      client,
      SYSTEM_POWER_SCHEME,
      'SetPowerScheme',
      {},
      { selectors: byInstanceId(instanceId) },
    );
  },
};

// --- AMT_WiFiPortConfigurationService -----------------------------------------------------------

export const WIFI_PORT_CONFIGURATION_SERVICE = defineClass(
  'AMT_WiFiPortConfigurationService',
  {
    ...SERVICE_PROPERTIES,
    LastConnectedSsidUnderMeControl: 'string',
    NoHostCsmeSoftwarePolicy: 'number',
    UEFIWiFiProfileShareEnabled: 'boolean',
    localProfileSynchronizationEnabled: 'number',
  },
  {
    keys: ['Name'],
    methods: {
      AddWiFiSettings: {
        input: {
          WiFiEndpoint: 'epr',
          WiFiEndpointSettingsInput: 'item',
          IEEE8021xSettingsInput: 'item',
          ClientCredential: 'epr',
          CACredential: 'epr',
        },
        output: { IEEE8021xSettings: 'epr', ClientCredential: 'epr', CACredential: 'epr' },
        returnValueNames: ADD_WIFI_SETTINGS_RETURN_VALUES,
      },
      DeleteAllITProfiles: { input: {}, output: {} },
      DeleteAllUserProfiles: { input: {}, output: {} },
    },
  },
);
export interface AmtWiFiPortConfigurationService
  extends TypedProperties<typeof WIFI_PORT_CONFIGURATION_SERVICE.properties> {}

// The order Intel's own tools write a profile in (ElementName first, the secret last).
const WIFI_ENDPOINT_SETTINGS_INPUT_ORDER = {
  ElementName: 'string',
  InstanceID: 'string',
  AuthenticationMethod: 'number',
  EncryptionMethod: 'number',
  SSID: 'string',
  Priority: 'number',
  PSKPassPhrase: 'string',
} as const;

/** The wireless endpoint profiles are added to (§5). */
export const WIFI_ENDPOINT_0 = endpointReference(`${CIM_URI_BASE}CIM_WiFiEndpoint`, {
  Name: 'WiFi Endpoint 0',
});

const wifiPortConfiguration = {
  ...instanceOps<AmtWiFiPortConfigurationService>(WIFI_PORT_CONFIGURATION_SERVICE),
  /**
   * Adds a wireless profile. The settings go as an embedded CIM_WiFiEndpointSettings instance
   * (escaped like every value: `&`, `<` in a passphrase are safe).
   */
  async addWiFiSettings(
    client: WsmanClient,
    settings: WiFiEndpointSettings,
    opts: {
      wifiEndpoint?: EndpointReference;
      ieee8021xSettings?: Record<string, unknown>;
      clientCredential?: EndpointReference;
      caCredential?: EndpointReference;
    } = {},
  ): Promise<{
    IEEE8021xSettings?: EndpointReference;
    ClientCredential?: EndpointReference;
    CACredential?: EndpointReference;
  }> {
    const input: Record<string, unknown> = {
      WiFiEndpoint: opts.wifiEndpoint ?? WIFI_ENDPOINT_0,
      WiFiEndpointSettingsInput: embeddedInstance(
        WIFI_ENDPOINT_SETTINGS.resourceUri,
        orderProperties(WIFI_ENDPOINT_SETTINGS_INPUT_ORDER, settings),
      ),
    };
    if (opts.ieee8021xSettings) {
      input.IEEE8021xSettingsInput = embeddedInstance(
        `${CIM_URI_BASE}CIM_IEEE8021xSettings`,
        opts.ieee8021xSettings,
      );
    }
    if (opts.clientCredential) input.ClientCredential = opts.clientCredential;
    if (opts.caCredential) input.CACredential = opts.caCredential;
    const out = await invokeMethod<(typeof WIFI_PORT_CONFIGURATION_SERVICE.methods)['AddWiFiSettings']>(
      client,
      WIFI_PORT_CONFIGURATION_SERVICE,
      'AddWiFiSettings',
      input,
    );
    const { ReturnValue: _rv, ...refs } = out;
    return refs;
  },
  async deleteAllITProfiles(client: WsmanClient): Promise<void> {
    await invokeMethod(client, WIFI_PORT_CONFIGURATION_SERVICE, 'DeleteAllITProfiles', {});
  },
  async deleteAllUserProfiles(client: WsmanClient): Promise<void> {
    await invokeMethod(client, WIFI_PORT_CONFIGURATION_SERVICE, 'DeleteAllUserProfiles', {});
  },
};

// --- AMT_8021XProfile ---------------------------------------------------------------------------

export const IEEE8021X_PROFILE = defineClass(
  'AMT_8021XProfile',
  {
    ActiveInS0: 'boolean',
    AuthenticationProtocol: 'number',
    ClientCertificate: 'epr',
    Domain: 'string',
    ElementName: 'string',
    Enabled: 'boolean',
    InstanceID: 'string',
    PACPassword: 'string',
    Password: 'string',
    ProtectedAccessCredential: 'string',
    PxeTimeout: 'number',
    RoamingIdentity: 'string',
    ServerCertificateIssuer: 'epr',
    ServerCertificateName: 'string',
    ServerCertificateNameComparison: 'number',
    Username: 'string',
  },
  { keys: ['InstanceID'] },
);
/** AMT_8021XProfile (wired 802.1X on AMT 3–11). */
export interface Amt8021XProfile extends TypedProperties<typeof IEEE8021X_PROFILE.properties> {}

const ieee8021xProfile = instanceOps<Amt8021XProfile>(IEEE8021X_PROFILE);

/** The AMT_ class bindings: `amt.generalSettings.get(client)`, `amt.setupAndConfiguration.commitChanges(client)`… */
export const amt = {
  generalSettings,
  timeSynchronization,
  publicKeyManagement,
  publicKeyCertificate,
  publicPrivateKeyPair,
  tlsSettingData,
  tlsCredentialContext,
  authorization,
  setupAndConfiguration,
  redirection,
  webUI,
  kerberosSettingData,
  systemPowerScheme,
  wifiPortConfiguration,
  ieee8021xProfile,
};
