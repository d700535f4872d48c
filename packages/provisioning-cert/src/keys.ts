import { createPublicKey, generateKeyPair, type KeyObject, webcrypto } from 'node:crypto';
import { ProvisioningCertError } from './errors.js';

/** Signature hashes the certificate generators take (WebCrypto names). */
export type SignatureHash = 'SHA-1' | 'SHA-256' | 'SHA-384';
const SIGNATURE_HASHES: readonly SignatureHash[] = ['SHA-1', 'SHA-256', 'SHA-384'];

export function checkSignatureHash(hash: unknown): SignatureHash {
  if (!SIGNATURE_HASHES.includes(hash as SignatureHash)) {
    throw new ProvisioningCertError(
      'PCERT_OPTION_INVALID',
      `hash must be one of ${SIGNATURE_HASHES.join(', ')}`,
    );
  }
  return hash as SignatureHash;
}

export function checkKeyBits(bits: unknown): number {
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 512 || bits > 8192 || bits % 8 !== 0) {
    throw new ProvisioningCertError(
      'PCERT_OPTION_INVALID',
      `keyBits must be a multiple of 8 from 512 to 8192`,
    );
  }
  return bits;
}

/** A fresh RSA private key (e = 65537), generated off the main thread. */
export function generateRsaKey(bits: number): Promise<KeyObject> {
  checkKeyBits(bits);
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: bits }, (err, _publicKey, privateKey) =>
      err ? reject(err) : resolve(privateKey),
    );
  });
}

/** Where test PKIs take their RSA keys from; `slot` tells apart the keys one PKI needs. */
export interface RsaKeySource {
  rsaKey(bits: number, slot: number): Promise<KeyObject>;
}

/**
 * A key source that generates each (size, slot) key once and then reuses it; slots wrap at
 * `keysPerSize` (or `limits[bits]`), so a test suite pays for a few keys, not one per certificate.
 * Never use it for real certificates.
 */
export function createRsaKeyCache(opts?: {
  keysPerSize?: number;
  limits?: Readonly<Record<number, number>>;
}): RsaKeySource {
  const perSize = opts?.keysPerSize ?? 4;
  const keys = new Map<string, Promise<KeyObject>>();
  return {
    rsaKey(bits, slot) {
      const limit = Math.max(1, opts?.limits?.[bits] ?? perSize);
      const id = `${bits}:${Math.abs(Math.trunc(slot)) % limit}`;
      let key = keys.get(id);
      if (!key) {
        key = generateRsaKey(bits);
        keys.set(id, key);
      }
      return key;
    },
  };
}

/** The default source: a fresh key every time. */
export const freshRsaKeys: RsaKeySource = { rsaKey: (bits) => generateRsaKey(bits) };

/** The WebCrypto signing key for `key` with `hash` (WebCrypto binds the hash to the key). */
export function signingKey(key: KeyObject, hash: SignatureHash): Promise<webcrypto.CryptoKey> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash }, false, ['sign']);
}

/** SubjectPublicKeyInfo DER of a private or public key. */
export function spkiDer(key: KeyObject): Buffer {
  return (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });
}

export function pkcs8Pem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}
