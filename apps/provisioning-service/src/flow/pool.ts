import { EventEmitter, setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { type Job, type JobLease, type SiteStore, StaleLeaseError } from '../store/types.js';
import { ProvisioningError, SimulatedCrash } from './errors.js';

/** What a finished (or abandoned) job reports to listeners. */
export interface JobFinished {
  job: Job;
  outcome: 'succeeded' | 'failed' | 'cancelled' | 'lease-lost' | 'crashed';
  error?: { code: string; message: string; step?: string };
  /** How long this worker held the job, claim to finish (a resumed job counts this run only). */
  durationMs: number;
}

/** Runs one claimed job. `signal` aborts when the lease is lost or the pool closes. */
export type JobRunner = (lease: JobLease, signal: AbortSignal) => Promise<void>;

export interface WorkerPool {
  start(): void;
  /** A job was queued: wake an idle worker now instead of at the next poll. */
  wake(): void;
  /** Resolves when no job is queued or running (in the whole store) and no worker is busy. */
  waitForIdle(): Promise<void>;
  on(event: 'job-finished', fn: (e: JobFinished) => void): void;
  off(event: 'job-finished', fn: (e: JobFinished) => void): void;
  /** Stops claiming, aborts running jobs at their next step, waits for the workers. */
  close(): Promise<void>;
  readonly busy: number;
}

export function createWorkerPool(opts: {
  store: SiteStore;
  run: JobRunner;
  owner: string;
  workers: number;
  leaseMs: number;
  /** How often an idle worker looks for expired leases of crashed workers (default leaseMs / 2, ≤ 1 s). */
  pollMs?: number;
  logger?: Logger;
}): WorkerPool {
  const { store, owner, leaseMs } = opts;
  const pollMs = opts.pollMs ?? Math.max(20, Math.min(1000, Math.floor(leaseMs / 2)));
  const emitter = new EventEmitter();
  const closing = new AbortController();
  // One listener per running job.
  setMaxListeners(0, closing.signal);
  const loops: Promise<void>[] = [];
  let busy = 0;
  let wakeups: Array<() => void> = [];
  let started = false;

  function wake(): void {
    const list = wakeups;
    wakeups = [];
    for (const fn of list) fn();
  }

  function idleWait(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, pollMs);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      wakeups.push(done);
    });
  }

  async function runLease(lease: JobLease): Promise<void> {
    const { job, fencingToken } = lease;
    const started = performance.now();
    const jobAbort = new AbortController();
    const onClose = (): void => jobAbort.abort(new ProvisioningError('FLOW_CANCELLED', 'service closing'));
    closing.signal.addEventListener('abort', onClose);
    // Renew well before expiry; a refused renewal means another worker took over: stop at once.
    const renew = setInterval(
      () => {
        store.renewLease(job.id, fencingToken, leaseMs).catch((err: unknown) => {
          if (err instanceof StaleLeaseError) {
            jobAbort.abort(
              new ProvisioningError('FLOW_LEASE_LOST', `job ${job.id}: lease lost`, { cause: err }),
            );
          } else {
            opts.logger?.warn(
              { jobId: job.id, err: { message: (err as Error).message } },
              'lease renewal failed',
            );
          }
        });
      },
      Math.max(10, Math.floor(leaseMs / 3)),
    );
    renew.unref();
    let finished: Omit<JobFinished, 'durationMs'>;
    try {
      await opts.run(lease, jobAbort.signal);
      finished = { job: (await store.getJob(job.id)) ?? job, outcome: 'succeeded' };
      if (finished.job.state === 'failed') {
        finished = {
          job: finished.job,
          outcome: 'failed',
          ...(finished.job.lastError ? { error: finished.job.lastError } : {}),
        };
      } else if (finished.job.state === 'cancelled') {
        finished = { job: finished.job, outcome: 'cancelled' };
      }
    } catch (err) {
      const outcome =
        err instanceof SimulatedCrash
          ? 'crashed'
          : err instanceof ProvisioningError && err.code === 'FLOW_CANCELLED'
            ? 'cancelled'
            : err instanceof StaleLeaseError ||
                (err instanceof ProvisioningError && err.code === 'FLOW_LEASE_LOST')
              ? 'lease-lost'
              : 'failed';
      finished = {
        job,
        outcome,
        error: { code: (err as { code?: string }).code ?? 'FLOW_INTERNAL', message: (err as Error).message },
      };
      if (outcome === 'failed')
        opts.logger?.error({ jobId: job.id, err: finished.error }, 'job runner failed');
    } finally {
      clearInterval(renew);
      closing.signal.removeEventListener('abort', onClose);
    }
    emitter.emit('job-finished', {
      ...finished,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    } satisfies JobFinished);
  }

  async function loop(): Promise<void> {
    while (!closing.signal.aborted) {
      let lease: JobLease | undefined;
      try {
        lease = await store.claimJob(owner, leaseMs);
      } catch (err) {
        if (closing.signal.aborted) return;
        opts.logger?.error({ err: { message: (err as Error).message } }, 'claiming a job failed');
      }
      if (!lease) {
        emitter.emit('idle-check');
        await idleWait();
        continue;
      }
      busy++;
      try {
        await runLease(lease);
      } finally {
        busy--;
      }
    }
  }

  async function isIdle(): Promise<boolean> {
    if (busy > 0) return false;
    const [queued, running] = await Promise.all([
      store.listJobs({ state: 'queued', limit: 1 }),
      store.listJobs({ state: 'running', limit: 1 }),
    ]);
    return queued.length === 0 && running.length === 0;
  }

  return {
    start() {
      if (started) return;
      started = true;
      for (let i = 0; i < Math.max(1, opts.workers); i++) loops.push(loop());
    },
    wake,
    get busy() {
      return busy;
    },
    async waitForIdle() {
      for (;;) {
        if (await isIdle()) return;
        if (closing.signal.aborted) return;
        // Re-check after each finished job or idle poll of a worker; never spin.
        await new Promise<void>((resolve) => {
          const fn = (): void => {
            emitter.off('job-finished', fn);
            emitter.off('idle-check', fn);
            resolve();
          };
          emitter.on('job-finished', fn);
          emitter.on('idle-check', fn);
        });
      }
    },
    on(event, fn) {
      emitter.on(event, fn);
    },
    off(event, fn) {
      emitter.off(event, fn);
    },
    async close() {
      closing.abort();
      wake();
      await Promise.all(loops);
    },
  };
}
