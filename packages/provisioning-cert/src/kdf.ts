import * as asn1js from 'asn1js';

/**
 * The most password-KDF iterations a PFX or an encrypted key may ask for, and the most
 * `createPfx` writes. The count is read from the file and the key must be derived before
 * anything in it can be checked, so without a bound a 100-byte file buys minutes to hours of
 * synchronous hashing (pkijs' PKCS#12 MAC, OpenSSL's PBKDF2): the event loop stops. 1,000,000
 * covers every common exporter (OpenSSL 2048, Windows 2000, Java 10,000, OWASP's 600,000).
 * It also stays below 2^23, from which asn1js reads an INTEGER as 0: pkijs could not verify the
 * MAC of a file written with more.
 */
export const MAX_KDF_ITERATIONS = 1_000_000;

const PBES2 = '1.2.840.113549.1.5.13';
const PBKDF2 = '1.2.840.113549.1.5.12';

function items(node: unknown): unknown[] | undefined {
  return node instanceof asn1js.Sequence ? node.valueBlock.value : undefined;
}

/** Whether an iteration count is one we agree to run (1 … MAX_KDF_ITERATIONS). */
export function kdfIterationsAllowed(count: number | bigint): boolean {
  return count >= 1 && count <= MAX_KDF_ITERATIONS;
}

/**
 * The iteration count of a password-based encryption AlgorithmIdentifier (its OID and its
 * parameters): PBES2 with PBKDF2, PKCS#12 PBE and PBES1 all keep it second in their parameters.
 * `undefined` when the parameters hold no readable count (another KDF, or not a PBE at all).
 */
export function pbeIterations(algorithmId: string, params: unknown): bigint | undefined {
  let p = items(params);
  if (algorithmId === PBES2) {
    const kdf = items(p?.[0]);
    const kdfId = kdf?.[0];
    if (!(kdfId instanceof asn1js.ObjectIdentifier) || kdfId.getValue() !== PBKDF2) return undefined;
    p = items(kdf?.[1]);
  }
  const count = p?.[1];
  return count instanceof asn1js.Integer ? count.toBigInt() : undefined;
}

/** `pbeIterations` of a DER AlgorithmIdentifier-led structure such as EncryptedPrivateKeyInfo. */
export function encryptedKeyIterations(der: Uint8Array): bigint | undefined {
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(new Uint8Array(der));
  } catch {
    return undefined; // e.g. nesting too deep for the stack: OpenSSL then refuses it as well
  }
  if (parsed.offset === -1) return undefined;
  const algorithm = items(items(parsed.result)?.[0]);
  const oid = algorithm?.[0];
  return oid instanceof asn1js.ObjectIdentifier ? pbeIterations(oid.getValue(), algorithm?.[1]) : undefined;
}
