/**
 * The benchmark harness. Machines here are noisy, so no result is an absolute number: every
 * benchmark compares a subject with a baseline (a peer library or a floor) measured in the same
 * run, in interleaved rounds, and reports the ratio of the medians.
 */

/** One side of a comparison. `fn` is called repeatedly; `batch` does a unit of work itself. */
export type BenchCase =
  | { name: string; fn: () => unknown }
  | { name: string; batch: () => Promise<number> | number };

export interface Comparison {
  /** What is measured, e.g. "decodeHello (807-byte hello)". */
  title: string;
  /** The peer or floor. */
  baseline: BenchCase;
  subject: BenchCase;
  /** The subject/baseline ratio the issue asks for; reported as met or missed. */
  goal?: number;
  /** Label of one operation (default "op"). */
  unit?: string;
}

export interface RunOptions {
  /** Interleaved rounds per side (default 5). */
  rounds?: number;
  /** Minimum time per round for `fn` cases, in ms (default 150). */
  roundMs?: number;
}

export interface ComparisonResult {
  title: string;
  baseline: { name: string; opsPerSec: number };
  subject: { name: string; opsPerSec: number };
  ratio: number;
  goal?: number;
  met?: boolean;
}

/**
 * An async case for work that is too slow to time call by call: `once` is calibrated for about
 * 30 ms up front, then each round runs it enough times to last about `ms`.
 */
export async function batchOf(name: string, once: () => Promise<unknown>, ms = 150): Promise<BenchCase> {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 30) {
    await once();
    n++;
  }
  const count = Math.max(1, Math.round((n * ms) / 30));
  return {
    name,
    batch: async () => {
      for (let i = 0; i < count; i++) await once();
      return count;
    },
  };
}

/**
 * A batch of up to `count` calls of `one` with `concurrency` in flight, cut short at `deadlineMs`;
 * it returns how many were issued (a stuck peer ends the round instead of hanging the run).
 */
export function concurrentBatch(
  one: () => Promise<void>,
  opts: { count: number; concurrency: number; deadlineMs: number },
): () => Promise<number> {
  return async () => {
    const deadline = Date.now() + opts.deadlineMs;
    let issued = 0;
    const worker = async () => {
      while (issued < opts.count && Date.now() < deadline) {
        issued++;
        await one();
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
    return issued;
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function measure(c: BenchCase, roundMs: number): Promise<number> {
  if ('batch' in c) {
    const t0 = process.hrtime.bigint();
    const ops = await c.batch();
    const ns = Number(process.hrtime.bigint() - t0);
    return ops / (ns / 1e9);
  }
  // Grow the inner loop until a round lasts long enough that the timer's resolution is noise.
  let n = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) c.fn();
    const ns = Number(process.hrtime.bigint() - t0);
    if (ns >= roundMs * 1e6) return n / (ns / 1e9);
    n = ns < 1e6 ? n * 10 : Math.ceil((n * roundMs * 1e6 * 1.1) / ns);
  }
}

/** Runs one comparison: a warm-up of each side, then interleaved rounds; ratio of medians. */
export async function compare(cmp: Comparison, opts: RunOptions = {}): Promise<ComparisonResult> {
  const rounds = opts.rounds ?? 5;
  const roundMs = opts.roundMs ?? 150;
  await measure(cmp.baseline, roundMs / 3);
  await measure(cmp.subject, roundMs / 3);
  const base: number[] = [];
  const subj: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate which side goes first so drift (thermal, GC, other load) hits both alike.
    if (r % 2 === 0) {
      base.push(await measure(cmp.baseline, roundMs));
      subj.push(await measure(cmp.subject, roundMs));
    } else {
      subj.push(await measure(cmp.subject, roundMs));
      base.push(await measure(cmp.baseline, roundMs));
    }
  }
  return summarize(cmp, base, subj);
}

/** Turns per-round ops/s samples of both sides into a result (ratio of the medians). */
export function summarize(cmp: Comparison, baseline: number[], subject: number[]): ComparisonResult {
  const b = median(baseline);
  const s = median(subject);
  const ratio = s / b;
  return {
    title: cmp.title,
    baseline: { name: cmp.baseline.name, opsPerSec: b },
    subject: { name: cmp.subject.name, opsPerSec: s },
    ratio,
    ...(cmp.goal !== undefined ? { goal: cmp.goal, met: ratio >= cmp.goal } : {}),
  };
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3);
}

/** One human-readable line per result. */
export function formatResult(r: ComparisonResult, unit = 'op'): string {
  const goal = r.goal === undefined ? '' : ` (goal ≥ ${r.goal}×: ${r.met ? 'met' : 'MISSED'})`;
  return (
    `${r.title}\n  ${r.subject.name}: ${fmt(r.subject.opsPerSec)} ${unit}/s · ` +
    `${r.baseline.name}: ${fmt(r.baseline.opsPerSec)} ${unit}/s · ratio ${r.ratio.toFixed(2)}×${goal}`
  );
}
