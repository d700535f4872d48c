import { describe, expect, it } from 'vitest';
import { certificatePem } from './network.js';

describe('certificatePem', () => {
  it('never leaves an empty line, whatever the length of the base64', () => {
    for (const length of [63, 64, 65, 128, 1280, 1281]) {
      const b64 = 'A'.repeat(length);
      const pem = certificatePem(b64);
      const body = pem.split('\n').slice(1, -2);
      expect(pem.startsWith('-----BEGIN CERTIFICATE-----\n')).toBe(true);
      expect(pem.endsWith('\n-----END CERTIFICATE-----\n')).toBe(true);
      expect(body.every((l) => l.length > 0 && l.length <= 64)).toBe(true);
      expect(body.join('')).toBe(b64);
    }
  });

  it('drops whitespace already in the base64', () => {
    expect(certificatePem('AAAA\nBBBB  CCCC')).toBe(
      '-----BEGIN CERTIFICATE-----\nAAAABBBBCCCC\n-----END CERTIFICATE-----\n',
    );
  });
});
