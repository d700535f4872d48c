import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SimulatorError } from './errors.js';
import { createKeyPool, importPrivateKey, keyMaterialFrom, poolFromKeys } from './keypool.js';

describe('key pool', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const material = keyMaterialFrom(privateKey);

  it('hands keys out round-robin', () => {
    const other = keyMaterialFrom(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey);
    const pool = poolFromKeys([material, other]);
    expect([pool.take(), pool.take(), pool.take()]).toEqual([material, other, material]);
    expect(pool).toMatchObject({ bits: 1024, size: 2 });
  });

  it('refuses bad sizes with a typed error', async () => {
    await expect(createKeyPool(0)).rejects.toBeInstanceOf(SimulatorError);
    await expect(createKeyPool(1, 1000)).rejects.toMatchObject({ code: 'SIM_INVALID_OPTION' });
    expect(() => poolFromKeys([])).toThrow(SimulatorError);
  });

  it('imports RSA keys as PKCS#1 or PKCS#8 DER or PEM, and nothing else', () => {
    const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'der' });
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
    const pem = Buffer.from(material.privateKeyPem);
    for (const blob of [pkcs1, pkcs8, pem]) expect(importPrivateKey(blob)?.derKey).toBe(material.derKey);
    expect(importPrivateKey(Buffer.from('not a key'))).toBeUndefined();
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'der',
    });
    expect(importPrivateKey(ec)).toBeUndefined();
  });
});
