import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../log.js';
import { createServiceMetrics } from '../metrics.js';
import { staticKeyProvider } from '../secrets/index.js';
import { StoreUnavailableError } from '../store/errors.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Job, SiteStore } from '../store/types.js';
import { ProvisioningError, SimulatedCrash } from './errors.js';
import { CLAIM_BACKOFF_MAX_MS, createWorkerPool, type JobFinished } from './pool.js';

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

async function setup(now?: () => number) {
  const store = await openSqliteStore({
    path: ':memory:',
    keyProvider: staticKeyProvider(Buffer.alloc(32, 5)),
    ...(now ? { now } : {}),
  });
  await store.importComputers(
    [1, 2, 3].map((n) => ({
      uuid: uuid(n),
      hostName: `pc-${n}`,
      domainName: 'x.test',
      source: 'import' as const,
    })),
  );
  return store;
}

/** A promise (`running`) and the function that resolves it (`started`), for a job to say it began. */
function signalled(): { running: Promise<void>; started: () => void } {
  let started!: () => void;
  const running = new Promise<void>((resolve) => {
    started = resolve;
  });
  return { running, started };
}

/** A logger whose lines (parsed) land in `lines`. */
function capture(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
  });
  return { logger, lines };
}

/** What the PostgreSQL store throws when its server is down (the driver's error as its cause). */
function storeDown(): StoreUnavailableError {
  const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:15432'), { code: 'ECONNREFUSED' });
  return new StoreUnavailableError(
    'cannot use the PostgreSQL site store at postgres://oobkit:***@127.0.0.1:15432/site: connect ECONNREFUSED 127.0.0.1:15432',
    { cause },
  );
}

/** `p`, or a failure after `ms` saying what did not happen. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function collect(pool: ReturnType<typeof createWorkerPool>): JobFinished[] {
  const out: JobFinished[] = [];
  pool.on('job-finished', (e) => out.push(e));
  return out;
}

describe('worker pool', () => {
  it('runs every queued job once and reports idle', async () => {
    const store = await setup();
    const ran: string[] = [];
    const pool = createWorkerPool({
      store,
      owner: 'w',
      workers: 2,
      leaseMs: 10_000,
      run: async ({ job, fencingToken }) => {
        ran.push(job.uuid);
        await store.finishJob(job.id, fencingToken, { state: 'succeeded' });
      },
    });
    const finished = collect(pool);
    for (const n of [1, 2, 3]) await store.enqueueJob(uuid(n), 'hello');
    pool.start();
    pool.wake();
    await pool.waitForIdle();
    expect(ran.sort()).toEqual([uuid(1), uuid(2), uuid(3)]);
    expect(finished.map((f) => f.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    await pool.close();
    await store.close();
  });

  it('leaves a crashed job running until its lease expires, then another worker resumes it', async () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const store = await setup(() => t);
    let calls = 0;
    const pool = createWorkerPool({
      store,
      owner: 'w',
      workers: 1,
      leaseMs: 5_000,
      pollMs: 20,
      run: async ({ job, fencingToken }) => {
        calls++;
        if (calls === 1) throw new SimulatedCrash('test');
        await store.finishJob(job.id, fencingToken, { state: 'succeeded' });
      },
    });
    const finished = collect(pool);
    const crashed = new Promise<void>((resolve) =>
      pool.on('job-finished', (e) => e.outcome === 'crashed' && resolve()),
    );
    const succeeded = new Promise<JobFinished>((resolve) =>
      pool.on('job-finished', (e) => e.outcome === 'succeeded' && resolve(e)),
    );
    const { job } = await store.enqueueJob(uuid(1), 'hello');
    pool.start();
    await crashed;
    expect((await store.getJob(job.id))?.state).toBe('running');
    t += 6_000; // the virtual clock passes the lease
    const done = await succeeded;
    expect(done.job.attempts).toBe(2);
    expect(finished.map((f) => f.outcome)).toEqual(['crashed', 'succeeded']);
    await pool.close();
    await store.close();
  });

  it('aborts a job whose lease another worker took', async () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const store = await setup(() => t);
    const { running, started } = signalled();
    const pool = createWorkerPool({
      store,
      owner: 'slow',
      workers: 1,
      leaseMs: 1_000,
      // A job that only ends when its lease is lost.
      run: async (_lease, signal) => {
        started();
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        throw signal.reason;
      },
    });
    const finished = new Promise<JobFinished>((resolve) => pool.on('job-finished', resolve));
    await store.enqueueJob(uuid(2), 'hello');
    pool.start();
    await running;
    t += 2_000; // the lease lapses on the store's clock, and another owner claims the job
    const stolen = await store.claimJob('other', 60_000);
    expect(stolen?.job.leaseOwner).toBe('other');
    // The slow worker's next renewal is refused (stale fencing token): it stops and says so.
    const e = await finished;
    expect(e.outcome).toBe('lease-lost');
    expect(e.error?.code).toBe('FLOW_LEASE_LOST');
    await pool.close();
    await store.close();
  });
  it('gives a job stopped by close() back to the queue with its journal, and a new pool claims it at once', async () => {
    const t = Date.parse('2026-01-01T00:00:00Z'); // the virtual clock never moves: no lease expires
    const store = await setup(() => t);
    const { running, started } = signalled();
    const first = createWorkerPool({
      store,
      owner: 'instance-a',
      workers: 1,
      leaseMs: 60_000,
      pollMs: 20,
      // A job that completes one step, then stops when aborted, as the runner does between steps.
      run: async ({ job, fencingToken }, signal) => {
        await store.recordStep(job.id, fencingToken, { step: 'tls', journal: { tls: { certificateId: 1 } } });
        started();
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        throw signal.reason;
      },
    });
    const stopped = collect(first);
    const { job } = await store.enqueueJob(uuid(1), 'hello');
    first.start();
    await running;
    await first.close();
    expect(stopped.map((f) => [f.outcome, f.error?.code])).toEqual([['cancelled', 'FLOW_CANCELLED']]);
    const queued = await store.getJob(job.id);
    expect(queued).toMatchObject({
      state: 'queued',
      step: 'tls',
      attempts: 1,
      journal: { tls: { certificateId: 1 } },
    });
    expect(queued?.leaseOwner).toBeUndefined();

    // The restarted service: its first claim takes the job and resumes it from the journal.
    const resumed: Job[] = [];
    const second = createWorkerPool({
      store,
      owner: 'instance-b',
      workers: 1,
      leaseMs: 60_000,
      pollMs: 20,
      run: async ({ job, fencingToken }) => {
        resumed.push(job);
        await store.finishJob(job.id, fencingToken, { state: 'succeeded' });
      },
    });
    const done = new Promise<JobFinished>((resolve) => second.on('job-finished', resolve));
    second.start();
    expect((await within(done, 2_000, 'the released job claimed')).outcome).toBe('succeeded');
    expect(resumed).toMatchObject([
      { id: job.id, leaseOwner: 'instance-b', attempts: 2, journal: { tls: { certificateId: 1 } } },
    ]);
    await second.close();
    await store.close();
  });

  it('gives back only what close() stopped: a job cancelled while the pool runs keeps its lease', async () => {
    const t = Date.parse('2026-01-01T00:00:00Z');
    const store = await setup(() => t);
    const pool = createWorkerPool({
      store,
      owner: 'w',
      workers: 1,
      leaseMs: 60_000,
      pollMs: 20,
      run: async () => {
        throw new ProvisioningError('FLOW_CANCELLED', 'job aborted');
      },
    });
    const finished = new Promise<JobFinished>((resolve) => pool.on('job-finished', resolve));
    const { job } = await store.enqueueJob(uuid(1), 'hello');
    pool.start();
    expect((await finished).outcome).toBe('cancelled');
    await pool.close();
    expect(await store.getJob(job.id)).toMatchObject({ state: 'running', leaseOwner: 'w' });
    await store.close();
  });

  it('leaves a job whose store went away to its lease, as lease-lost with STORE_UNAVAILABLE, never a failure', async () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const store = await setup(() => t);
    const { logger, lines } = capture();
    const metrics = createServiceMetrics();
    let calls = 0;
    const pool = createWorkerPool({
      store,
      owner: 'w',
      workers: 1,
      leaseMs: 5_000,
      pollMs: 20,
      logger,
      run: async ({ job, fencingToken }) => {
        calls++;
        // What reaches the pool: the store's error itself, or wrapped by a runner as a cause.
        if (calls === 1) throw storeDown();
        if (calls === 2)
          throw new ProvisioningError('FLOW_UNREACHABLE', 'step failed', { cause: storeDown() });
        await store.finishJob(job.id, fencingToken, { state: 'succeeded' });
      },
    });
    const finished = collect(pool);
    pool.on('job-finished', (e) => metrics.jobFinished(e));
    const next = () => new Promise<JobFinished>((resolve) => pool.on('job-finished', resolve));
    let event = next();
    const { job } = await store.enqueueJob(uuid(1), 'hello');
    pool.start();
    expect(await event).toMatchObject({ outcome: 'lease-lost', error: { code: 'STORE_UNAVAILABLE' } });
    // Not failed, not released: running under its lease until that expires.
    expect(await store.getJob(job.id)).toMatchObject({ state: 'running', attempts: 1 });
    event = next();
    t += 6_000;
    expect(await event).toMatchObject({ outcome: 'lease-lost', error: { code: 'STORE_UNAVAILABLE' } });
    event = next();
    t += 6_000;
    expect(await event).toMatchObject({ outcome: 'succeeded', job: { attempts: 3 } });
    expect(finished.map((f) => f.outcome)).toEqual(['lease-lost', 'lease-lost', 'succeeded']);

    const text = metrics.render({
      counts: await store.countByState(),
      workers: { configured: 1, busy: 0 },
      instanceId: 'i',
      version: '0',
    });
    expect(text).toContain('oobkit_jobs_finished_total{outcome="failed"} 0');
    expect(text).not.toMatch(/oobkit_job_failures_total\{/);
    expect(lines.filter((l) => l.msg === 'job runner failed')).toEqual([]);
    expect(lines.filter((l) => String(l.msg).startsWith('site store unavailable'))).toHaveLength(2);
    await pool.close();
    await store.close();
  });

  it('backs off while claiming fails, logging the first failure and then one line per window', async () => {
    const store = await setup();
    let down = true;
    let claims = 0;
    // The store's outage as the pool sees it: every claim throws.
    const failing = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'claimJob') {
          return async (owner: string, leaseMs: number) => {
            claims++;
            if (down) throw storeDown();
            return target.claimJob(owner, leaseMs);
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as SiteStore;
    const { logger, lines } = capture();
    const failedLines = () => lines.filter((l) => String(l.msg).startsWith('claiming a job'));
    vi.useFakeTimers();
    const pool = createWorkerPool({
      store: failing,
      owner: 'w',
      workers: 4,
      leaseMs: 10_000,
      pollMs: 20,
      run: async () => undefined,
      logger,
    });
    try {
      pool.start();
      await vi.advanceTimersByTimeAsync(60_000);
      // Per worker: at 0, then after 20, 40, 80 … ms doubling up to 5 s, then every 5 s: 19 in
      // 60 s (without the backoff: 3,000 each, and as many log lines).
      expect(claims).toBeGreaterThanOrEqual(4 * 15);
      expect(claims).toBeLessThanOrEqual(4 * 20);
      const logged = failedLines();
      expect(logged[0]).toMatchObject({
        level: 50,
        msg: 'claiming a job failed',
        err: { code: 'STORE_UNAVAILABLE' },
      });
      expect(logged.length).toBeGreaterThanOrEqual(10);
      expect(logged.length).toBeLessThanOrEqual(1 + Math.ceil(60_000 / CLAIM_BACKOFF_MAX_MS));
      for (const l of logged.slice(1)) {
        expect(l.msg).toBe(`claiming a job still failing (${l.suppressed} more failures not logged)`);
        expect(l.suppressed).toBeGreaterThan(0);
      }

      // A job queued meanwhile does not cut a worker's backoff short (the next claims are due at 60.1 s).
      const before = claims;
      for (let i = 0; i < 50; i++) pool.wake();
      await vi.advanceTimersByTimeAsync(50);
      expect(claims).toBe(before);

      // Back: the next claims work, it says so once with the tally, and polling is back to pollMs.
      down = false;
      await vi.advanceTimersByTimeAsync(CLAIM_BACKOFF_MAX_MS);
      const back = lines.filter((l) => l.msg === 'claiming jobs works again');
      expect(back).toHaveLength(1);
      // Every failure is in a line: logged, or counted as held back by the next one.
      const reported =
        failedLines().length +
        failedLines().reduce((n, l) => n + Number(l.suppressed ?? 0), 0) +
        Number(back[0]?.suppressed);
      expect(back[0]?.failures).toBe(reported);
      expect(back[0]?.failures).toBe(before); // every claim until then failed
      const polling = claims;
      await vi.advanceTimersByTimeAsync(1_000);
      expect(claims - polling).toBeGreaterThanOrEqual(4 * 40);

      // Down again: the first failure of the new run is logged at once.
      const linesBefore = failedLines().length;
      down = true;
      await vi.advanceTimersByTimeAsync(100);
      expect(failedLines().slice(linesBefore)).toMatchObject([{ msg: 'claiming a job failed' }]);
    } finally {
      await pool.close();
      vi.useRealTimers();
      await store.close();
    }
  });
});
