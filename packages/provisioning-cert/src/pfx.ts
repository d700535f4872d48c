import { createHash, createPrivateKey, type KeyObject, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import {
  Attribute,
  AuthenticatedSafe,
  CertBag,
  type ContentInfo,
  CryptoEngine,
  EncryptedData,
  PFX,
  PKCS8ShroudedKeyBag,
  PrivateKeyInfo,
  SafeBag,
  SafeContents,
} from 'pkijs';
import {
  assertKeyMatchesLeaf,
  chainFromFacts,
  orderChain,
  type ProvisioningChain,
  privateKeyFromPem,
} from './chain.js';
import { ProvisioningCertError } from './errors.js';
import { type CertFacts, certificateFacts } from './facts.js';
import { kdfIterationsAllowed, MAX_KDF_ITERATIONS, pbeIterations } from './kdf.js';

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  pbes2: '1.2.840.113549.1.5.13',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  safeContentsBag: '1.2.840.113549.1.12.10.1.6',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  localKeyId: '1.2.840.113549.1.9.21',
} as const;
const MAC_DIGESTS = new Set([
  '1.3.14.3.2.26',
  '2.16.840.1.101.3.4.2.1',
  '2.16.840.1.101.3.4.2.2',
  '2.16.840.1.101.3.4.2.3',
]);

// A private engine instead of pkijs' global one: loading this package changes no global state.
let engine: CryptoEngine | undefined;
function pkiEngine(): CryptoEngine {
  engine ??= new CryptoEngine({ name: 'oobkit-node-webcrypto', crypto: webcrypto });
  return engine;
}

function passwordBytes(password: string): ArrayBuffer {
  if (typeof password !== 'string')
    throw new ProvisioningCertError('PCERT_OPTION_INVALID', 'password must be a string');
  const bytes = new TextEncoder().encode(password);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function octets(value: unknown): Buffer {
  if (!(value instanceof asn1js.OctetString)) throw new TypeError('expected an OCTET STRING');
  return Buffer.from(value.getValue());
}

export interface CreatePfxOptions {
  /** PBKDF2 and MAC iterations (default 2048, OpenSSL's default). */
  iterations?: number;
}

/**
 * Writes the chain and its key as PKCS#12 (password integrity; key in a PBES2/AES-256-CBC
 * shrouded bag; certificates in a PBES2-encrypted safe), as `openssl pkcs12 -export` does on
 * OpenSSL 3. The leaf and the key share a localKeyId.
 */
export async function createPfx(
  chain: ProvisioningChain,
  password: string,
  opts?: CreatePfxOptions,
): Promise<Buffer> {
  const iterations = opts?.iterations ?? 2048;
  if (!Number.isInteger(iterations) || !kdfIterationsAllowed(iterations)) {
    throw new ProvisioningCertError(
      'PCERT_OPTION_INVALID',
      `iterations must be an integer from 1 to ${MAX_KDF_ITERATIONS}`,
    );
  }
  if (!chain?.keyPem)
    throw new ProvisioningCertError('PCERT_OPTION_INVALID', 'a PFX needs the chain with its keyPem');
  const pw = passwordBytes(password);
  const facts = chain.certificates.map((c, i) => certificateFacts(c, i));
  const leaf = facts[0];
  if (!leaf) throw new ProvisioningCertError('PCERT_CHAIN_EMPTY', 'the chain holds no certificate');
  const key = privateKeyFromPem(chain.keyPem);
  assertKeyMatchesLeaf(key, leaf);
  const crypto = pkiEngine();
  const localKeyId = new Attribute({
    type: OID.localKeyId,
    values: [
      new asn1js.OctetString({ valueHex: arrayBufferOf(createHash('sha1').update(leaf.der).digest()) }),
    ],
  });
  const pbes2 = {
    password: pw,
    contentEncryptionAlgorithm: { name: 'AES-CBC', length: 256 } as const,
    hmacHashAlgorithm: 'SHA-256',
    iterationCount: iterations,
  };
  const shrouded = new PKCS8ShroudedKeyBag({
    parsedValue: PrivateKeyInfo.fromBER(arrayBufferOf(key.export({ type: 'pkcs8', format: 'der' }))),
  });
  await shrouded.makeInternalValues(pbes2, crypto);
  const certBags = facts.map(
    (f, i) =>
      new SafeBag({
        bagId: OID.certBag,
        // The DER as given, never re-encoded: the root's thumbprint must not change.
        bagValue: new CertBag({
          certId: OID.x509Certificate,
          certValue: new asn1js.OctetString({ valueHex: arrayBufferOf(f.der) }),
        }),
        ...(i === 0 ? { bagAttributes: [localKeyId] } : {}),
      }),
  );
  const authenticatedSafe = new AuthenticatedSafe({
    parsedValue: {
      safeContents: [
        {
          privacyMode: 0,
          value: new SafeContents({
            safeBags: [
              new SafeBag({ bagId: OID.shroudedKeyBag, bagValue: shrouded, bagAttributes: [localKeyId] }),
            ],
          }),
        },
        { privacyMode: 1, value: new SafeContents({ safeBags: certBags }) },
      ],
    },
  });
  await authenticatedSafe.makeInternalValues({ safeContents: [{}, pbes2] }, crypto);
  const pfx = new PFX({ parsedValue: { integrityMode: 0, authenticatedSafe } });
  await pfx.makeInternalValues(
    { password: pw, iterations, pbkdf2HashAlgorithm: { name: 'SHA-256' }, hmacHashAlgorithm: 'SHA-256' },
    crypto,
  );
  return Buffer.from(pfx.toSchema().toBER(false));
}

function collectBags(contents: SafeContents, into: SafeBag[], depth = 0): void {
  for (const bag of contents.safeBags) {
    if (bag.bagId === OID.safeContentsBag && bag.bagValue instanceof SafeContents && depth < 4) {
      collectBags(bag.bagValue, into, depth + 1);
    } else {
      into.push(bag);
    }
  }
}

function tooManyIterations(
  what: string,
  count: number | bigint | undefined,
  oid?: string,
): ProvisioningCertError {
  return new ProvisioningCertError(
    'PCERT_PFX_UNSUPPORTED',
    count === undefined
      ? `the PFX ${what} has no readable key-derivation iteration count`
      : `the PFX ${what} asks for ${count} key-derivation iterations, outside 1…${MAX_KDF_ITERATIONS}`,
    oid === undefined ? {} : { oid },
  );
}

function decryptKey(bag: SafeBag, password: string): KeyObject {
  if (bag.bagId === OID.shroudedKeyBag && bag.bagValue instanceof PKCS8ShroudedKeyBag) {
    const { algorithmId, algorithmParams } = bag.bagValue.encryptionAlgorithm;
    const count = pbeIterations(algorithmId, algorithmParams);
    if (count !== undefined && !kdfIterationsAllowed(count))
      throw tooManyIterations('key bag', count, algorithmId);
  }
  try {
    if (bag.bagId === OID.keyBag) {
      return createPrivateKey({
        key: Buffer.from(bag.bagValue.toSchema().toBER(false)),
        format: 'der',
        type: 'pkcs8',
      });
    }
    // A shrouded bag is an EncryptedPrivateKeyInfo: OpenSSL decrypts PBES2 and the legacy
    // PKCS#12 PBE schemes alike.
    return createPrivateKey({
      key: Buffer.from(bag.bagValue.toSchema().toBER(false)),
      format: 'der',
      type: 'pkcs8',
      passphrase: password,
    });
  } catch (cause) {
    throw new ProvisioningCertError(
      'PCERT_PFX_PASSWORD',
      'the PFX key bag does not decrypt with this password',
      { cause },
    );
  }
}

async function openSafe(info: ContentInfo, pw: ArrayBuffer): Promise<SafeContents> {
  if (info.contentType === OID.data) return SafeContents.fromBER(octets(info.content));
  if (info.contentType !== OID.encryptedData) {
    throw new ProvisioningCertError(
      'PCERT_PFX_UNSUPPORTED',
      'the PFX uses public-key privacy, which is not supported',
      {
        oid: info.contentType,
      },
    );
  }
  const encrypted = new EncryptedData({ schema: info.content });
  const algorithm = encrypted.encryptedContentInfo.contentEncryptionAlgorithm.algorithmId;
  if (algorithm !== OID.pbes2) {
    throw new ProvisioningCertError(
      'PCERT_PFX_UNSUPPORTED',
      `the PFX certificates are encrypted with ${algorithm} (legacy PKCS#12 PBE); re-export it with PBES2/AES (OpenSSL 3 default)`,
      { oid: algorithm },
    );
  }
  const count = pbeIterations(
    algorithm,
    encrypted.encryptedContentInfo.contentEncryptionAlgorithm.algorithmParams,
  );
  if (count === undefined || !kdfIterationsAllowed(count))
    throw tooManyIterations('certificate safe', count, algorithm);
  let plain: ArrayBuffer;
  try {
    plain = await encrypted.decrypt({ password: pw }, pkiEngine());
  } catch (cause) {
    throw new ProvisioningCertError(
      'PCERT_PFX_PASSWORD',
      'the PFX certificates do not decrypt with this password',
      {
        cause,
      },
    );
  }
  try {
    return SafeContents.fromBER(plain);
  } catch (cause) {
    // Without a MAC, a wrong password decrypts to garbage rather than failing outright.
    throw new ProvisioningCertError(
      'PCERT_PFX_PASSWORD',
      'the PFX certificates do not decrypt with this password',
      {
        cause,
      },
    );
  }
}

/**
 * Reads a PKCS#12 / PFX file: checks its MAC with `password`, decrypts certificates and key,
 * and returns the chain ordered leaf → root with the key as PKCS#8 PEM. Throws
 * `PCERT_PFX_PASSWORD` for a wrong password (or a tampered file), `PCERT_PFX_UNSUPPORTED` for
 * legacy RC2/3DES certificate encryption, `PCERT_CHAIN_UNLINKED` for certificates that are not one
 * chain, `PCERT_KEY_MISMATCH` if no key belongs to the leaf.
 */
export async function loadPfx(pfx: Uint8Array, password: string): Promise<ProvisioningChain> {
  if (!(pfx instanceof Uint8Array))
    throw new ProvisioningCertError('PCERT_PFX_INVALID', 'PFX input must be bytes');
  const pw = passwordBytes(password);
  let parsed: PFX;
  try {
    parsed = PFX.fromBER(arrayBufferOf(pfx));
  } catch (cause) {
    throw new ProvisioningCertError('PCERT_PFX_INVALID', 'not a PKCS#12 (PFX) structure', { cause });
  }
  if (parsed.version !== 3) {
    throw new ProvisioningCertError(
      'PCERT_PFX_INVALID',
      `PFX version ${parsed.version} (RFC 7292 defines 3)`,
    );
  }
  if (parsed.authSafe.contentType !== OID.data) {
    throw new ProvisioningCertError(
      'PCERT_PFX_UNSUPPORTED',
      'only password-integrity PFX files are supported',
      {
        oid: parsed.authSafe.contentType,
      },
    );
  }
  const macDigest = parsed.macData?.mac.digestAlgorithm.algorithmId;
  if (macDigest !== undefined && !MAC_DIGESTS.has(macDigest)) {
    throw new ProvisioningCertError('PCERT_PFX_UNSUPPORTED', `unsupported PFX MAC digest ${macDigest}`, {
      oid: macDigest,
    });
  }
  // pkijs runs the PKCS#12 MAC key derivation synchronously: bound it before it starts. (It
  // reads counts of 2^23 and more as 0, which is refused here too.)
  const macIterations = parsed.macData?.iterations ?? 1;
  if (!Number.isSafeInteger(macIterations) || !kdfIterationsAllowed(macIterations)) {
    throw tooManyIterations('MAC', macIterations);
  }
  try {
    await parsed.parseInternalValues(
      { password: pw, checkIntegrity: parsed.macData !== undefined },
      pkiEngine(),
    );
  } catch (cause) {
    const integrity = cause instanceof Error && /integrity/i.test(cause.message);
    throw integrity
      ? new ProvisioningCertError(
          'PCERT_PFX_PASSWORD',
          'the PFX MAC does not verify: wrong password or damaged file',
          { cause },
        )
      : new ProvisioningCertError('PCERT_PFX_INVALID', 'the PFX content does not parse', { cause });
  }
  const authenticatedSafe = parsed.parsedValue?.authenticatedSafe;
  if (!authenticatedSafe) throw new ProvisioningCertError('PCERT_PFX_INVALID', 'the PFX holds no content');

  const bags: SafeBag[] = [];
  try {
    for (const info of authenticatedSafe.safeContents) collectBags(await openSafe(info, pw), bags);
  } catch (err) {
    if (err instanceof ProvisioningCertError) throw err;
    throw new ProvisioningCertError('PCERT_PFX_INVALID', 'a PFX safe does not parse', { cause: err });
  }

  const certDers: Buffer[] = [];
  const keys: KeyObject[] = [];
  for (const bag of bags) {
    if (
      bag.bagId === OID.certBag &&
      bag.bagValue instanceof CertBag &&
      bag.bagValue.certId === OID.x509Certificate
    ) {
      const value = bag.bagValue.certValue;
      certDers.push(
        value instanceof asn1js.OctetString ? octets(value) : Buffer.from(value.toSchema().toBER(false)),
      );
    } else if (bag.bagId === OID.shroudedKeyBag || bag.bagId === OID.keyBag) {
      keys.push(decryptKey(bag, password));
    }
  }
  if (certDers.length === 0)
    throw new ProvisioningCertError('PCERT_CHAIN_EMPTY', 'the PFX holds no X.509 certificate');
  const ordered = orderChain(certDers.map((der, i) => certificateFacts(der, i)));
  const leaf = ordered[0] as CertFacts;
  if (keys.length === 0) return chainFromFacts(ordered);
  const errors: unknown[] = [];
  for (const key of keys) {
    try {
      assertKeyMatchesLeaf(key, leaf);
      return chainFromFacts(ordered, key);
    } catch (err) {
      errors.push(err);
    }
  }
  throw new ProvisioningCertError('PCERT_KEY_MISMATCH', `no key in the PFX belongs to ${leaf.subject}`, {
    cause: errors[0],
    certificateIndex: 0,
  });
}
