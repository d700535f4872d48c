/**
 * Fleet provisioning (flow A, hello → report) against its floor, measured in the same run:
 * - subject: the provisioning service (store, intake, workers, every step of stage 1 and 2)
 *   provisioning a batch of fresh simulated AMT 16 devices;
 * - floor: the same number of TLS handshakes (same client chain, same TLS 1.2, same server key
 *   size) and HTTPS round trips (bodies of WS-Man size), with the same concurrency, against a
 *   trivial loopback TLS server.
 * The devices and the floor server run in a worker thread, so each side has the client and the
 * server on different threads. Also printed: per-device job time and heap per in-flight job.
 *
 * A second comparison runs the same fleets through a service on PostgreSQL (a throw-away server
 * on this host, @oobkit/test-servers) against the service on SQLite: what the scale-out store
 * costs one instance. Skipped, saying why, where PostgreSQL's binaries are missing.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createKeyPool, type Fleet, startFleet } from '@oobkit/amt-simulator';
import { generateAmtPassword } from '@oobkit/http-digest';
import { createRsaKeyCache, createSelfSignedCertificate, createTestPki } from '@oobkit/provisioning-cert';
import {
  builtInCertificateAuthority,
  createLogger,
  type JobFinished,
  newTransportStats,
  openPostgresStore,
  openSqliteStore,
  type RunningService,
  resolveConfig,
  type SiteStore,
  startService,
  staticKeyProvider,
  testPkiCertificate,
} from '@oobkit/provisioning-service';
import { startPgServer } from '@oobkit/test-servers';
import { buildConnector, Client } from 'undici';
import type { Comparison } from '../harness.js';

/** Devices per measured batch, and the service's worker count (= the floor's concurrency). */
const DEVICES = 16;
const WORKERS = 8;
/** Warm-up + 5 rounds of the subject, plus one calibration batch. */
const BATCHES = 7;
/** In-flight jobs held at once for the memory measurement. */
const IN_FLIGHT = 32;
const DOMAIN = 'oobkit.test';
const REQUEST_BYTES = 1_500;
const RESPONSE_BYTES = 2_000;

interface DeviceInfo {
  uuid: string;
  address: string;
}

type Request =
  | { id: number; cmd: 'fleet'; count: number; helloPort: number; sha256: string; uuids: string[] }
  | { id: number; cmd: 'hellos'; fleet: number }
  | { id: number; cmd: 'listen'; certPem: string; keyPem: string }
  | { id: number; cmd: 'cpu' }
  | { id: number; cmd: 'stop' };

/**
 * CPU time of the calling thread in ns (Linux: /proc/thread-self/schedstat), or undefined where
 * that file does not exist. Node 20 has no per-thread CPU clock of its own.
 */
function threadCpuNs(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ worker thread (devices, floor)

async function workerMain(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const fleets: Fleet[] = [];
  const keyPool = await createKeyPool(4);
  const closers: Array<() => Promise<void>> = [];
  port.on('message', (msg: Request) => {
    void (async () => {
      try {
        if (msg.cmd === 'fleet') {
          const fleet = await startFleet({
            count: msg.count,
            common: {
              dnsSuffix: DOMAIN,
              customTrustedHashes: [
                { algorithm: 'sha256', hash: new Uint8Array(Buffer.from(msg.sha256, 'hex')) },
              ],
              keyPool,
              hello: { host: '127.0.0.1', port: msg.helloPort, autoStart: false },
            },
            perDevice: (i) => ({ uuid: msg.uuids[i] as string, wireless: i % 2 === 0 }),
          });
          fleets.push(fleet);
          const devices: DeviceInfo[] = fleet.devices.map((d) => ({ uuid: d.uuid, address: d.address }));
          port.postMessage({ id: msg.id, fleet: fleets.length - 1, devices });
        } else if (msg.cmd === 'hellos') {
          await Promise.all((fleets[msg.fleet]?.devices ?? []).map((d) => d.sendHelloNow()));
          port.postMessage({ id: msg.id });
        } else if (msg.cmd === 'listen') {
          const body = Buffer.alloc(RESPONSE_BYTES, 'x');
          const server = createHttpsServer(
            {
              cert: msg.certPem,
              key: msg.keyPem,
              requestCert: true,
              rejectUnauthorized: false,
              minVersion: 'TLSv1.2',
              maxVersion: 'TLSv1.2',
              // As the simulated devices' sockets: no Nagle delay on small answers.
              noDelay: true,
            },
            (req, res) => {
              req.resume();
              req.on('end', () => {
                res.writeHead(200, { 'content-type': 'application/soap+xml;charset=UTF-8' });
                res.end(body);
              });
            },
          );
          await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
          closers.push(() => new Promise((resolve) => server.close(() => resolve())));
          const addr = server.address();
          port.postMessage({ id: msg.id, port: typeof addr === 'object' && addr ? addr.port : 0 });
        } else if (msg.cmd === 'cpu') {
          port.postMessage({ id: msg.id, ns: threadCpuNs() });
        } else if (msg.cmd === 'stop') {
          await Promise.all(fleets.map((f) => f.stop()));
          for (const c of closers) await c();
          port.postMessage({ id: msg.id });
        }
      } catch (err) {
        port.postMessage({ id: msg.id, error: (err as Error).message });
      }
    })();
  });
}

// The runner (tsx) turns on source-mapped stack traces for the whole process; the service and
// the simulator run from plain JS in production, where building a stack trace (undici makes an
// error for every `Connection: close`) costs no source-map lookups. Measure them that way, on
// both sides, floor included.
process.setSourceMapsEnabled(false);

if (!isMainThread && (workerData as { role?: string } | undefined)?.role === 'provisioning-bench') {
  await workerMain();
}

// ------------------------------------------------------------------ main thread

function rpc(worker: Worker): <T>(msg: Omit<Request, 'id'> & Record<string, unknown>) => Promise<T> {
  let next = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  worker.on('message', (m: { id: number; error?: string }) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(m.error));
    else w.resolve(m);
  });
  return <T>(msg: Record<string, unknown>) =>
    new Promise<T>((resolve, reject) => {
      const id = ++next;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...msg, id });
    });
}

const cleanups: Array<() => Promise<void>> = [];
const notes: string[] = [];

export async function teardown(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
  for (const n of notes) console.log(n);
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

export async function comparisons(): Promise<Comparison[]> {
  type Service = RunningService;
  type Finished = JobFinished;

  // The worker runs this same file; it needs the TypeScript loader the runner (tsx) has.
  const tsx = import.meta.resolve('tsx/esm/api');
  const worker = new Worker(
    `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`,
    { eval: true, workerData: { role: 'provisioning-bench' } },
  );
  cleanups.push(async () => {
    await worker.terminate();
  });
  const call = rpc(worker);
  cleanups.push(async () => {
    await call({ cmd: 'stop' });
  });

  const keys = createRsaKeyCache();
  const pki = await createTestPki({ serverFqdn: `provisionserver.${DOMAIN}`, keys });
  const store = await openSqliteStore({
    path: ':memory:',
    keyProvider: staticKeyProvider(Buffer.alloc(32, 9)),
  });
  await seedSite(store);
  async function seedSite(store: SiteStore): Promise<void> {
    await store.addProvisioningCertificate(testPkiCertificate(pki, 'bench PKI'));
    await store.addCredential({
      label: 'factory default',
      username: 'admin',
      password: 'admin',
      priority: 1,
    });
    await store.putSettings({
      features: { ping: true, webUi: true, sol: true, ider: true },
      userAcls: [
        { username: 'operator', password: generateAmtPassword(), accessPermission: 2, realms: [2, 3, 5] },
      ],
      kerberos: { enabled: false },
      powerBehaviour: 'SP1',
      powerScheme: 5,
      wifiProfiles: [
        {
          name: 'corp',
          ssid: 'corp',
          priority: 1,
          authenticationMethod: 6,
          encryptionMethod: 4,
          pskPassphrase: generateAmtPassword(20),
        },
      ],
      wired8021x: {
        enabled: true,
        authenticationProtocol: 2,
        username: 'amt',
        password: generateAmtPassword(),
      },
      mebxPassword: generateAmtPassword(),
      adminUsername: 'admin',
    });
  }

  let gate: { hold: boolean; waiting: Array<() => void>; arrived: number; all?: () => void } = {
    hold: false,
    waiting: [],
    arrived: 0,
  };
  const stats = newTransportStats();
  const start = async (workers: number, on: SiteStore = store): Promise<Service> => {
    const s = await startService(
      resolveConfig(
        {
          dataDir: '/nonexistent-oobkit-bench',
          hello: { host: '127.0.0.1', port: 0 },
          api: { host: '127.0.0.1', port: 0, token: 'bench-token-0123456789' },
          workers,
          leaseMs: 120_000,
          instanceId: `bench-${workers}${on === store ? '' : '-pg'}`,
          logLevel: 'silent',
        },
        {},
      ),
      {
        store: on,
        api: false,
        stats,
        ca: builtInCertificateAuthority({ keys }),
        logger: createLogger({ level: 'silent' }),
        // The memory measurement holds jobs mid-flow (after stage 1, with their connections open).
        checkpoint: async (p: { step: string; phase: string }) => {
          if (!gate.hold || p.step !== 'stage2.acl' || p.phase !== 'before') return;
          gate.arrived++;
          if (gate.arrived === IN_FLIGHT) gate.all?.();
          await new Promise<void>((resolve) => gate.waiting.push(resolve));
        },
      },
    );
    cleanups.push(() => s.close());
    return s;
  };
  const service = await start(WORKERS);

  const newFleet = async (count: number, helloPort: number, into: SiteStore = store) => {
    const uuids = Array.from({ length: count }, () => randomUUID());
    await into.importComputers(
      uuids.map((uuid, i) => ({
        uuid,
        hostName: `pc-${i + 1}`,
        domainName: DOMAIN,
        source: 'import' as const,
      })),
    );
    return call<{ fleet: number; devices: DeviceInfo[] }>({
      cmd: 'fleet',
      count,
      helloPort,
      sha256: pki.rootHashes.sha256.toString('hex'),
      uuids,
    });
  };
  const provision = async (
    svc: Service,
    fleet: { fleet: number; devices: DeviceInfo[] },
  ): Promise<Finished[]> => {
    const pending = new Set(fleet.devices.map((d) => d.uuid));
    const finished: Finished[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const fn = (e: Finished) => {
        if (!pending.has(e.job.uuid)) return;
        if (e.outcome !== 'succeeded') {
          svc.off('job-finished', fn);
          reject(new Error(`provisioning failed: ${e.error?.code} ${e.error?.message}`));
          return;
        }
        pending.delete(e.job.uuid);
        finished.push(e);
        if (pending.size === 0) {
          svc.off('job-finished', fn);
          resolve();
        }
      };
      svc.on('job-finished', fn);
    });
    await call({ cmd: 'hellos', fleet: fleet.fleet });
    await done;
    return finished;
  };

  // Fleets for calibration, warm-up and the rounds, made before anything is timed.
  const fleets: Array<{ fleet: number; devices: DeviceInfo[] }> = [];
  for (let i = 0; i < BATCHES; i++) fleets.push(await newFleet(DEVICES, service.helloAddress.port));

  // Calibration: handshakes and requests per device, and per-device job time.
  const before = { ...stats };
  const calibration = await provision(service, fleets.shift()!);
  const handshakes = Math.round((stats.handshakes - before.handshakes) / DEVICES);
  const requests = Math.round((stats.requests - before.requests) / DEVICES);
  const jobMs: number[] = [];
  for (const f of calibration) {
    const [e] = await store.listEvents({ jobId: f.job.id, type: 'job.succeeded' });
    if (e?.durationMs !== undefined) jobMs.push(e.durationMs);
  }

  // Memory per in-flight job: heap with IN_FLIGHT jobs held after stage 1, minus the idle heap.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const memService = await start(IN_FLIGHT);
  const memFleet = await newFleet(IN_FLIGHT, memService.helloAddress.port);
  await service.waitForIdle();
  gc();
  gc();
  const idleHeap = process.memoryUsage().heapUsed;
  const allHeld = new Promise<void>((resolve) => {
    gate = { hold: true, waiting: [], arrived: 0, all: resolve };
  });
  const memDone = provision(memService, memFleet);
  await allHeld;
  gc();
  gc();
  const heldHeap = process.memoryUsage().heapUsed;
  const perJob = (heldHeap - idleHeap) / IN_FLIGHT;
  gate.hold = false;
  for (const w of gate.waiting) w();
  await memDone;
  // Back to WORKERS workers on the store for the timed rounds.
  await memService.close();

  const p50 = percentile(jobMs, 50);
  const max = Math.max(...jobMs);
  notes.push(
    `\nprovisioning: ${handshakes} TLS handshakes and ${requests} HTTPS requests per device (AMT 16, every step)`,
    `  per-device job time: p50 ${p50.toFixed(0)} ms, max ${max.toFixed(0)} ms with ${WORKERS} in parallel (goal ≤ 2000 ms: ${max <= 2000 ? 'met' : 'MISSED'})`,
    `  heap per in-flight job: ${(perJob / 1024).toFixed(1)} KiB with ${IN_FLIGHT} held mid-flow (goal ≤ 64 KiB: ${perJob <= 64 * 1024 ? 'met' : 'MISSED'})`,
  );

  // The floor: a trivial TLS server (a self-signed RSA 2048 certificate, as AMT has), the same
  // client chain and TLS settings.
  const selfSigned = await createSelfSignedCertificate({ commonName: 'floor.local', keys });
  const { port } = await call<{ port: number }>({
    cmd: 'listen',
    certPem: selfSigned.certPem,
    keyPem: selfSigned.keyPem ?? '',
  });
  const secureContext = createSecureContext({
    cert: pki.chain.certPem,
    key: pki.chain.keyPem ?? '',
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
  });
  const requestBody = Buffer.alloc(REQUEST_BYTES, 'y');
  const floorDevice = async (): Promise<void> => {
    const connector = buildConnector({ secureContext, rejectUnauthorized: false, maxCachedSessions: 0 });
    let opened = 0;
    // A Client, as the service uses (an undici 7 Agent reconnects after every `reset`).
    const client = new Client(`https://127.0.0.1:${port}`, {
      connect: (o, cb) => {
        opened++;
        connector(o, cb);
      },
      pipelining: 1,
    });
    try {
      for (let h = 0; h < handshakes; h++) {
        const n = Math.floor(requests / handshakes) + (h < requests % handshakes ? 1 : 0);
        for (let r = 0; r < n; r++) {
          const res = await client.request({
            path: '/wsman',
            method: 'POST',
            body: requestBody,
            reset: r === n - 1,
          });
          await res.body.dump();
        }
      }
    } finally {
      await client.close();
    }
    if (opened !== handshakes) throw new Error(`floor made ${opened} handshakes, not ${handshakes}`);
  };
  const floorBatch = async (): Promise<number> => {
    let next = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (next < DEVICES) {
          next++;
          await floorDevice();
        }
      }),
    );
    return DEVICES;
  };

  // Thread CPU per device over the timed batches of each side: where the time goes, every run.
  const cpu = {
    subject: { main: 0, worker: 0, devices: 0 },
    floor: { main: 0, worker: 0, devices: 0 },
    sqlite: { main: 0, worker: 0, devices: 0 },
    postgres: { main: 0, worker: 0, devices: 0 },
  };
  const accounted = (side: keyof typeof cpu, batch: () => Promise<number>) => async () => {
    const m0 = threadCpuNs();
    const w0 = (await call<{ ns?: number }>({ cmd: 'cpu' })).ns;
    const n = await batch();
    const m1 = threadCpuNs();
    const w1 = (await call<{ ns?: number }>({ cmd: 'cpu' })).ns;
    if (m0 !== undefined && m1 !== undefined && w0 !== undefined && w1 !== undefined) {
      cpu[side].main += m1 - m0;
      cpu[side].worker += w1 - w0;
      cpu[side].devices += n;
    }
    return n;
  };
  cleanups.push(async () => {
    const per = (ns: number, n: number) => (n > 0 ? (ns / 1e6 / n).toFixed(1) : '?');
    const s = cpu.subject;
    const f = cpu.floor;
    if (s.devices > 0 && f.devices > 0) {
      notes.push(
        `  thread CPU per device (all batches of each side): service main ${per(s.main, s.devices)} ms, simulated devices ${per(s.worker, s.devices)} ms; floor client ${per(f.main, f.devices)} ms, floor server ${per(f.worker, f.devices)} ms`,
      );
    }
    const q = cpu.sqlite;
    const p = cpu.postgres;
    if (q.devices > 0 && p.devices > 0) {
      notes.push(
        `  PostgreSQL vs SQLite, service main thread CPU per device: ${per(p.main, p.devices)} vs ${per(q.main, q.devices)} ms (the PostgreSQL server's own processes are not counted)`,
      );
    }
  });

  // The same service on PostgreSQL: a throw-away server on this host, fresh fleets for each
  // batch of either side, made before anything is timed.
  const comparisons: Comparison[] = [];
  const pg = await startPgServer();
  if ('unavailable' in pg) {
    notes.push(`\nprovisioning on PostgreSQL: skipped: ${pg.unavailable}`);
  } else {
    cleanups.push(() => pg.stop());
    const pgStore = await openPostgresStore({
      connectionString: pg.url(await pg.createDatabase()),
      keyProvider: staticKeyProvider(Buffer.alloc(32, 9)),
    });
    cleanups.push(() => pgStore.close());
    await seedSite(pgStore);
    const pgService = await start(WORKERS, pgStore);
    // A warm-up and five rounds per side (the harness's defaults).
    const sqliteFleets: Array<{ fleet: number; devices: DeviceInfo[] }> = [];
    const pgFleets: Array<{ fleet: number; devices: DeviceInfo[] }> = [];
    for (let i = 0; i < 6; i++) {
      sqliteFleets.push(await newFleet(DEVICES, service.helloAddress.port));
      pgFleets.push(await newFleet(DEVICES, pgService.helloAddress.port, pgStore));
    }
    // One untimed batch first: the PostgreSQL side's first jobs also pay for its connections.
    await provision(pgService, await newFleet(DEVICES, pgService.helloAddress.port, pgStore));
    const batchOn = (svc: Service, into: SiteStore, list: typeof pgFleets) => async () => {
      const fleet = list.shift() ?? (await newFleet(DEVICES, svc.helloAddress.port, into));
      await provision(svc, fleet);
      return DEVICES;
    };
    comparisons.push({
      title: `fleet provisioning on PostgreSQL (a throw-away server on this host, 4 connections) vs on SQLite, ${DEVICES} AMT 16 devices, ${WORKERS} workers`,
      unit: 'device',
      baseline: {
        name: 'service on SQLite',
        batch: accounted('sqlite', batchOn(service, store, sqliteFleets)),
      },
      subject: {
        name: 'service on PostgreSQL',
        batch: accounted('postgres', batchOn(pgService, pgStore, pgFleets)),
      },
    });
  }

  return [
    {
      title: `fleet provisioning, ${DEVICES} AMT 16 devices, ${WORKERS} workers (hello → report, every step) vs the same TLS handshakes and HTTPS round trips to a trivial server`,
      unit: 'device',
      goal: 0.7,
      baseline: { name: 'floor (TLS + HTTPS only)', batch: accounted('floor', floorBatch) },
      subject: {
        name: 'oobkit provisioning service',
        batch: accounted('subject', async () => {
          const fleet = fleets.shift() ?? (await newFleet(DEVICES, service.helloAddress.port));
          await provision(service, fleet);
          return DEVICES;
        }),
      },
    },
    ...comparisons,
  ];
}
