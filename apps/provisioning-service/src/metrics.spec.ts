import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JobFinished } from './flow/pool.js';
import { createServiceMetrics, JOB_SECONDS_BUCKETS, MAX_CODES, type MetricsSnapshot } from './metrics.js';
import { DEVICE_STATUSES, JOB_STATES, type Job } from './store/types.js';

const zero = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

const snapshot = (over: Partial<MetricsSnapshot> = {}): MetricsSnapshot => ({
  counts: { devices: zero(DEVICE_STATUSES), jobs: zero(JOB_STATES) },
  workers: { configured: 8, busy: 0 },
  instanceId: 'inst-1',
  version: '0.1.0',
  ...over,
});

const job = { id: 1, uuid: 'u' } as unknown as Job;
const finished = (outcome: JobFinished['outcome'], durationMs: number, code?: string): JobFinished => ({
  job,
  outcome,
  durationMs,
  ...(code ? { error: { code, message: 'x' } } : {}),
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the text exposition format 0.0.4, as far as we write it: HELP and TYPE
 * before each family's samples, every sample of a declared family, label values unescaped.
 */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  expect(text.endsWith('\n')).toBe(true);
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'HELP') helped.add(meta[2] as string);
      else {
        expect(['counter', 'gauge', 'histogram']).toContain(meta[3]);
        expect(types.has(meta[2] as string)).toBe(false);
        types.set(meta[2] as string, meta[3] as string);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/s.exec(line);
    expect(m, `not a sample line: ${line}`).not.toBeNull();
    const [, name, rawLabels, rawValue] = m as RegExpExecArray;
    const family = [...types.keys()].find(
      (f) =>
        name === f || (types.get(f) === 'histogram' && /^_(bucket|sum|count)$/.test(name!.slice(f.length))),
    );
    expect(family, `sample ${name} before its TYPE`).toBeDefined();
    expect(helped.has(family as string)).toBe(true);
    const labels: Record<string, string> = {};
    if (rawLabels) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let end = 0;
      for (let l = re.exec(rawLabels); l; l = re.exec(rawLabels)) {
        labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        end = re.lastIndex;
      }
      expect(end).toBe(rawLabels.length);
    }
    const value = rawValue === '+Inf' ? Number.POSITIVE_INFINITY : Number(rawValue);
    expect(Number.isNaN(value)).toBe(false);
    samples.push({ name: name as string, labels, value });
  }
  return { samples, types };
}

const seriesValue = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;

describe('service metrics', () => {
  it('starts at zero with every fixed series present, and the store gauges as given', () => {
    const m = createServiceMetrics({ now: () => 1_700_000_000_000 });
    const counts = {
      devices: { ...zero(DEVICE_STATUSES), provisioned: 7, failed: 2 },
      jobs: zero(JOB_STATES),
    };
    counts.jobs.queued = 3;
    const { samples, types } = parseExposition(
      m.render(snapshot({ counts, workers: { configured: 4, busy: 1 } })),
    );
    expect(types.get('oobkit_hellos_total')).toBe('counter');
    expect(types.get('oobkit_job_duration_seconds')).toBe('histogram');
    expect(seriesValue(samples, 'oobkit_start_time_seconds')).toBe(1_700_000_000);
    for (const result of ['queued', 'repeat', 'unknown-uuid', 'no-root-match', 'psk'])
      expect(seriesValue(samples, 'oobkit_hellos_total', { result })).toBe(0);
    for (const s of DEVICE_STATUSES)
      expect(seriesValue(samples, 'oobkit_devices', { status: s })).toBe(counts.devices[s]);
    expect(seriesValue(samples, 'oobkit_jobs', { state: 'queued' })).toBe(3);
    expect(seriesValue(samples, 'oobkit_workers')).toBe(4);
    expect(seriesValue(samples, 'oobkit_workers_busy')).toBe(1);
    expect(seriesValue(samples, 'oobkit_job_duration_seconds_count')).toBe(0);
    expect(samples.filter((s) => s.name === 'oobkit_job_failures_total')).toEqual([]);
  });

  it('counts hellos by what the intake decided', () => {
    const m = createServiceMetrics();
    m.helloScreened({ action: 'queued', job, created: true });
    m.helloScreened({ action: 'queued', job, created: false });
    m.helloScreened({ action: 'queued', job, created: false });
    m.helloScreened({ action: 'dropped', reason: 'unknown-uuid' });
    m.helloScreened({ action: 'dropped', reason: 'psk' });
    m.helloRejected('HELLO_TRUNCATED');
    m.helloRejected('HELLO_TRUNCATED');
    const { samples } = parseExposition(m.render(snapshot()));
    expect(seriesValue(samples, 'oobkit_hellos_total', { result: 'queued' })).toBe(1);
    expect(seriesValue(samples, 'oobkit_hellos_total', { result: 'repeat' })).toBe(2);
    expect(seriesValue(samples, 'oobkit_hellos_total', { result: 'unknown-uuid' })).toBe(1);
    expect(seriesValue(samples, 'oobkit_hellos_total', { result: 'no-root-match' })).toBe(0);
    expect(seriesValue(samples, 'oobkit_hellos_total', { result: 'psk' })).toBe(1);
    expect(seriesValue(samples, 'oobkit_hellos_rejected_total', { code: 'HELLO_TRUNCATED' })).toBe(2);
  });

  it('keeps error-code labels bounded: odd codes and codes past the cap count as OTHER', () => {
    const m = createServiceMetrics();
    m.jobFinished(finished('failed', 10, 'FLOW_LOGIN_FAILED'));
    m.jobFinished(finished('failed', 10, 'not a code\n"x"'));
    m.jobFinished(finished('failed', 10));
    for (let i = 0; i < MAX_CODES + 10; i++) m.jobFinished(finished('failed', 10, `CODE_${i}`));
    m.helloRejected('lower_case');
    const { samples } = parseExposition(m.render(snapshot()));
    const failures = samples.filter((s) => s.name === 'oobkit_job_failures_total');
    expect(failures.length).toBe(MAX_CODES);
    expect(seriesValue(samples, 'oobkit_job_failures_total', { code: 'FLOW_LOGIN_FAILED' })).toBe(1);
    // FLOW_LOGIN_FAILED and OTHER take two of the MAX_CODES series, so MAX_CODES − 2 of the
    // CODE_i keep their own; OTHER has the two unlabelable ones and the 12 CODE_i past the cap.
    expect(failures.filter((s) => /^CODE_/.test(s.labels.code ?? '')).length).toBe(MAX_CODES - 2);
    expect(seriesValue(samples, 'oobkit_job_failures_total', { code: 'OTHER' })).toBe(14);
    expect(failures.reduce((a, s) => a + s.value, 0)).toBe(MAX_CODES + 13);
    expect(seriesValue(samples, 'oobkit_jobs_finished_total', { outcome: 'failed' })).toBe(MAX_CODES + 13);
    expect(seriesValue(samples, 'oobkit_hellos_rejected_total', { code: 'OTHER' })).toBe(1);
  });

  it('escapes label values so any instance id reads back as it was', () => {
    // The characters the format escapes or splits on, and a few ordinary ones.
    const unit = fc.constantFrom('\\', '"', '\n', '\r', '}', '{', ',', '=', ' ', 'a', 'é', '☃');
    fc.assert(
      fc.property(fc.string({ maxLength: 40, unit }), (id) => {
        const { samples } = parseExposition(createServiceMetrics().render(snapshot({ instanceId: id })));
        expect(samples.find((s) => s.name === 'oobkit_info')?.labels.instance_id).toBe(id);
      }),
    );
  });

  it('times succeeded jobs only, in cumulative buckets whose +Inf is the count', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            outcome: fc.constantFrom<JobFinished['outcome']>(
              'succeeded',
              'failed',
              'cancelled',
              'lease-lost',
              'crashed',
            ),
            // Bucket bounds themselves too: `le` is "less than or equal".
            ms: fc.oneof(
              fc.integer({ min: 0, max: 1_000_000 }),
              fc.constantFrom(...JOB_SECONDS_BUCKETS.map((le) => le * 1000)),
            ),
          }),
          { maxLength: 60 },
        ),
        (jobs) => {
          const m = createServiceMetrics();
          for (const j of jobs) m.jobFinished(finished(j.outcome, j.ms, 'FLOW_X'));
          const { samples } = parseExposition(m.render(snapshot()));
          const ok = jobs.filter((j) => j.outcome === 'succeeded').map((j) => j.ms / 1000);
          for (const le of JOB_SECONDS_BUCKETS)
            expect(seriesValue(samples, 'oobkit_job_duration_seconds_bucket', { le: String(le) })).toBe(
              ok.filter((s) => s <= le).length,
            );
          expect(seriesValue(samples, 'oobkit_job_duration_seconds_bucket', { le: '+Inf' })).toBe(ok.length);
          expect(seriesValue(samples, 'oobkit_job_duration_seconds_count')).toBe(ok.length);
          expect(seriesValue(samples, 'oobkit_job_duration_seconds_sum')).toBeCloseTo(
            ok.reduce((a, b) => a + b, 0),
            6,
          );
          for (const outcome of ['succeeded', 'failed', 'cancelled', 'lease-lost', 'crashed'])
            expect(seriesValue(samples, 'oobkit_jobs_finished_total', { outcome })).toBe(
              jobs.filter((j) => j.outcome === outcome).length,
            );
        },
      ),
    );
  });
});
