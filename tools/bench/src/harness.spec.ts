import { describe, expect, it } from 'vitest';
import { type Comparison, compare, formatResult, summarize } from './harness.js';

const cmp = (goal?: number): Comparison => ({
  title: 't',
  baseline: { name: 'floor', fn: () => 0 },
  subject: { name: 'ours', fn: () => 0 },
  ...(goal === undefined ? {} : { goal }),
});

describe('bench harness', () => {
  it('reports the ratio of the medians, robust to one outlier round', () => {
    const r = summarize(cmp(0.8), [100, 100, 5_000, 100, 100], [90, 1, 90, 90, 90]);
    expect(r.baseline.opsPerSec).toBe(100);
    expect(r.subject.opsPerSec).toBe(90);
    expect(r.ratio).toBeCloseTo(0.9, 10);
    expect(r.met).toBe(true);
    expect(formatResult(r)).toContain('ratio 0.90× (goal ≥ 0.8×: met)');
  });

  it('flags a missed goal and leaves goal-less results unjudged', () => {
    expect(summarize(cmp(1.5), [10, 10], [10, 10]).met).toBe(false);
    expect(formatResult(summarize(cmp(1.5), [10], [10]))).toContain('MISSED');
    expect(summarize(cmp(), [10], [20]).met).toBeUndefined();
  });

  it('runs both sides in every round, baseline and subject alike', async () => {
    const calls = { b: 0, s: 0 };
    await compare(
      {
        title: 'count',
        baseline: { name: 'b', batch: () => ++calls.b },
        subject: { name: 's', batch: () => ++calls.s },
      },
      { rounds: 4 },
    );
    // one warm-up each, then one call per round each
    expect(calls).toEqual({ b: 5, s: 5 });
  });
});
