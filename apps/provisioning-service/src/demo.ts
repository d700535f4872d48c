import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Fleet, type Personality, startFleet } from '@oobkit/amt-simulator';
import { scaledClock } from '@oobkit/hello';
import { generateAmtPassword } from '@oobkit/http-digest';
import { createTestPki, type TestPki } from '@oobkit/provisioning-cert';
import { resolveConfig } from './config.js';
import { DEMO_LIMITS } from './demo-limits.js';
import type { JobFinished } from './flow/pool.js';
import { verifyDeviceLogin } from './flow/verify.js';
import { createLogger } from './log.js';
import { hostPort } from './net.js';
import { type RunningService, startService } from './service.js';
import { ConfigError } from './store/errors.js';
import { maskDatabaseUrl } from './store/location.js';
import type { ProvisioningSettings, StoredProvisioningCertificate } from './store/types.js';

export interface DemoOptions {
  /** Fleet size (default 50): a third legacy (AMT 5–8, SOAP), the rest modern (AMT 11–16). */
  devices?: number;
  /** Keep the data (SQLite, key file, CA) here; default: a temporary folder removed at the end. */
  dataDir?: string;
  /** Print the summary as one JSON line instead of text. */
  json?: boolean;
  /** Where lines go (default stdout). */
  out?: (line: string) => void;
  /** One updating progress line (default: when stdout is a terminal and not `json`). */
  tty?: boolean;
  /** Hello clock compression (default 600: a minute of AMT's hello schedule takes 100 ms). */
  helloSpeedup?: number;
  /** Give up after this long (default 5 minutes). */
  timeoutMs?: number;
  /** Service log level (default silent: the demo prints its own progress). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /**
   * Service instances sharing the site store (default 1, at most 8): each opens the store itself
   * and runs its own workers and hello listener, as instances on several hosts would; machine i
   * says hello to instance i mod n.
   */
  instances?: number;
  /**
   * A PostgreSQL site store (an empty database) instead of SQLite in the data folder: the
   * scale-out set-up, tried out on a simulated fleet.
   */
  databaseUrl?: string;
  /**
   * Stops the demo early (the CLI's Ctrl-C): it rejects with the signal's reason after stopping
   * the fleet and the services and removing its temporary folder (with its key file).
   */
  signal?: AbortSignal;
}

export interface DemoSummary {
  total: number;
  provisioned: number;
  failed: number;
  /** Devices whose stored admin password opened them in a fresh digest login. */
  verified: number;
  seconds: number;
  ok: boolean;
  byPersonality: Record<Personality, { total: number; provisioned: number }>;
  /** Last error of each device that did not end provisioned. */
  failures: Array<{ uuid: string; code: string; message: string; step?: string }>;
  /** Jobs that succeeded, by instance id (every instance shares the work). */
  byInstance: Record<string, number>;
  /** `sqlite`, or the PostgreSQL URL with its password masked. */
  store: string;
}

const DOMAIN = 'oobkit.test';

/** `pc-0001`, `pc-0002`, … (wider past 9999): names sort as the fleet is numbered. */
function demoHostName(index: number): string {
  return `pc-${String(index + 1).padStart(4, '0')}`;
}

function bar(done: number, total: number, width = 24): string {
  const n = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}]`;
}

/**
 * A test PKI's provisioning chain as `addProvisioningCertificate` takes it: the chain, its key and
 * the root hashes as the store keeps them (hex).
 */
export function testPkiCertificate(
  pki: TestPki,
  name: string,
  enabled = true,
): Omit<StoredProvisioningCertificate, 'id' | 'createdAt'> {
  return {
    name,
    certPem: pki.chain.certPem,
    keyPem: pki.chain.keyPem ?? '',
    rootHashes: {
      sha1: pki.rootHashes.sha1.toString('hex'),
      sha256: pki.rootHashes.sha256.toString('hex'),
      sha384: pki.rootHashes.sha384.toString('hex'),
    },
    enabled,
  };
}

/**
 * `oobkit demo`: a test PKI, the service on embedded defaults, a simulated fleet saying hello on
 * a compressed clock; provisions every device, then proves each stored admin password opens it.
 */
/**
 * The demo writes its own settings, credentials, certificate and computers and runs workers on
 * its store: a folder that already holds a site's store or key is refused before anything
 * starts, as a used PostgreSQL database is.
 */
function refuseSiteFolder(dataDir: string): void {
  const found = ['oobkit.db', 'secret.key'].filter((f) => existsSync(join(dataDir, f)));
  if (found.length > 0) {
    throw new ConfigError(
      `the demo needs a new data folder: ${dataDir} holds a site already (${found.join(', ')}), whose settings, credentials and certificates the demo would replace; give a new or empty folder, or leave out --data-dir`,
      'dataDir',
    );
  }
}

export async function runDemo(opts: DemoOptions = {}): Promise<DemoSummary> {
  const total = opts.devices ?? 50;
  const { devices: D, instances: I } = DEMO_LIMITS;
  if (!Number.isInteger(total) || total < D.min || total > D.max)
    throw new RangeError(`devices must be ${D.min}..${D.max}`);
  const instanceCount = opts.instances ?? 1;
  if (!Number.isInteger(instanceCount) || instanceCount < I.min || instanceCount > I.max)
    throw new RangeError(`instances must be ${I.min}..${I.max}`);
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const json = opts.json === true;
  const tty = opts.tty ?? (!json && Boolean(process.stdout.isTTY));
  const say = (line: string) => {
    if (!json) out(line);
  };
  if (opts.dataDir !== undefined && opts.databaseUrl === undefined) refuseSiteFolder(opts.dataDir);
  const started = performance.now();
  const tempDir = opts.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'oobkit-demo-')) : undefined;
  const dataDir = opts.dataDir ?? (tempDir as string);

  const services: RunningService[] = [];
  let fleet: Fleet | undefined;
  try {
    const pki = await createTestPki({ serverFqdn: `provisionserver.${DOMAIN}` });
    // Each instance opens the store itself (its own connection or pool), on one key file.
    const startInstance = async (k: number): Promise<RunningService> => {
      const config = resolveConfig(
        {
          dataDir,
          ...(opts.databaseUrl !== undefined ? { databaseUrl: opts.databaseUrl } : {}),
          hello: { host: '127.0.0.1', port: 0 },
          api: { host: '127.0.0.1', port: 0 },
          workers: 16,
          instanceId: instanceCount === 1 ? 'demo' : `demo-${k}`,
          logLevel: opts.logLevel ?? 'silent',
        },
        {},
      );
      const s = await startService(config, {
        logger: createLogger({ level: config.logLevel, destination: process.stderr }),
      });
      services.push(s);
      return s;
    };
    const used = (what: string) =>
      new ConfigError(`the demo needs an empty PostgreSQL database: this one ${what}`, 'databaseUrl');
    const service = await startInstance(1).catch((err: unknown) => {
      // Its secrets sealed under another key than the demo's fresh one: a site's database.
      if (opts.databaseUrl !== undefined && (err as { code?: string }).code === 'SECRET_KEY_MISMATCH')
        throw used('holds secrets under another key (a site or an earlier demo uses it)');
      throw err;
    });
    const { store } = service;
    if (opts.databaseUrl !== undefined && (await store.listComputers({ limit: 1 })).length > 0)
      throw used('holds imported computers already');

    // The site: one provisioning certificate, two credentials, the settings, the computers.
    await store.addProvisioningCertificate(testPkiCertificate(pki, 'demo test PKI'));
    const siteMebx = generateAmtPassword();
    await store.addCredential({
      label: 'factory default',
      username: 'admin',
      password: 'admin',
      priority: 10,
    });
    await store.addCredential({
      label: 'site MEBx password',
      username: 'admin',
      password: siteMebx,
      priority: 20,
    });
    const settings: ProvisioningSettings = {
      features: { ping: true, webUi: true, sol: true, ider: true },
      userAcls: [
        { username: 'operator', password: generateAmtPassword(), accessPermission: 2, realms: [2, 3, 5, 13] },
      ],
      kerberos: { enabled: true },
      powerBehaviour: 'SP1',
      powerScheme: 5,
      wifiProfiles: [
        {
          name: 'corp',
          ssid: 'corp-wifi',
          priority: 1,
          authenticationMethod: 6,
          encryptionMethod: 4,
          pskPassphrase: generateAmtPassword(24),
        },
      ],
      wired8021x: {
        enabled: true,
        authenticationProtocol: 2,
        username: 'amt-wired',
        password: generateAmtPassword(),
      },
      mebxPassword: generateAmtPassword(),
      adminUsername: 'admin',
    };
    await store.putSettings(settings);
    const uuids = Array.from({ length: total }, () => randomUUID());
    // The other instances start once the site is set up (as they would join a running site).
    for (let k = 2; k <= instanceCount; k++) await startInstance(k);
    await store.importComputers(
      uuids.map((uuid, i) => ({
        uuid,
        hostName: demoHostName(i),
        domainName: DOMAIN,
        source: 'import' as const,
      })),
    );

    const personality = (i: number): Personality => (i % 3 === 0 ? 'legacy' : 'modern');
    const legacyFirmware = ['5.2.10', '8.1.40', '7.0.20'];
    const modernFirmware = ['16.1.25', '11.8.50', '12.0.45'];
    const speedup = opts.helloSpeedup ?? 600;
    const provisioned = new Set<string>();
    const failedOnce = new Set<string>();
    let printed = -1;
    const progress = (final = false) => {
      if (json) return;
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      const failing = [...failedOnce].filter((u) => !provisioned.has(u)).length;
      const line = `${bar(provisioned.size, total)} ${provisioned.size}/${total} provisioned · ${failing} failing · ${secs} s`;
      if (tty) {
        process.stdout.write(`\r${line}${final ? '\n' : ''}`);
        return;
      }
      // Plain output: a line per tenth of the fleet, not per device, and the last state once.
      const step = Math.max(1, Math.round(total / 10));
      if (provisioned.size === printed) return;
      if (final || provisioned.size % step === 0 || provisioned.size === total) {
        out(line);
        printed = provisioned.size;
      }
    };
    const byInstance: Record<string, number> = Object.fromEntries(
      services.map((s) => [s.config.instanceId, 0]),
    );
    const allDone = new Promise<void>((resolve) => {
      for (const s of services) {
        s.on('job-finished', (e: JobFinished) => {
          if (e.outcome === 'succeeded') {
            provisioned.add(e.job.uuid);
            byInstance[s.config.instanceId] = (byInstance[s.config.instanceId] ?? 0) + 1;
          } else if (e.outcome === 'failed') failedOnce.add(e.job.uuid);
          progress();
          if (provisioned.size >= total) resolve();
        });
      }
    });
    const storeName = opts.databaseUrl === undefined ? 'sqlite' : maskDatabaseUrl(opts.databaseUrl);

    say(
      `oobkit demo: ${total} simulated AMT devices (${uuids.filter((_, i) => personality(i) === 'legacy').length} legacy, ` +
        `${uuids.filter((_, i) => personality(i) === 'modern').length} modern); data in ${dataDir}`,
    );
    say(
      `  hellos on ${services.map((x) => hostPort(x.helloAddress)).join(', ')} (hello clock ×${speedup}); ` +
        `test PKI root SHA-256 ${pki.rootHashes.sha256.toString('hex').slice(0, 16)}…`,
    );
    if (instanceCount > 1 || opts.databaseUrl !== undefined)
      say(`  ${instanceCount} service instance(s) sharing the site store (${storeName})`);
    const clock = scaledClock(speedup);
    fleet = await startFleet({
      count: total,
      personalities: personality,
      common: {
        dnsSuffix: DOMAIN,
        // The test PKI root, as a technician would add it in MEBx (SHA-1 for AMT before 6).
        customTrustedHashes: [
          { algorithm: 'sha256', hash: new Uint8Array(pki.rootHashes.sha256) },
          { algorithm: 'sha1', hash: new Uint8Array(pki.rootHashes.sha1) },
        ],
      },
      perDevice: (i) => ({
        // Machines find "ProvisionServer" by DNS; with several instances, each answers some.
        hello: {
          host: '127.0.0.1',
          port: (services[i % services.length] as RunningService).helloAddress.port,
          clock,
        },
        uuid: uuids[i] as string,
        // Each personality's machines take its versions in turn (machine i is the
        // floor(i / 3)-th of its kind, as legacy ones are every third).
        firmwareVersion:
          personality(i) === 'legacy'
            ? (legacyFirmware[Math.floor(i / 3) % legacyFirmware.length] as string)
            : (modernFirmware[Math.floor(i / 3) % modernFirmware.length] as string),
        wireless: i % 4 === 1,
        // Some machines had their MEBx password set by a technician: the second credential opens them.
        ...(i % 7 === 3 ? { mebxPassword: siteMebx } : {}),
      }),
    });

    const timeoutMs = opts.timeoutMs ?? 300_000;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        allDone,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
        new Promise<never>((_, reject) => {
          const signal = opts.signal;
          if (!signal) return;
          onAbort = () => reject(signal.reason ?? new Error('the demo was stopped'));
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
    }
    for (const d of fleet.devices) d.stopHellos();
    // A hello already on its way (sent before the stop, from before its machine was provisioned)
    // still queues a job, which finds AMT provisioned and stops: wait until no new job appears.
    for (let lastJob = -1; ; ) {
      await Promise.all(services.map((s) => s.waitForIdle()));
      const newest = (await store.listJobs({ limit: 1 }))[0]?.id ?? 0;
      if (newest === lastJob) break;
      lastJob = newest;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    progress(true);

    // Proof: each stored admin password opens its device in a fresh digest login.
    let verified = 0;
    const byPersonality: DemoSummary['byPersonality'] = {
      legacy: { total: 0, provisioned: 0 },
      modern: { total: 0, provisioned: 0 },
    };
    const failures: DemoSummary['failures'] = [];
    let provisionedCount = 0;
    for (const device of fleet.devices) {
      const record = await store.getDevice(device.uuid);
      const bucket = byPersonality[device.personality];
      bucket.total++;
      if (record?.status !== 'provisioned') {
        failures.push({
          uuid: device.uuid,
          code: record?.lastError?.code ?? 'NOT_PROVISIONED',
          message: record?.lastError?.message ?? `status ${record?.status ?? 'unknown'}`,
          ...(record?.lastError?.step !== undefined ? { step: record.lastError.step } : {}),
        });
        continue;
      }
      provisionedCount++;
      bucket.provisioned++;
      const [secret] = await store.listSecrets(device.uuid, { kind: 'admin', states: ['current'] });
      if (!secret) continue;
      const ok = await verifyDeviceLogin({
        host: device.address,
        port: device.ports.tls,
        username: settings.adminUsername,
        password: secret.value,
        profile: device.personality === 'legacy' ? 'legacy' : 'modern',
      }).catch(() => false);
      if (ok) verified++;
    }
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    const summary: DemoSummary = {
      total,
      provisioned: provisionedCount,
      failed: total - provisionedCount,
      verified,
      seconds,
      ok: provisionedCount === total && verified === total,
      byPersonality,
      failures,
      byInstance,
      store: storeName,
    };
    if (json) {
      out(JSON.stringify(summary));
    } else {
      say(
        `summary: ${summary.provisioned}/${total} provisioned (legacy ${byPersonality.legacy.provisioned}/${byPersonality.legacy.total}, ` +
          `modern ${byPersonality.modern.provisioned}/${byPersonality.modern.total}); ` +
          `${verified}/${total} stored admin passwords verified by a fresh digest login; ${seconds} s`,
      );
      if (instanceCount > 1)
        say(
          `  jobs by instance: ${Object.entries(byInstance)
            .map(([id, n]) => `${id} ${n}`)
            .join(', ')}`,
        );
      for (const f of failures.slice(0, 10))
        say(`  not provisioned: ${f.uuid} ${f.code}${f.step ? ` at ${f.step}` : ''}: ${f.message}`);
      say(summary.ok ? 'OK' : 'FAILED');
    }
    return summary;
  } finally {
    await fleet?.stop();
    for (const s of services.reverse()) await s.close();
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  }
}
