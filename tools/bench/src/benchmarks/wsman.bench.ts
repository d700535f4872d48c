/**
 * @oobkit/wsman against the stack Open AMT uses: `@open-amt-cloud-toolkit/wsman-messages` to
 * build requests, `xml2js` configured as RPS configures it to parse answers. The floor for
 * parsing is a bare SAX pass (saxes) over the same documents, which builds nothing.
 *
 * Documents are shaped like real AMT answers (prefixes a:/b:/c:/g:/h:, repeated elements for
 * arrays, base64 certificates), written here, one set parsed per op.
 */

import {
  AUTHORIZATION_SERVICE,
  amt,
  buildCreateRequest,
  buildDeleteRequest,
  buildEnumerateRequest,
  buildGetRequest,
  buildInvokeRequest,
  buildPullRequest,
  buildPutRequest,
  CIM_URI_BASE,
  cim,
  decodeProperties,
  embeddedInstance,
  endpointReference,
  PUBLIC_KEY_MANAGEMENT_SERVICE,
  parseWsmanResponse,
  resourceUriFor,
  TIME_SYNCHRONIZATION_SERVICE,
  TLS_PROTOCOL_ENDPOINT_COLLECTION,
} from '@oobkit/wsman';
import { AMT } from '@open-amt-cloud-toolkit/wsman-messages';
import { SaxesParser } from 'saxes';
import xml2js from 'xml2js';
import type { Comparison } from '../harness.js';

// ------------------------------------------------------------------------------------------
// Answers, shaped like AMT 11–16 sends them.

const AMT_BASE = 'http://intel.com/wbem/wscim/1/amt-schema/1/';
const EN = 'http://schemas.xmlsoap.org/ws/2004/09/enumeration';

function envelope(bodyNs: string, action: string, n: number, resourceUri: string, body: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?><a:Envelope xmlns:a="http://www.w3.org/2003/05/soap-envelope" ' +
    'xmlns:b="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:c="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" ' +
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/02/trust" xmlns:e="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" ' +
    `xmlns:f="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd" xmlns:g="${bodyNs}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
    '<a:Header><b:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</b:To>' +
    `<b:RelatesTo>uuid:6a2f4c1e-0000-4000-8000-${String(n).padStart(12, '0')}</b:RelatesTo>` +
    `<b:Action a:mustUnderstand="true">${action}</b:Action>` +
    `<b:MessageID>uuid:00000000-8086-8086-8086-${String(n).padStart(12, '0')}</b:MessageID>` +
    `<c:ResourceURI>${resourceUri}</c:ResourceURI></a:Header><a:Body>${body}</a:Body></a:Envelope>`
  );
}

const props = (p: string, o: Record<string, string | number | boolean>) =>
  Object.entries(o)
    .map(([k, v]) => `<${p}:${k}>${v}</${p}:${k}>`)
    .join('');

// Deterministic base64 of a certificate-sized blob (~1.3 KB of text, as a 1 KB DER gives).
function pseudoCert(seed: number): string {
  const bytes = Buffer.alloc(1000);
  let x = seed * 2654435761;
  for (let i = 0; i < bytes.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes.toString('base64');
}

const GS = `${AMT_BASE}AMT_GeneralSettings`;
const SCS = `${AMT_BASE}AMT_SetupAndConfigurationService`;
const PKC = `${AMT_BASE}AMT_PublicKeyCertificate`;
const SWI = `${CIM_URI_BASE}CIM_SoftwareIdentity`;
const WES = `${CIM_URI_BASE}CIM_WiFiEndpointSettings`;
const SPS = `${AMT_BASE}AMT_SystemPowerScheme`;
const TSS = `${AMT_BASE}AMT_TimeSynchronizationService`;
const AUTH = `${AMT_BASE}AMT_AuthorizationService`;
const PKMS = `${AMT_BASE}AMT_PublicKeyManagementService`;

const pullBody = (items: string) =>
  `<g:PullResponse><g:Items>${items}</g:Items><g:EndOfSequence></g:EndOfSequence></g:PullResponse>`;
const item = (cls: string, uri: string, o: Record<string, string | number | boolean>) =>
  `<h:${cls} xmlns:h="${uri}">${props('h', o)}</h:${cls}>`;

const DOCS = {
  generalSettings: envelope(
    GS,
    'http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse',
    1,
    GS,
    `<g:AMT_GeneralSettings>${props('g', {
      AMTNetworkEnabled: 1,
      DDNSPeriodicUpdateInterval: 1440,
      DDNSTTL: 900,
      DDNSUpdateByDHCPServerEnabled: true,
      DDNSUpdateEnabled: false,
      DHCPv6ConfigurationTimeout: 0,
      DigestRealm: 'Digest:A3829B3827DE4D33D4449B366831FD01',
      DomainName: 'corp.example.test',
      ElementName: 'Intel(r) AMT: General Settings',
      HostName: 'ws-0042',
      HostOSFQDN: 'ws-0042.corp.example.test',
      IdleWakeTimeout: 65535,
      InstanceID: 'Intel(r) AMT: General Settings',
      NetworkInterfaceEnabled: true,
      PingResponseEnabled: true,
      PowerSource: 0,
      PreferredAddressFamily: 0,
      PresenceNotificationInterval: 0,
      PrivacyLevel: 0,
      RmcpPingResponseEnabled: true,
      SharedFQDN: true,
      ThunderboltDockEnabled: 0,
      WsmanOnlyMode: false,
    })}</g:AMT_GeneralSettings>`,
  ),
  setupAndConfiguration: envelope(
    SCS,
    'http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse',
    2,
    SCS,
    `<g:AMT_SetupAndConfigurationService>${props('g', {
      CreationClassName: 'AMT_SetupAndConfigurationService',
      DhcpDNSSuffix: 'corp.example.test',
      ElementName: 'Intel(r) AMT Setup and Configuration Service',
      EnabledState: 5,
      Name: 'Intel(r) AMT Setup and Configuration Service',
      PasswordModel: 1,
      ProvisioningMode: 1,
      ProvisioningServerOTP: 'S2V5Ym9hcmQtT1RQLTEyMzQ=',
      ProvisioningState: 1,
      RequestedState: 12,
      SystemCreationClassName: 'CIM_ComputerSystem',
      SystemName: 'Intel(r) AMT',
      TrustedDNSSuffix: 'corp.example.test',
      ZeroTouchConfigurationEnabled: true,
    })}</g:AMT_SetupAndConfigurationService>`,
  ),
  enumerate: envelope(
    EN,
    `${EN}/EnumerateResponse`,
    3,
    PKC,
    '<g:EnumerateResponse><g:EnumerationContext>8B000000-0000-0000-0000-000000000000</g:EnumerationContext></g:EnumerateResponse>',
  ),
  pullCertificates: envelope(
    EN,
    `${EN}/PullResponse`,
    4,
    PKC,
    pullBody(
      [1, 2, 3, 4]
        .map((i) =>
          item('AMT_PublicKeyCertificate', PKC, {
            ElementName: 'Intel(r) AMT Certificate',
            InstanceID: `Intel(r) AMT Certificate: Handle: ${i}`,
            Issuer: `C=US,O=Example Corp,CN=Example Issuing CA ${i}`,
            ReadOnlyCertificate: false,
            Subject: 'C=US,O=Example Corp,CN=ws-0042.corp.example.test',
            TrustedRootCertificate: i === 1,
            X509Certificate: pseudoCert(i),
          }),
        )
        .join(''),
    ),
  ),
  pullSoftware: envelope(
    EN,
    `${EN}/PullResponse`,
    5,
    SWI,
    pullBody(
      [
        ['Flash', '16.1.25'],
        ['Netstack', '16.1.25'],
        ['AMTApps', '16.1.25'],
        ['AMT', '16.1.25'],
        ['Sku', '16392'],
        ['VendorID', '8086'],
        ['Build Number', '2189'],
        ['Recovery Version', '16.1.25'],
        ['Recovery Build Num', '2189'],
        ['Legacy Mode', 'False'],
        ['AMT FW Core Version', '16.1.25'],
      ]
        .map(([n, v]) =>
          item('CIM_SoftwareIdentity', SWI, {
            InstanceID: n as string,
            IsEntity: true,
            VersionString: v as string,
          }),
        )
        .join(''),
    ),
  ),
  pullWifi: envelope(
    EN,
    `${EN}/PullResponse`,
    6,
    WES,
    pullBody(
      ['office', 'lab']
        .map((n, i) =>
          item('CIM_WiFiEndpointSettings', WES, {
            AuthenticationMethod: 6,
            BSSType: 3,
            ElementName: n,
            EncryptionMethod: 4,
            InstanceID: `Intel(r) AMT:WiFi Endpoint Settings ${n}`,
            Priority: i + 1,
            SSID: `corp-${n}`,
          }),
        )
        .join(''),
    ),
  ),
  pullPowerSchemes: envelope(
    EN,
    `${EN}/PullResponse`,
    7,
    SPS,
    pullBody(
      [
        'Mobile: ON in S0',
        'Mobile: ON in S0, ME Wake in S3',
        'Mobile: ON in S0, ME Wake in S3, S4-5 (AC only)',
      ]
        .map((d, i) =>
          item('AMT_SystemPowerScheme', SPS, {
            Description: d,
            ElementName: 'Intel(r) AMT Power Scheme',
            InstanceID: `Intel(r) AMT Power Scheme ${i}`,
            SchemeGUID: Buffer.alloc(16, i + 1).toString('base64'),
          }),
        )
        .join(''),
    ),
  ),
  lowAccuracyTime: envelope(
    TSS,
    `${TSS}/GetLowAccuracyTimeSynchResponse`,
    8,
    TSS,
    '<g:GetLowAccuracyTimeSynch_OUTPUT><g:Ta0>1732795200</g:Ta0><g:ReturnValue>0</g:ReturnValue></g:GetLowAccuracyTimeSynch_OUTPUT>',
  ),
  userAcls: envelope(
    AUTH,
    `${AUTH}/EnumerateUserAclEntriesResponse`,
    9,
    AUTH,
    '<g:EnumerateUserAclEntries_OUTPUT><g:TotalCount>3</g:TotalCount><g:HandlesCount>3</g:HandlesCount><g:Handles>1</g:Handles><g:Handles>2</g:Handles><g:Handles>5</g:Handles><g:ReturnValue>0</g:ReturnValue></g:EnumerateUserAclEntries_OUTPUT>',
  ),
  setMebx: envelope(
    SCS,
    `${SCS}/SetMEBxPasswordResponse`,
    10,
    SCS,
    '<g:SetMEBxPassword_OUTPUT><g:ReturnValue>0</g:ReturnValue></g:SetMEBxPassword_OUTPUT>',
  ),
  generateKeyPair: envelope(
    PKMS,
    `${PKMS}/GenerateKeyPairResponse`,
    11,
    PKMS,
    `<g:GenerateKeyPair_OUTPUT><g:KeyPair><b:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</b:Address><b:ReferenceParameters><c:ResourceURI>${AMT_BASE}AMT_PublicPrivateKeyPair</c:ResourceURI><c:SelectorSet><c:Selector Name="InstanceID">Intel(r) AMT Key: Handle: 0</c:Selector></c:SelectorSet></b:ReferenceParameters></g:KeyPair><g:ReturnValue>0</g:ReturnValue></g:GenerateKeyPair_OUTPUT>`,
  ),
};
type DocName = keyof typeof DOCS;
const NAMES = Object.keys(DOCS) as DocName[];
const TEXTS = NAMES.map((n) => DOCS[n]);

// ------------------------------------------------------------------------------------------
// Parse + typed extraction

const x2 = new xml2js.Parser({
  ignoreAttrs: true,
  mergeAttrs: false,
  explicitArray: false,
  tagNameProcessors: [xml2js.processors.stripPrefix],
  valueProcessors: [xml2js.processors.parseNumbers, xml2js.processors.parseBooleans],
});
type Loose = Record<string, unknown> & { [k: string]: Loose };
function xml2jsParse(xml: string): Loose {
  let out: Loose | undefined;
  x2.parseString(xml, (err: Error | null, res: Loose) => {
    if (err) throw err;
    out = res;
  });
  if (!out) throw new Error('xml2js did not finish synchronously');
  return out;
}
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** What a caller pulls out of each answer with the xml2js stack (values already typed by it). */
const viaXml2js: Record<DocName, (xml: string) => unknown> = {
  generalSettings: (x) => xml2jsParse(x).Envelope!.Body!.AMT_GeneralSettings,
  setupAndConfiguration: (x) => xml2jsParse(x).Envelope!.Body!.AMT_SetupAndConfigurationService,
  enumerate: (x) => xml2jsParse(x).Envelope!.Body!.EnumerateResponse!.EnumerationContext,
  pullCertificates: (x) => arr(xml2jsParse(x).Envelope!.Body!.PullResponse!.Items!.AMT_PublicKeyCertificate),
  pullSoftware: (x) => arr(xml2jsParse(x).Envelope!.Body!.PullResponse!.Items!.CIM_SoftwareIdentity),
  pullWifi: (x) => arr(xml2jsParse(x).Envelope!.Body!.PullResponse!.Items!.CIM_WiFiEndpointSettings),
  pullPowerSchemes: (x) => arr(xml2jsParse(x).Envelope!.Body!.PullResponse!.Items!.AMT_SystemPowerScheme),
  lowAccuracyTime: (x) => xml2jsParse(x).Envelope!.Body!.GetLowAccuracyTimeSynch_OUTPUT!.Ta0,
  userAcls: (x) => arr(xml2jsParse(x).Envelope!.Body!.EnumerateUserAclEntries_OUTPUT!.Handles),
  setMebx: (x) => xml2jsParse(x).Envelope!.Body!.SetMEBxPassword_OUTPUT!.ReturnValue,
  generateKeyPair: (x) => xml2jsParse(x).Envelope!.Body!.GenerateKeyPair_OUTPUT!.KeyPair,
};

const pulled = <T>(xml: string, decode: (i: Record<string, never>) => T): T[] =>
  (parseWsmanResponse(xml).pull?.items ?? []).map((i) => decode(i.properties as Record<string, never>));
const aclOut = AUTHORIZATION_SERVICE.methods.EnumerateUserAclEntries.output;
const timeOut = {
  ...TIME_SYNCHRONIZATION_SERVICE.methods.GetLowAccuracyTimeSynch.output,
  ReturnValue: 'number',
} as const;
const keyOut = {
  ...PUBLIC_KEY_MANAGEMENT_SERVICE.methods.GenerateKeyPair.output,
  ReturnValue: 'number',
} as const;

/** The same extraction with @oobkit/wsman, typed by the class schemas. */
const viaOobkit: Record<DocName, (xml: string) => unknown> = {
  generalSettings: (x) => amt.generalSettings.decode(parseWsmanResponse(x).body),
  setupAndConfiguration: (x) => amt.setupAndConfiguration.decode(parseWsmanResponse(x).body),
  enumerate: (x) => parseWsmanResponse(x).body.EnumerationContext,
  pullCertificates: (x) => pulled(x, amt.publicKeyCertificate.decode),
  pullSoftware: (x) => pulled(x, cim.softwareIdentity.decode),
  pullWifi: (x) => pulled(x, cim.wifiEndpointSettings.decode),
  pullPowerSchemes: (x) => pulled(x, amt.systemPowerScheme.decode),
  lowAccuracyTime: (x) => decodeProperties<{ Ta0?: number }>(timeOut, parseWsmanResponse(x).body).Ta0,
  userAcls: (x) => decodeProperties<{ Handles?: number[] }>(aclOut, parseWsmanResponse(x).body).Handles,
  setMebx: (x) =>
    decodeProperties<{ ReturnValue?: number }>({ ReturnValue: 'number' }, parseWsmanResponse(x).body)
      .ReturnValue,
  generateKeyPair: (x) => decodeProperties<{ KeyPair?: unknown }>(keyOut, parseWsmanResponse(x).body).KeyPair,
};

function saxes(xml: string): number {
  const p = new SaxesParser();
  let events = 0;
  p.on('opentag', () => {
    events++;
  });
  p.on('text', () => {
    events++;
  });
  p.write(xml).close();
  return events;
}

// Both stacks must extract the same facts, or the ratio compares different work.
function crossCheck(): void {
  const gsA = viaXml2js.generalSettings(DOCS.generalSettings) as Record<string, unknown>;
  const gsB = viaOobkit.generalSettings(DOCS.generalSettings) as Record<string, unknown>;
  for (const k of ['HostName', 'IdleWakeTimeout', 'PingResponseEnabled', 'DigestRealm']) {
    if (gsA[k] !== gsB[k]) throw new Error(`wsman bench: ${k} differs between stacks`);
  }
  for (const n of ['pullCertificates', 'pullSoftware', 'pullWifi', 'pullPowerSchemes'] as const) {
    const a = viaXml2js[n](DOCS[n]) as unknown[];
    const b = viaOobkit[n](DOCS[n]) as unknown[];
    if (a.length !== b.length || a.length === 0) throw new Error(`wsman bench: ${n} item counts differ`);
  }
  const h = viaOobkit.userAcls(DOCS.userAcls) as number[];
  if (h.join() !== '1,2,5') throw new Error('wsman bench: handles differ');
}

// ------------------------------------------------------------------------------------------
// Building: the same request set with both builders.

const wm = new AMT.Messages();
const CERT = pseudoCert(9);
const settingsFor = (i: number) => ({
  AMTNetworkEnabled: 1,
  DDNSPeriodicUpdateInterval: 1440,
  DDNSTTL: 900,
  DDNSUpdateByDHCPServerEnabled: true,
  DDNSUpdateEnabled: false,
  DigestRealm: 'Digest:A3829B3827DE4D33D4449B366831FD01',
  DomainName: 'corp.example.test',
  ElementName: 'Intel(r) AMT: General Settings',
  HostName: `ws-${i}`,
  IdleWakeTimeout: 65535,
  InstanceID: 'Intel(r) AMT: General Settings',
  NetworkInterfaceEnabled: true,
  PingResponseEnabled: true,
  PowerSource: 0,
  PreferredAddressFamily: 0,
  PresenceNotificationInterval: 0,
  PrivacyLevel: 0,
  RmcpPingResponseEnabled: true,
  SharedFQDN: true,
  WsmanOnlyMode: false,
});
const wifi = (i: number) => ({
  ElementName: `home${i}`,
  InstanceID: `Intel(r) AMT:WiFi Endpoint Settings home${i}`,
  AuthenticationMethod: 6,
  EncryptionMethod: 4,
  SSID: 'corp-wlan',
  Priority: 1,
  PSKPassPhrase: 'P@ss&<word>"1',
});
const tls = () => ({
  ElementName: 'Intel(r) AMT 802.3 TLS Settings',
  InstanceID: 'Intel(r) AMT 802.3 TLS Settings',
  MutualAuthentication: false,
  Enabled: true,
  AcceptNonSecureConnections: false,
});

// wsman-messages mutates the objects it is given, so both sides get fresh ones every call.
function buildWithWsmanMessages(i: number): number {
  let n = 0;
  n += wm.GeneralSettings.Get().length;
  n += wm.GeneralSettings.Put(settingsFor(i) as never).length;
  n += wm.SetupAndConfigurationService.SetMEBXPassword('Adm1n&Pa<ss>').length;
  n += wm.AuthorizationService.SetAdminACLEntryEx('admin', 'q1Xz9UuHXuFZ8sRLu3b5iQ==').length;
  n += wm.AuthorizationService.AddUserAclEntryEx(2, [3, 5, 7], 'ops-user', 'c2VjcmV0aGFzaGJ5dGVzMTY=').length;
  n += wm.TimeSynchronizationService.SetHighAccuracyTimeSynch(1732795200, 1732795201, 1732795202).length;
  n += wm.PublicKeyCertificate.Enumerate().length;
  n += wm.PublicKeyCertificate.Pull('8B000000-0000-0000-0000-000000000000').length;
  n += wm.PublicKeyManagementService.AddCertificate({ CertificateBlob: CERT } as never).length;
  n += wm.TLSCredentialContext.Create('Intel(r) AMT Certificate: Handle: 1').length;
  n += wm.TLSSettingData.Put(tls() as never).length;
  n += wm.WiFiPortConfigurationService.AddWiFiSettings(
    wifi(i) as never,
    {
      name: 'Name',
      value: 'WiFi Endpoint 0',
    } as never,
  ).length;
  n += wm.PublicKeyCertificate.Delete({
    name: 'InstanceID',
    value: 'Intel(r) AMT Certificate: Handle: 2',
  } as never).length;
  return n;
}

const GS_URI = resourceUriFor('AMT_GeneralSettings');
const SCS_URI = resourceUriFor('AMT_SetupAndConfigurationService');
const AUTH_URI = resourceUriFor('AMT_AuthorizationService');
const TSS_URI = resourceUriFor('AMT_TimeSynchronizationService');
const PKC_URI = resourceUriFor('AMT_PublicKeyCertificate');
const PKMS_URI = resourceUriFor('AMT_PublicKeyManagementService');
const TCC_URI = resourceUriFor('AMT_TLSCredentialContext');
const TLS_URI = resourceUriFor('AMT_TLSSettingData');
const WIFI_SVC_URI = resourceUriFor('AMT_WiFiPortConfigurationService');
const WIFI_EP = endpointReference(`${CIM_URI_BASE}CIM_WiFiEndpoint`, { Name: 'WiFi Endpoint 0' });

function buildWithOobkit(i: number): number {
  let n = 0;
  n += buildGetRequest(GS_URI).xml.length;
  n += buildPutRequest(GS_URI, settingsFor(i)).xml.length;
  n += buildInvokeRequest(SCS_URI, 'SetMEBxPassword', { Password: 'Adm1n&Pa<ss>' }).xml.length;
  n += buildInvokeRequest(AUTH_URI, 'SetAdminAclEntryEx', {
    Username: 'admin',
    DigestPassword: 'q1Xz9UuHXuFZ8sRLu3b5iQ==',
  }).xml.length;
  n += buildInvokeRequest(AUTH_URI, 'AddUserAclEntryEx', {
    DigestUsername: 'ops-user',
    DigestPassword: 'c2VjcmV0aGFzaGJ5dGVzMTY=',
    AccessPermission: 2,
    Realms: [3, 5, 7],
  }).xml.length;
  n += buildInvokeRequest(TSS_URI, 'SetHighAccuracyTimeSynch', {
    Ta0: 1732795200,
    Tm1: 1732795201,
    Tm2: 1732795202,
  }).xml.length;
  n += buildEnumerateRequest(PKC_URI).xml.length;
  n += buildPullRequest(PKC_URI, '8B000000-0000-0000-0000-000000000000', {
    maxElements: 999,
    maxCharacters: 99999,
  }).xml.length;
  n += buildInvokeRequest(PKMS_URI, 'AddCertificate', { CertificateBlob: CERT }).xml.length;
  n += buildCreateRequest(TCC_URI, {
    ElementInContext: endpointReference(PKC_URI, { InstanceID: 'Intel(r) AMT Certificate: Handle: 1' }),
    ElementProvidingContext: TLS_PROTOCOL_ENDPOINT_COLLECTION,
  }).xml.length;
  n += buildPutRequest(TLS_URI, tls(), { selectors: { InstanceID: 'Intel(r) AMT 802.3 TLS Settings' } }).xml
    .length;
  n += buildInvokeRequest(WIFI_SVC_URI, 'AddWiFiSettings', {
    WiFiEndpoint: WIFI_EP,
    WiFiEndpointSettingsInput: embeddedInstance(`${CIM_URI_BASE}CIM_WiFiEndpointSettings`, wifi(i)),
  }).xml.length;
  n += buildDeleteRequest(PKC_URI, { selectors: { InstanceID: 'Intel(r) AMT Certificate: Handle: 2' } }).xml
    .length;
  return n;
}

export async function comparisons(): Promise<Comparison[]> {
  crossCheck();
  const each = (fns: Record<DocName, (xml: string) => unknown>) => () => {
    let sink = 0;
    for (let i = 0; i < NAMES.length; i++) {
      if (fns[NAMES[i] as DocName](TEXTS[i] as string) !== undefined) sink++;
    }
    return sink;
  };
  let i = 0;
  const bytes = TEXTS.reduce((a, t) => a + t.length, 0);
  return [
    {
      title: `WS-Man answers, parse + typed extraction (${NAMES.length} AMT-shaped documents, ${bytes} B per op)`,
      baseline: { name: 'xml2js (RPS options)', fn: each(viaXml2js) },
      subject: { name: '@oobkit/wsman', fn: each(viaOobkit) },
      goal: 1.5,
      unit: 'set',
    },
    {
      title: 'WS-Man answers: @oobkit/wsman vs a bare SAX pass (saxes, builds nothing) — the ceiling',
      baseline: {
        name: 'saxes (events only)',
        fn: () => {
          let s = 0;
          for (const t of TEXTS) s += saxes(t);
          return s;
        },
      },
      subject: { name: '@oobkit/wsman', fn: each(viaOobkit) },
      unit: 'set',
    },
    {
      title: 'WS-Man requests, build (13 AMT requests, every value escaped on our side)',
      baseline: { name: 'wsman-messages 5.9', fn: () => buildWithWsmanMessages(i++) },
      subject: { name: '@oobkit/wsman', fn: () => buildWithOobkit(i++) },
      goal: 1,
      unit: 'set',
    },
  ];
}
