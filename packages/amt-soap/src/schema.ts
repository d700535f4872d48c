/**
 * The ONE table of every legacy AMT SOAP service, method and parameter shape this package knows.
 *
 * Intel's EOI WSDLs are not publicly archived (amt-protocol.md §6). Each method says whether its
 * shape is `verified` — the endpoint, method name, request element names and answer order are
 * confirmed by amt-protocol.md §6 or by a public client known to work against real AMT (amtterm's
 * `amttool`) — and `source` says where the shape came from. Unverified shapes are modelled on the
 * WS-Man method of the same name (amt-protocol.md §5/§10). A WSDL corrects them here, and only here.
 */

/** XSD scalar types used by the legacy interfaces. `base64Binary` values are base64 strings. */
export type SoapScalarType =
  | 'string'
  | 'boolean'
  | 'int'
  | 'unsignedInt'
  | 'unsignedShort'
  | 'unsignedByte'
  | 'base64Binary';

/** A complex type: a sequence of child elements. */
export interface SoapStructType {
  readonly kind: 'struct';
  readonly name: string;
  readonly fields: readonly SoapField[];
}

export type SoapValueType = SoapScalarType | SoapStructType;

/** One child element of a request, an answer, or a struct, in sequence order. */
export interface SoapField {
  readonly name: string;
  readonly type: SoapValueType;
  /** May be absent (minOccurs = 0). */
  readonly optional?: boolean;
  /** Repeated element (maxOccurs > 1); its value is an array. */
  readonly repeated?: boolean;
  /** A password, key or hash: never echoed in errors or logs. */
  readonly secret?: boolean;
}

export interface SoapMethodShape {
  /** Request children, in order. */
  readonly input: readonly SoapField[];
  /** Answer children after `StatusCode` (always first), in order. */
  readonly output: readonly SoapField[];
  readonly verified: boolean;
  /** Where the shape comes from; for unverified shapes, which WS-Man method it is modelled on. */
  readonly source: string;
}

export interface SoapServiceShape {
  /** The interface name, as in the namespace, e.g. `SecurityAdministration`. */
  readonly interfaceName: string;
  /** HTTP path, e.g. `/SecurityAdministrationService`. */
  readonly path: string;
  /** `http://schemas.intel.com/platform/client/<Interface>/2004/01`. */
  readonly namespace: string;
  /** The prefix the server toolkit writes for this namespace (Intel's gSOAP prefixes). */
  readonly prefix: string;
  readonly methods: Readonly<Record<string, SoapMethodShape>>;
}

export type SoapServiceName =
  | 'SecurityAdministration'
  | 'NetworkAdministration'
  | 'NetworkTime'
  | 'GeneralInfo'
  | 'RemoteControl';

const NS_BASE = 'http://schemas.intel.com/platform/client/';

/** The namespace of a legacy interface: `http://schemas.intel.com/platform/client/<Interface>/2004/01`. */
export function soapNamespace(interfaceName: string): string {
  return `${NS_BASE}${interfaceName}/2004/01`;
}

const AMTTOOL = 'amtterm amttool (SOAP::Lite) request and answer order';

function f(name: string, type: SoapValueType, extra?: Omit<SoapField, 'name' | 'type'>): SoapField {
  return { name, type, ...extra };
}

function verified(source: string, input: SoapField[], output: SoapField[]): SoapMethodShape {
  return { input, output, verified: true, source };
}

function modelled(wsman: string, input: SoapField[], output: SoapField[]): SoapMethodShape {
  return { input, output, verified: false, source: `unverified; modelled on WS-Man ${wsman}` };
}

function unverified(source: string, input: SoapField[], output: SoapField[]): SoapMethodShape {
  return { input, output, verified: false, source: `unverified; ${source}` };
}

const IPV4_PARAMETERS: SoapStructType = {
  kind: 'struct',
  name: 'IPv4ParametersType',
  // Addresses are u32 in host order (amttool prints them as a.b.c.d from the number).
  fields: [
    f('LocalAddress', 'unsignedInt'),
    f('SubnetMask', 'unsignedInt'),
    f('DefaultGatewayAddress', 'unsignedInt'),
    f('PrimaryDnsAddress', 'unsignedInt'),
    f('SecondaryDnsAddress', 'unsignedInt'),
  ],
};

const INTERFACE_DESCRIPTOR_GET: SoapStructType = {
  kind: 'struct',
  name: 'InterfaceDescriptorGetType',
  fields: [
    f('HardwareAddressDescription', 'string'),
    f('MACAddress', 'string'),
    // SHARED_MAC_ADDRESS | SEPARATE_MAC_ADDRESS
    f('InterfaceMode', 'string'),
    f('LinkPolicy', 'unsignedByte'),
    f('DhcpEnabled', 'boolean'),
    f('IPv4Parameters', IPV4_PARAMETERS, { optional: true }),
  ],
};

const INTERFACE_DESCRIPTOR_SET: SoapStructType = {
  kind: 'struct',
  name: 'InterfaceDescriptorSetType',
  fields: [
    f('InterfaceMode', 'string'),
    f('LinkPolicy', 'unsignedByte'),
    f('IPv4Parameters', IPV4_PARAMETERS, { optional: true }),
  ],
};

const CODE_VERSION: SoapStructType = {
  kind: 'struct',
  name: 'FirmwareVersionType',
  fields: [f('Description', 'string'), f('Version', 'string')],
};

export const SOAP_SCHEMA: Readonly<Record<SoapServiceName, SoapServiceShape>> = {
  SecurityAdministration: {
    interfaceName: 'SecurityAdministration',
    path: '/SecurityAdministrationService',
    namespace: soapNamespace('SecurityAdministration'),
    prefix: 'sai',
    methods: {
      GetCoreVersion: verified('amt-protocol.md §6; amttool', [], [f('Version', 'string')]),
      GetDigestRealm: unverified(
        'name from the Intel SDK method list; realm also arrives in the 401 challenge',
        [],
        [f('DigestRealm', 'string')],
      ),
      GenerateKeyPair: modelled(
        'AMT_PublicKeyManagementService.GenerateKeyPair (KeyAlgorithm 0 = RSA); KeyPair is a handle here',
        [f('KeyAlgorithm', 'unsignedByte'), f('KeyLength', 'unsignedInt')],
        [f('KeyPair', 'unsignedInt')],
      ),
      SetTLSKeyAndCertificate: modelled(
        'AMT_PublicKeyManagementService.AddKey(KeyBlob) + AddCertificate(CertificateBlob): PrivateKey = base64 DER, CertificateChain = base64 DER leaf first',
        [
          f('PrivateKey', 'base64Binary', { secret: true }),
          f('CertificateChain', 'base64Binary', { repeated: true }),
        ],
        [],
      ),
      SetTLSCertificate: modelled(
        'AMT_PublicKeyManagementService.AddCertificate(CertificateBlob), for a key AMT generated',
        [f('CertificateChain', 'base64Binary', { repeated: true })],
        [],
      ),
      SetTlsEnabled: modelled('AMT_TLSSettingData.Enabled', [f('Enabled', 'boolean')], []),
      SetAdminAclEntryEx: modelled(
        'AMT_AuthorizationService.SetAdminAclEntryEx(Username, DigestPassword = base64 of MD5(user:realm:password))',
        [f('Username', 'string'), f('DigestPassword', 'base64Binary', { secret: true })],
        [],
      ),
      AddUserAclEntryEx: modelled(
        'AMT_AuthorizationService.AddUserAclEntryEx (flat, repeated Realms)',
        [
          f('DigestUsername', 'string', { optional: true }),
          f('DigestPassword', 'base64Binary', { optional: true, secret: true }),
          f('KerberosUserSid', 'base64Binary', { optional: true }),
          f('AccessPermission', 'unsignedByte'),
          f('Realms', 'unsignedInt', { repeated: true }),
        ],
        [f('Handle', 'unsignedInt')],
      ),
      EnumerateUserAclEntries: modelled(
        'AMT_AuthorizationService.EnumerateUserAclEntries',
        [f('StartIndex', 'unsignedInt')],
        [
          f('TotalCount', 'unsignedInt'),
          f('HandlesCount', 'unsignedInt'),
          f('Handles', 'unsignedInt', { repeated: true, optional: true }),
        ],
      ),
      RemoveUserAclEntry: modelled(
        'AMT_AuthorizationService.RemoveUserAclEntry',
        [f('Handle', 'unsignedInt')],
        [],
      ),
      SetProvisioningMode: modelled(
        'AMT_SetupAndConfigurationService ProvisioningMode (0 current, 1 enterprise, 2 SMB)',
        [f('ProvisioningMode', 'unsignedInt')],
        [],
      ),
      CommitChanges: modelled('AMT_SetupAndConfigurationService.CommitChanges', [], []),
      Unprovision: modelled(
        'AMT_SetupAndConfigurationService.Unprovision(ProvisioningMode)',
        [f('ProvisioningMode', 'unsignedInt')],
        [],
      ),
      SetMEBxPassword: modelled(
        'AMT_SetupAndConfigurationService.SetMEBxPassword(Password)',
        [f('Password', 'string', { secret: true })],
        [],
      ),
      EnumeratePowerPackages: modelled(
        'AMT_SystemPowerScheme enumerate; PolicyGUID = base64 GUID like SchemeGUID',
        [],
        [f('PolicyGUID', 'base64Binary', { repeated: true, optional: true })],
      ),
      GetActivePowerPackage: modelled(
        'the current AMT_SystemPowerScheme (CIM_ElementSettingData.IsCurrent)',
        [],
        [f('PolicyGUID', 'base64Binary')],
      ),
      GetPowerPackage: modelled(
        'AMT_SystemPowerScheme Get (Description)',
        [f('PolicyGUID', 'base64Binary')],
        [f('PolicyDescriptor', 'string')],
      ),
      SetActivePowerPackage: modelled(
        'AMT_SystemPowerScheme.SetPowerScheme',
        [f('PolicyGUID', 'base64Binary')],
        [],
      ),
    },
  },
  NetworkAdministration: {
    interfaceName: 'NetworkAdministration',
    path: '/NetworkAdministrationService',
    namespace: soapNamespace('NetworkAdministration'),
    prefix: 'net',
    methods: {
      GetHostName: verified('amt-protocol.md §6; amttool', [], [f('HostName', 'string')]),
      SetHostName: verified('amt-protocol.md §6 (host/domain calls)', [f('HostName', 'string')], []),
      GetDomainName: verified('amt-protocol.md §6; amttool', [], [f('DomainName', 'string')]),
      SetDomainName: verified('amt-protocol.md §6 (host/domain calls)', [f('DomainName', 'string')], []),
      EnumerateInterfaces: verified(
        `amt-protocol.md §6 (network calls); ${AMTTOOL}: handles are repeated elements after StatusCode (the element name is from the SDK docs)`,
        [],
        [f('InterfaceHandles', 'unsignedInt', { repeated: true, optional: true })],
      ),
      GetInterfaceSettings: verified(
        `amt-protocol.md §6 (network calls); ${AMTTOOL}: InterfaceHandle, InterfaceDescriptor.IPv4Parameters and its five addresses (other descriptor fields from the SDK docs)`,
        [f('InterfaceHandle', 'unsignedInt')],
        [f('InterfaceDescriptor', INTERFACE_DESCRIPTOR_GET)],
      ),
      SetInterfaceSettings: verified(
        `amt-protocol.md §6 (network calls); ${AMTTOOL} netconf`,
        [f('InterfaceHandle', 'unsignedInt'), f('InterfaceDescriptor', INTERFACE_DESCRIPTOR_SET)],
        [],
      ),
    },
  },
  NetworkTime: {
    interfaceName: 'NetworkTime',
    path: '/NetworkTimeService',
    namespace: soapNamespace('NetworkTime'),
    prefix: 'tim',
    methods: {
      GetLowAccuracyTimeSynch: modelled(
        'AMT_TimeSynchronizationService.GetLowAccuracyTimeSynch (Ta0, Unix seconds)',
        [],
        [f('Ta0', 'unsignedInt')],
      ),
      SetHighAccuracyTimeSynch: modelled(
        'AMT_TimeSynchronizationService.SetHighAccuracyTimeSynch(Ta0, Tm1, Tm2) (Unix seconds)',
        [f('Ta0', 'unsignedInt'), f('Tm1', 'unsignedInt'), f('Tm2', 'unsignedInt')],
        [],
      ),
    },
  },
  GeneralInfo: {
    interfaceName: 'GeneralInfo',
    path: '/GeneralInfoService',
    namespace: soapNamespace('GeneralInfo'),
    prefix: 'inf',
    methods: {
      GetCoreVersion: unverified(
        'same answer as SecurityAdministration.GetCoreVersion',
        [],
        [f('Version', 'string')],
      ),
      GetCodeVersions: modelled(
        'CIM_SoftwareIdentity enumerate (one Description/Version per component)',
        [],
        [f('BiosVersion', 'string'), f('CodeVersions', CODE_VERSION, { repeated: true, optional: true })],
      ),
      GetProvisioningMode: modelled(
        'AMT_SetupAndConfigurationService.ProvisioningMode',
        [],
        [f('ProvisioningMode', 'unsignedInt')],
      ),
      GetProvisioningState: modelled(
        'AMT_SetupAndConfigurationService.ProvisioningState (0 pre, 1 in, 2 post)',
        [],
        [f('ProvisioningState', 'unsignedInt')],
      ),
      GetAdminAclEntryStatus: modelled(
        'AMT_AuthorizationService.GetAdminAclEntryStatus (IsDefault: the admin password was never changed)',
        [],
        [f('IsDefault', 'boolean')],
      ),
      GetPasswordModel: modelled(
        'AMT_SetupAndConfigurationService.PasswordModel (0 coupled, 1 separate, 2 separate-hash)',
        [],
        [f('PasswordModel', 'unsignedInt')],
      ),
    },
  },
  RemoteControl: {
    interfaceName: 'RemoteControl',
    path: '/RemoteControlService',
    namespace: soapNamespace('RemoteControl'),
    prefix: 'rci',
    methods: {
      GetSystemPowerState: verified(
        `${AMTTOOL} (reads the one value after StatusCode; low 4 bits = S-state, 7 = off)`,
        [],
        [f('SystemPowerState', 'unsignedInt')],
      ),
      GetRemoteControlCapabilities: verified(
        `${AMTTOOL} (reads the five values by position; names from the SDK docs)`,
        [],
        [
          f('IanaOemNumber', 'unsignedInt'),
          f('OemDefinedCapabilities', 'unsignedInt'),
          f('SpecialCommandsSupported', 'unsignedInt'),
          f('SystemCapabilitiesSupported', 'unsignedInt'),
          f('SystemFirmwareCapabilities', 'unsignedInt'),
        ],
      ),
      RemoteControl: verified(
        `${AMTTOOL}: Command (16 reset, 17 power up, 18 power down, 19 power cycle), IanaOemNumber 343, SpecialCommand, OEMparameters`,
        [
          f('Command', 'unsignedByte'),
          f('IanaOemNumber', 'unsignedInt'),
          f('SpecialCommand', 'unsignedByte', { optional: true }),
          f('SpecialCommandParameter', 'unsignedShort', { optional: true }),
          f('BootOptions', 'unsignedShort', { optional: true }),
          f('OEMparameters', 'unsignedShort', { optional: true }),
        ],
        [],
      ),
    },
  },
};

/** The shape of a method, or undefined when the table does not know it. */
export function soapMethodShape(service: string, method: string): SoapMethodShape | undefined {
  if (!Object.hasOwn(SOAP_SCHEMA, service)) return undefined;
  const svc = SOAP_SCHEMA[service as SoapServiceName];
  return Object.hasOwn(svc.methods, method) ? svc.methods[method] : undefined;
}

/** The service shape of a name, or undefined. */
export function soapServiceShape(service: string): SoapServiceShape | undefined {
  return Object.hasOwn(SOAP_SCHEMA, service) ? SOAP_SCHEMA[service as SoapServiceName] : undefined;
}
