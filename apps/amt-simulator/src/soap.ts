import {
  buildSoapFault,
  buildSoapResponse,
  type ParsedSoapRequest,
  parseSoapRequest,
} from '@oobkit/amt-soap';
import type { Result } from './firmware.js';
import type { CallContext, ParseOutcome, Reply } from './protocol.js';
import { REMOTE_TLS_ID } from './state.js';
import { PT } from './status.js';

const CONTENT_TYPE = 'text/xml; charset=utf-8';

function reply(body: string, status = 200, close = false): Reply {
  return { status, contentType: CONTENT_TYPE, body, ...(close ? { close } : {}) };
}

function faultReply(code: string, reason: string, status = 500): Reply {
  return reply(buildSoapFault(code, reason), status);
}

/** Read-only methods any authenticated user may call. */
const READ_ONLY = /^(Get|Enumerate)/;

type Handler = (p: Record<string, unknown>, ctx: CallContext) => Promise<[number, Record<string, unknown>?]>;

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const handleOf = (instanceId: string): number => Number(/Handle: (\d+)$/.exec(instanceId)?.[1] ?? 0);

function status<T>(r: Result<T>): [number] {
  return [r.status];
}

function ipv4(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** Legacy EOI methods, keyed `Service.Method` (shapes: @oobkit/amt-soap SOAP_SCHEMA). */
const HANDLERS: Record<string, Handler> = {
  'SecurityAdministration.GetCoreVersion': async (_p, c) => [
    PT.SUCCESS,
    { Version: c.profile.firmwareVersion },
  ],
  'GeneralInfo.GetCoreVersion': async (_p, c) => [PT.SUCCESS, { Version: c.profile.firmwareVersion }],
  'SecurityAdministration.GetDigestRealm': async (_p, c) => [PT.SUCCESS, { DigestRealm: c.fw.facts.realm }],
  'SecurityAdministration.GenerateKeyPair': async (p, c) => {
    const r = await c.fw.generateKeyPair(num(p.KeyAlgorithm), num(p.KeyLength));
    return r.value ? [r.status, { KeyPair: handleOf(r.value.keyId) }] : status(r);
  },
  'SecurityAdministration.SetTLSKeyAndCertificate': async (p, c) =>
    status(
      c.fw.setTlsKeyAndCertificate(str(p.PrivateKey) || undefined, (p.CertificateChain as string[]) ?? []),
    ),
  'SecurityAdministration.SetTLSCertificate': async (p, c) =>
    status(c.fw.setTlsKeyAndCertificate(undefined, (p.CertificateChain as string[]) ?? [])),
  'SecurityAdministration.SetTlsEnabled': async (p, c) =>
    status(c.fw.putTlsSettings(REMOTE_TLS_ID, { enabled: p.Enabled === true })),
  'SecurityAdministration.SetAdminAclEntryEx': async (p, c) =>
    status(c.fw.setAdminAclEntryEx(str(p.Username), str(p.DigestPassword))),
  'SecurityAdministration.AddUserAclEntryEx': async (p, c) => {
    const r = c.fw.addUserAclEntryEx({
      ...(p.DigestUsername === undefined ? {} : { username: str(p.DigestUsername) }),
      ...(p.DigestPassword === undefined ? {} : { digestPasswordB64: str(p.DigestPassword) }),
      ...(p.KerberosUserSid === undefined ? {} : { kerberosSid: str(p.KerberosUserSid) }),
      accessPermission: num(p.AccessPermission),
      realms: ((p.Realms as number[]) ?? []).map(num),
    });
    return r.value ? [r.status, { Handle: r.value.handle }] : status(r);
  },
  'SecurityAdministration.EnumerateUserAclEntries': async (p, c) => {
    const r = c.fw.enumerateUserAclEntries(num(p.StartIndex));
    if (!r.value) return status(r);
    return [
      r.status,
      { TotalCount: r.value.total, HandlesCount: r.value.handles.length, Handles: r.value.handles },
    ];
  },
  'SecurityAdministration.RemoveUserAclEntry': async (p, c) => status(c.fw.removeUserAclEntry(num(p.Handle))),
  'SecurityAdministration.SetProvisioningMode': async (p, c) => {
    if (c.fw.committedPost) return [PT.INVALID_PROVISIONING_STATE];
    return [[0, 1, 2].includes(num(p.ProvisioningMode)) ? PT.SUCCESS : PT.INVALID_PARAMETER];
  },
  'SecurityAdministration.CommitChanges': async (_p, c) => {
    const wasPost = c.fw.committedPost;
    const r = c.fw.commitChanges();
    if (r.status === PT.SUCCESS && !wasPost) c.onProvisioned();
    return status(r);
  },
  'SecurityAdministration.Unprovision': async (p, c) => {
    const s = c.fw.canUnprovision(num(p.ProvisioningMode));
    if (s === PT.SUCCESS) c.afterResponse(() => c.onUnprovisioned('full'));
    return [s];
  },
  'SecurityAdministration.SetMEBxPassword': async (p, c) =>
    status(c.fw.setMebxPassword(str(p.Password), c.strongPassword)),
  'SecurityAdministration.EnumeratePowerPackages': async (_p, c) => [
    PT.SUCCESS,
    { PolicyGUID: c.fw.powerSchemes().map((s) => s.schemeGuid) },
  ],
  'SecurityAdministration.GetActivePowerPackage': async (_p, c) => {
    const cur = c.fw.powerSchemes().find((s) => s.instanceId === c.fw.d.powerSchemeId);
    return [PT.SUCCESS, { PolicyGUID: cur?.schemeGuid ?? '' }];
  },
  'SecurityAdministration.GetPowerPackage': async (p, c) => {
    const s = c.fw.powerSchemes().find((x) => x.schemeGuid === str(p.PolicyGUID));
    return s ? [PT.SUCCESS, { PolicyDescriptor: s.description }] : [PT.INVALID_PARAMETER];
  },
  'SecurityAdministration.SetActivePowerPackage': async (p, c) => {
    const s = c.fw.powerSchemes().find((x) => x.schemeGuid === str(p.PolicyGUID));
    return s ? status(c.fw.setPowerScheme(s.instanceId)) : [PT.INVALID_PARAMETER];
  },
  'NetworkAdministration.GetHostName': async (_p, c) => [PT.SUCCESS, { HostName: c.fw.d.hostName }],
  'NetworkAdministration.SetHostName': async (p, c) =>
    status(c.fw.putGeneralSettings({ hostName: str(p.HostName) })),
  'NetworkAdministration.GetDomainName': async (_p, c) => [PT.SUCCESS, { DomainName: c.fw.d.domainName }],
  'NetworkAdministration.SetDomainName': async (p, c) =>
    status(c.fw.putGeneralSettings({ domainName: str(p.DomainName) })),
  'NetworkAdministration.EnumerateInterfaces': async () => [PT.SUCCESS, { InterfaceHandles: [0] }],
  'NetworkAdministration.GetInterfaceSettings': async (p, c) => {
    if (num(p.InterfaceHandle) !== 0) return [PT.INVALID_HANDLE];
    return [
      PT.SUCCESS,
      {
        InterfaceDescriptor: {
          HardwareAddressDescription: 'Wired0',
          MACAddress: c.fw.facts.macAddress,
          InterfaceMode: 'SHARED_MAC_ADDRESS',
          LinkPolicy: 31,
          DhcpEnabled: true,
          IPv4Parameters: {
            LocalAddress: ipv4(c.address),
            SubnetMask: 0xff000000,
            DefaultGatewayAddress: 0,
            PrimaryDnsAddress: 0,
            SecondaryDnsAddress: 0,
          },
        },
      },
    ];
  },
  'NetworkAdministration.SetInterfaceSettings': async (p) => [
    num(p.InterfaceHandle) === 0 ? PT.SUCCESS : PT.INVALID_HANDLE,
  ],
  'NetworkTime.GetLowAccuracyTimeSynch': async (_p, c) => {
    const r = c.fw.getLowAccuracyTimeSynch();
    return [r.status, { Ta0: r.value?.ta0 ?? 0 }];
  },
  'NetworkTime.SetHighAccuracyTimeSynch': async (p, c) =>
    status(c.fw.setHighAccuracyTimeSynch(num(p.Ta0), num(p.Tm1), num(p.Tm2))),
  'GeneralInfo.GetCodeVersions': async (_p, c) => [
    PT.SUCCESS,
    {
      BiosVersion: 'SIM.BIOS.0001',
      CodeVersions: [
        { Description: 'AMT', Version: c.profile.firmwareVersion },
        { Description: 'Flash', Version: c.profile.firmwareVersion },
      ],
    },
  ],
  'GeneralInfo.GetProvisioningMode': async (_p, c) => [
    PT.SUCCESS,
    { ProvisioningMode: c.fw.d.provisioningMode },
  ],
  'GeneralInfo.GetProvisioningState': async (_p, c) => [
    PT.SUCCESS,
    { ProvisioningState: c.fw.d.provisioningState },
  ],
  'GeneralInfo.GetAdminAclEntryStatus': async (_p, c) => [PT.SUCCESS, { IsDefault: !c.fw.d.adminAcl }],
  'GeneralInfo.GetPasswordModel': async () => [PT.SUCCESS, { PasswordModel: 1 }],
  'RemoteControl.GetSystemPowerState': async () => [PT.SUCCESS, { SystemPowerState: 0 }],
  'RemoteControl.GetRemoteControlCapabilities': async () => [
    PT.SUCCESS,
    {
      IanaOemNumber: 343,
      OemDefinedCapabilities: 0x1f,
      SpecialCommandsSupported: 0x1f00,
      SystemCapabilitiesSupported: 0x0f,
      SystemFirmwareCapabilities: 0,
    },
  ],
  'RemoteControl.RemoteControl': async (p) => [
    [16, 17, 18, 19].includes(num(p.Command)) ? PT.SUCCESS : PT.INVALID_PARAMETER,
  ],
};

/** Parses a legacy SOAP request posted to `/<Service>Service`. */
export function parseSoap(body: Buffer, path: string, soapActionHeader: string | undefined): ParseOutcome {
  let req: ParsedSoapRequest;
  try {
    req = parseSoapRequest(body, { path, ...(soapActionHeader ? { soapAction: soapActionHeader } : {}) });
  } catch (err) {
    const reason = err instanceof Error ? err.message : 'malformed request';
    return { ok: false, reply: faultReply('Client', reason, 400) };
  }
  const name = `${req.service}.${req.method}`;
  const handler = HANDLERS[name];
  const steps = [name, req.method, req.service, 'soap', 'request'];
  return {
    ok: true,
    call: {
      protocol: 'soap',
      steps,
      name,
      readOnly: READ_ONLY.test(req.method),
      anonymous: false,
      async run(ctx) {
        if (!handler) return faultReply('Client', `${name} is not supported by this firmware`);
        const [code, output] = await handler(req.params, ctx);
        return reply(buildSoapResponse(req, code, code === PT.SUCCESS ? output : {}));
      },
      fault: (subcode, reason) => faultReply(subcode ?? 'Server', reason ?? 'simulated fault'),
      accessDenied: () => faultReply('Client', 'access denied', 403),
    },
  };
}
