import { describe, expect, it } from 'vitest';
import { AddressRateLimiter } from './rate-limit.js';

describe('AddressRateLimiter', () => {
  it('allows a burst, then refills at the configured rate', () => {
    let t = 0;
    const rl = new AddressRateLimiter(3, 2, () => t);
    expect([rl.take('a'), rl.take('a'), rl.take('a'), rl.take('a')]).toEqual([true, true, true, false]);
    t = 400; // 2 tokens per second: 0.8 of a token so far
    expect(rl.take('a')).toBe(false);
    t = 500;
    expect(rl.take('a')).toBe(true);
    expect(rl.take('a')).toBe(false);
    t = 100_000;
    expect([rl.take('a'), rl.take('a'), rl.take('a'), rl.take('a')]).toEqual([true, true, true, false]);
  });

  it('keeps addresses apart', () => {
    const rl = new AddressRateLimiter(1, 1, () => 0);
    expect(rl.take('127.0.0.2')).toBe(true);
    expect(rl.take('127.0.0.2')).toBe(false);
    expect(rl.take('127.0.0.3')).toBe(true);
  });

  it('mints no tokens when the clock steps back', () => {
    let t = 10_000;
    const rl = new AddressRateLimiter(1, 1, () => t);
    expect(rl.take('a')).toBe(true);
    t = 0;
    expect(rl.take('a')).toBe(false);
  });

  it('with no refill, an address gets its burst and nothing more', () => {
    let t = 0;
    const rl = new AddressRateLimiter(2, 0, () => t);
    expect([rl.take('a'), rl.take('a')]).toEqual([true, true]);
    t = 1e12;
    expect(rl.take('a')).toBe(false);
  });

  it('forgets full buckets, so many addresses do not grow memory without bound', () => {
    let t = 0;
    const rl = new AddressRateLimiter(1, 1000, () => t);
    for (let i = 0; i < 20_000; i++) {
      t += 10;
      rl.take(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    }
    expect(rl.size).toBeLessThanOrEqual(4096);
  });
});
