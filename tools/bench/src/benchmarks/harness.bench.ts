import type { Comparison } from '../harness.js';

// The harness measured against itself: the same work on both sides must come out near 1.0×.
// If this drifts far from 1, the machine is too noisy for the other ratios to mean much.
const buf = Buffer.alloc(807, 7);
function sum(): number {
  let s = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) s += buf.readUInt16LE(i);
  return s;
}

export const comparisons: Comparison[] = [
  {
    title: 'harness self-check: identical work on both sides (expect ≈ 1.0×)',
    baseline: { name: 'sum A', fn: sum },
    subject: { name: 'sum B', fn: sum },
  },
];
