import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONFIGMGR_POWER_SCHEMES,
  findPowerScheme,
  parsePowerDescription,
  SP1_POWER_SCHEME,
} from './power.js';

// Descriptions in the style AMT uses (amt-protocol.md §10).
const DESKTOP = [
  'Desktop: ON in S0',
  'Desktop: ON in S0, ME Wake in S3, S4-5',
  'Desktop: ON in S0, S3, S4-5',
];
const MOBILE = [
  'Mobile: ON in S0',
  'Mobile: ON in S0, ME Wake in S3, S4-5 (AC only)',
  'Mobile: ON in S0, S3/AC',
  'Mobile: ON in S0, S3/AC, S4-5/AC',
];
const schemes = (list: string[]) => list.map((description, i) => ({ description, instanceId: `s${i + 1}` }));

describe('ConfigMgr power scheme numbers', () => {
  it('reads which sleep states keep AMT on or waking', () => {
    expect(parsePowerDescription('Mobile: ON in S0')).toEqual({ s0: 'on', s3: 'off', s45: 'off' });
    expect(parsePowerDescription('Desktop: ON in S0, ME Wake in S3, S4-5')).toEqual({
      s0: 'on',
      s3: 'wake',
      s45: 'wake',
    });
    expect(parsePowerDescription('Mobile: ON in S0, S3/AC')).toEqual({ s0: 'on', s3: 'on', s45: 'off' });
    expect(parsePowerDescription('Mobile: ON in S0, S3/AC, S4-5/AC')).toEqual({
      s0: 'on',
      s3: 'on',
      s45: 'on',
    });
  });

  it('maps SP1 behaviour (scheme 5) to "on in S0–S5 on AC" on both platforms', () => {
    expect(SP1_POWER_SCHEME).toBe(5);
    expect(findPowerScheme(schemes(DESKTOP), 5)?.description).toBe('Desktop: ON in S0, S3, S4-5');
    expect(findPowerScheme(schemes(MOBILE), 5)?.description).toBe('Mobile: ON in S0, S3/AC, S4-5/AC');
  });

  it('finds each numbered scheme a platform offers, and nothing for the others', () => {
    expect(findPowerScheme(schemes(MOBILE), 1)?.instanceId).toBe('s1');
    expect(findPowerScheme(schemes(MOBILE), 2)?.instanceId).toBe('s2');
    expect(findPowerScheme(schemes(MOBILE), 3)?.instanceId).toBe('s3');
    expect(findPowerScheme(schemes(DESKTOP), 3)).toBeUndefined();
    expect(findPowerScheme(schemes(DESKTOP), 4)).toBeUndefined();
    expect(findPowerScheme(schemes(DESKTOP), 99)).toBeUndefined();
  });

  it('gives every number a distinct meaning', () => {
    const seen = new Set(Object.values(CONFIGMGR_POWER_SCHEMES).map((p) => `${p.s3}/${p.s45}`));
    expect(seen.size).toBe(Object.keys(CONFIGMGR_POWER_SCHEMES).length);
  });

  it('never throws on any description', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const p = parsePowerDescription(s);
        expect(['on', 'wake', 'off']).toContain(p.s3);
      }),
    );
  });
});
