import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProvisioningCertError } from './errors.js';
import { firmwareRules, formatFirmwareVersion, parseFirmwareVersion, TLD_MATCH_DEPTH } from './firmware.js';

describe('parseFirmwareVersion', () => {
  it.each([
    ['11.8.50', 11, 8],
    ['11.8.50.3425', 11, 8],
    ['2.6', 2, 6],
    ['16', 16, 0],
    [' 6.2 ', 6, 2],
  ])('reads %s', (text, major, minor) => {
    expect(parseFirmwareVersion(text)).toEqual({ major, minor });
  });

  it('round-trips major.minor', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 9999 }), (major, minor) => {
        expect(parseFirmwareVersion(formatFirmwareVersion({ major, minor }))).toEqual({ major, minor });
        expect(parseFirmwareVersion({ major, minor })).toEqual({ major, minor });
      }),
    );
  });

  it.each(['', 'eleven', '11.', '.8', '11.8.50.3425.1', '-1.0', '1e3'])('refuses %j', (text) => {
    expect(() => parseFirmwareVersion(text)).toThrowError(
      expect.objectContaining({ code: 'PCERT_FIRMWARE_INVALID' }),
    );
  });

  it('refuses objects that are not integer versions', () => {
    for (const bad of [{ major: 1.5, minor: 0 }, { major: -1, minor: 0 }, { major: 11 }, null]) {
      expect(() => parseFirmwareVersion(bad as never)).toThrow(ProvisioningCertError);
    }
  });

  it('throws nothing but ProvisioningCertError on random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (text) => {
        try {
          const v = parseFirmwareVersion(text);
          expect(Number.isInteger(v.major) && Number.isInteger(v.minor)).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(ProvisioningCertError);
        }
      }),
    );
  });
});

describe('firmwareRules', () => {
  it('switches the name relaxations at 2.6 and 4.1/5.1', () => {
    const row = (v: string) => {
      const r = firmwareRules(v);
      return [r.secondLevelComNet, r.tldDepth];
    };
    expect(row('2.5')).toEqual([false, false]);
    expect(row('2.6')).toEqual([true, false]);
    expect(row('4.0')).toEqual([true, false]);
    expect(row('4.1')).toEqual([true, true]);
    expect(row('5.0')).toEqual([true, false]);
    expect(row('5.1')).toEqual([true, true]);
    expect(row('6.0')).toEqual([true, true]);
    expect(row('16.1')).toEqual([true, true]);
  });

  it('takes 4096-bit keys from AMT 6 and refuses SHA-1 and RSA < 2048 from ME 16', () => {
    expect(firmwareRules('5.2')).toMatchObject({
      maxRsaBits: 2048,
      minRsaBits: 1024,
      sha1Signatures: true,
      hashAlgorithms: ['sha1'],
    });
    expect(firmwareRules('6.0')).toMatchObject({ maxRsaBits: 4096, minRsaBits: 1024, sha1Signatures: true });
    expect(firmwareRules('15.0').hashAlgorithms).toEqual(['sha1', 'sha256', 'sha384']);
    expect(firmwareRules('16.0')).toMatchObject({
      minRsaBits: 2048,
      sha1Signatures: false,
      hashAlgorithms: ['sha256', 'sha384'],
    });
  });

  it('has a depth of 2 or 3 for every listed TLD, 3 for co.uk-style registries', () => {
    for (const depth of Object.values(TLD_MATCH_DEPTH)) expect([2, 3]).toContain(depth);
    expect(TLD_MATCH_DEPTH.uk).toBe(3);
    expect(TLD_MATCH_DEPTH.com).toBe(2);
    expect(Object.isFrozen(TLD_MATCH_DEPTH)).toBe(true);
  });
});
