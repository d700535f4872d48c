import { createPublicKey } from 'node:crypto';

/**
 * RSA public keys between PKCS#1 (`RSAPublicKey`, what AMT's `AMT_PublicPrivateKeyPair.DERKey`
 * holds) and SubjectPublicKeyInfo (what a certificate carries), without OpenSSL's generic key
 * decoders: importing SPKI DER costs ~160 µs and exporting it ~120 µs on Node 20 / OpenSSL 3,
 * importing PKCS#1 DER ~8 µs. RFC 8017 A.1.1 and RFC 3279 §2.3.1: the SPKI algorithm is
 * rsaEncryption with NULL parameters, and the BIT STRING holds the PKCS#1 bytes.
 */

// SEQUENCE { OBJECT IDENTIFIER 1.2.840.113549.1.1.1, NULL }
const RSA_ALGORITHM = Buffer.from('300d06092a864886f70d0101010500', 'hex');

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Reads a definite DER length at `at`; returns [length, offset of the content] or undefined. */
function readLength(der: Uint8Array, at: number): [number, number] | undefined {
  const first = der[at];
  if (first === undefined) return undefined;
  if (first < 0x80) return [first, at + 1];
  const count = first & 0x7f;
  if (count === 0 || count > 4 || at + 1 + count > der.length) return undefined;
  let n = 0;
  for (let i = 0; i < count; i++) n = n * 256 + (der[at + 1 + i] as number);
  // DER: the shortest form only.
  if (n < 0x80 || (count > 1 && der[at + 1] === 0)) return undefined;
  return [n, at + 1 + count];
}

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
  const bitString = Buffer.concat([
    Buffer.from([0x03]),
    derLength(pkcs1.length + 1),
    Buffer.from([0]),
    pkcs1,
  ]);
  const body = Buffer.concat([RSA_ALGORITHM, bitString]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

/**
 * The PKCS#1 bytes of an RSA SubjectPublicKeyInfo in canonical DER, or undefined when `spki` is
 * anything else (another algorithm, parameters other than NULL, trailing bytes…).
 */
export function pkcs1FromRsaSpki(spki: Uint8Array): Uint8Array | undefined {
  if (spki[0] !== 0x30) return undefined;
  const outer = readLength(spki, 1);
  if (!outer || outer[1] + outer[0] !== spki.length) return undefined;
  let at = outer[1];
  for (let i = 0; i < RSA_ALGORITHM.length; i++) if (spki[at + i] !== RSA_ALGORITHM[i]) return undefined;
  at += RSA_ALGORITHM.length;
  if (spki[at] !== 0x03) return undefined;
  const bits = readLength(spki, at + 1);
  if (!bits || bits[1] + bits[0] !== spki.length || bits[0] < 2 || spki[bits[1]] !== 0) return undefined;
  return spki.subarray(bits[1] + 1);
}
