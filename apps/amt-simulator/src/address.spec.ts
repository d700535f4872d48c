import { describe, expect, it } from 'vitest';
import { deviceAddress } from './address.js';

describe('deviceAddress', () => {
  it('puts each device on its own loopback address', () => {
    expect(deviceAddress(0)).toBe('127.16.0.1');
    expect(deviceAddress(254)).toBe('127.16.0.255');
    expect(deviceAddress(255)).toBe('127.16.1.0');
    const seen = new Set(Array.from({ length: 5000 }, (_, i) => deviceAddress(i)));
    expect(seen.size).toBe(5000);
  });

  it('refuses indexes outside the block', () => {
    expect(() => deviceAddress(-1)).toThrow(RangeError);
    expect(() => deviceAddress(1.5)).toThrow(RangeError);
  });
});
