/**
 * Test harness of the provisioning flow: a site (in-memory SQLite store, the service on loopback
 * with a captured debug log) and simulated devices that trust the test PKI. Hellos are sent on
 * demand (`device.sendHelloNow()`), and tests await the service's `job-finished` events.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import {
  createKeyPool,
  type DeviceOptions,
  type Fleet,
  type FleetOptions,
  type KeyPool,
  type SimulatedDevice,
  startDevice,
  startFleet,
} from '@oobkit/amt-simulator';
import { generateAmtPassword } from '@oobkit/http-digest';
import {
  createRsaKeyCache,
  createTestPki,
  loadPemChain,
  type RsaKeySource,
  type TestPki,
  thumbprintHex,
} from '@oobkit/provisioning-cert';
import { builtInCertificateAuthority, type CertificateAuthority } from '../src/ca/index.js';
import { resolveConfig } from '../src/config.js';
import { testPkiCertificate } from '../src/demo.js';
import type { Directory } from '../src/directory/index.js';
import type { JobFinished } from '../src/flow/pool.js';
import type { FlowCheckpoint } from '../src/flow/run.js';
import type { TransportStats } from '../src/flow/session.js';
import { createLogger } from '../src/log.js';
import { staticKeyProvider } from '../src/secrets/index.js';
import { type HelloScreened, type RunningService, startService } from '../src/service.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { AmtCredential, NewSiteEvent, ProvisioningSettings, SiteStore } from '../src/store/types.js';

export const DOMAIN = 'oobkit.test';
export const SERVER_FQDN = `provisionserver.${DOMAIN}`;

/** Every journalled step of flow A, in the order a job runs them. */
export const FLOW_STEPS = [
  'chain',
  'connect',
  'login',
  'directory',
  'stage1.clock',
  'stage1.network',
  'stage1.tls',
  'stage1.admin-password',
  'stage1.mebx-password',
  'stage1.commit',
  'stage1.confirm',
  'stage2.acl',
  'stage2.features',
  'stage2.kerberos',
  'stage2.power',
  'stage2.wireless',
  'report',
];

/** HA1 of HTTP digest (RFC 7616, MD5): what the firmware stores for an account. */
export function ha1(user: string, realm: string, password: string): string {
  return createHash('md5').update(`${user}:${realm}:${password}`).digest('hex');
}

let shared: Promise<{ pki: TestPki; keys: RsaKeySource; keyPool: KeyPool }> | undefined;

/** One test PKI, RSA key cache and device key pool per test file (RSA generation is costly). */
export function fixtures(): Promise<{ pki: TestPki; keys: RsaKeySource; keyPool: KeyPool }> {
  shared ??= (async () => {
    const keys = createRsaKeyCache();
    const [pki, keyPool] = await Promise.all([
      createTestPki({ serverFqdn: SERVER_FQDN, keys }),
      createKeyPool(2),
    ]);
    return { pki, keys, keyPool };
  })();
  return shared;
}

/** Thumbprints of the last certificate of a PEM chain (its root). */
export function chainRootHashes(certPem: string): { sha1: string; sha256: string; sha384: string } {
  const root = loadPemChain(certPem).certificates.at(-1)!;
  return {
    sha1: thumbprintHex(root, 'sha1'),
    sha256: thumbprintHex(root, 'sha256'),
    sha384: thumbprintHex(root, 'sha384'),
  };
}

export function siteSettings(overrides: Partial<ProvisioningSettings> = {}): ProvisioningSettings {
  return {
    features: { ping: true, webUi: true, sol: true, ider: false },
    userAcls: [
      { username: 'operator', password: generateAmtPassword(), accessPermission: 2, realms: [2, 3, 5, 13] },
      { kerberosSid: 'AQUAAAAAAAUVAAAAoGXPfnhLm1/nfIdwUQQAAA==', accessPermission: 1, realms: [3, 13] },
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
        pskPassphrase: `${generateAmtPassword(20)}&<x`,
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
    ...overrides,
  };
}

/** Captures every log line the service writes (pino JSON). */
export function logCapture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(l);
      cb();
    },
  });
  return { lines, stream };
}

export interface Site {
  store: SiteStore;
  service: RunningService;
  pki: TestPki;
  settings: ProvisioningSettings;
  credentials: AmtCredential[];
  log: string[];
  keyPool: KeyPool;
  /** Starts a device that trusts the test PKI and says hello to this site (on demand). */
  device(opts?: Omit<DeviceOptions, 'hello'>): Promise<SimulatedDevice>;
  /** Imports a device's UUID (host name `pc-<n>`). */
  importDevice(d: SimulatedDevice, hostName?: string): Promise<void>;
  /** Resolves with the next finished job of `uuid` (register before the hello). */
  nextJob(uuid: string): Promise<JobFinished>;
  /** Resolves with the next finished job of `uuid` whose outcome is one of `outcomes`. */
  waitForJob(uuid: string, outcomes: JobFinished['outcome'][]): Promise<JobFinished>;
  /** Resolves with the screening of the next hello of `uuid`. */
  nextScreened(uuid: string): Promise<HelloScreened>;
  /** Resolves with the screenings of the next `count` hellos of `uuid`. */
  screenings(uuid: string, count: number): Promise<HelloScreened[]>;
  /** Every secret the site holds (settings, credentials, device secrets), for leak checks. */
  allSecrets(): Promise<string[]>;
  /** Every log line and stored event, as text. */
  allOutput(): Promise<string[]>;
  /** Imports, says hello, awaits the job. */
  provision(d: SimulatedDevice): Promise<JobFinished>;
  /** A second service instance on the same store. */
  startInstance(opts?: SiteOptions): Promise<RunningService>;
  close(): Promise<void>;
}

export interface SiteOptions {
  settings?: Partial<ProvisioningSettings>;
  /** Default: the factory `admin`/`admin`. */
  credentials?: Array<Omit<AmtCredential, 'id'>>;
  store?: SiteStore;
  leaseMs?: number;
  workers?: number;
  instanceId?: string;
  pollMs?: number;
  checkpoint?: (p: FlowCheckpoint) => void | Promise<void>;
  /** Start the admin API (on a free loopback port) with this token. */
  api?: boolean;
  token?: string;
  /** Extra chains to add (e.g. broken ones); the test PKI's chain is added unless `noDefaultChain`. */
  chains?: Array<{ name: string; certPem: string; keyPem: string; enabled?: boolean }>;
  directory?: Directory;
  ca?: CertificateAuthority;
  /** Counts the service's TLS handshakes and HTTP requests to devices. */
  stats?: TransportStats;

  noDefaultChain?: boolean;
}

/** Asserts no secret appears in any log line or stored event. */
export async function expectNoSecretLeak(site: Site): Promise<{ secrets: number; lines: number }> {
  const secrets = await site.allSecrets();
  const lines = await site.allOutput();
  const leaks: string[] = [];
  for (const line of lines) {
    for (const secret of secrets) if (line.includes(secret)) leaks.push(line.slice(0, 200));
  }
  if (leaks.length > 0) throw new Error(`secrets leaked in ${leaks.length} line(s), e.g. ${leaks[0]}`);
  return { secrets: secrets.length, lines: lines.length };
}

/** An info event stamped `daysAgo` days before now (event retention tests). */
export function agedEvent(type: string, message: string, daysAgo: number): NewSiteEvent {
  return { level: 'info', type, message, at: new Date(Date.now() - daysAgo * 86_400_000).toISOString() };
}

/**
 * A simulated fleet that trusts the site's test PKI and says hello to its service (on demand:
 * `sendHelloNow`), a third of it legacy, every device imported as `pc-<n>`.
 */
export async function startSiteFleet(
  site: Site,
  count: number,
  perDevice?: FleetOptions['perDevice'],
): Promise<Fleet> {
  const fleet = await startFleet({
    count,
    personalities: (i) => (i % 3 === 0 ? 'legacy' : 'modern'),
    common: {
      dnsSuffix: DOMAIN,
      customTrustedHashes: [
        { algorithm: 'sha256', hash: new Uint8Array(site.pki.rootHashes.sha256) },
        { algorithm: 'sha1', hash: new Uint8Array(site.pki.rootHashes.sha1) },
      ],
      keyPool: site.keyPool,
      hello: { host: '127.0.0.1', port: site.service.helloAddress.port, autoStart: false },
    },
    ...(perDevice ? { perDevice } : {}),
  });
  await site.store.importComputers(
    fleet.devices.map((d, i) => ({
      uuid: d.uuid,
      hostName: `pc-${i + 1}`,
      domainName: DOMAIN,
      source: 'import' as const,
    })),
  );
  return fleet;
}

export async function openTestStore(): Promise<SiteStore> {
  return openSqliteStore({ path: ':memory:', keyProvider: staticKeyProvider(Buffer.alloc(32, 7)) });
}

export async function createSite(opts: SiteOptions = {}): Promise<Site> {
  const { pki, keys, keyPool } = await fixtures();
  const store = opts.store ?? (await openTestStore());
  const settings = siteSettings(opts.settings);
  await store.putSettings(settings);
  const credentials: AmtCredential[] = [];
  for (const c of opts.credentials ?? [
    { label: 'factory default', username: 'admin', password: 'admin', priority: 10 },
  ]) {
    credentials.push(await store.addCredential(c));
  }
  if (!opts.noDefaultChain) {
    await store.addProvisioningCertificate(testPkiCertificate(pki, 'test PKI'));
  }
  for (const c of opts.chains ?? []) {
    await store.addProvisioningCertificate({
      name: c.name,
      certPem: c.certPem,
      keyPem: c.keyPem,
      rootHashes: chainRootHashes(c.certPem),
      enabled: c.enabled ?? true,
    });
  }
  const log = logCapture();
  const ca = opts.ca ?? builtInCertificateAuthority({ keys });
  const instances: RunningService[] = [];
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  const start = async (o: SiteOptions = {}): Promise<RunningService> => {
    const config = resolveConfig(
      {
        dataDir: '/nonexistent-oobkit-test',
        hello: { host: '127.0.0.1', port: 0 },
        api: { host: '127.0.0.1', port: 0, token: o.token ?? 'test-token-0123456789' },
        workers: o.workers ?? opts.workers ?? 4,
        leaseMs: o.leaseMs ?? opts.leaseMs ?? 10_000,
        instanceId: o.instanceId ?? `test-${instances.length + 1}`,
        logLevel: 'debug',
      },
      {},
    );
    const checkpoint = o.checkpoint ?? opts.checkpoint;
    const pollMs = o.pollMs ?? opts.pollMs;
    const s = await startService(config, {
      // Another instance may bring its own store on the same database (its own pool).
      store: o.store ?? store,
      ca,
      api: o.api === true,
      ...(opts.directory ? { directory: opts.directory } : {}),
      logger: createLogger({ level: 'debug', destination: log.stream }),
      ...(checkpoint ? { checkpoint } : {}),
      ...(pollMs !== undefined ? { pollMs } : {}),
      ...(opts.stats ? { stats: opts.stats } : {}),
    });
    instances.push(s);
    s.on('job-finished', (e) => bus.emit('job-finished', e));
    s.on('hello-screened', (e) => bus.emit('hello-screened', e));
    return s;
  };
  const service = await start();
  const devices: SimulatedDevice[] = [];
  let hostCounter = 0;

  const site: Site = {
    store,
    service,
    pki,
    settings,
    credentials,
    log: log.lines,
    keyPool,
    async device(o = {}) {
      const d = await startDevice({
        dnsSuffix: DOMAIN,
        customTrustedHashes:
          o.personality === 'legacy'
            ? [{ algorithm: 'sha1', hash: new Uint8Array(pki.rootHashes.sha1) }]
            : [{ algorithm: 'sha256', hash: new Uint8Array(pki.rootHashes.sha256) }],
        keyPool,
        ...o,
        hello: { host: '127.0.0.1', port: service.helloAddress.port, autoStart: false },
      });
      devices.push(d);
      return d;
    },
    async importDevice(d, hostName) {
      hostCounter++;
      await store.importComputers([
        { uuid: d.uuid, hostName: hostName ?? `pc-${hostCounter}`, domainName: DOMAIN, source: 'import' },
      ]);
    },
    nextJob(uuid) {
      return site.waitForJob(uuid, ['succeeded', 'failed', 'cancelled', 'crashed', 'lease-lost']);
    },
    waitForJob(uuid, outcomes) {
      return new Promise((resolve) => {
        const fn = (e: JobFinished) => {
          if (e.job.uuid !== uuid || !outcomes.includes(e.outcome)) return;
          bus.off('job-finished', fn);
          resolve(e);
        };
        bus.on('job-finished', fn);
      });
    },
    nextScreened(uuid) {
      return new Promise((resolve) => {
        const fn = (e: HelloScreened) => {
          if (e.uuid !== uuid) return;
          bus.off('hello-screened', fn);
          resolve(e);
        };
        bus.on('hello-screened', fn);
      });
    },
    screenings(uuid, count) {
      return new Promise((resolve) => {
        const seen: HelloScreened[] = [];
        const fn = (e: HelloScreened) => {
          if (e.uuid !== uuid) return;
          seen.push(e);
          if (seen.length < count) return;
          bus.off('hello-screened', fn);
          resolve(seen);
        };
        bus.on('hello-screened', fn);
      });
    },
    async allSecrets() {
      const out = [
        settings.mebxPassword,
        ...settings.userAcls.map((u) => u.password),
        ...settings.wifiProfiles.map((w) => w.pskPassphrase),
        settings.wired8021x?.password,
        ...credentials.map((c) => c.password).filter((p) => p !== 'admin'),
        pki.chain.keyPem,
      ];
      for (const d of devices)
        for (const x of await store.listSecrets(d.uuid, { states: ['pending', 'current', 'retired'] }))
          out.push(x.value);
      return out.filter((x): x is string => typeof x === 'string' && x.length > 0);
    },
    async allOutput() {
      const events: string[] = [];
      for (let after = 0; ; ) {
        const page = await store.listEvents({ afterId: after, limit: 10_000 });
        if (page.length === 0) break;
        events.push(...page.map((e) => JSON.stringify(e)));
        after = page[page.length - 1]!.id;
      }
      return [...log.lines, ...events];
    },
    async provision(d) {
      if (!(await store.getComputer(d.uuid))) await site.importDevice(d);
      const done = site.nextJob(d.uuid);
      await d.sendHelloNow();
      return done;
    },
    startInstance: start,
    async close() {
      await Promise.all(devices.map((d) => d.stop()));
      for (const s of instances) await s.close();
      await store.close();
    },
  };
  return site;
}
