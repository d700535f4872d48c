import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretKeyError } from '../store/errors.js';
import { openSecret, sealSecret, staticKeyProvider } from './index.js';
import { isSecretKey, redactSecrets } from './redact.js';

const KEY = randomBytes(32);

describe('sealSecret / openSecret', () => {
  it('property: open ∘ seal is the identity, with a fresh nonce each time', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 1 }), (plain, aad) => {
        const a = sealSecret(KEY, plain, aad);
        const b = sealSecret(KEY, plain, aad);
        expect(openSecret(KEY, a, aad)).toBe(plain);
        expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
        expect(a.length).toBe(1 + 12 + 16 + Buffer.byteLength(plain));
      }),
    );
  });

  it('property: any flipped bit, another AAD or another key fails with SecretKeyError only', () => {
    fc.assert(
      fc.property(fc.string(), fc.nat(), (plain, at) => {
        const sealed = sealSecret(KEY, plain, 'credentials:1');
        const bad = Buffer.from(sealed);
        const i = at % bad.length;
        bad[i] = (bad[i] as number) ^ (1 << (at % 8));
        expect(() => openSecret(KEY, bad, 'credentials:1')).toThrow(SecretKeyError);
        expect(() => openSecret(KEY, sealed, 'credentials:2')).toThrow(SecretKeyError);
        expect(() => openSecret(randomBytes(32), sealed, 'credentials:1')).toThrow(
          expect.objectContaining({ code: 'SECRET_DECRYPT_FAILED', record: 'credentials:1' }),
        );
      }),
      { numRuns: 50 },
    );
  });

  it('property: random bytes never open and never throw anything but SecretKeyError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        expect(() => openSecret(KEY, bytes, 'x')).toThrow(SecretKeyError);
      }),
    );
  });

  it('staticKeyProvider refuses a key that is not 32 bytes', async () => {
    expect(() => staticKeyProvider(randomBytes(31))).toThrow(
      expect.objectContaining({ code: 'SECRET_KEY_INVALID' }),
    );
    expect((await staticKeyProvider(KEY).getKey()).equals(KEY)).toBe(true);
  });
});

describe('redaction by key', () => {
  it('knows secret names and leaves ordinary ones', () => {
    for (const k of [
      'password',
      'PASS',
      'mebxPassword',
      'keyPem',
      'masterKey',
      'otp',
      'authorization',
      'apiToken',
      'pskPassphrase',
      'clientSecret',
    ]) {
      expect(isSecretKey(k), k).toBe(true);
    }
    for (const k of ['uuid', 'hostName', 'fencingToken', 'step', 'keyFile', 'passed', 'type']) {
      expect(isSecretKey(k), k).toBe(false);
    }
  });

  it('property: no value under a secret key survives, at any depth, and other values are kept', () => {
    const secret = fc.string({ minLength: 6 }).map((s) => `S3cr3t-${s}`);
    const leaf = fc.oneof(fc.integer(), fc.boolean(), fc.constantFrom('ok', 'step.done'));
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'step', 'data'), tie('node'), { maxKeys: 3 }),
        fc.record({ password: secret, inner: tie('node') }),
        fc.record({ keyPem: secret, otp: secret }),
      ),
    })).node;
    fc.assert(
      fc.property(tree, (t) => {
        const out = JSON.stringify(redactSecrets(t));
        expect(out).not.toContain('S3cr3t-');
        expect(JSON.stringify(redactSecrets({ keep: t })).length).toBeGreaterThan(0);
      }),
    );
    expect(redactSecrets({ step: 'tls', n: 1, list: [{ password: 'x' }] })).toEqual({
      step: 'tls',
      n: 1,
      list: [{ password: '[redacted]' }],
    });
    // A flag under a secret-like name holds no secret; anything else there is redacted.
    expect(
      redactSecrets({ deviceGeneratedKey: true, otp: false, apiKey: 0, token: null, key: ['x'] }),
    ).toEqual({
      deviceGeneratedKey: true,
      otp: false,
      apiKey: '[redacted]',
      token: '[redacted]',
      key: '[redacted]',
    });
  });
});
