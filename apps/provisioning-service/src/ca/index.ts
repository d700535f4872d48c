import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createCertificateAuthority,
  loadCertificateAuthority,
  type CertificateAuthority as PkiAuthority,
  type RsaKeySource,
} from '@oobkit/provisioning-cert';
import type { SiteStore } from '../store/types.js';

/** What the flow asks a CA for: the TLS server certificate an AMT device presents after provisioning. */
export interface TlsCertificateRequest {
  /** The device's FQDN (`hostName.domainName`): subject CN and DNS SAN. */
  fqdn: string;
  uuid: string;
  /**
   * The device's public key (PEM SPKI) when AMT generated the key pair itself; absent when the
   * CA must generate the key too (the key is then returned and pushed to AMT).
   */
  publicKeyPem?: string;
}

export interface IssuedTlsCertificate {
  certPem: string;
  der: Uint8Array;
  /** Only when the CA generated the key (no `publicKeyPem` in the request); a secret. */
  keyPem?: string;
  /** The CA certificate a management console trusts to reach the device (PEM). */
  caPem: string;
}

/** Issues the TLS certificate each device gets in stage 1 (flow A.7.3). Plug in an enterprise CA here. */
export interface CertificateAuthority {
  /** For events, e.g. `built-in`. */
  readonly name: string;
  issueTlsCertificate(req: TlsCertificateRequest): Promise<IssuedTlsCertificate>;
}

export interface BuiltInCaOptions {
  commonName?: string;
  keyBits?: number;
  /**
   * Keep the CA in the site store (its key sealed like every secret), so it survives restarts,
   * is in every backup, is covered by key rotation, and is one CA for every instance of the site.
   */
  store?: Pick<SiteStore, 'getDeviceCa' | 'putDeviceCaIfAbsent'>;
  /**
   * Without `store`: keep the CA here (`device-ca.pem`, `device-ca-key.pem`, mode 0600). With
   * `store`: a CA found here (kept by an earlier oobkit) is moved into the store on first use.
   */
  dir?: string;
  /** Key source (tests pass @oobkit/provisioning-cert's `createRsaKeyCache()`). */
  keys?: RsaKeySource;
}

async function readCaFiles(dir: string): Promise<{ certPem: string; keyPem: string } | undefined> {
  try {
    const [certPem, keyPem] = await Promise.all([
      readFile(join(dir, 'device-ca.pem'), 'utf8'),
      readFile(join(dir, 'device-ca-key.pem'), 'utf8'),
    ]);
    return { certPem, keyPem };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return undefined;
  }
}

async function removeCaKeyFile(dir: string): Promise<void> {
  await rm(join(dir, 'device-ca-key.pem'), { force: true });
}

async function openAuthority(opts: BuiltInCaOptions): Promise<PkiAuthority> {
  const create = () =>
    createCertificateAuthority({
      commonName: opts.commonName ?? 'oobkit device CA',
      ...(opts.keyBits !== undefined ? { keyBits: opts.keyBits } : {}),
      ...(opts.keys !== undefined ? { keys: opts.keys } : {}),
    });
  if (opts.store) {
    const stored = await opts.store.getDeviceCa();
    const fromFiles = opts.dir ? await readCaFiles(opts.dir) : undefined;
    let kept = stored;
    if (!kept) {
      const candidate = fromFiles ?? (await create());
      // Another instance may have stored one meanwhile: everyone uses the one the store keeps.
      kept = await opts.store.putDeviceCaIfAbsent({ certPem: candidate.certPem, keyPem: candidate.keyPem });
    }
    // Moved in: the key file left in the data folder would be a copy outside sealing, key
    // rotation and backups' protection. Removed once the store holds that same CA.
    if (opts.dir && fromFiles && fromFiles.certPem === kept.certPem) await removeCaKeyFile(opts.dir);
    return loadCertificateAuthority(kept.certPem, kept.keyPem);
  }
  if (!opts.dir) return create();
  const found = await readCaFiles(opts.dir);
  if (found) return loadCertificateAuthority(found.certPem, found.keyPem);
  const certPath = join(opts.dir, 'device-ca.pem');
  const keyPath = join(opts.dir, 'device-ca-key.pem');
  const ca = await create();
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  await writeFile(keyPath, ca.keyPem, { mode: 0o600 });
  await chmod(keyPath, 0o600);
  await writeFile(certPath, ca.certPem);
  return ca;
}

/**
 * The default CA: @oobkit/provisioning-cert's, created on first use (one RSA key) and kept, with
 * `store` in the site store (the service's choice) or with `dir` on disk, so devices provisioned
 * before a restart stay under the same CA.
 */
export function builtInCertificateAuthority(opts: BuiltInCaOptions = {}): CertificateAuthority {
  let ca: Promise<PkiAuthority> | undefined;
  return {
    name: 'built-in',
    async issueTlsCertificate(req) {
      ca ??= openAuthority(opts).catch((err: unknown) => {
        ca = undefined;
        throw err;
      });
      const authority = await ca;
      const issued = await authority.issue({
        commonName: req.fqdn,
        dnsNames: [req.fqdn],
        ...(req.publicKeyPem !== undefined ? { publicKey: req.publicKeyPem } : {}),
        ...(req.publicKeyPem === undefined && opts.keyBits !== undefined ? { keyBits: opts.keyBits } : {}),
      });
      return {
        certPem: issued.certPem,
        der: issued.der,
        ...(issued.keyPem !== undefined ? { keyPem: issued.keyPem } : {}),
        caPem: authority.certPem,
      };
    },
  };
}
