import { once } from 'node:events';
import { createServer } from 'node:net';
import fc from 'fast-check';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AmtSoapFaultError,
  AmtSoapHttpError,
  AmtSoapInputError,
  AmtSoapParseError,
  AmtSoapStatusError,
  AmtSoapTooLargeError,
  AmtSoapTransportError,
  type ParsedSoapRequest,
  PT_STATUS,
  SOAP_SCHEMA,
  SoapClient,
  type SoapServiceName,
} from '../src/index.js';
import { recordOf } from './arbitraries.js';
import { type Answer, startSoapServer } from './soap-server.js';

let answer: (req: ParsedSoapRequest) => Answer = () => ({ status: 0 });
let server: Awaited<ReturnType<typeof startSoapServer>>;
const agent = new Agent({ connections: 4 });
let client: SoapClient;

beforeAll(async () => {
  server = await startSoapServer((req) => answer(req));
  client = new SoapClient({ dispatcher: agent, origin: server.origin });
});

afterAll(async () => {
  await agent.close();
  await server.close();
});

function lastSeen() {
  const s = server.seen.at(-1);
  if (s === undefined) throw new Error('no request reached the server');
  return s;
}

describe('SoapClient ↔ server toolkit over loopback', () => {
  const methods = Object.entries(SOAP_SCHEMA).flatMap(([service, svc]) =>
    Object.entries(svc.methods).map(([method, shape]) => ({
      service: service as SoapServiceName,
      method,
      shape,
    })),
  );

  it.each(methods.map((m) => [`${m.service}.${m.method}`, m] as const))('%s round-trips', async (_n, m) => {
    const [params] = fc.sample(recordOf(m.shape.input), { numRuns: 1, seed: 7 });
    const [output] = fc.sample(recordOf(m.shape.output), { numRuns: 1, seed: 11 });
    answer = (req) => (req.method === m.method ? { output } : { status: 0x24 });
    const got = await client.call(m.service, m.method, params);
    expect(got).toEqual(output);
    const seen = lastSeen();
    expect(seen.parsed).toEqual({
      service: m.service,
      method: m.method,
      params,
      namespace: SOAP_SCHEMA[m.service].namespace,
    });
    expect(seen.path).toBe(`/${m.service}Service`);
    expect(seen.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(seen.headers.soapaction).toBe(`"${SOAP_SCHEMA[m.service].namespace}#${m.method}"`);
  });

  it('maps each PT_STATUS code to an AmtSoapStatusError carrying its name', async () => {
    for (const [code, name] of Object.entries(PT_STATUS)) {
      const n = Number(code);
      if (n === 0) continue;
      answer = () => ({ status: n });
      const e = await client.networkAdministration.setHostName('pc').catch((x: unknown) => x);
      expect(e, name).toBeInstanceOf(AmtSoapStatusError);
      expect(e).toMatchObject({
        code: 'SOAP_STATUS',
        statusCode: n,
        statusName: name,
        service: 'NetworkAdministration',
      });
    }
    answer = () => ({ status: 0x4242 });
    await expect(client.securityAdministration.commitChanges()).rejects.toMatchObject({
      statusName: 'UNKNOWN',
    });
  });

  it('escapes every value on the wire and reads it back exactly', async () => {
    const name = `a&b<c>d"e'f]]>g\r\nh`;
    let stored = '';
    answer = (req) => {
      if (req.method === 'SetHostName') stored = req.params.HostName as string;
      return req.method === 'GetHostName' ? { output: { HostName: stored } } : { status: 0 };
    };
    await client.networkAdministration.setHostName(name);
    expect(lastSeen().body).toContain('<HostName>a&amp;b&lt;c&gt;d&quot;e&apos;f]]&gt;g&#13;\nh</HostName>');
    expect(lastSeen().parsed?.params.HostName).toBe(name);
    expect(await client.networkAdministration.getHostName()).toBe(name);
  });

  it('sends nothing when params do not fit the schema', async () => {
    const before = server.seen.length;
    await expect(client.call('NetworkAdministration', 'SetHostName', { HostName: 1 })).rejects.toBeInstanceOf(
      AmtSoapInputError,
    );
    await expect(client.call('NetworkAdministration', 'Reboot')).rejects.toMatchObject({
      code: 'SOAP_UNKNOWN_METHOD',
    });
    await expect(client.securityAdministration.setMEBxPassword('Secr3t!\u0000')).rejects.toSatisfy(
      (e: unknown) => e instanceof AmtSoapInputError && !e.message.includes('Secr3t'),
    );
    expect(server.seen.length).toBe(before);
  });

  it('types SOAP faults, bare HTTP errors, broken answers and oversized bodies', async () => {
    answer = () => ({ fault: { code: 'Client', string: 'no such thing', detail: 'd' } });
    await expect(client.generalInfo.getCoreVersion()).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof AmtSoapFaultError && e.httpStatus === 500 && e.faultString === 'no such thing',
    );
    answer = () => ({ raw: '<html>Unauthorized</html>', httpStatus: 401 });
    await expect(client.generalInfo.getCoreVersion()).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof AmtSoapHttpError && e.status === 401 && e.cause instanceof AmtSoapParseError,
    );
    answer = () => ({
      raw: '<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>',
    });
    await expect(client.generalInfo.getCoreVersion()).rejects.toMatchObject({
      code: 'SOAP_PARSE',
      reason: 'xml',
    });
    answer = () => ({ output: { Version: 'x'.repeat(5000) } });
    const small = new SoapClient({ dispatcher: agent, origin: server.origin, maxBodyBytes: 1024 });
    await expect(small.generalInfo.getCoreVersion()).rejects.toBeInstanceOf(AmtSoapTooLargeError);
    expect(await client.generalInfo.getCoreVersion()).toHaveLength(5000);
  });

  it('wraps dispatcher failures, keeping the cause', async () => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as { port: number };
    probe.close();
    await once(probe, 'close');
    const dead = new SoapClient({ dispatcher: agent, origin: new URL(`http://127.0.0.1:${port}`) });
    const e = await dead.networkAdministration.getHostName().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AmtSoapTransportError);
    expect((e as Error).cause).toBeInstanceOf(Error);
    const ac = new AbortController();
    ac.abort();
    await expect(
      client.call('NetworkAdministration', 'GetHostName', {}, { signal: ac.signal }),
    ).rejects.toBeInstanceOf(AmtSoapTransportError);
  });
});

describe('typed services', () => {
  const ipv4 = {
    localAddress: 0x0a000005,
    subnetMask: 0xffffff00,
    defaultGatewayAddress: 0x0a000001,
    primaryDnsAddress: 0x0a000001,
    secondaryDnsAddress: 0,
  };
  const ipv4Wire = {
    LocalAddress: 0x0a000005,
    SubnetMask: 0xffffff00,
    DefaultGatewayAddress: 0x0a000001,
    PrimaryDnsAddress: 0x0a000001,
    SecondaryDnsAddress: 0,
  };
  const der = new Uint8Array([0x30, 0x82, 0x01, 0x0a]);
  type Case = [
    string,
    () => Promise<unknown>,
    string,
    Record<string, unknown>,
    Record<string, unknown>,
    unknown,
  ];
  const cases: Case[] = [
    [
      'getCoreVersion',
      () => client.securityAdministration.getCoreVersion(),
      'GetCoreVersion',
      {},
      { Version: '5.2.1' },
      '5.2.1',
    ],
    [
      'getDigestRealm',
      () => client.securityAdministration.getDigestRealm(),
      'GetDigestRealm',
      {},
      { DigestRealm: 'Digest:A4' },
      'Digest:A4',
    ],
    [
      'generateKeyPair',
      () => client.securityAdministration.generateKeyPair(),
      'GenerateKeyPair',
      { KeyAlgorithm: 0, KeyLength: 2048 },
      { KeyPair: 3 },
      3,
    ],
    [
      'setTlsKeyAndCertificate',
      () => client.securityAdministration.setTlsKeyAndCertificate(der, [der, 'AAAA']),
      'SetTLSKeyAndCertificate',
      { PrivateKey: 'MIIBCg==', CertificateChain: ['MIIBCg==', 'AAAA'] },
      {},
      undefined,
    ],
    [
      'setTlsCertificate',
      () => client.securityAdministration.setTlsCertificate([der]),
      'SetTLSCertificate',
      { CertificateChain: ['MIIBCg=='] },
      {},
      undefined,
    ],
    [
      'setTlsEnabled',
      () => client.securityAdministration.setTlsEnabled(true),
      'SetTlsEnabled',
      { Enabled: true },
      {},
      undefined,
    ],
    [
      'setAdminAclEntryEx',
      () => client.securityAdministration.setAdminAclEntryEx('admin', 'AAECAwQFBgcICQoLDA0ODw=='),
      'SetAdminAclEntryEx',
      { Username: 'admin', DigestPassword: 'AAECAwQFBgcICQoLDA0ODw==' },
      {},
      undefined,
    ],
    [
      'addUserAclEntryEx',
      () =>
        client.securityAdministration.addUserAclEntryEx({
          digestUsername: 'ops',
          digestPassword: 'AAAA',
          accessPermission: 2,
          realms: [3, 5],
        }),
      'AddUserAclEntryEx',
      { DigestUsername: 'ops', DigestPassword: 'AAAA', AccessPermission: 2, Realms: [3, 5] },
      { Handle: 9 },
      9,
    ],
    [
      'enumerateUserAclEntries',
      () => client.securityAdministration.enumerateUserAclEntries(),
      'EnumerateUserAclEntries',
      { StartIndex: 1 },
      { TotalCount: 2, HandlesCount: 2, Handles: [4, 9] },
      { totalCount: 2, handlesCount: 2, handles: [4, 9] },
    ],
    [
      'removeUserAclEntry',
      () => client.securityAdministration.removeUserAclEntry(9),
      'RemoveUserAclEntry',
      { Handle: 9 },
      {},
      undefined,
    ],
    [
      'setProvisioningMode',
      () => client.securityAdministration.setProvisioningMode(1),
      'SetProvisioningMode',
      { ProvisioningMode: 1 },
      {},
      undefined,
    ],
    [
      'commitChanges',
      () => client.securityAdministration.commitChanges(),
      'CommitChanges',
      {},
      {},
      undefined,
    ],
    [
      'unprovision',
      () => client.securityAdministration.unprovision(0),
      'Unprovision',
      { ProvisioningMode: 0 },
      {},
      undefined,
    ],
    [
      'setMEBxPassword',
      () => client.securityAdministration.setMEBxPassword('P@ssw0rd!'),
      'SetMEBxPassword',
      { Password: 'P@ssw0rd!' },
      {},
      undefined,
    ],
    [
      'getHostName',
      () => client.networkAdministration.getHostName(),
      'GetHostName',
      {},
      { HostName: 'pc1' },
      'pc1',
    ],
    [
      'setHostName',
      () => client.networkAdministration.setHostName('pc1'),
      'SetHostName',
      { HostName: 'pc1' },
      {},
      undefined,
    ],
    [
      'getDomainName',
      () => client.networkAdministration.getDomainName(),
      'GetDomainName',
      {},
      { DomainName: 'corp.test' },
      'corp.test',
    ],
    [
      'setDomainName',
      () => client.networkAdministration.setDomainName('corp.test'),
      'SetDomainName',
      { DomainName: 'corp.test' },
      {},
      undefined,
    ],
    [
      'enumerateInterfaces',
      () => client.networkAdministration.enumerateInterfaces(),
      'EnumerateInterfaces',
      {},
      { InterfaceHandles: [0, 1] },
      [0, 1],
    ],
    [
      'getInterfaceSettings',
      () => client.networkAdministration.getInterfaceSettings(1),
      'GetInterfaceSettings',
      { InterfaceHandle: 1 },
      {
        InterfaceDescriptor: {
          HardwareAddressDescription: 'Wired',
          MACAddress: '00-11-22-33-44-55',
          InterfaceMode: 'SHARED_MAC_ADDRESS',
          LinkPolicy: 31,
          DhcpEnabled: false,
          IPv4Parameters: ipv4Wire,
        },
      },
      {
        hardwareAddressDescription: 'Wired',
        macAddress: '00-11-22-33-44-55',
        interfaceMode: 'SHARED_MAC_ADDRESS',
        linkPolicy: 31,
        dhcpEnabled: false,
        ipv4,
      },
    ],
    [
      'setInterfaceSettings',
      () =>
        client.networkAdministration.setInterfaceSettings(0, {
          interfaceMode: 'SEPARATE_MAC_ADDRESS',
          linkPolicy: 31,
          ipv4,
        }),
      'SetInterfaceSettings',
      {
        InterfaceHandle: 0,
        InterfaceDescriptor: {
          InterfaceMode: 'SEPARATE_MAC_ADDRESS',
          LinkPolicy: 31,
          IPv4Parameters: ipv4Wire,
        },
      },
      {},
      undefined,
    ],
    [
      'getLowAccuracyTimeSynch',
      () => client.networkTime.getLowAccuracyTimeSynch(),
      'GetLowAccuracyTimeSynch',
      {},
      { Ta0: 1_700_000_000 },
      1_700_000_000,
    ],
    [
      'setHighAccuracyTimeSynch',
      () => client.networkTime.setHighAccuracyTimeSynch(1, 2, 3),
      'SetHighAccuracyTimeSynch',
      { Ta0: 1, Tm1: 2, Tm2: 3 },
      {},
      undefined,
    ],
    [
      'enumeratePowerPackages',
      () => client.power.enumeratePowerPackages(),
      'EnumeratePowerPackages',
      {},
      { PolicyGUID: ['AAAA', 'AQID'] },
      ['AAAA', 'AQID'],
    ],
    [
      'getActivePowerPackage',
      () => client.power.getActivePowerPackage(),
      'GetActivePowerPackage',
      {},
      { PolicyGUID: 'AQID' },
      'AQID',
    ],
    [
      'getPowerPackage',
      () => client.power.getPowerPackage('AQID'),
      'GetPowerPackage',
      { PolicyGUID: 'AQID' },
      { PolicyDescriptor: 'Desktop: ON in S0' },
      'Desktop: ON in S0',
    ],
    [
      'setActivePowerPackage',
      () => client.power.setActivePowerPackage(new Uint8Array([1, 2, 3])),
      'SetActivePowerPackage',
      { PolicyGUID: 'AQID' },
      {},
      undefined,
    ],
    [
      'generalInfo.getCoreVersion',
      () => client.generalInfo.getCoreVersion(),
      'GetCoreVersion',
      {},
      { Version: '3.2.1' },
      '3.2.1',
    ],
    [
      'getCodeVersions',
      () => client.generalInfo.getCodeVersions(),
      'GetCodeVersions',
      {},
      { BiosVersion: 'B1', CodeVersions: [{ Description: 'AMT', Version: '6.0.0' }] },
      { biosVersion: 'B1', codeVersions: [{ description: 'AMT', version: '6.0.0' }] },
    ],
    [
      'getProvisioningMode',
      () => client.generalInfo.getProvisioningMode(),
      'GetProvisioningMode',
      {},
      { ProvisioningMode: 1 },
      1,
    ],
    [
      'getProvisioningState',
      () => client.generalInfo.getProvisioningState(),
      'GetProvisioningState',
      {},
      { ProvisioningState: 2 },
      2,
    ],
    [
      'getAdminAclEntryStatus',
      () => client.generalInfo.getAdminAclEntryStatus(),
      'GetAdminAclEntryStatus',
      {},
      { IsDefault: true },
      true,
    ],
    [
      'getPasswordModel',
      () => client.generalInfo.getPasswordModel(),
      'GetPasswordModel',
      {},
      { PasswordModel: 1 },
      1,
    ],
    [
      'getSystemPowerState',
      () => client.remoteControl.getSystemPowerState(),
      'GetSystemPowerState',
      {},
      { SystemPowerState: 5 },
      5,
    ],
    [
      'getRemoteControlCapabilities',
      () => client.remoteControl.getRemoteControlCapabilities(),
      'GetRemoteControlCapabilities',
      {},
      {
        IanaOemNumber: 343,
        OemDefinedCapabilities: 3,
        SpecialCommandsSupported: 7936,
        SystemCapabilitiesSupported: 15,
        SystemFirmwareCapabilities: 0,
      },
      {
        ianaOemNumber: 343,
        oemDefinedCapabilities: 3,
        specialCommandsSupported: 7936,
        systemCapabilitiesSupported: 15,
        systemFirmwareCapabilities: 0,
      },
    ],
    [
      'remoteControl',
      () => client.remoteControl.remoteControl({ command: 16, specialCommand: 1 }),
      'RemoteControl',
      { Command: 16, IanaOemNumber: 343, SpecialCommand: 1 },
      {},
      undefined,
    ],
  ];

  it.each(cases)(
    '%s sends the wire call and maps the answer',
    async (_name, invoke, method, params, output, expected) => {
      answer = (req) => (req.method === method ? { output } : { status: 0x24 });
      expect(await invoke()).toEqual(expected);
      expect(lastSeen().parsed).toMatchObject({ method, params });
    },
  );

  it('syncClock reads Ta0 and sets the clock from the given time source', async () => {
    const times = [1_700_000_123_400, 1_700_000_124_900];
    answer = (req) =>
      req.method === 'GetLowAccuracyTimeSynch' ? { output: { Ta0: 1_600_000_000 } } : { status: 0 };
    const r = await client.networkTime.syncClock(() => times.shift() ?? 0);
    expect(r).toEqual({ ta0: 1_600_000_000, tm1: 1_700_000_123, tm2: 1_700_000_124 });
    expect(lastSeen().parsed?.params).toEqual({ Ta0: 1_600_000_000, Tm1: 1_700_000_123, Tm2: 1_700_000_124 });
  });
});
