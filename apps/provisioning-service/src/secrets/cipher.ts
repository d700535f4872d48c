import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SecretKeyError } from '../store/errors.js';

/**
 * One encrypted record: `version(1) ‖ nonce(12) ‖ tag(16) ‖ ciphertext`, AES-256-GCM. The AAD is
 * the record's identity (table, id, owner), so a ciphertext copied onto another row fails to
 * open instead of yielding another record's secret.
 */
export const SECRET_RECORD_VERSION = 1;
const NONCE_BYTES = 12; // GCM's native IV size (NIST SP 800-38D); random per record
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + NONCE_BYTES + TAG_BYTES;

export function sealSecret(key: Buffer, plaintext: string, aad: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([SECRET_RECORD_VERSION]), nonce, cipher.getAuthTag(), body]);
}

/** Throws `SecretKeyError('SECRET_DECRYPT_FAILED')` for a wrong key, a wrong AAD or a damaged record. */
export function openSecret(key: Buffer, record: Uint8Array, aad: string): string {
  const buf = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  if (buf.length < HEADER_BYTES || buf[0] !== SECRET_RECORD_VERSION) {
    throw new SecretKeyError('SECRET_DECRYPT_FAILED', `secret record ${aad} is malformed`, aad);
  }
  const nonce = buf.subarray(1, 1 + NONCE_BYTES);
  const tag = buf.subarray(1 + NONCE_BYTES, HEADER_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(buf.subarray(HEADER_BYTES)), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new SecretKeyError(
      'SECRET_DECRYPT_FAILED',
      `secret record ${aad} did not decrypt (wrong key or damaged record)`,
      aad,
      { cause: err },
    );
  }
}
