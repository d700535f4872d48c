/** Typed bindings of the CIM_ classes the provisioning flows use (amt-protocol.md §5, §10). */
import type { WsmanClient } from '../client.js';
import type { TypedProperties } from '../schema.js';
import type { EndpointReference, Selectors } from '../values.js';
import { defineClass, instanceOps, invokeMethod, REQUEST_STATE_CHANGE } from './common.js';

/** CIM_WiFiEndpointSettings.AuthenticationMethod (§10). */
export const WIFI_AUTHENTICATION_METHOD = {
  OTHER: 1,
  OPEN: 2,
  SHARED_KEY: 3,
  WPA_PSK: 4,
  WPA_IEEE8021X: 5,
  WPA2_PSK: 6,
  WPA2_IEEE8021X: 7,
  WPA3_SAE: 32768,
  WPA3_OWE: 32769,
} as const;

/** CIM_WiFiEndpointSettings.EncryptionMethod (§10). */
export const WIFI_ENCRYPTION_METHOD = {
  OTHER: 1,
  WEP: 2,
  TKIP: 3,
  CCMP: 4,
  NONE: 5,
  GCMP_256: 32768,
} as const;

export const WIFI_ENDPOINT_SETTINGS = defineClass(
  'CIM_WiFiEndpointSettings',
  {
    AuthenticationMethod: 'number',
    BSSType: 'number',
    ElementName: 'string',
    EncryptionMethod: 'number',
    InstanceID: 'string',
    KeyIndex: 'number',
    Keys: 'string[]',
    PSKPassPhrase: 'string',
    PSKValue: 'string',
    Priority: 'number',
    SSID: 'string',
  },
  { keys: ['InstanceID'] },
);
/** A wireless profile. `PSKPassPhrase` (8–63) only with WPA/WPA2 PSK; `Priority` 1–255, unique. */
export interface WiFiEndpointSettings extends TypedProperties<typeof WIFI_ENDPOINT_SETTINGS.properties> {}

const wifiEndpointSettings = {
  ...instanceOps<WiFiEndpointSettings>(WIFI_ENDPOINT_SETTINGS),
  /** Deletes a profile by InstanceID. */
  async deleteById(client: WsmanClient, instanceId: string): Promise<void> {
    return client.delete(WIFI_ENDPOINT_SETTINGS.resourceUri, { selectors: { InstanceID: instanceId } });
  },
};

/** CIM_WiFiPort.RequestStateChange values (§10). */
export const WIFI_PORT_STATE = { OFF: 3, ON_IN_S0: 32768, ON_IN_S0_AND_SX_AC: 32769 } as const;

export const WIFI_PORT = defineClass(
  'CIM_WiFiPort',
  {
    CreationClassName: 'string',
    DeviceID: 'string',
    ElementName: 'string',
    EnabledState: 'number',
    HealthState: 'number',
    LinkTechnology: 'number',
    OperationalStatus: 'number[]',
    PermanentAddress: 'string',
    PortType: 'number',
    RequestedState: 'number',
    SystemCreationClassName: 'string',
    SystemName: 'string',
  },
  {
    keys: ['CreationClassName', 'DeviceID', 'SystemCreationClassName', 'SystemName'],
    methods: {
      RequestStateChange: REQUEST_STATE_CHANGE,
    },
  },
);
/** CIM_WiFiPort: its existence means AMT has wireless. */
export interface WiFiPort extends TypedProperties<typeof WIFI_PORT.properties> {}

const wifiPort = {
  ...instanceOps<WiFiPort>(WIFI_PORT),
  async requestStateChange(
    client: WsmanClient,
    requestedState: number,
    selectors?: Selectors,
  ): Promise<void> {
    await invokeMethod(
      client,
      WIFI_PORT,
      'RequestStateChange',
      { RequestedState: requestedState },
      selectors ? { selectors } : {},
    );
  },
};

export const SOFTWARE_IDENTITY = defineClass(
  'CIM_SoftwareIdentity',
  { InstanceID: 'string', IsEntity: 'boolean', VersionString: 'string' },
  { keys: ['InstanceID'] },
);
export interface SoftwareIdentity extends TypedProperties<typeof SOFTWARE_IDENTITY.properties> {}

const softwareIdentity = {
  ...instanceOps<SoftwareIdentity>(SOFTWARE_IDENTITY),
  /** The AMT firmware version (VersionString of the instance `AMT`), undefined if absent. */
  async amtVersion(client: WsmanClient): Promise<string | undefined> {
    const all = await softwareIdentity.enumerate(client);
    return all.find((s) => s.InstanceID === 'AMT')?.VersionString;
  },
};

/** CIM_ElementSettingData.IsCurrent (DMTF CIM schema ValueMap). */
export const SETTING_IS_CURRENT = { UNKNOWN: 0, IS_CURRENT: 1, IS_NOT_CURRENT: 2 } as const;
/** CIM_ElementSettingData.IsDefault. */
export const SETTING_IS_DEFAULT = { UNKNOWN: 0, IS_DEFAULT: 1, IS_NOT_DEFAULT: 2 } as const;
/** CIM_ElementSettingData.IsNext. */
export const SETTING_IS_NEXT = { UNKNOWN: 0, IS_NEXT: 1, IS_NOT_NEXT: 2, IS_NEXT_FOR_SINGLE_USE: 3 } as const;

export const ELEMENT_SETTING_DATA = defineClass(
  'CIM_ElementSettingData',
  {
    IsCurrent: 'number',
    IsDefault: 'number',
    IsNext: 'number',
    ManagedElement: 'epr',
    SettingData: 'epr',
  },
  { keys: ['ManagedElement', 'SettingData'] },
);
/** Association of an element with one of its settings; marks the current one (§10: power scheme). */
export interface ElementSettingData extends TypedProperties<typeof ELEMENT_SETTING_DATA.properties> {}

const elementSettingData = {
  ...instanceOps<ElementSettingData>(ELEMENT_SETTING_DATA),
  /**
   * The settings of one class (its resource URI, e.g. `amt.systemPowerScheme.resourceUri`)
   * marked `IsCurrent = 1`, as the references AMT gives.
   */
  async currentSettings(client: WsmanClient, settingResourceUri: string): Promise<EndpointReference[]> {
    const out: EndpointReference[] = [];
    for (const esd of await elementSettingData.enumerate(client)) {
      if (
        esd.IsCurrent === SETTING_IS_CURRENT.IS_CURRENT &&
        esd.SettingData?.resourceUri === settingResourceUri
      )
        out.push(esd.SettingData);
    }
    return out;
  },
};

export const CREDENTIAL_CONTEXT = defineClass(
  'CIM_CredentialContext',
  { ElementInContext: 'epr', ElementProvidingContext: 'epr' },
  { keys: ['ElementInContext', 'ElementProvidingContext'] },
);
/**
 * Links a credential (ElementInContext, e.g. an AMT_PublicKeyCertificate) to what it serves
 * (ElementProvidingContext, e.g. a CIM/IPS_IEEE8021xSettings) (§10).
 */
export interface CredentialContext extends TypedProperties<typeof CREDENTIAL_CONTEXT.properties> {}

const credentialContext = instanceOps<CredentialContext>(CREDENTIAL_CONTEXT);

/** The CIM_ class bindings. */
export const cim = {
  wifiEndpointSettings,
  wifiPort,
  softwareIdentity,
  elementSettingData,
  credentialContext,
};
