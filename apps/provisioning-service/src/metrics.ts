/**
 * Service metrics in the Prometheus text exposition format (version 0.0.4), served by the admin
 * API at `GET /metrics` for a monitoring system to scrape.
 *
 * Two kinds of numbers:
 * - this instance's counters since it started (hellos screened or rejected, jobs finished, job
 *   time): each instance of a site counts its own, and the monitoring system sums them;
 * - site-wide gauges read from the store at each scrape (devices by status, jobs by state), the
 *   same from every instance.
 *
 * Labels never carry a device UUID, an address or any other unbounded value: only fixed sets
 * (outcomes, reasons, statuses) and stable error codes, of which at most `MAX_CODES` distinct
 * ones are kept per counter (the rest count under `code="OTHER"`).
 */
import type { JobFinished } from './flow/pool.js';
import type { IntakeOutcome } from './intake/index.js';
import { DEVICE_STATUSES, JOB_STATES, type SiteCounts } from './store/types.js';

/** Job time buckets in seconds: a loopback device takes well under a second, a real AMT 5–60 s. */
export const JOB_SECONDS_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600] as const;
/** Distinct error codes kept per counter; more count as `OTHER` (a bound on the series). */
export const MAX_CODES = 64;

/** What a scrape reads besides the counters. */
export interface MetricsSnapshot {
  counts: SiteCounts;
  /** Worker slots of this instance, and how many are running a job now. */
  workers: { configured: number; busy: number };
  /** Identifies the instance (`oobkit_info`). */
  instanceId: string;
  version: string;
}

export interface ServiceMetrics {
  /** A hello after screening (what the intake decided). */
  helloScreened(outcome: IntakeOutcome): void;
  /** A malformed hello the listener refused, by its decode error code. */
  helloRejected(code: string): void;
  /** A job a worker of this instance finished (any outcome). */
  jobFinished(e: JobFinished): void;
  /** The whole exposition text, ending with a newline. */
  render(snapshot: MetricsSnapshot): string;
}

type HelloKind = 'queued' | 'repeat' | 'unknown-uuid' | 'no-root-match' | 'psk';
const HELLO_KINDS: readonly HelloKind[] = ['queued', 'repeat', 'unknown-uuid', 'no-root-match', 'psk'];
const JOB_OUTCOMES: readonly JobFinished['outcome'][] = [
  'succeeded',
  'failed',
  'cancelled',
  'lease-lost',
  'crashed',
];
/** Stable codes are upper-case words (`FLOW_LOGIN_FAILED`); anything else is not a label value. */
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

export function createServiceMetrics(opts: { now?: () => number } = {}): ServiceMetrics {
  const now = opts.now ?? Date.now;
  const startedAt = now();
  const hellos = new Map<HelloKind, number>(HELLO_KINDS.map((k) => [k, 0]));
  const rejected = new Map<string, number>();
  const finished = new Map<JobFinished['outcome'], number>(JOB_OUTCOMES.map((k) => [k, 0]));
  const failures = new Map<string, number>();
  // Succeeded jobs only: a failed job's time says how long it took to fail, not to provision.
  const bucketCounts: number[] = JOB_SECONDS_BUCKETS.map(() => 0);
  let jobSecondsSum = 0;
  let jobSecondsCount = 0;

  const countCode = (m: Map<string, number>, code: string) => {
    let key = CODE.test(code) ? code : 'OTHER';
    if (!m.has(key) && m.size >= MAX_CODES) key = 'OTHER';
    m.set(key, (m.get(key) ?? 0) + 1);
  };

  return {
    helloScreened(o) {
      const kind: HelloKind = o.action === 'dropped' ? o.reason : o.created ? 'queued' : 'repeat';
      hellos.set(kind, (hellos.get(kind) ?? 0) + 1);
    },
    helloRejected(code) {
      countCode(rejected, code);
    },
    jobFinished(e) {
      finished.set(e.outcome, (finished.get(e.outcome) ?? 0) + 1);
      if (e.outcome === 'failed') countCode(failures, e.error?.code ?? 'OTHER');
      if (e.outcome !== 'succeeded') return;
      const s = e.durationMs / 1000;
      jobSecondsSum += s;
      jobSecondsCount++;
      JOB_SECONDS_BUCKETS.forEach((le, i) => {
        if (s <= le) bucketCounts[i] = (bucketCounts[i] ?? 0) + 1;
      });
    },
    render(snap) {
      const out: string[] = [];
      const family = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string) =>
        out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
      const sample = (name: string, labels: Record<string, string>, value: number) =>
        out.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);

      family('oobkit_info', 'gauge', 'This instance: always 1, with its id and version as labels.');
      sample('oobkit_info', { instance_id: snap.instanceId, version: snap.version }, 1);
      family('oobkit_start_time_seconds', 'gauge', 'When this instance started (Unix time).');
      sample('oobkit_start_time_seconds', {}, startedAt / 1000);

      family(
        'oobkit_hellos_total',
        'counter',
        'Hellos screened by this instance: queued (a new job), repeat (the device had a job), or dropped (unknown-uuid, no-root-match, psk).',
      );
      for (const [k, n] of hellos) sample('oobkit_hellos_total', { result: k }, n);
      family(
        'oobkit_hellos_rejected_total',
        'counter',
        'Malformed hellos refused by this instance, by error code.',
      );
      for (const [k, n] of sorted(rejected)) sample('oobkit_hellos_rejected_total', { code: k }, n);

      family('oobkit_jobs_finished_total', 'counter', 'Jobs this instance finished, by outcome.');
      for (const [k, n] of finished) sample('oobkit_jobs_finished_total', { outcome: k }, n);
      family('oobkit_job_failures_total', 'counter', 'Failed jobs of this instance, by error code.');
      for (const [k, n] of sorted(failures)) sample('oobkit_job_failures_total', { code: k }, n);
      family(
        'oobkit_job_duration_seconds',
        'histogram',
        'Time a worker of this instance held a job that succeeded, claim to finish.',
      );
      JOB_SECONDS_BUCKETS.forEach((le, i) => {
        sample('oobkit_job_duration_seconds_bucket', { le: String(le) }, bucketCounts[i] ?? 0);
      });
      sample('oobkit_job_duration_seconds_bucket', { le: '+Inf' }, jobSecondsCount);
      sample('oobkit_job_duration_seconds_sum', {}, jobSecondsSum);
      sample('oobkit_job_duration_seconds_count', {}, jobSecondsCount);

      family('oobkit_workers', 'gauge', 'Worker slots of this instance.');
      sample('oobkit_workers', {}, snap.workers.configured);
      family('oobkit_workers_busy', 'gauge', 'Workers of this instance running a job now.');
      sample('oobkit_workers_busy', {}, snap.workers.busy);

      family('oobkit_devices', 'gauge', 'Devices in the site store, by status (site-wide).');
      for (const s of DEVICE_STATUSES) sample('oobkit_devices', { status: s }, snap.counts.devices[s]);
      family('oobkit_jobs', 'gauge', 'Jobs in the site store, by state (site-wide).');
      for (const s of JOB_STATES) sample('oobkit_jobs', { state: s }, snap.counts.jobs[s]);
      return `${out.join('\n')}\n`;
    },
  };
}

/** The exposition format's content type. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function sorted(m: Map<string, number>): Array<[string, number]> {
  return [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Label values escape backslash, double quote and line feed (the exposition format's rule). */
function formatLabels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}
