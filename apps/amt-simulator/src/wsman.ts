import { randomUUID } from 'node:crypto';
import {
  buildCreateResponse,
  buildDeleteResponse,
  buildEnumerateResponse,
  buildFault,
  buildGetResponse,
  buildIdentifyResponse,
  buildInvokeResponse,
  buildPullResponse,
  buildPutResponse,
  buildReleaseResponse,
  classNameOf,
  type EndpointReference,
  endpointReference,
  faultHttpStatus,
  isEndpointReference,
  parseWsmanRequest,
  resourceUriFor,
  type WsmanItem,
  type WsmanRequest,
  type WsmanValue,
} from '@oobkit/wsman';
import type { Firmware, Result } from './firmware.js';
import type { CallContext, ParseOutcome, Reply } from './protocol.js';
import { LOCAL_TLS_ID, REMOTE_TLS_ID, type Wired8021x } from './state.js';
import { PT } from './status.js';

const CONTENT_TYPE = 'application/soap+xml;charset=UTF-8';
const SYSTEM = {
  CreationClassName: 'CIM_ComputerSystem',
  Name: 'Intel(r) AMT',
  SystemCreationClassName: 'CIM_ComputerSystem',
  SystemName: 'Intel(r) AMT',
};

type Props = Record<string, unknown>;

interface Instance {
  /** Key properties a selector set may name. */
  keys: Record<string, string>;
  properties: Props;
}

interface InvokeOutcome {
  returnValue: number;
  output?: Props;
  /** The Unprovision call: answer first, then reset. */
  after?: (ctx: CallContext) => void;
}

interface ClassHandler {
  /** All instances (singletons return one). */
  instances(fw: Firmware, ctx: Pick<CallContext, 'address' | 'uuid' | 'profile'>): Instance[];
  put?(fw: Firmware, instance: Instance, body: WsmanItem): Result;
  create?(fw: Firmware, body: WsmanItem): Result<{ epr: EndpointReference }>;
  delete?(fw: Firmware, instance: Instance): Result;
  methods?: Record<
    string,
    (
      fw: Firmware,
      input: WsmanItem,
      ctx: CallContext,
      target: Instance | undefined,
    ) => Promise<InvokeOutcome> | InvokeOutcome
  >;
}

// ------------------------------------------------------------------------------- value helpers

function text(v: WsmanValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return text(v[0]);
  return undefined;
}
function list(v: WsmanValue | undefined): string[] {
  if (v === undefined) return [];
  const items = Array.isArray(v) ? v : [v];
  return items.filter((x): x is string => typeof x === 'string');
}
function int(v: WsmanValue | undefined): number {
  const t = text(v)?.trim();
  return t !== undefined && /^-?\d{1,15}$/.test(t) ? Number(t) : Number.NaN;
}
function bool(v: WsmanValue | undefined): boolean | undefined {
  const t = text(v)?.trim().toLowerCase();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  return undefined;
}
function epr(v: WsmanValue | undefined): EndpointReference | undefined {
  const x = Array.isArray(v) ? v[0] : v;
  return isEndpointReference(x) ? x : undefined;
}
function item(v: WsmanValue | undefined): WsmanItem | undefined {
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !isEndpointReference(x)
    ? (x as WsmanItem)
    : undefined;
}
function def<T>(key: string, v: T | undefined): Record<string, T> {
  return v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? {} : { [key]: v };
}

const uri = (cls: string) => resourceUriFor(cls);
const certEpr = (id: string) => endpointReference(uri('AMT_PublicKeyCertificate'), { InstanceID: id });
const keyEpr = (id: string) => endpointReference(uri('AMT_PublicPrivateKeyPair'), { InstanceID: id });
const TLS_COLLECTION = 'TLSProtocolEndpointInstances Collection';
const tlsCollectionEpr = () =>
  endpointReference(uri('AMT_TLSProtocolEndpointCollection'), { ElementName: TLS_COLLECTION });

/**
 * Copies `from`'s properties into `into` in order: for these literal property bags the same
 * object as `{ ...into, ...from }` (keys keep their first position, later values win).
 */
function assignProps(into: Props, from: Props): Props {
  // A loop, not a spread: V8 copies a second spread object through a slow generic path, and
  // this runs for every instance of every request.
  for (const k of Object.keys(from)) into[k] = from[k];
  return into;
}

function single(keys: Record<string, string>, properties: Props): Instance[] {
  return [{ keys, properties: assignProps(assignProps({}, keys), properties) }];
}

function service(name: string, cls: string, extra?: Props): Instance[] {
  const keys = {
    CreationClassName: cls,
    Name: name,
    SystemCreationClassName: 'CIM_ComputerSystem',
    SystemName: 'Intel(r) AMT',
  };
  const properties: Props = {
    CreationClassName: cls,
    Name: name,
    SystemCreationClassName: 'CIM_ComputerSystem',
    SystemName: 'Intel(r) AMT',
    ElementName: name,
    EnabledState: 5,
    RequestedState: 12,
  };
  return [{ keys, properties: extra ? assignProps(properties, extra) : properties }];
}

const rv = (r: Result<unknown>, output?: Props): InvokeOutcome =>
  r.status === PT.SUCCESS && output ? { returnValue: 0, output } : { returnValue: r.status };

// ------------------------------------------------------------------------------- classes

function tlsInstance(fw: Firmware, id: string): Instance {
  const t = fw.tlsSettings(id);
  return {
    keys: { InstanceID: id },
    properties: {
      ElementName: id,
      InstanceID: id,
      MutualAuthentication: t?.mutualAuthentication ?? false,
      Enabled: t?.enabled ?? false,
      TrustedCN: t?.trustedCn ?? [],
      AcceptNonSecureConnections: t?.acceptNonSecureConnections ?? false,
      NonSecureConnectionsSupported: true,
    },
  };
}

function ieee8021xId(elementName: string): string {
  return `Intel(r) AMT:IEEE 802.1x Settings ${elementName}`;
}

const CLASSES: Record<string, ClassHandler> = {
  AMT_GeneralSettings: {
    instances: (fw, ctx) => {
      const d = fw.d;
      return single(
        { InstanceID: 'Intel(r) AMT: General Settings' },
        {
          ElementName: 'Intel(r) AMT: General Settings',
          NetworkInterfaceEnabled: true,
          DigestRealm: fw.facts.realm,
          IdleWakeTimeout: 65535,
          HostName: d.hostName,
          DomainName: d.domainName,
          PingResponseEnabled: d.pingIcmp,
          WsmanOnlyMode: !ctx.profile.soap,
          PreferredAddressFamily: 0,
          DHCPv6ConfigurationTimeout: 0,
          DDNSUpdateEnabled: false,
          DDNSUpdateByDHCPServerEnabled: true,
          SharedFQDN: d.sharedFqdn,
          HostOSFQDN: '',
          DDNSTTL: 900,
          AMTNetworkEnabled: 1,
          RmcpPingResponseEnabled: d.pingRmcp,
          DDNSPeriodicUpdateInterval: 1440,
          PresenceNotificationInterval: 0,
          PrivacyLevel: 0,
          PowerSource: 0,
        },
      );
    },
    put: (fw, _i, b) =>
      fw.putGeneralSettings({
        ...def('hostName', text(b.HostName)),
        ...def('domainName', text(b.DomainName)),
        ...def('pingIcmp', bool(b.PingResponseEnabled)),
        ...def('pingRmcp', bool(b.RmcpPingResponseEnabled)),
        ...def('sharedFqdn', bool(b.SharedFQDN)),
      }),
  },
  AMT_TimeSynchronizationService: {
    instances: () =>
      service('Intel(r) AMT Time Synchronization Service', 'AMT_TimeSynchronizationService', {
        LocalTimeSyncEnabled: 0,
        TimeSource: 1,
      }),
    methods: {
      GetLowAccuracyTimeSynch: (fw) => {
        const r = fw.getLowAccuracyTimeSynch();
        return rv(r, { Ta0: r.value?.ta0 });
      },
      SetHighAccuracyTimeSynch: (fw, i) =>
        rv(fw.setHighAccuracyTimeSynch(int(i.Ta0), int(i.Tm1), int(i.Tm2))),
    },
  },
  AMT_PublicKeyManagementService: {
    instances: () => service('Intel(r) AMT Public Key Management Service', 'AMT_PublicKeyManagementService'),
    methods: {
      GenerateKeyPair: async (fw, i) => {
        const r = await fw.generateKeyPair(int(i.KeyAlgorithm), int(i.KeyLength));
        return rv(r, r.value ? { KeyPair: keyEpr(r.value.keyId) } : undefined);
      },
      AddCertificate: (fw, i) => {
        const r = fw.addCertificate(text(i.CertificateBlob) ?? '');
        return rv(r, r.value ? { CreatedCertificate: certEpr(r.value.certId) } : undefined);
      },
      AddTrustedRootCertificate: (fw, i) => {
        const r = fw.addTrustedRootCertificate(text(i.CertificateBlob) ?? '');
        return rv(r, r.value ? { CreatedCertificate: certEpr(r.value.certId) } : undefined);
      },
      AddKey: (fw, i) => {
        const r = fw.addKey(text(i.KeyBlob) ?? '');
        return rv(r, r.value ? { CreatedKey: keyEpr(r.value.keyId) } : undefined);
      },
      // Signing a PKCS#10 template is not simulated; the flows issue certificates for DERKey.
      GeneratePKCS10RequestEx: () => ({ returnValue: PT.UNSUPPORTED }),
    },
  },
  AMT_PublicPrivateKeyPair: {
    instances: (fw) =>
      fw.d.keys.map((k) => ({
        keys: { InstanceID: k.instanceId },
        properties: { ElementName: 'Intel(r) AMT Key', InstanceID: k.instanceId, DERKey: k.derKey },
      })),
    delete: (fw, i) => fw.deleteKey(i.keys.InstanceID ?? ''),
  },
  AMT_PublicKeyCertificate: {
    instances: (fw) =>
      fw.d.certificates.map((c) => ({
        keys: { InstanceID: c.instanceId },
        properties: {
          ElementName: 'Intel(r) AMT Certificate',
          InstanceID: c.instanceId,
          X509Certificate: c.der,
          TrustedRootCertificate: c.trustedRoot,
          Issuer: c.issuer,
          Subject: c.subject,
          ReadOnlyCertificate: c.readOnly,
        },
      })),
    delete: (fw, i) => fw.deleteCertificate(i.keys.InstanceID ?? ''),
  },
  AMT_TLSProtocolEndpointCollection: {
    instances: () => single({ ElementName: TLS_COLLECTION }, {}),
  },
  AMT_TLSCredentialContext: {
    instances: (fw) => {
      const id = fw.d.tlsCredentialCertId;
      return id
        ? [
            {
              keys: {},
              properties: { ElementInContext: certEpr(id), ElementProvidingContext: tlsCollectionEpr() },
            },
          ]
        : [];
    },
    create: (fw, b) => {
      const cert = epr(b.ElementInContext);
      const certId = cert?.selectors.InstanceID;
      if (!certId) return { status: PT.INVALID_PARAMETER };
      const r = fw.createTlsCredentialContext(certId);
      if (r.status !== PT.SUCCESS) return { status: r.status };
      return {
        status: PT.SUCCESS,
        value: {
          epr: endpointReference(uri('AMT_TLSCredentialContext'), {
            ElementInContext: certEpr(certId),
            ElementProvidingContext: tlsCollectionEpr(),
          }),
        },
      };
    },
    delete: (fw) => fw.deleteTlsCredentialContext(),
  },
  AMT_TLSSettingData: {
    instances: (fw) => [tlsInstance(fw, REMOTE_TLS_ID), tlsInstance(fw, LOCAL_TLS_ID)],
    put: (fw, i, b) =>
      fw.putTlsSettings(i.keys.InstanceID ?? '', {
        ...def('enabled', bool(b.Enabled)),
        ...def('mutualAuthentication', bool(b.MutualAuthentication)),
        ...def('acceptNonSecureConnections', bool(b.AcceptNonSecureConnections)),
        ...(b.TrustedCN === undefined ? {} : { trustedCn: list(b.TrustedCN) }),
      }),
  },
  AMT_AuthorizationService: {
    instances: () =>
      service('Intel(r) AMT Authorization Service', 'AMT_AuthorizationService', { AllowHttpQopAuthOnly: 1 }),
    methods: {
      SetAdminAclEntryEx: (fw, i) =>
        rv(fw.setAdminAclEntryEx(text(i.Username) ?? '', text(i.DigestPassword) ?? '')),
      GetAdminAclEntry: (fw) => ({ returnValue: 0, output: { Username: fw.adminUsername() } }),
      GetAdminAclEntryStatus: (fw) => ({ returnValue: 0, output: { IsDefault: !fw.d.adminAcl } }),
      GetAdminNetAclEntryStatus: (fw) => ({ returnValue: 0, output: { IsDefault: !fw.d.adminAcl } }),
      EnumerateUserAclEntries: (fw, i) => {
        const r = fw.enumerateUserAclEntries(int(i.StartIndex));
        return rv(
          r,
          r.value
            ? { TotalCount: r.value.total, HandlesCount: r.value.handles.length, Handles: r.value.handles }
            : undefined,
        );
      },
      GetUserAclEntryEx: (fw, i) => {
        const e = fw.userAcl(int(i.Handle));
        if (!e) return { returnValue: PT.INVALID_HANDLE };
        return {
          returnValue: 0,
          output: {
            ...def('DigestUsername', e.username),
            ...def('KerberosUserSid', e.kerberosSid),
            AccessPermission: e.accessPermission,
            Realms: e.realms,
          },
        };
      },
      AddUserAclEntryEx: (fw, i) => {
        const r = fw.addUserAclEntryEx(aclInput(i));
        return rv(r, r.value ? { Handle: r.value.handle } : undefined);
      },
      UpdateUserAclEntryEx: (fw, i) => rv(fw.updateUserAclEntryEx(int(i.Handle), aclInput(i))),
      RemoveUserAclEntry: (fw, i) => rv(fw.removeUserAclEntry(int(i.Handle))),
    },
  },
  AMT_SetupAndConfigurationService: {
    instances: (fw) => {
      const d = fw.d;
      return service('Intel(r) AMT Setup and Configuration Service', 'AMT_SetupAndConfigurationService', {
        ProvisioningMode: d.provisioningMode,
        ProvisioningState: d.provisioningState,
        ZeroTouchConfigurationEnabled: true,
        ProvisioningServerOTP: d.provisioningState !== 2 ? d.otp : undefined,
        ConfigurationServerFQDN: '',
        PasswordModel: 1,
        DhcpDNSSuffix: fw.facts.dnsSuffix ?? '',
        TrustedDNSSuffix: '',
      });
    },
    methods: {
      CommitChanges: (fw, _i, ctx) => {
        const wasPost = fw.committedPost;
        const r = fw.commitChanges();
        if (r.status === PT.SUCCESS && !wasPost) ctx.onProvisioned();
        return rv(r);
      },
      Unprovision: (fw, i) => {
        const mode = i.ProvisioningMode === undefined ? 0 : int(i.ProvisioningMode);
        const s = fw.canUnprovision(mode);
        return s === PT.SUCCESS
          ? { returnValue: 0, after: (c) => c.onUnprovisioned('full') }
          : { returnValue: s };
      },
      PartialUnprovision: (fw) => {
        const s = fw.canUnprovision(0);
        return s === PT.SUCCESS
          ? { returnValue: 0, after: (c) => c.onUnprovisioned('partial') }
          : { returnValue: s };
      },
      SetMEBxPassword: (fw, i, ctx) => rv(fw.setMebxPassword(text(i.Password) ?? '', ctx.strongPassword)),
      ExtendProvisioningPeriod: (fw, i) => {
        if (fw.committedPost) return { returnValue: PT.NOT_PERMITTED };
        return { returnValue: int(i.Duration) > 0 ? 0 : PT.INVALID_PARAMETER };
      },
    },
  },
  IPS_HostBasedSetupService: {
    instances: (fw) =>
      service('Intel(r) AMT Host Based Setup Service', 'IPS_HostBasedSetupService', {
        CurrentControlMode: fw.d.provisioningMode === 1 ? 2 : fw.d.provisioningMode === 4 ? 1 : 0,
        AllowedControlModes: [1, 2],
        ConfigurationNonce: '',
      }),
  },
  AMT_RedirectionService: {
    instances: (fw) => {
      const d = fw.d;
      return service('Intel(r) AMT Redirection Service', 'AMT_RedirectionService', {
        EnabledState: 32768 + (d.ider ? 1 : 0) + (d.sol ? 2 : 0),
        ListenerEnabled: d.redirectionListener,
        AccessLog: [],
      });
    },
    put: (fw, _i, b) => {
      const on = bool(b.ListenerEnabled);
      return on === undefined ? { status: PT.SUCCESS } : fw.setRedirectionListener(on);
    },
    methods: { RequestStateChange: (fw, i) => rv(fw.setRedirection(int(i.RequestedState))) },
  },
  AMT_WebUIService: {
    instances: (fw) =>
      service('Intel(r) AMT Web Browser UI Service', 'AMT_WebUIService', {
        EnabledState: fw.d.webUi ? 2 : 3,
      }),
    methods: { RequestStateChange: (fw, i) => rv(fw.setWebUi(int(i.RequestedState))) },
  },
  AMT_KerberosSettingData: {
    instances: (fw) => {
      const k = fw.d.kerberos;
      return single(
        { InstanceID: 'Intel (r) AMT: Kerberos Settings' },
        {
          ElementName: 'Intel(r) AMT: Kerberos Settings Data',
          RealmName: k.realmName,
          ServicePrincipalName: k.servicePrincipalNames,
          ServicePrincipalProtocol: k.servicePrincipalProtocols,
          KeyVersion: k.keyVersion,
          EncryptionAlgorithm: k.encryptionAlgorithm,
          MaximumClockTolerance: k.maximumClockTolerance,
          KrbEnabled: k.krbEnabled,
          SupportedEncryptionAlgorithms: k.supportedEncryptionAlgorithms,
          ConfiguredEncryptionAlgorithms: k.configuredEncryptionAlgorithms,
          ...def('IterationCount', k.iterationCount),
          ...def('Salt', k.salt),
        },
      );
    },
    put: (fw, _i, b) =>
      fw.putKerberos({
        ...def('realmName', text(b.RealmName)),
        ...(b.ServicePrincipalName === undefined
          ? {}
          : { servicePrincipalNames: list(b.ServicePrincipalName) }),
        ...(b.ServicePrincipalProtocol === undefined
          ? {}
          : { servicePrincipalProtocols: list(b.ServicePrincipalProtocol).map(Number) }),
        ...def('keyVersion', b.KeyVersion === undefined ? undefined : int(b.KeyVersion)),
        ...def(
          'encryptionAlgorithm',
          b.EncryptionAlgorithm === undefined ? undefined : int(b.EncryptionAlgorithm),
        ),
        ...def('masterKey', text(b.MasterKey)),
        ...def(
          'maximumClockTolerance',
          b.MaximumClockTolerance === undefined ? undefined : int(b.MaximumClockTolerance),
        ),
        ...def('krbEnabled', bool(b.KrbEnabled)),
        ...(b.ConfiguredEncryptionAlgorithms === undefined
          ? {}
          : { configuredEncryptionAlgorithms: list(b.ConfiguredEncryptionAlgorithms).map(Number) }),
        ...def('passphrase', text(b.Passphrase)),
        ...def('salt', text(b.Salt)),
        ...def('iterationCount', b.IterationCount === undefined ? undefined : int(b.IterationCount)),
      }),
    methods: {
      SetCredentialCacheState: (fw, i) => rv(fw.setCredentialCacheState(bool(i.Enable) ?? false)),
    },
  },
  AMT_SystemPowerScheme: {
    instances: (fw) =>
      fw.powerSchemes().map((s) => ({
        keys: { InstanceID: s.instanceId },
        properties: {
          ElementName: 'Intel(r) AMT Power Scheme',
          InstanceID: s.instanceId,
          SchemeGUID: s.schemeGuid,
          Description: s.description,
        },
      })),
    methods: {
      SetPowerScheme: (fw, _i, _c, target) =>
        target ? rv(fw.setPowerScheme(target.keys.InstanceID ?? '')) : { returnValue: PT.INVALID_PARAMETER },
    },
  },
  CIM_ElementSettingData: {
    instances: (fw) =>
      fw.powerSchemes().map((s) => ({
        keys: {},
        properties: {
          ManagedElement: endpointReference(uri('CIM_ComputerSystem'), SYSTEM),
          SettingData: endpointReference(uri('AMT_SystemPowerScheme'), { InstanceID: s.instanceId }),
          IsCurrent: s.instanceId === fw.d.powerSchemeId ? 1 : 2,
          IsDefault: s === fw.powerSchemes()[0] ? 1 : 2,
        },
      })),
  },
  CIM_SoftwareIdentity: {
    instances: (_fw, ctx) =>
      [
        ['Flash', ctx.profile.firmwareVersion],
        ['Netstack', ctx.profile.firmwareVersion],
        ['AMTApps', ctx.profile.firmwareVersion],
        ['AMT', ctx.profile.firmwareVersion],
        ['Sku', '16392'],
        ['VendorID', '8086'],
        ['Build Number', ctx.profile.serverVersion.split('.')[3] ?? '0'],
        ['Recovery Version', ctx.profile.firmwareVersion],
      ].map(([id, version]) => ({
        keys: { InstanceID: id as string },
        properties: { InstanceID: id, VersionString: version, IsEntity: true },
      })),
  },
  CIM_ComputerSystemPackage: {
    instances: (_fw, ctx) =>
      single({}, { PlatformGUID: ctx.uuid.replace(/-/g, '').toUpperCase(), Antecedent: '', Dependent: '' }),
  },
  AMT_EthernetPortSettings: {
    instances: (fw, ctx) => {
      const port = (n: number, macAddress: string): Instance => ({
        keys: { InstanceID: `Intel(r) AMT Ethernet Port Settings ${n}` },
        properties: {
          ElementName: 'Intel(r) AMT Ethernet Port Settings',
          InstanceID: `Intel(r) AMT Ethernet Port Settings ${n}`,
          MACAddress: macAddress,
          LinkIsUp: n === 0,
          DHCPEnabled: true,
          IpSyncEnabled: true,
          SharedMAC: true,
          SharedStaticIp: false,
          ...(n === 0 ? { IPAddress: ctx.address } : {}),
        },
      });
      return fw.facts.wireless
        ? [port(0, fw.facts.macAddress), port(1, fw.facts.wifiMacAddress)]
        : [port(0, fw.facts.macAddress)];
    },
  },
  CIM_WiFiPort: {
    instances: (fw) =>
      fw.facts.wireless
        ? single(
            {
              CreationClassName: 'CIM_WiFiPort',
              DeviceID: 'WiFi Port 0',
              SystemCreationClassName: 'CIM_ComputerSystem',
              SystemName: 'Intel(r) AMT',
            },
            {
              ElementName: 'WiFi Port 0',
              EnabledState: fw.d.wifiPortState === 3 ? 3 : 2,
              RequestedState: fw.d.wifiPortState,
              PortType: 71,
              PermanentAddress: fw.facts.wifiMacAddress.replace(/-/g, ''),
            },
          )
        : [],
    methods: { RequestStateChange: (fw, i) => rv(fw.setWifiPortState(int(i.RequestedState))) },
  },
  CIM_WiFiEndpoint: {
    instances: (fw) =>
      fw.facts.wireless
        ? single(
            {
              CreationClassName: 'CIM_WiFiEndpoint',
              Name: 'WiFi Endpoint 0',
              SystemCreationClassName: 'CIM_ComputerSystem',
              SystemName: 'Intel(r) AMT',
            },
            { ElementName: 'WiFi Endpoint 0', EnabledState: 2 },
          )
        : [],
  },
  CIM_WiFiEndpointSettings: {
    instances: (fw) =>
      fw.d.wifiProfiles.map((p) => ({
        keys: { InstanceID: p.instanceId },
        properties: {
          ElementName: p.elementName,
          InstanceID: p.instanceId,
          SSID: p.ssid,
          Priority: p.priority,
          AuthenticationMethod: p.authenticationMethod,
          EncryptionMethod: p.encryptionMethod,
          BSSType: 0,
        },
      })),
    delete: (fw, i) => fw.deleteWifiProfile(i.keys.InstanceID ?? ''),
  },
  CIM_IEEE8021xSettings: {
    instances: (fw) =>
      fw.d.wifiProfiles
        .filter((p) => p.ieee8021x)
        .map((p) => {
          const x = p.ieee8021x!;
          return {
            keys: { InstanceID: ieee8021xId(p.elementName) },
            properties: {
              ElementName: p.elementName,
              InstanceID: ieee8021xId(p.elementName),
              AuthenticationProtocol: x.authenticationProtocol,
              ...def('RoamingIdentity', x.roamingIdentity),
              ...def('ServerCertificateName', x.serverCertificateName),
              ...def('ServerCertificateNameComparison', x.serverCertificateNameComparison),
              ...def('Username', x.username),
              ...def('Domain', x.domain),
            },
          };
        }),
  },
  CIM_CredentialContext: {
    instances: (fw) =>
      fw.credentialContexts().map((c) => ({
        keys: {},
        properties: {
          ElementInContext: certEpr(c.certId),
          ElementProvidingContext: c.settingsId.startsWith('Intel(r) AMT:IEEE')
            ? endpointReference(uri('CIM_IEEE8021xSettings'), { InstanceID: c.settingsId })
            : endpointReference(uri('IPS_IEEE8021xSettings'), { InstanceID: c.settingsId }),
        },
      })),
  },
  AMT_WiFiPortConfigurationService: {
    instances: (fw) =>
      fw.facts.wireless
        ? service('Intel(r) AMT WiFi Port Configuration Service', 'AMT_WiFiPortConfigurationService', {
            localProfileSynchronizationEnabled: fw.d.wifiLocalSync,
            LastConnectedSsidUnderMeControl: '',
            NoHostCsmeSoftwarePolicy: 0,
            UEFIWiFiProfileShareEnabled: false,
          })
        : [],
    put: (fw, _i, b) =>
      b.localProfileSynchronizationEnabled === undefined
        ? { status: PT.SUCCESS }
        : fw.setWifiLocalSync(int(b.localProfileSynchronizationEnabled)),
    methods: {
      AddWiFiSettings: (fw, i) => {
        const s = item(i.WiFiEndpointSettingsInput) ?? {};
        const x = item(i.IEEE8021xSettingsInput);
        const endpoint = epr(i.WiFiEndpoint);
        if (endpoint?.selectors.Name !== 'WiFi Endpoint 0') return { returnValue: 4 };
        const client = epr(i.ClientCredential)?.selectors.InstanceID;
        const ca = epr(i.CACredential)?.selectors.InstanceID;
        const r = fw.addWifiSettings({
          elementName: text(s.ElementName) ?? '',
          ssid: text(s.SSID) ?? '',
          authenticationMethod: int(s.AuthenticationMethod),
          encryptionMethod: int(s.EncryptionMethod),
          priority: int(s.Priority),
          ...def('pskPassPhrase', text(s.PSKPassPhrase)),
          ...(x
            ? {
                ieee8021x: {
                  elementName: text(x.ElementName) ?? text(s.ElementName) ?? '',
                  authenticationProtocol: int(x.AuthenticationProtocol),
                  ...def('roamingIdentity', text(x.RoamingIdentity)),
                  ...def('serverCertificateName', text(x.ServerCertificateName)),
                  ...def(
                    'serverCertificateNameComparison',
                    x.ServerCertificateNameComparison === undefined
                      ? undefined
                      : int(x.ServerCertificateNameComparison),
                  ),
                  ...def('username', text(x.Username)),
                  ...def('password', text(x.Password)),
                  ...def('domain', text(x.Domain)),
                },
              }
            : {}),
          ...def('clientCertificateId', client),
          ...def('caCertificateId', ca),
        });
        if (r.status !== 0 || !r.value) return { returnValue: r.status };
        return {
          returnValue: 0,
          output: x
            ? {
                IEEE8021xSettings: endpointReference(uri('CIM_IEEE8021xSettings'), {
                  InstanceID: ieee8021xId(text(s.ElementName) ?? ''),
                }),
              }
            : {},
        };
      },
      DeleteAllITProfiles: (fw) => rv(fw.deleteAllWifiProfiles(false)),
      DeleteAllUserProfiles: (fw) => rv(fw.deleteAllWifiProfiles(true)),
    },
  },
  AMT_8021XProfile: {
    instances: (fw, ctx) => {
      if (!ctx.profile.amt8021xProfile) return [];
      const w = fw.d.wired8021x;
      return single(
        { InstanceID: 'Intel(r) AMT 802.1x Profile 0' },
        wired8021xProperties(
          { ElementName: 'Intel(r) AMT 802.1x Profile', Enabled: w.enabled, ActiveInS0: w.activeInS0 },
          w,
        ),
      );
    },
    put: (fw, _i, b) =>
      fw.putWired8021x({
        ...def('enabled', bool(b.Enabled)),
        ...def('activeInS0', bool(b.ActiveInS0)),
        ...wired8021xInput(b),
        ...def('clientCertificateId', epr(b.ClientCertificate)?.selectors.InstanceID),
        ...def('serverCertificateIssuerId', epr(b.ServerCertificateIssuer)?.selectors.InstanceID),
      }),
  },
  IPS_IEEE8021xSettings: {
    instances: (fw, ctx) => {
      if (!ctx.profile.ipsIeee8021x) return [];
      const w = fw.d.wired8021x;
      return single(
        { InstanceID: 'Intel(r) AMT: 8021X Settings' },
        wired8021xProperties(
          { ElementName: 'Intel(r) AMT 802.1X Settings', Enabled: w.ipsEnabled, AvailableInS0: w.activeInS0 },
          w,
        ),
      );
    },
    put: (fw, _i, b) =>
      fw.putWired8021x({
        ...def('ipsEnabled', b.Enabled === undefined ? undefined : int(b.Enabled)),
        ...def('activeInS0', bool(b.AvailableInS0)),
        ...wired8021xInput(b),
      }),
    methods: {
      SetCertificates: (fw, i) =>
        rv(
          fw.putWired8021x({
            ...def('serverCertificateIssuerId', epr(i.ServerCertificateIssuer)?.selectors.InstanceID),
            ...def('clientCertificateId', epr(i.ClientCertificate)?.selectors.InstanceID),
          }),
        ),
    },
  },
};

// AMT_8021XProfile and IPS_IEEE8021xSettings are two views of the one wired 802.1X state.
function wired8021xProperties(into: Props, w: Wired8021x): Props {
  into.AuthenticationProtocol = w.authenticationProtocol;
  into.ServerCertificateName = w.serverCertificateName;
  into.ServerCertificateNameComparison = w.serverCertificateNameComparison;
  into.Username = w.username;
  into.Domain = w.domain;
  into.PxeTimeout = w.pxeTimeout;
  return into;
}

function wired8021xInput(b: WsmanItem) {
  return {
    ...def(
      'authenticationProtocol',
      b.AuthenticationProtocol === undefined ? undefined : int(b.AuthenticationProtocol),
    ),
    ...def('serverCertificateName', text(b.ServerCertificateName)),
    ...def(
      'serverCertificateNameComparison',
      b.ServerCertificateNameComparison === undefined ? undefined : int(b.ServerCertificateNameComparison),
    ),
    ...def('username', text(b.Username)),
    ...def('password', text(b.Password)),
    ...def('domain', text(b.Domain)),
    ...def('pxeTimeout', b.PxeTimeout === undefined ? undefined : int(b.PxeTimeout)),
  };
}

function aclInput(i: WsmanItem) {
  return {
    ...def('username', text(i.DigestUsername)),
    ...def('digestPasswordB64', text(i.DigestPassword)),
    ...def('kerberosSid', text(i.KerberosUserSid)),
    accessPermission: int(i.AccessPermission),
    realms: list(i.Realms).map(Number),
  };
}

// ------------------------------------------------------------------------------- dispatch

function reply(body: string, status = 200): Reply {
  return { status, contentType: CONTENT_TYPE, body };
}

function fault(
  req: WsmanRequest | undefined,
  code: 'Sender' | 'Receiver',
  subcode: string,
  reason: string,
): Reply {
  return reply(buildFault(req, { code, subcode, reason }), faultHttpStatus(code));
}

/** Picks the instance a selector set names (a singleton answers without selectors). */
function pick(instances: Instance[], req: WsmanRequest): Instance | undefined {
  const wanted = Object.entries(req.selectors);
  const refs = Object.entries(req.referenceSelectors ?? {});
  if (wanted.length === 0 && refs.length === 0) return instances.length === 1 ? instances[0] : undefined;
  return instances.find(
    (i) =>
      wanted.every(
        ([k, v]) =>
          // Own keys only: a selector named `constructor` must not match Object's function.
          (Object.hasOwn(i.keys, k) && i.keys[k] === v) ||
          (Object.hasOwn(i.properties, k) && i.properties[k] !== undefined && String(i.properties[k]) === v),
      ) &&
      refs.every(([k, v]) => {
        const p = Object.hasOwn(i.properties, k) ? i.properties[k] : undefined;
        return (
          isEndpointReference(p) &&
          Object.entries(v.selectors).every(
            ([sk, sv]) => Object.hasOwn(p.selectors, sk) && p.selectors[sk] === sv,
          )
        );
      }),
  );
}

interface EnumerationState {
  items: Array<{ className: string; resourceUri: string; properties: Props }>;
  at: number;
}

/** Open enumerations per firmware (bounded; the oldest is dropped). */
const enumerations = new WeakMap<Firmware, Map<string, EnumerationState>>();
const MAX_ENUMERATIONS = 16;

function openEnumeration(fw: Firmware, state: EnumerationState): string {
  let map = enumerations.get(fw);
  if (!map) {
    map = new Map();
    enumerations.set(fw, map);
  }
  const id = `uuid:${randomUUID()}`;
  map.set(id, state);
  if (map.size > MAX_ENUMERATIONS) map.delete(map.keys().next().value as string);
  return id;
}

function failStatus(req: WsmanRequest, status: number): Reply {
  if (status === PT.NOT_FOUND) return fault(req, 'Sender', 'wsman:InvalidSelectors', 'no such instance');
  if (status === PT.NOT_PERMITTED)
    return fault(req, 'Sender', 'wsman:AccessDenied', 'the firmware refused the change');
  if (status === PT.DUPLICATE)
    return fault(req, 'Sender', 'wsman:AlreadyExists', 'the instance already exists');
  return fault(
    req,
    'Sender',
    'wsman:InvalidRepresentation',
    `the firmware refused the value (status ${status})`,
  );
}

async function execute(req: WsmanRequest, ctx: CallContext, after: (fn: () => void) => void): Promise<Reply> {
  const fw = ctx.fw;
  if (req.kind === 'identify') {
    return reply(
      buildIdentifyResponse(req, {
        productVersion: `AMT ${ctx.profile.version.major}.${ctx.profile.version.minor}`,
        dashVersion: '1.0.0',
        securityProfiles: ['https://profiles/digest'],
      }),
    );
  }
  if (req.kind === 'pull' || req.kind === 'release') {
    const map = enumerations.get(fw);
    const id = req.enumerationContext ?? '';
    const state = map?.get(id);
    if (!map || !state)
      return fault(req, 'Sender', 'wsen:InvalidEnumerationContext', 'unknown enumeration context');
    if (req.kind === 'release') {
      map.delete(id);
      return reply(buildReleaseResponse(req));
    }
    const n = Math.max(1, Math.min(req.maxElements ?? 1, 1000));
    const items = state.items.slice(state.at, state.at + n);
    state.at += items.length;
    const end = state.at >= state.items.length;
    if (end) map.delete(id);
    return reply(buildPullResponse(req, { items, endOfSequence: end, ...(end ? {} : { context: id }) }));
  }
  let className: string;
  try {
    className = classNameOf(req.resourceUri);
  } catch {
    return fault(req, 'Sender', 'wsa:DestinationUnreachable', 'unknown resource URI');
  }
  const cls = CLASSES[className];
  if (!cls || req.resourceUri !== uri(className)) {
    return fault(
      req,
      'Sender',
      'wsa:DestinationUnreachable',
      `${className} is not supported by this firmware`,
    );
  }
  const instances = cls.instances(fw, ctx);
  const answer = (i: Instance) => ({ className, resourceUri: req.resourceUri, properties: i.properties });
  switch (req.kind) {
    case 'get': {
      const target = pick(instances, req);
      if (!target) {
        const selected = Object.keys(req.selectors).length > 0 || req.referenceSelectors !== undefined;
        return instances.length === 0 && !selected
          ? fault(req, 'Sender', 'wsa:DestinationUnreachable', `no ${className} instance on this device`)
          : fault(req, 'Sender', 'wsman:InvalidSelectors', 'the selectors name no instance');
      }
      return reply(buildGetResponse(req, answer(target)));
    }
    case 'enumerate':
      return reply(
        buildEnumerateResponse(req, {
          context: openEnumeration(fw, { items: instances.map(answer), at: 0 }),
        }),
      );
    case 'put': {
      const target = pick(instances, req);
      if (!target) return fault(req, 'Sender', 'wsman:InvalidSelectors', 'the selectors name no instance');
      if (!cls.put) return fault(req, 'Sender', 'wsa:ActionNotSupported', `${className} cannot be changed`);
      const r = cls.put(fw, target, req.body);
      if (r.status !== PT.SUCCESS) return failStatus(req, r.status);
      const now = pick(cls.instances(fw, ctx), req) ?? target;
      return reply(buildPutResponse(req, answer(now)));
    }
    case 'create': {
      if (!cls.create)
        return fault(req, 'Sender', 'wsa:ActionNotSupported', `${className} cannot be created`);
      const r = cls.create(fw, req.body);
      if (r.status !== PT.SUCCESS || !r.value) return failStatus(req, r.status);
      return reply(buildCreateResponse(req, { epr: r.value.epr }));
    }
    case 'delete': {
      const target = pick(instances, req);
      if (!target) return fault(req, 'Sender', 'wsman:InvalidSelectors', 'the selectors name no instance');
      if (!cls.delete)
        return fault(req, 'Sender', 'wsa:ActionNotSupported', `${className} cannot be deleted`);
      const r = cls.delete(fw, target);
      if (r.status !== PT.SUCCESS) return failStatus(req, r.status);
      return reply(buildDeleteResponse(req));
    }
    case 'invoke': {
      const name = req.method ?? '';
      const method = cls.methods && Object.hasOwn(cls.methods, name) ? cls.methods[name] : undefined;
      if (!method)
        return fault(req, 'Sender', 'wsa:ActionNotSupported', `${className} has no method ${req.method}`);
      const target = pick(instances, req);
      const out = await method(fw, req.body, ctx, target);
      if (out.after) {
        const fn = out.after;
        after(() => fn(ctx));
      }
      return reply(
        buildInvokeResponse(
          { messageId: req.messageId, resourceUri: req.resourceUri },
          {
            method: req.method ?? '',
            returnValue: out.returnValue,
            ...(out.returnValue === 0 && out.output ? { output: out.output } : {}),
          },
        ),
      );
    }
    default:
      return fault(req, 'Sender', 'wsa:ActionNotSupported', 'unsupported action');
  }
}

function describe(req: WsmanRequest): { name: string; steps: string[]; readOnly: boolean } {
  if (req.kind === 'identify')
    return { name: 'Identify', steps: ['Identify', 'wsman', 'request'], readOnly: true };
  let className = '';
  try {
    className = classNameOf(req.resourceUri);
  } catch {
    className = '';
  }
  const verb =
    req.kind === 'invoke'
      ? (req.method ?? '')
      : req.kind === 'unknown'
        ? 'Unknown'
        : req.kind.charAt(0).toUpperCase() + req.kind.slice(1);
  const name = className ? `${className}.${verb}` : verb;
  const steps = [...(className ? [`${className}.${verb}`, verb, className] : [verb]), 'wsman', 'request'];
  const readOnly =
    ['get', 'enumerate', 'pull', 'release'].includes(req.kind) ||
    (req.kind === 'invoke' && /^(Get|Enumerate)/.test(req.method ?? ''));
  return { name, steps, readOnly };
}

/** Parses a WS-Man request posted to `/wsman`. */
export function parseWsman(body: Buffer): ParseOutcome {
  let req: WsmanRequest;
  try {
    req = parseWsmanRequest(body, { maxBytes: 1024 * 1024 });
  } catch (err) {
    const reason = err instanceof Error ? err.message : 'malformed request';
    return { ok: false, reply: fault(undefined, 'Sender', 'wsa:InvalidMessageInformationHeader', reason) };
  }
  const { name, steps, readOnly } = describe(req);
  return {
    ok: true,
    call: {
      protocol: 'wsman',
      steps,
      name,
      readOnly,
      anonymous: req.kind === 'identify',
      run: (ctx) => execute(req, ctx, (fn) => ctx.afterResponse(fn)),
      fault: (subcode, reason) =>
        fault(req, 'Receiver', subcode ?? 'wsman:InternalError', reason ?? 'simulated fault'),
      accessDenied: () => fault(req, 'Sender', 'wsman:AccessDenied', 'this user may not do that'),
    },
  };
}
