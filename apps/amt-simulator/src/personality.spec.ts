import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatorError } from './errors.js';
import { BUILT_IN_ROOTS, builtInHashes, parseVersion, profileFor } from './personality.js';

describe('personalities', () => {
  it('legacy: AMT 3–8, SOAP, SHA-1 hashes, PSK hellos; modern: 9+, WS-Man only, SHA-256 from 11', () => {
    const legacy = profileFor('legacy');
    expect(legacy).toMatchObject({
      firmwareVersion: '5.2.10',
      soap: true,
      hashAlgorithm: 'sha1',
      pskHello: true,
    });
    expect(legacy.serverVersion).toBe('5.2.10.3425');
    const modern = profileFor('modern');
    expect(modern).toMatchObject({
      firmwareVersion: '16.1.25',
      soap: false,
      hashAlgorithm: 'sha256',
      pskHello: false,
    });
    expect(modern.minKeyBits).toBe(2048);
    expect(profileFor('modern', '11.8.50.3425').serverVersion).toBe('11.8.50.3425');
    expect(profileFor('modern', '12.0').minKeyBits).toBe(1024);
    expect(() => profileFor('legacy', '11.0.0')).toThrow(SimulatorError);
    expect(() => profileFor('modern', '8.1.0')).toThrow(SimulatorError);
    expect(() => profileFor('ancient' as 'legacy')).toThrow(SimulatorError);
  });

  it('built-in hashes are stable, shared and of the right length', () => {
    const a = builtInHashes('sha256');
    expect(a).toHaveLength(BUILT_IN_ROOTS);
    expect(builtInHashes('sha256')).toBe(a);
    expect(a.every((h) => h.hash.length === 32)).toBe(true);
    expect(builtInHashes('sha1').every((h) => h.hash.length === 20)).toBe(true);
    expect(new Set(a.map((h) => Buffer.from(h.hash).toString('hex'))).size).toBe(BUILT_IN_ROOTS);
  });

  it('parseVersion reads what it prints and throws only SimulatorError', () => {
    fc.assert(
      fc.property(fc.nat(99), fc.nat(99), fc.nat(9999), (major, minor, patch) => {
        expect(parseVersion(`${major}.${minor}.${patch}`)).toEqual({ major, minor, patch });
      }),
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          parseVersion(s);
        } catch (err) {
          expect(err).toBeInstanceOf(SimulatorError);
        }
      }),
    );
  });
});
