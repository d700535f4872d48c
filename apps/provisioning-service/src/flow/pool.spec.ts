import { describe, expect, it } from 'vitest';
import { staticKeyProvider } from '../secrets/index.js';
import { openSqliteStore } from '../store/sqlite.js';
import { SimulatedCrash } from './errors.js';
import { createWorkerPool, type JobFinished } from './pool.js';

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
    let started!: () => void;
    const running = new Promise<void>((r) => {
      started = r;
    });
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
});
