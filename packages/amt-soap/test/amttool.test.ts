import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParsedSoapRequest } from '../src/index.js';
import { type Answer, startSoapServer } from './soap-server.js';

// Interop with a real third-party client: amtterm's amttool (Perl SOAP::Lite), if installed
// (Debian: amtterm + libsoap-lite-perl). It speaks to our server toolkit over loopback.
function hasAmttool(): boolean {
  try {
    execFileSync('perl', ['-MSOAP::Lite', '-e', '1'], { stdio: 'ignore' });
    execFileSync('sh', ['-c', 'command -v amttool'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function amttool(args: string[], stdin = ''): Promise<string> {
  const child = spawn('amttool', args, { env: { ...process.env, AMT_PASSWORD: 'unused' } });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stdin.end(stdin);
  const [code] = (await once(child, 'close')) as [number];
  if (code !== 0) throw new Error(`amttool exited ${code}: ${out}`);
  return out;
}

const IF_SETTINGS = {
  HardwareAddressDescription: 'Wired LAN',
  MACAddress: '00-15-5d-01-02-03',
  InterfaceMode: 'SHARED_MAC_ADDRESS',
  LinkPolicy: 31,
  DhcpEnabled: false,
  IPv4Parameters: {
    LocalAddress: 0xc0a80117, // 192.168.1.23
    SubnetMask: 0xffffff00,
    DefaultGatewayAddress: 0xc0a80101,
    PrimaryDnsAddress: 0xc0a80102,
    SecondaryDnsAddress: 0,
  },
};

function fakeAmt(req: ParsedSoapRequest): Answer {
  switch (`${req.service}.${req.method}`) {
    case 'SecurityAdministration.GetCoreVersion':
      return { output: { Version: '6.2.10' } };
    case 'NetworkAdministration.GetHostName':
      return { output: { HostName: 'pc-17' } };
    case 'NetworkAdministration.GetDomainName':
      return { output: { DomainName: 'corp.test' } };
    case 'RemoteControl.GetSystemPowerState':
      return { output: { SystemPowerState: 5 } };
    case 'RemoteControl.GetRemoteControlCapabilities':
      return {
        output: {
          IanaOemNumber: 343,
          OemDefinedCapabilities: 0x02,
          SpecialCommandsSupported: 0x0100,
          SystemCapabilitiesSupported: 0x04,
          SystemFirmwareCapabilities: 0xabc,
        },
      };
    case 'NetworkAdministration.EnumerateInterfaces':
      return { output: { InterfaceHandles: [0] } };
    case 'NetworkAdministration.GetInterfaceSettings':
      return req.params.InterfaceHandle === 0
        ? { output: { InterfaceDescriptor: IF_SETTINGS } }
        : { status: 0x805 };
    case 'NetworkAdministration.SetInterfaceSettings':
    case 'RemoteControl.RemoteControl':
      return { status: 0 };
    default:
      return { fault: { code: 'Client', string: 'not simulated' } };
  }
}

describe.skipIf(!hasAmttool())('amttool (SOAP::Lite) against the server toolkit', () => {
  let server: Awaited<ReturnType<typeof startSoapServer>>;
  let host: string;
  beforeAll(async () => {
    server = await startSoapServer(fakeAmt);
    host = `127.0.0.1:${server.port}`;
  });
  afterAll(() => server.close());

  it('info: every call parses, and amttool reads our answers by position', async () => {
    const out = await amttool([host, 'info']);
    expect(out).toContain('AMT version:  6.2.10');
    expect(out).toContain('Hostname:     pc-17.corp.test');
    expect(out).toContain('Powerstate:   S5 (soft-off)');
    expect(out).toMatch(/IanaOemNumber\s+157\n/); // printed in hex
    expect(out).toMatch(/OemDefinedCapabilities\s+SOL \n/);
    expect(out).toMatch(/SpecialCommandsSupported\s+PXE-boot \n/);
    expect(out).toMatch(/SystemCapabilitiesSupported\s+reset \n/);
    expect(out).toMatch(/SystemFirmwareCapabilities\s+abc\n/);
    expect(server.seen.map((s) => s.parsed?.method)).toEqual([
      'GetCoreVersion',
      'GetHostName',
      'GetDomainName',
      'GetSystemPowerState',
      'GetRemoteControlCapabilities',
    ]);
  });

  it('netinfo: repeated handles and a nested descriptor', async () => {
    const out = await amttool([host, 'netinfo']);
    expect(out).toContain('Network Interface 0:');
    expect(out).toMatch(/MACAddress\s+00-15-5d-01-02-03/);
    expect(out).toMatch(/LocalAddress\s+192\.168\.1\.23/);
    expect(out).toMatch(/SubnetMask\s+255\.255\.255\.0/);
    expect(out).toMatch(/DhcpEnabled\s+false/);
  });

  it('netconf and reset: requests with params parse to typed values', async () => {
    // amttool takes the first argument after the command as its own; hence the "-". Its
    // ipv4 parser multiplies the second octet by 256×246, so every second octet here is 0.
    await amttool([host, 'netconf', '-', '0', '31', '10.0.0.5', '0.0.0.0', '10.0.0.1']);
    expect(server.seen.at(-1)?.parsed?.params).toEqual({
      InterfaceHandle: 0,
      InterfaceDescriptor: {
        InterfaceMode: 'SEPARATE_MAC_ADDRESS',
        LinkPolicy: 31,
        IPv4Parameters: {
          LocalAddress: 0x0a000005,
          SubnetMask: 0,
          DefaultGatewayAddress: 0x0a000001,
          PrimaryDnsAddress: 0x0a000001,
          SecondaryDnsAddress: 0,
        },
      },
    });
    const out = await amttool([host, 'reset', 'pxe'], 'y\n');
    expect(out).toContain('result: pt_status: success');
    expect(server.seen.at(-1)?.parsed).toMatchObject({
      service: 'RemoteControl',
      method: 'RemoteControl',
      params: { Command: 16, IanaOemNumber: 343, SpecialCommand: 1 },
    });
  });
});
