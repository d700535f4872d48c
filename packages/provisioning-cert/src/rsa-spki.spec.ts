import { type createPublicKey, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pkcs1FromRsaSpki, rsaSpkiFromPkcs1 } from './rsa-spki.js';

describe('RSA SubjectPublicKeyInfo ⇄ PKCS#1', () => {
  const keys = [512, 1024, 2048, 4096].map(
    (bits) => generateKeyPairSync('rsa', { modulusLength: bits }).publicKey,
  );

  it('wraps PKCS#1 exactly as OpenSSL exports SPKI, and unwraps it back', () => {
    for (const k of keys) {
      const pkcs1 = k.export({ type: 'pkcs1', format: 'der' });
      const spki = k.export({ type: 'spki', format: 'der' });
      expect(rsaSpkiFromPkcs1(pkcs1).equals(spki)).toBe(true);
      expect(Buffer.from(pkcs1FromRsaSpki(spki) ?? []).equals(pkcs1)).toBe(true);
    }
  });

  it('refuses PKCS#1 bytes that are not an RSA public key', () => {
    for (const bad of [Buffer.alloc(0), Buffer.from('3003020101', 'hex'), Buffer.from('not a key')]) {
      expect(() => rsaSpkiFromPkcs1(bad)).toThrow();
    }
  });

  it('unwraps only canonical RSA SPKI: other algorithms, parameters, lengths or trailing bytes give undefined', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'der',
    });
    const spki = (keys[2] as ReturnType<typeof createPublicKey>).export({ type: 'spki', format: 'der' });
    expect(pkcs1FromRsaSpki(ec)).toBeUndefined();
    expect(pkcs1FromRsaSpki(Buffer.concat([spki, Buffer.from([0])]))).toBeUndefined();
    expect(pkcs1FromRsaSpki(spki.subarray(0, spki.length - 1))).toBeUndefined();
    const noNull = Buffer.from(spki);
    noNull[17] = 0x04; // NULL parameters → something else
    expect(pkcs1FromRsaSpki(noNull)).toBeUndefined();
    // Any single-byte change in the header either still parses to the same key bytes or is refused.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 255 }), (at, v) => {
        const m = Buffer.from(spki);
        m[at] = v;
        const out = pkcs1FromRsaSpki(m);
        if (out !== undefined) expect(m.equals(spki)).toBe(true);
      }),
    );
  });
});
