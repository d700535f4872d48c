import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Personality, SimulatedDevice } from '../src/index.js';
import { ADMIN_PASSWORD, device, uri } from './helpers.js';

/**
 * Real AMT clients from Debian packages (`wsl`, `amtterm`'s amttool, curl). Missing binaries
 * fail the suite under CI=true and skip it otherwise.
 */
function has(bin: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, bin)));
}
const CI = process.env.CI === 'true';
const tools = { wsl: has('wsl') && has('uuidgen'), amttool: has('amttool'), curl: has('curl') };
for (const [name, present] of Object.entries(tools)) {
  if (!present && !CI) {
    console.warn(
      `interop: ${name} is not installed; skipping its tests (Debian: wsl uuid-runtime / amtterm / curl)`,
    );
  }
}

const home = mkdtempSync(join(tmpdir(), 'amt-sim-interop-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd: home, env: { PATH: process.env.PATH ?? '', HOME: home, LANG: 'C', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

function provisioned(personality: Personality): Promise<SimulatedDevice> {
  return device({
    personality,
    provisioned: true,
    adminPassword: ADMIN_PASSWORD,
    seed: { hostName: 'interop-pc', domainName: 'example.test' },
  });
}

function wsl(d: SimulatedDevice, args: string[], extra: Record<string, string> = {}) {
  return run('wsl', args, {
    WSENDPOINT: `${d.address}:${d.ports.http}`,
    WSUSER: 'admin',
    WSPASS: ADMIN_PASSWORD,
    USEWGET: 'true',
    WSNOSSL: 'true',
    WSAUTOMATED: '1',
    KEEPHISTORY: '0',
    OUTPREFIX: home,
    RTFILEPREFIX: d.address,
    ...extra,
  });
}

describe.each(['modern', 'legacy'] as const)('wsl against a %s device', (personality) => {
  it.runIf(tools.wsl || CI)('identify, get and enum with digest auth', async () => {
    expect(tools.wsl).toBe(true);
    const d = await provisioned(personality);
    const id = await wsl(d, ['identify', 'check']);
    expect(id.stdout).toContain('Intel Corporation');

    const get = await wsl(d, [
      'get',
      uri('AMT_GeneralSettings'),
      'InstanceID=Intel(r) AMT: General Settings',
    ]);
    expect(get.code).toBe(0);
    expect(get.stdout).toContain(d.realm);
    expect(get.stdout).toContain('interop-pc');

    const en = await wsl(d, ['enum', uri('AMT_SystemPowerScheme')]);
    for (const s of d.state().power.schemes) expect(en.stdout).toContain(s.description);

    // HTTPS on 16993 (wget without certificate checks, as the device certificate is self-signed).
    const tls = await wsl(d, ['get', uri('AMT_GeneralSettings')], {
      WSENDPOINT: `${d.address}:${d.ports.tls}`,
      WSNOSSL: '',
    });
    expect(tls.stdout).toContain(d.realm);
    expect(d.events().some((e) => e.type === 'tls' && e.ok)).toBe(true);

    const wrong = await wsl(d, ['get', uri('AMT_GeneralSettings')], { WSPASS: 'Wr0ng!pass' });
    expect(wrong.stdout).not.toContain(d.realm);
    expect(d.events().some((e) => e.type === 'auth' && !e.ok && e.reason === 'wrong-response')).toBe(true);
  });
});

describe('amttool (legacy SOAP)', () => {
  it.runIf(tools.amttool || CI)('reads version, host name, power state and capabilities', async () => {
    expect(tools.amttool).toBe(true);
    const d = await provisioned('legacy');
    const info = await run('amttool', [d.address, 'info'], { AMT_PASSWORD: ADMIN_PASSWORD });
    expect(info.stdout).toContain('AMT version:  5.2.10');
    expect(info.stdout).toContain('Hostname:     interop-pc.example.test');
    expect(info.stdout).toContain('Powerstate:   S0');
    expect(info.stdout).toContain('SOL');
    expect(
      d
        .events()
        .filter((e) => e.type === 'request')
        .map((e) => (e.type === 'request' ? e.name : '')),
    ).toContain('RemoteControl.GetRemoteControlCapabilities');
  });

  it.runIf(tools.amttool || CI)('is refused with a wrong password', async () => {
    expect(tools.amttool).toBe(true);
    const d = await provisioned('legacy');
    const info = await run('amttool', [d.address, 'info'], { AMT_PASSWORD: 'Wr0ng!pass' });
    expect(info.stdout).not.toContain('AMT version:  5.2.10');
    expect(d.events().some((e) => e.type === 'request')).toBe(false);
  });
});

describe('curl --digest', () => {
  it.runIf(tools.curl || CI)('posts a WS-Man Get with digest', async () => {
    expect(tools.curl).toBe(true);
    const d = await provisioned('modern');
    const body = `<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</a:Action><a:To>/wsman</a:To><w:ResourceURI>${uri('AMT_GeneralSettings')}</w:ResourceURI><a:MessageID>uuid:00000000-0000-0000-0000-000000000001</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><w:OperationTimeout>PT60S</w:OperationTimeout></s:Header><s:Body/></s:Envelope>`;
    const args = (pw: string) => [
      '-s',
      '-o',
      '-',
      '-w',
      '\n%{http_code}',
      '--digest',
      '-u',
      `admin:${pw}`,
      '-H',
      'Content-Type: application/soap+xml;charset=UTF-8',
      '--data-binary',
      body,
      `http://${d.address}:${d.ports.http}/wsman`,
    ];
    const ok = await run('curl', args(ADMIN_PASSWORD));
    expect(ok.stdout).toContain(d.realm);
    expect(ok.stdout.trim().endsWith('200')).toBe(true);
    const refused = await run('curl', args('Wr0ng!pass'));
    expect(refused.stdout.trim().endsWith('401')).toBe(true);
  });
});
