import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createHelloListener, type HelloListener } from '@oobkit/hello';
import { builtInCertificateAuthority, type CertificateAuthority } from './ca/index.js';
import type { ServiceConfig } from './config.js';
import { type Directory, noDirectory } from './directory/index.js';
import { createAmtDevice } from './flow/amt.js';
import type { ChooseChain } from './flow/chain.js';
import { createEventSink } from './flow/events.js';
import { createWorkerPool, type JobFinished } from './flow/pool.js';
import { createJobRunner, type FlowCheckpoint } from './flow/run.js';
import type { TransportStats } from './flow/session.js';
import {
  createEventThrottle,
  createHelloIntake,
  type HelloIntake,
  type IntakeOutcome,
  type ReceivedHello,
} from './intake/index.js';
import { createLogger, type Logger } from './log.js';
import { pruneEventLog } from './maintenance.js';
import { createServiceMetrics } from './metrics.js';
import { hostPort } from './net.js';
import { ConfigError, ServiceError } from './store/errors.js';
import { openConfiguredStore } from './store/open.js';
import type { Job, SiteStore } from './store/types.js';
import { oobkitVersion } from './version.js';

export interface ServiceDeps {
  /**
   * Default: PostgreSQL at `config.databaseUrl` when set, else SQLite at `config.databasePath`;
   * secrets under the key in `config.keyFile`.
   */
  store?: SiteStore;
  /** Default: no directory (the step and the Kerberos key are skipped, and the events say so). */
  directory?: Directory;
  /** Default: the built-in CA. */
  ca?: CertificateAuthority;
  logger?: Logger;
  /** Start the admin HTTP API (default true). */
  api?: boolean;
  /** Test hook: throw `SimulatedCrash` at a checkpoint to simulate a process crash. */
  checkpoint?: (p: FlowCheckpoint) => void | Promise<void>;
  /**
   * Test seam: picks the provisioning chain a job presents (default `chooseProvisioningChain`,
   * which presents only chains that pass @oobkit/provisioning-cert's rules). Lets a test present
   * a chain the device itself must refuse; production code leaves it unset.
   */
  chooseChain?: ChooseChain;
  /** Counts TLS handshakes and HTTP requests to devices (benchmarks). */
  stats?: TransportStats;
  /** Idle workers look for crashed workers' expired leases this often (default leaseMs / 2, ≤ 1 s). */
  pollMs?: number;
}

/** How often a running service deletes events past `config.events.retentionDays`. */
const PRUNE_EVERY_MS = 3_600_000;

export type HelloScreened = IntakeOutcome & { uuid: string; remoteAddress: string };

export interface RunningService {
  readonly config: ServiceConfig;
  readonly store: SiteStore;
  readonly intake: HelloIntake;
  readonly helloAddress: { address: string; port: number };
  readonly apiAddress: { address: string; port: number } | undefined;
  /** `http(s)://host:port` of the admin API, when it runs. */
  readonly apiUrl: string | undefined;
  /** Set when the admin API is reachable from other hosts without TLS (also logged at start). */
  readonly apiWarning: string | undefined;
  /** This instance's counters and the site's gauges, as served at `GET /metrics` (Prometheus text). */
  metrics(): Promise<string>;
  /** Screens a hello as if it arrived on the listener (also what the listener calls). */
  handleHello(received: ReceivedHello): Promise<IntakeOutcome>;
  /** Resolves when no job is queued or running and no worker of this instance is busy. */
  waitForIdle(): Promise<void>;
  on(event: 'job-finished', fn: (e: JobFinished) => void): void;
  /** Each hello after screening: queued (with its job) or dropped (with the reason). */
  on(event: 'hello-screened', fn: (e: HelloScreened) => void): void;
  off(event: 'job-finished', fn: (e: JobFinished) => void): void;
  off(event: 'hello-screened', fn: (e: HelloScreened) => void): void;
  /** Stops the listener and the API, lets running jobs stop at their next step, closes an owned store. */
  close(): Promise<void>;
}

/**
 * The provisioning service: hello listener → intake → job queue → workers running flow A, plus
 * the admin API, on one site store.
 */
export async function startService(config: ServiceConfig, deps: ServiceDeps = {}): Promise<RunningService> {
  const logger = deps.logger ?? createLogger({ level: config.logLevel });
  const ownStore = deps.store === undefined;
  const store = deps.store ?? (await openConfiguredStore(config));
  const events = createEventSink(store, logger);
  const cleanups: Array<() => Promise<void>> = [];
  try {
    // In the store; a CA an earlier oobkit kept as files in the data folder moves in on first use.
    const ca = deps.ca ?? builtInCertificateAuthority({ store, dir: config.dataDir });
    const directory = deps.directory ?? noDirectory;

    let wake = (): void => undefined;
    const dropLog = {
      windowMs: config.events.helloDropWindowMs,
      perMinute: config.events.helloDropsPerMinute,
    };
    const intake = createHelloIntake({ store, events, onQueued: () => wake(), dropLog });
    const runner = createJobRunner({
      store,
      directory,
      ca,
      tlsPort: config.amtPorts.tls,
      createDevice: createAmtDevice,
      lastAccepted: intake.lastAccepted,
      logger,
      ...(deps.checkpoint ? { checkpoint: deps.checkpoint } : {}),
      ...(deps.chooseChain ? { chooseChain: deps.chooseChain } : {}),
      ...(deps.stats ? { stats: deps.stats } : {}),
    });
    const pool = createWorkerPool({
      store,
      run: runner,
      owner: config.instanceId,
      workers: config.workers,
      leaseMs: config.leaseMs,
      logger,
      ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
    });
    wake = () => pool.wake();
    cleanups.push(() => pool.close());

    const counters = createServiceMetrics();
    pool.on('job-finished', (e) => counters.jobFinished(e));
    const metrics = async (): Promise<string> =>
      counters.render({
        counts: await store.countByState(),
        workers: { configured: config.workers, busy: pool.busy },
        instanceId: config.instanceId,
        version: oobkitVersion(),
      });

    const screened = new EventEmitter();
    const handleHello = async (received: ReceivedHello): Promise<IntakeOutcome> => {
      const outcome = await intake.handle(received);
      counters.helloScreened(outcome);
      screened.emit('hello-screened', {
        ...outcome,
        uuid: received.hello.uuid,
        remoteAddress: received.remoteAddress,
      } satisfies HelloScreened);
      return outcome;
    };

    const listener: HelloListener = createHelloListener({ host: config.hello.host, port: config.hello.port });
    listener.on('hello', (e) => {
      handleHello(e).catch((err: unknown) => {
        logger.error({ uuid: e.hello.uuid, err: { message: (err as Error).message } }, 'hello intake failed');
      });
    });
    // Any host can send malformed hellos: one event per sender and error per window, capped.
    const rejectedLog = createEventThrottle(dropLog);
    listener.on('rejected', (e) => {
      counters.helloRejected(e.error.code);
      const d = rejectedLog.admit(`${e.remoteAddress} ${e.error.code}`);
      if (!d.log) return;
      const held = d.repeats + d.rateLimited;
      void events.emit({
        level: 'warn',
        type: 'hello.rejected',
        message: `malformed hello dropped: ${e.error.message}${held > 0 ? ` (${held} more not logged)` : ''}`,
        data: {
          address: e.remoteAddress,
          code: e.error.code,
          ...(d.repeats > 0 ? { repeats: d.repeats } : {}),
          ...(d.rateLimited > 0 ? { rateLimited: d.rateLimited } : {}),
        },
      });
    });
    const helloAddress = await listener.listen();
    cleanups.unshift(() => listener.close({ drainTimeoutMs: 100 }));

    let apiAddress: { address: string; port: number } | undefined;
    if (deps.api !== false) {
      const { buildAdminApi } = await import('./api/index.js');
      const api = await buildAdminApi({
        store,
        token: config.api.token,
        logger,
        ...(config.api.tlsCert && config.api.tlsKey ? { https: await readApiTls(config) } : {}),
        metrics,
        onJobQueued: (job: Job) => {
          void job;
          pool.wake();
        },
      });
      try {
        await api.listen({ host: config.api.host, port: config.api.port });
      } catch (cause) {
        await api.close().catch(() => undefined);
        const where = `${config.api.host}:${config.api.port}`;
        throw new ServiceError(
          'API_LISTEN_FAILED',
          `the admin API cannot listen on ${where}: ${(cause as Error).message}; choose another address with --api-host / --api-port (OOBKIT_API_HOST / OOBKIT_API_PORT)`,
          { cause },
        );
      }
      const addr = api.server.address();
      if (addr && typeof addr === 'object') apiAddress = { address: addr.address, port: addr.port };
      cleanups.unshift(() => api.close());
    }
    const tls = config.api.tlsCert !== undefined;
    const apiUrl = apiAddress ? `${tls ? 'https' : 'http'}://${hostPort(apiAddress)}` : undefined;
    const apiWarning = apiAddress && !tls ? apiExposureWarning(apiAddress.address) : undefined;
    if (apiWarning) logger.warn({ api: apiAddress }, apiWarning);

    // Event log upkeep: at start, then hourly. Every instance does it (deleting is idempotent).
    const retentionDays = config.events.retentionDays;
    if (retentionDays > 0) {
      let pruning: Promise<void> | undefined;
      const prune = (): void => {
        pruning ??= pruneEventLog(store, retentionDays)
          .then(({ removed, before }) => {
            if (removed > 0) logger.info({ removed, before }, 'event log pruned');
          })
          .catch((err: unknown) => {
            logger.warn({ err: { message: (err as Error).message } }, 'event log pruning failed');
          })
          .finally(() => {
            pruning = undefined;
          });
      };
      prune();
      const timer = setInterval(prune, PRUNE_EVERY_MS);
      timer.unref();
      cleanups.unshift(async () => {
        clearInterval(timer);
        await pruning;
      });
    }

    pool.start();
    logger.info(
      { hello: helloAddress, api: apiAddress, instanceId: config.instanceId, workers: config.workers },
      'provisioning service started',
    );

    let closed: Promise<void> | undefined;
    return {
      config,
      store,
      intake,
      helloAddress,
      apiAddress,
      apiUrl,
      apiWarning,
      metrics,
      handleHello,
      waitForIdle: () => pool.waitForIdle(),
      on(event: 'job-finished' | 'hello-screened', fn: (e: never) => void) {
        if (event === 'job-finished') pool.on(event, fn as (e: JobFinished) => void);
        else screened.on(event, fn as (e: HelloScreened) => void);
      },
      off(event: 'job-finished' | 'hello-screened', fn: (e: never) => void) {
        if (event === 'job-finished') pool.off(event, fn as (e: JobFinished) => void);
        else screened.off(event, fn as (e: HelloScreened) => void);
      },
      close() {
        closed ??= (async () => {
          for (const c of cleanups) await c();
          if (ownStore) await store.close();
          logger.info('provisioning service stopped');
        })();
        return closed;
      },
    };
  } catch (err) {
    for (const c of cleanups) await c().catch(() => undefined);
    if (ownStore) await store.close().catch(() => undefined);
    throw err;
  }
}

/** The admin API's PEM files, read once at start; a missing or unreadable one names its setting. */
async function readApiTls(config: ServiceConfig): Promise<{ cert: string; key: string }> {
  const read = async (path: string, setting: string) => {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read ${setting} ${path}: ${(err as Error).message}`, setting);
    }
  };
  return {
    cert: await read(config.api.tlsCert as string, 'api.tlsCert'),
    key: await read(config.api.tlsKey as string, 'api.tlsKey'),
  };
}

/**
 * Why an admin API without TLS on this address is a risk, or undefined on loopback (where only
 * local users can reach it, as with the data folder itself).
 */
export function apiExposureWarning(address: string): string | undefined {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (a === '::1' || /^127\./.test(a)) return undefined;
  return `the admin API listens on ${address} without TLS: its bearer token and every request cross the network in clear; set api.tlsCert and api.tlsKey (OOBKIT_API_TLS_CERT / OOBKIT_API_TLS_KEY), or listen on 127.0.0.1`;
}
