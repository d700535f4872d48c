import { EventEmitter, setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { type Job, type JobLease, type SiteStore, StaleLeaseError } from '../store/types.js';
import { hasCode, ProvisioningError, SimulatedCrash } from './errors.js';

/**
 * What a finished (or abandoned) job reports to listeners. `cancelled`: the job ended cancelled,
 * or stopped because the pool closed (`FLOW_CANCELLED`; then given back to the queue, so the
 * next claim resumes it at once). `lease-lost`: left to another worker, now or once its lease
 * expires: another owner took it, or the site store became unreachable under it (`error.code`
 * `STORE_UNAVAILABLE`, nothing more could be written); neither is a failure of the job.
 */
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
  /**
   * Stops claiming, aborts running jobs at their next step and gives each back to the queue
   * (`releaseLease`, journal kept) so the next claim resumes it at once, waits for the workers.
   */
  close(): Promise<void>;
  readonly busy: number;
}

/** The longest a worker waits between claims while claiming keeps failing (the store is down). */
export const CLAIM_BACKOFF_MAX_MS = 5_000;

export function createWorkerPool(opts: {
  store: SiteStore;
  run: JobRunner;
  owner: string;
  workers: number;
  leaseMs: number;
  /** How often an idle worker looks for expired leases of crashed workers (default leaseMs / 2, ≤ 1 s). */
  pollMs?: number;
  /**
   * While claiming fails (the store is unreachable), each worker waits pollMs, then twice as long
   * after each further failure, up to this (default `CLAIM_BACKOFF_MAX_MS`, at least pollMs); and
   * the pool logs the first failure, then at most one line per this long, with how many it held back.
   */
  claimBackoffMaxMs?: number;
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
  const backoffMaxMs = Math.max(pollMs, opts.claimBackoffMaxMs ?? CLAIM_BACKOFF_MAX_MS);
  /** The pool's claim failures since the last claim that worked (one log line per window). */
  const claimFailures = { count: 0, suppressed: 0, loggedAt: 0 };

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

  /** A worker's wait after a failed claim: `wake()` does not cut it short, `close()` does. */
  function backoffWait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      closing.signal.addEventListener('abort', done, { once: true });
      function done(): void {
        clearTimeout(timer);
        closing.signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }

  /** Logs a failed claim: the first of a run of them, then at most one line per backoff window. */
  function claimFailed(err: unknown): void {
    const at = Date.now();
    claimFailures.count++;
    const first = claimFailures.count === 1;
    if (!first && at - claimFailures.loggedAt < backoffMaxMs) {
      claimFailures.suppressed++;
      return;
    }
    const e = err as { code?: unknown; message?: unknown };
    opts.logger?.error(
      {
        err: { ...(typeof e?.code === 'string' ? { code: e.code } : {}), message: String(e?.message ?? err) },
        failures: claimFailures.count,
        ...(first ? {} : { suppressed: claimFailures.suppressed }),
      },
      first
        ? 'claiming a job failed'
        : `claiming a job still failing (${claimFailures.suppressed} more failures not logged)`,
    );
    claimFailures.loggedAt = at;
    claimFailures.suppressed = 0;
  }

  /** A claim worked: a run of failures is over, and says so. */
  function claimWorked(): void {
    if (claimFailures.count === 0) return;
    // `suppressed`: the failures since the last line, which no line reported.
    opts.logger?.info(
      { failures: claimFailures.count, suppressed: claimFailures.suppressed },
      'claiming jobs works again',
    );
    claimFailures.count = 0;
    claimFailures.suppressed = 0;
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
    let giveBack = false;
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
      // The store went away under the job (PostgreSQL down): not the device's failure. Nothing
      // more can be written, so the job is left running under its lease, and resumed from its
      // journal by whichever worker claims it once the lease expires and the store is back.
      const storeDown = !(err instanceof SimulatedCrash) && hasCode(err, 'STORE_UNAVAILABLE');
      const outcome =
        err instanceof SimulatedCrash
          ? 'crashed'
          : err instanceof ProvisioningError && err.code === 'FLOW_CANCELLED'
            ? 'cancelled'
            : storeDown ||
                err instanceof StaleLeaseError ||
                (err instanceof ProvisioningError && err.code === 'FLOW_LEASE_LOST')
              ? 'lease-lost'
              : 'failed';
      finished = {
        job,
        outcome,
        error: {
          code: storeDown ? 'STORE_UNAVAILABLE' : ((err as { code?: string }).code ?? 'FLOW_INTERNAL'),
          message: (err as Error).message,
        },
      };
      if (outcome === 'failed') {
        opts.logger?.error({ jobId: job.id, err: finished.error }, 'job runner failed');
      } else if (storeDown) {
        opts.logger?.warn(
          { jobId: job.id, err: finished.error },
          'site store unavailable: job left to resume once its lease expires',
        );
      }
      // Stopped because the pool is closing (not lost, not failed): give the job back now, so a
      // restart (or another instance) resumes it at once instead of after the lease expires.
      giveBack = outcome === 'cancelled' && closing.signal.aborted;
    } finally {
      clearInterval(renew);
      closing.signal.removeEventListener('abort', onClose);
    }
    if (giveBack) await release(job.id, fencingToken);
    emitter.emit('job-finished', {
      ...finished,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    } satisfies JobFinished);
  }

  /** `releaseLease` for a job the closing pool stopped; a refusal only means it is not ours now. */
  async function release(jobId: number, fencingToken: number): Promise<void> {
    try {
      await store.releaseLease(jobId, fencingToken);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      opts.logger?.warn(
        { jobId, err: { ...(e.code ? { code: e.code } : {}), message: e.message } },
        'releasing the lease of a stopped job failed: it resumes once the lease expires',
      );
    }
  }

  async function loop(): Promise<void> {
    /** This worker's wait before its next claim after a failed one (0: the last claim worked). */
    let backoffMs = 0;
    while (!closing.signal.aborted) {
      let lease: JobLease | undefined;
      try {
        lease = await store.claimJob(owner, leaseMs);
        backoffMs = 0;
        claimWorked();
      } catch (err) {
        if (closing.signal.aborted) return;
        claimFailed(err);
        backoffMs = backoffMs === 0 ? pollMs : Math.min(backoffMaxMs, backoffMs * 2);
        emitter.emit('idle-check');
        await backoffWait(backoffMs);
        continue;
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
