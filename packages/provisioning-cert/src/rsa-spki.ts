import { createPublicKey } from 'node:crypto';
import { bitString, encode, readElement, sequence, TAG } from './der.js';

/**
 * RSA public keys between PKCS#1 (`RSAPublicKey`, what AMT's `AMT_PublicPrivateKeyPair.DERKey`
 * holds) and SubjectPublicKeyInfo (what a certificate carries), without OpenSSL's generic key
 * decoders: importing SPKI DER costs ~160 µs and exporting it ~120 µs on Node 20 / OpenSSL 3,
 * importing PKCS#1 DER ~8 µs. RFC 8017 A.1.1 and RFC 3279 §2.3.1: the SPKI algorithm is
 * rsaEncryption with NULL parameters, and the BIT STRING holds the PKCS#1 bytes.
 */

// SEQUENCE { OBJECT IDENTIFIER 1.2.840.113549.1.1.1, NULL }
const RSA_ALGORITHM = Buffer.from('300d06092a864886f70d0101010500', 'hex');

/** Checks PKCS#1 `RSAPublicKey` DER (through OpenSSL's fast typed path); throws if it is not one. */
export function checkRsaPublicKey(pkcs1: Uint8Array): void {
  createPublicKey({
    key: Buffer.from(pkcs1.buffer, pkcs1.byteOffset, pkcs1.byteLength),
    format: 'der',
    type: 'pkcs1',
  });
}

/** SubjectPublicKeyInfo DER for PKCS#1 `RSAPublicKey` DER (checked). */
export function rsaSpkiFromPkcs1(pkcs1: Uint8Array): Buffer {
  checkRsaPublicKey(pkcs1);
  return encode(sequence(RSA_ALGORITHM, bitString(pkcs1)));
}

/**
 * The PKCS#1 bytes of an RSA SubjectPublicKeyInfo in canonical DER, or undefined when `spki` is
 * anything else (another algorithm, parameters other than NULL, trailing bytes…).
 */
export function pkcs1FromRsaSpki(spki: Uint8Array): Uint8Array | undefined {
  try {
    const outer = readElement(spki, 0);
    if (outer.tag !== TAG.SEQUENCE || outer.end !== spki.length) return undefined;
    const algorithm = spki.subarray(outer.contentStart, outer.contentStart + RSA_ALGORITHM.length);
    if (!RSA_ALGORITHM.equals(algorithm)) return undefined;
    const bits = readElement(spki, outer.contentStart + RSA_ALGORITHM.length, outer.end);
    if (bits.tag !== TAG.BIT_STRING || bits.end !== outer.end) return undefined;
    if (bits.end - bits.contentStart < 2 || spki[bits.contentStart] !== 0) return undefined;
    return spki.subarray(bits.contentStart + 1, bits.end);
  } catch {
    return undefined;
  }
}
