/**
 * Runs every `src/benchmarks/*.bench.ts` (or those whose file name contains an argument) and
 * prints ratios. Usage: `pnpm bench [filter…]`; results are also written to
 * `tools/bench/results/latest.json` for `docs/benchmarks.md`.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { type Comparison, type ComparisonResult, compare, formatResult } from './harness.js';

const dir = new URL('./benchmarks/', import.meta.url);
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

console.log(`oobkit bench · ${new Date().toISOString()} · node ${process.version} · ${cpus().length} cpu`);
const results: (ComparisonResult & { file: string })[] = [];
for (const file of files) {
  const mod = (await import(new URL(file, dir).href)) as {
    comparisons: Comparison[] | (() => Promise<Comparison[]>);
    teardown?: () => Promise<void>;
  };
  const list = typeof mod.comparisons === 'function' ? await mod.comparisons() : mod.comparisons;
  console.log(`\n# ${file}`);
  try {
    for (const cmp of list) {
      const r = await compare(cmp);
      results.push({ ...r, file });
      console.log(formatResult(r, cmp.unit));
    }
  } finally {
    await mod.teardown?.();
  }
}
const out = new URL('../results/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'latest.json'),
  `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`,
);
const missed = results.filter((r) => r.met === false);
console.log(`\n${results.length} comparisons, ${missed.length} goals missed`);
