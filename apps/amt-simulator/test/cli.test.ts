import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createHelloListener } from '@oobkit/hello';
import { digestInterceptor } from '@oobkit/http-digest';
import { WsmanClient } from '@oobkit/wsman';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, uri } from './helpers.js';

const APP = fileURLToPath(new URL('..', import.meta.url));

function amtSim(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: APP,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, lines, exited, stderr: () => stderr };
}

describe('amt-sim CLI', () => {
  it('fleet: prints every device, serves them, and stops cleanly on SIGINT', {
    timeout: 60_000,
  }, async () => {
    const listener = createHelloListener({ host: '127.0.0.1', port: 0, rateLimit: false });
    const { port } = await listener.listen();
    const hello = new Promise((resolve) => listener.once('hello', resolve));
    const sim = amtSim([
      'fleet',
      '--count',
      '3',
      '--personality',
      'mixed',
      '--dns-suffix',
      'example.test',
      '--hello-target',
      `127.0.0.1:${port}`,
      '--json',
    ]);
    const devices: Array<{ address: string; uuid: string; personality: string; ports: { http: number } }> =
      [];
    for (let i = 0; i < 3; i++) {
      const next = await sim.lines.next();
      devices.push(JSON.parse(String(next.value)));
    }
    expect(devices.map((d) => d.personality)).toEqual(['modern', 'legacy', 'modern']);
    for (const d of devices) expect(d.address).toMatch(/^127\.\d+\.\d+\.\d+$/);
    expect(new Set(devices.map((d) => d.uuid)).size).toBe(3);
    const got = (await hello) as { hello: { uuid: string } };
    expect(devices.map((d) => d.uuid)).toContain(got.hello.uuid);
    sim.child.kill('SIGINT');
    expect(await sim.exited).toBe(0);
    expect(sim.stderr()).toContain('SIGINT');
    await listener.close({ drainTimeoutMs: 100 });
  });

  it('device: one provisioned device answering WS-Man', { timeout: 60_000 }, async () => {
    const sim = amtSim([
      'device',
      '--provisioned',
      '--admin-password',
      ADMIN_PASSWORD,
      '--personality',
      'legacy',
      '--log',
    ]);
    const line = String((await sim.lines.next()).value);
    const [address, uuid, personality, version] = line.split('\t');
    expect(personality).toBe('legacy');
    expect(version).toBe('5.2.10');
    const agent = new Agent();
    const c = new WsmanClient({
      dispatcher: agent.compose(
        digestInterceptor({ credentials: { username: 'admin', password: ADMIN_PASSWORD } }),
      ),
      origin: `http://${address}:16992`,
    });
    const pkg = await c.get(uri('CIM_ComputerSystemPackage'));
    expect(pkg.PlatformGUID).toBe(uuid?.replace(/-/g, '').toUpperCase());
    await agent.close();
    sim.child.kill('SIGTERM');
    expect(await sim.exited).toBe(0);
    const logged = sim
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; name?: string; device: string });
    expect(logged.find((l) => l.msg === 'request')).toMatchObject({
      name: 'CIM_ComputerSystemPackage.Get',
      device: address,
    });
    expect(sim.stderr()).not.toContain(ADMIN_PASSWORD);
  });

  it('refuses bad options with a message', { timeout: 60_000 }, async () => {
    const sim = amtSim(['fleet', '--count', '2', '--personality', 'ancient']);
    expect(await sim.exited).not.toBe(0);
    expect(sim.stderr()).toContain('legacy, modern or mixed');
  });
});
