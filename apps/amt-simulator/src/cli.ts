#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { scaledClock } from '@oobkit/hello';
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { deviceAddress } from './address.js';
import { type DeviceOptions, type SimulatedDevice, startDevice } from './device.js';
import { startFleet } from './fleet.js';
import type { HashAlgorithm, Personality, TrustedHash } from './personality.js';

interface CommonFlags {
  personality: string;
  firmware?: string;
  dnsSuffix?: string;
  customHash: string[];
  mebxPassword?: string;
  adminPassword?: string;
  provisioned?: boolean;
  wireless?: boolean;
  helloTarget?: string;
  helloKind?: 'pki' | 'psk';
  helloScale?: number;
  json?: boolean;
  log?: boolean;
}

const EVENT_TYPES = ['tls', 'auth', 'request', 'fault', 'hello', 'state', 'power'] as const;

/** Device events as JSON lines on stderr (they carry no secret; the redaction is a second net). */
function logEvents(devices: SimulatedDevice[]): void {
  const log = pino(
    { base: undefined, redact: ['password', 'otp', 'masterKey', 'pskPassPhrase'] },
    pino.destination({ dest: 2, sync: true }),
  );
  for (const d of devices) {
    for (const type of EVENT_TYPES) {
      d.on(type, (e: object) => log.info({ device: d.address, ...e }, type));
    }
  }
}

function integer(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function parseHash(spec: string): TrustedHash {
  const m = /^(sha1|sha256|sha384):([0-9a-fA-F:]+)$/.exec(spec);
  if (!m) throw new InvalidArgumentError(`--custom-hash expects <sha1|sha256|sha384>:<hex>, got "${spec}"`);
  return {
    algorithm: m[1] as HashAlgorithm,
    hash: new Uint8Array(Buffer.from(m[2]!.replace(/:/g, ''), 'hex')),
  };
}

function parseTarget(spec: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(spec);
  if (!m) throw new InvalidArgumentError(`--hello-target expects host:port, got "${spec}"`);
  return { host: m[1]!, port: Number(m[2]) };
}

function deviceOptions(f: CommonFlags): Omit<DeviceOptions, 'index' | 'address' | 'uuid' | 'personality'> {
  const hello = f.helloTarget
    ? {
        ...parseTarget(f.helloTarget),
        ...(f.helloKind ? { kind: f.helloKind } : {}),
        ...(f.helloScale ? { clock: scaledClock(f.helloScale) } : {}),
      }
    : undefined;
  return {
    ...(f.firmware ? { firmwareVersion: f.firmware } : {}),
    ...(f.dnsSuffix ? { dnsSuffix: f.dnsSuffix } : {}),
    ...(f.customHash.length ? { customTrustedHashes: f.customHash.map(parseHash) } : {}),
    ...(f.mebxPassword ? { mebxPassword: f.mebxPassword } : {}),
    ...(f.adminPassword ? { adminPassword: f.adminPassword } : {}),
    ...(f.provisioned ? { provisioned: true } : {}),
    ...(f.wireless ? { wireless: true } : {}),
    ...(hello ? { hello } : {}),
  };
}

function personalities(spec: string): Personality[] {
  if (spec === 'mixed') return ['modern', 'legacy'];
  if (spec === 'legacy' || spec === 'modern') return [spec];
  throw new InvalidArgumentError('--personality is legacy, modern or mixed');
}

/** The open-files soft limit (Linux), to explain EMFILE before it happens. */
function openFileLimit(): number | undefined {
  try {
    const m = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function print(devices: SimulatedDevice[], json: boolean | undefined): void {
  for (const d of devices) {
    if (json) {
      const s = d.state();
      console.log(
        JSON.stringify({
          address: d.address,
          uuid: d.uuid,
          personality: d.personality,
          firmwareVersion: d.firmwareVersion,
          ports: d.ports,
          realm: d.realm,
          provisioningState: s.provisioningState,
        }),
      );
    } else {
      console.log(`${d.address}\t${d.uuid}\t${d.personality}\t${d.firmwareVersion}`);
    }
  }
}

function untilSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.error(`amt-sim: ${sig}, stopping`);
    void stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`amt-sim: stop failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function withCommon(cmd: Command): Command {
  return cmd
    .option('-p, --personality <p>', 'legacy, modern or mixed', 'modern')
    .option('--firmware <version>', 'firmware version, e.g. 5.2.10 or 16.1.25')
    .option('--dns-suffix <suffix>', 'DHCP option 15 / MEBx DNS suffix')
    .option('--custom-hash <alg:hex>', 'a trusted root hash added in MEBx (repeatable)', collect, [])
    .option('--mebx-password <pw>', 'MEBx password (default: factory "admin")')
    .option('--admin-password <pw>', 'a known admin password')
    .option('--provisioned', 'start in post-provisioning (needs --admin-password)')
    .option('--wireless', 'give the device a Wi-Fi port')
    .option('--hello-target <host:port>', 'send hellos to this provisioning server')
    .option('--hello-kind <kind>', 'pki or psk (psk: legacy only)')
    .option(
      '--hello-scale <factor>',
      'run the hello schedule this many times faster',
      integer('--hello-scale'),
    )
    .option('--json', 'print one JSON object per device')
    .option('--log', 'log device events (TLS verdicts, logins, calls, faults, hellos) as JSON on stderr');
}

const program = new Command('amt-sim').description('Simulated Intel AMT machines and fleets');

withCommon(
  program
    .command('fleet')
    .description('start N devices on 127.16.x.y (16992/16993 each); Ctrl-C stops them')
    .requiredOption('-c, --count <n>', 'number of devices', integer('--count'))
    .option('--base-index <n>', 'device i listens on deviceAddress(base + i)', integer('--base-index')),
).action(async (f: CommonFlags & { count: number; baseIndex?: number }) => {
  const limit = openFileLimit();
  if (limit !== undefined && limit < f.count * 2 + 64) {
    console.error(
      `amt-sim: ${f.count} devices need about ${f.count * 2 + 64} open files; raise it with: ulimit -n ${f.count * 3 + 256}`,
    );
    process.exit(2);
  }
  const list = personalities(f.personality);
  const fleet = await startFleet({
    count: f.count,
    personalities: list,
    ...(f.baseIndex === undefined ? {} : { baseIndex: f.baseIndex }),
    common: deviceOptions(f),
  });
  print(fleet.devices, f.json);
  if (f.log) logEvents(fleet.devices);
  console.error(`amt-sim: ${fleet.devices.length} devices running; Ctrl-C to stop`);
  untilSignal(() => fleet.stop());
});

withCommon(
  program
    .command('device')
    .description('start one device; Ctrl-C stops it')
    .option('--index <n>', 'listen on deviceAddress(n)', integer('--index'))
    .option('--address <a>', 'listen on this 127.x.y.z address')
    .option('--uuid <uuid>', 'device UUID (default random)')
    .option('--http-port <port>', 'HTTP port (default 16992)', integer('--http-port'))
    .option('--tls-port <port>', 'TLS port (default 16993)', integer('--tls-port')),
).action(
  async (
    f: CommonFlags & { index?: number; address?: string; uuid?: string; httpPort?: number; tlsPort?: number },
  ) => {
    const [personality] = personalities(f.personality);
    const device = await startDevice({
      ...deviceOptions(f),
      ...(personality ? { personality } : {}),
      ...(f.index === undefined ? {} : { index: f.index }),
      ...(f.address === undefined ? {} : { address: f.address }),
      ...(f.uuid === undefined ? {} : { uuid: f.uuid }),
      ports: { ...(f.httpPort ? { http: f.httpPort } : {}), ...(f.tlsPort ? { tls: f.tlsPort } : {}) },
    });
    print([device], f.json);
    if (f.log) logEvents([device]);
    untilSignal(() => device.stop());
  },
);

program
  .command('addresses')
  .description('print the loopback address of each of the first N simulated devices')
  .option('-c, --count <n>', 'number of devices', integer('--count'), 4)
  .option('--base-index <n>', 'first index', integer('--base-index'), 0)
  .action((opts: { count: number; baseIndex: number }) => {
    for (let i = 0; i < opts.count; i++) console.log(deviceAddress(opts.baseIndex + i));
  });

try {
  await program.parseAsync();
} catch (err) {
  console.error(`amt-sim: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
