import type { Dispatcher } from 'undici';
import { buildSoapRequest, parseSoapResponse, soapAction } from './codec.js';
import {
  AmtSoapFaultError,
  AmtSoapHttpError,
  AmtSoapTooLargeError,
  AmtSoapTransportError,
} from './errors.js';
import { SOAP_SCHEMA, type SoapServiceName } from './schema.js';

export interface SoapClientOptions {
  /** Carries every request: compose it from a TLS connection plus the digest interceptor. */
  dispatcher: Dispatcher;
  /** e.g. `https://127.0.0.1:16993`. */
  origin: string | URL;
  /** Largest answer body read, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
}

export interface SoapCallOptions {
  signal?: AbortSignal;
}

/** Bytes, or base64 text. */
export type Base64Input = Uint8Array | string;

export interface Ipv4Parameters {
  /** Addresses as u32 numbers (10.0.0.1 = 0x0A000001). */
  localAddress: number;
  subnetMask: number;
  defaultGatewayAddress: number;
  primaryDnsAddress: number;
  secondaryDnsAddress: number;
}

export interface InterfaceSettings {
  hardwareAddressDescription: string;
  macAddress: string;
  /** `SHARED_MAC_ADDRESS` or `SEPARATE_MAC_ADDRESS`. */
  interfaceMode: string;
  linkPolicy: number;
  dhcpEnabled: boolean;
  ipv4?: Ipv4Parameters;
}

export interface UserAclEntry {
  digestUsername?: string;
  /** base64 of the 16 raw bytes of MD5(user:realm:password). */
  digestPassword?: Base64Input;
  /** Binary Windows SID (for Kerberos users/groups). */
  kerberosUserSid?: Base64Input;
  /** 0 local, 1 network, 2 both. */
  accessPermission: number;
  realms: number[];
}

export interface RemoteControlCapabilities {
  ianaOemNumber: number;
  oemDefinedCapabilities: number;
  specialCommandsSupported: number;
  systemCapabilitiesSupported: number;
  systemFirmwareCapabilities: number;
}

export interface RemoteControlRequest {
  /** 16 reset, 17 power up, 18 power down, 19 power cycle. */
  command: number;
  /** 343 = Intel (ASF). */
  ianaOemNumber?: number;
  specialCommand?: number;
  specialCommandParameter?: number;
  bootOptions?: number;
  oemParameters?: number;
}

export interface SecurityAdministrationApi {
  getCoreVersion(): Promise<string>;
  getDigestRealm(): Promise<string>;
  /** Returns AMT's handle of the new key pair. */
  generateKeyPair(keyAlgorithm?: number, keyLength?: number): Promise<number>;
  /** `privateKey` = DER; `certificateChain` = DER certificates, leaf first. */
  setTlsKeyAndCertificate(privateKey: Base64Input, certificateChain: Base64Input[]): Promise<void>;
  setTlsCertificate(certificateChain: Base64Input[]): Promise<void>;
  setTlsEnabled(enabled: boolean): Promise<void>;
  setAdminAclEntryEx(username: string, digestPasswordBase64: Base64Input): Promise<void>;
  /** Returns the new entry's handle. */
  addUserAclEntryEx(entry: UserAclEntry): Promise<number>;
  enumerateUserAclEntries(
    startIndex?: number,
  ): Promise<{ totalCount: number; handlesCount: number; handles: number[] }>;
  removeUserAclEntry(handle: number): Promise<void>;
  setProvisioningMode(mode: number): Promise<void>;
  commitChanges(): Promise<void>;
  /** 0 current, 1 enterprise, 2 SMB. */
  unprovision(mode: number): Promise<void>;
  setMEBxPassword(password: string): Promise<void>;
}

export interface NetworkAdministrationApi {
  getHostName(): Promise<string>;
  setHostName(name: string): Promise<void>;
  getDomainName(): Promise<string>;
  setDomainName(name: string): Promise<void>;
  enumerateInterfaces(): Promise<number[]>;
  getInterfaceSettings(handle: number): Promise<InterfaceSettings>;
  setInterfaceSettings(
    handle: number,
    settings: { interfaceMode: string; linkPolicy: number; ipv4?: Ipv4Parameters },
  ): Promise<void>;
}

export interface NetworkTimeApi {
  /** AMT's clock (Ta0), Unix seconds. */
  getLowAccuracyTimeSynch(): Promise<number>;
  setHighAccuracyTimeSynch(ta0: number, tm1: number, tm2: number): Promise<void>;
  /** Reads Ta0, then sets AMT's clock from `now` (ms, default Date.now) as Tm1/Tm2. */
  syncClock(now?: () => number): Promise<{ ta0: number; tm1: number; tm2: number }>;
}

/** Power packages (policy GUIDs are base64 strings). */
export interface PowerPackagesApi {
  enumeratePowerPackages(): Promise<string[]>;
  getActivePowerPackage(): Promise<string>;
  getPowerPackage(policyGuid: Base64Input): Promise<string>;
  setActivePowerPackage(policyGuid: Base64Input): Promise<void>;
}

export interface GeneralInfoApi {
  getCoreVersion(): Promise<string>;
  getCodeVersions(): Promise<{
    biosVersion: string;
    codeVersions: { description: string; version: string }[];
  }>;
  getProvisioningMode(): Promise<number>;
  getProvisioningState(): Promise<number>;
  /** True while the admin account still has its default password. */
  getAdminAclEntryStatus(): Promise<boolean>;
  getPasswordModel(): Promise<number>;
}

export interface RemoteControlApi {
  getSystemPowerState(): Promise<number>;
  getRemoteControlCapabilities(): Promise<RemoteControlCapabilities>;
  remoteControl(req: RemoteControlRequest): Promise<void>;
}

const DEFAULT_MAX_BODY = 1 << 20;

type Out = Record<string, unknown>;

function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function ipv4ToWire(p: Ipv4Parameters): Record<string, unknown> {
  return {
    LocalAddress: p.localAddress,
    SubnetMask: p.subnetMask,
    DefaultGatewayAddress: p.defaultGatewayAddress,
    PrimaryDnsAddress: p.primaryDnsAddress,
    SecondaryDnsAddress: p.secondaryDnsAddress,
  };
}

function ipv4FromWire(o: Out): Ipv4Parameters {
  return {
    localAddress: o.LocalAddress as number,
    subnetMask: o.SubnetMask as number,
    defaultGatewayAddress: o.DefaultGatewayAddress as number,
    primaryDnsAddress: o.PrimaryDnsAddress as number,
    secondaryDnsAddress: o.SecondaryDnsAddress as number,
  };
}

/**
 * Client of the legacy AMT SOAP interfaces (AMT ≤ 8). Every call is schema-driven (SOAP_SCHEMA):
 * params are checked before anything is sent, answers are decoded by namespace, never by prefix.
 */
export class SoapClient {
  readonly securityAdministration: SecurityAdministrationApi;
  readonly networkAdministration: NetworkAdministrationApi;
  readonly networkTime: NetworkTimeApi;
  readonly power: PowerPackagesApi;
  readonly generalInfo: GeneralInfoApi;
  readonly remoteControl: RemoteControlApi;
  readonly #dispatcher: Dispatcher;
  readonly #origin: string;
  readonly #maxBodyBytes: number;

  constructor(opts: SoapClientOptions) {
    this.#dispatcher = opts.dispatcher;
    this.#origin = typeof opts.origin === 'string' ? opts.origin : opts.origin.origin;
    this.#maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
    const sa = (m: string, p?: Out) => this.call('SecurityAdministration', m, p);
    const na = (m: string, p?: Out) => this.call('NetworkAdministration', m, p);
    const nt = (m: string, p?: Out) => this.call('NetworkTime', m, p);
    const gi = (m: string, p?: Out) => this.call('GeneralInfo', m, p);
    const rc = (m: string, p?: Out) => this.call('RemoteControl', m, p);
    const done = async (p: Promise<Out>) => {
      await p;
    };

    this.securityAdministration = {
      getCoreVersion: async () => (await sa('GetCoreVersion')).Version as string,
      getDigestRealm: async () => (await sa('GetDigestRealm')).DigestRealm as string,
      generateKeyPair: async (keyAlgorithm = 0, keyLength = 2048) =>
        (await sa('GenerateKeyPair', { KeyAlgorithm: keyAlgorithm, KeyLength: keyLength })).KeyPair as number,
      setTlsKeyAndCertificate: (privateKey, certificateChain) =>
        done(sa('SetTLSKeyAndCertificate', { PrivateKey: privateKey, CertificateChain: certificateChain })),
      setTlsCertificate: (certificateChain) =>
        done(sa('SetTLSCertificate', { CertificateChain: certificateChain })),
      setTlsEnabled: (enabled) => done(sa('SetTlsEnabled', { Enabled: enabled })),
      setAdminAclEntryEx: (username, digestPasswordBase64) =>
        done(sa('SetAdminAclEntryEx', { Username: username, DigestPassword: digestPasswordBase64 })),
      addUserAclEntryEx: async (e) =>
        (
          await sa(
            'AddUserAclEntryEx',
            defined({
              DigestUsername: e.digestUsername,
              DigestPassword: e.digestPassword,
              KerberosUserSid: e.kerberosUserSid,
              AccessPermission: e.accessPermission,
              Realms: e.realms,
            }),
          )
        ).Handle as number,
      enumerateUserAclEntries: async (startIndex = 1) => {
        const o = await sa('EnumerateUserAclEntries', { StartIndex: startIndex });
        return {
          totalCount: o.TotalCount as number,
          handlesCount: o.HandlesCount as number,
          handles: o.Handles as number[],
        };
      },
      removeUserAclEntry: (handle) => done(sa('RemoveUserAclEntry', { Handle: handle })),
      setProvisioningMode: (mode) => done(sa('SetProvisioningMode', { ProvisioningMode: mode })),
      commitChanges: () => done(sa('CommitChanges')),
      unprovision: (mode) => done(sa('Unprovision', { ProvisioningMode: mode })),
      setMEBxPassword: (password) => done(sa('SetMEBxPassword', { Password: password })),
    };

    this.networkAdministration = {
      getHostName: async () => (await na('GetHostName')).HostName as string,
      setHostName: (name) => done(na('SetHostName', { HostName: name })),
      getDomainName: async () => (await na('GetDomainName')).DomainName as string,
      setDomainName: (name) => done(na('SetDomainName', { DomainName: name })),
      enumerateInterfaces: async () => (await na('EnumerateInterfaces')).InterfaceHandles as number[],
      getInterfaceSettings: async (handle) => {
        const d = (await na('GetInterfaceSettings', { InterfaceHandle: handle })).InterfaceDescriptor as Out;
        const out: InterfaceSettings = {
          hardwareAddressDescription: d.HardwareAddressDescription as string,
          macAddress: d.MACAddress as string,
          interfaceMode: d.InterfaceMode as string,
          linkPolicy: d.LinkPolicy as number,
          dhcpEnabled: d.DhcpEnabled as boolean,
        };
        if (d.IPv4Parameters !== undefined) out.ipv4 = ipv4FromWire(d.IPv4Parameters as Out);
        return out;
      },
      setInterfaceSettings: (handle, s) =>
        done(
          na('SetInterfaceSettings', {
            InterfaceHandle: handle,
            InterfaceDescriptor: defined({
              InterfaceMode: s.interfaceMode,
              LinkPolicy: s.linkPolicy,
              IPv4Parameters: s.ipv4 === undefined ? undefined : ipv4ToWire(s.ipv4),
            }),
          }),
        ),
    };

    const getTa0 = async () => (await nt('GetLowAccuracyTimeSynch')).Ta0 as number;
    const setTime = (ta0: number, tm1: number, tm2: number) =>
      done(nt('SetHighAccuracyTimeSynch', { Ta0: ta0, Tm1: tm1, Tm2: tm2 }));
    this.networkTime = {
      getLowAccuracyTimeSynch: getTa0,
      setHighAccuracyTimeSynch: setTime,
      syncClock: async (now = Date.now) => {
        const ta0 = await getTa0();
        // Tm1: when the console got Ta0; Tm2: when it sends the set (as in the WS-Man method).
        const tm1 = Math.floor(now() / 1000);
        const tm2 = Math.floor(now() / 1000);
        await setTime(ta0, tm1, tm2);
        return { ta0, tm1, tm2 };
      },
    };

    this.power = {
      enumeratePowerPackages: async () => (await sa('EnumeratePowerPackages')).PolicyGUID as string[],
      getActivePowerPackage: async () => (await sa('GetActivePowerPackage')).PolicyGUID as string,
      getPowerPackage: async (guid) =>
        (await sa('GetPowerPackage', { PolicyGUID: guid })).PolicyDescriptor as string,
      setActivePowerPackage: (guid) => done(sa('SetActivePowerPackage', { PolicyGUID: guid })),
    };

    this.generalInfo = {
      getCoreVersion: async () => (await gi('GetCoreVersion')).Version as string,
      getCodeVersions: async () => {
        const o = await gi('GetCodeVersions');
        return {
          biosVersion: o.BiosVersion as string,
          codeVersions: (o.CodeVersions as Out[]).map((c) => ({
            description: c.Description as string,
            version: c.Version as string,
          })),
        };
      },
      getProvisioningMode: async () => (await gi('GetProvisioningMode')).ProvisioningMode as number,
      getProvisioningState: async () => (await gi('GetProvisioningState')).ProvisioningState as number,
      getAdminAclEntryStatus: async () => (await gi('GetAdminAclEntryStatus')).IsDefault as boolean,
      getPasswordModel: async () => (await gi('GetPasswordModel')).PasswordModel as number,
    };

    this.remoteControl = {
      getSystemPowerState: async () => (await rc('GetSystemPowerState')).SystemPowerState as number,
      getRemoteControlCapabilities: async () => {
        const o = await rc('GetRemoteControlCapabilities');
        return {
          ianaOemNumber: o.IanaOemNumber as number,
          oemDefinedCapabilities: o.OemDefinedCapabilities as number,
          specialCommandsSupported: o.SpecialCommandsSupported as number,
          systemCapabilitiesSupported: o.SystemCapabilitiesSupported as number,
          systemFirmwareCapabilities: o.SystemFirmwareCapabilities as number,
        };
      },
      remoteControl: (r) =>
        done(
          rc(
            'RemoteControl',
            defined({
              Command: r.command,
              IanaOemNumber: r.ianaOemNumber ?? 343,
              SpecialCommand: r.specialCommand,
              SpecialCommandParameter: r.specialCommandParameter,
              BootOptions: r.bootOptions,
              OEMparameters: r.oemParameters,
            }),
          ),
        ),
    };
  }

  /**
   * Calls `service.method` with `params` (wire names, as in SOAP_SCHEMA) and returns the answer's
   * outputs (without StatusCode). Throws AmtSoapInputError before sending when params do not fit;
   * AmtSoapStatusError when StatusCode ≠ 0; AmtSoapFaultError, AmtSoapHttpError,
   * AmtSoapParseError, AmtSoapTooLargeError or AmtSoapTransportError otherwise.
   */
  async call(
    service: SoapServiceName,
    method: string,
    params: Record<string, unknown> = {},
    opts: SoapCallOptions = {},
  ): Promise<Record<string, unknown>> {
    const body = buildSoapRequest(service, method, params);
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#dispatcher.request({
        origin: this.#origin,
        path: SOAP_SCHEMA[service].path,
        method: 'POST',
        headers: {
          'content-type': 'text/xml; charset=utf-8',
          soapaction: `"${soapAction(service, method)}"`,
        },
        body,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (cause) {
      throw new AmtSoapTransportError(service, method, cause);
    }
    const bytes = await this.#readBody(res, service, method);
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    let out: Record<string, unknown> | undefined;
    let err: unknown;
    try {
      out = parseSoapResponse(bytes, service, method, res.statusCode);
    } catch (e) {
      err = e;
    }
    if (err instanceof AmtSoapFaultError) throw err;
    if (!ok) throw new AmtSoapHttpError(res.statusCode, err === undefined ? undefined : { cause: err });
    if (err !== undefined) throw err;
    return out as Record<string, unknown>;
  }

  async #readBody(res: Dispatcher.ResponseData, service: string, method: string): Promise<Uint8Array> {
    const max = this.#maxBodyBytes;
    const declared = Number(res.headers['content-length']);
    if (declared > max) {
      res.body.destroy();
      throw new AmtSoapTooLargeError(max);
    }
    const chunks: Buffer[] = [];
    let n = 0;
    try {
      for await (const chunk of res.body) {
        const c = chunk as Buffer;
        n += c.length;
        if (n > max) {
          res.body.destroy();
          throw new AmtSoapTooLargeError(max);
        }
        chunks.push(c);
      }
    } catch (cause) {
      if (cause instanceof AmtSoapTooLargeError) throw cause;
      throw new AmtSoapTransportError(service, method, cause);
    }
    return Buffer.concat(chunks, n);
  }
}
