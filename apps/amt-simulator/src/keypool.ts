import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { createSelfSignedCertificate } from '@oobkit/provisioning-cert';
import { invalidOption, SimulatorError } from './errors.js';

/** An RSA key pair a device "generated". Shared by devices: the simulation does not need unique keys. */
export interface KeyMaterial {
  readonly bits: number;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** PKCS#8 PEM, for TLS contexts. */
  readonly privateKeyPem: string;
  /** SubjectPublicKeyInfo PEM (what a CA needs to issue a certificate for the key). */
  readonly publicKeyPem: string;
  /** PKCS#1 RSAPublicKey DER, base64 (AMT_PublicPrivateKeyPair.DERKey). */
  readonly derKey: string;
}

/** Pre-generated keys handed out round-robin, so on-device key generation costs nothing. */
export interface KeyPool {
  readonly bits: number;
  readonly size: number;
  take(): KeyMaterial;
}

export function keyMaterialFrom(privateKey: KeyObject): KeyMaterial {
  const publicKey = createPublicKey(privateKey);
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  return {
    bits,
    privateKey,
    publicKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    derKey: publicKey.export({ type: 'pkcs1', format: 'der' }).toString('base64'),
  };
}

/** Imports a private key given as DER (PKCS#1 or PKCS#8) or PEM; undefined if it is not an RSA key. */
export function importPrivateKey(blob: Buffer): KeyMaterial | undefined {
  const attempts: Array<() => KeyObject> = [
    () => createPrivateKey({ key: blob, format: 'der', type: 'pkcs1' }),
    () => createPrivateKey({ key: blob, format: 'der', type: 'pkcs8' }),
    () => createPrivateKey({ key: blob.toString('utf8'), format: 'pem' }),
  ];
  for (const attempt of attempts) {
    try {
      const key = attempt();
      if (key.asymmetricKeyType === 'rsa') return keyMaterialFrom(key);
    } catch {
      // try the next encoding
    }
  }
  return undefined;
}

function generate(bits: number): Promise<KeyMaterial> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: bits }, (err, _pub, priv) => {
      if (err) {
        reject(
          new SimulatorError('SIM_KEY_GENERATION_FAILED', `RSA ${bits}-bit key generation failed`, {
            cause: err,
          }),
        );
      } else resolve(keyMaterialFrom(priv));
    });
  });
}

export function poolFromKeys(keys: KeyMaterial[]): KeyPool {
  const first = keys[0];
  if (!first) throw invalidOption('keyPool', 'needs at least one key');
  let next = 0;
  return {
    bits: first.bits,
    size: keys.length,
    take() {
      const key = keys[next % keys.length]!;
      next += 1;
      return key;
    },
  };
}

/** Generates `size` RSA keys of `bits` bits (in parallel on the libuv pool). */
export async function createKeyPool(size: number, bits = 2048): Promise<KeyPool> {
  if (!Number.isInteger(size) || size < 1 || size > 1024) throw invalidOption('size', 'expected 1..1024');
  if (![1024, 2048, 3072, 4096].includes(bits))
    throw invalidOption('bits', 'expected 1024, 2048, 3072 or 4096');
  const keys = await Promise.all(Array.from({ length: size }, () => generate(bits)));
  return poolFromKeys(keys);
}

const sharedPools = new Map<number, Promise<KeyPool>>();

/** The process-wide pool for a key size, made on first use (two keys). */
export function sharedKeyPool(bits = 2048): Promise<KeyPool> {
  let pool = sharedPools.get(bits);
  if (!pool) {
    pool = createKeyPool(2, bits);
    pool.catch(() => sharedPools.delete(bits));
    sharedPools.set(bits, pool);
  }
  return pool;
}

/** The certificate and key a device presents on 16993 before it has a provisioned one. */
export interface TlsIdentity {
  certPem: string;
  keyPem: string;
}

let sharedIdentity: Promise<TlsIdentity> | undefined;

/**
 * One self-signed identity for every simulated device in the process: real firmware makes its
 * own, but clients do not validate it, so sharing it costs nothing and saves a key per device.
 */
export function sharedTlsIdentity(): Promise<TlsIdentity> {
  if (!sharedIdentity) {
    sharedIdentity = sharedKeyPool(2048).then(async (pool) => {
      const key = pool.take();
      const cert = await createSelfSignedCertificate({
        commonName: 'Intel(R) AMT',
        days: 3650,
        keys: { rsaKey: async () => key.privateKey },
      });
      return { certPem: cert.certPem, keyPem: key.privateKeyPem };
    });
    sharedIdentity.catch(() => {
      sharedIdentity = undefined;
    });
  }
  return sharedIdentity;
}
