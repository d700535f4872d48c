import { createHash } from 'node:crypto';
import { invalidOption } from './errors.js';

/** Which generation of firmware a simulated device behaves like. */
export type Personality = 'legacy' | 'modern';
export type HashAlgorithm = 'sha1' | 'sha256' | 'sha384';
export interface TrustedHash {
  algorithm: HashAlgorithm;
  hash: Uint8Array;
}

export interface FirmwareVersionParts {
  major: number;
  minor: number;
  patch: number;
}

export const DEFAULT_FIRMWARE: Record<Personality, string> = { legacy: '5.2.10', modern: '16.1.25' };
/** A build number appended in the `Server` header, as real firmware does (`11.8.50.3425`). */
const BUILD = '3425';

export function parseVersion(version: string): FirmwareVersionParts {
  const m = /^(\d{1,2})\.(\d{1,2})(?:\.(\d{1,4}))?(?:\.\d{1,5})?$/.exec(version);
  if (!m) throw invalidOption('firmwareVersion', `"${version}" is not major.minor[.patch]`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

/** What changes with the firmware generation: protocols, TLS, hashes, limits. */
export interface Profile {
  personality: Personality;
  firmwareVersion: string;
  version: FirmwareVersionParts;
  /** `Server: Intel(R) Active Management Technology <serverVersion>` */
  serverVersion: string;
  /** Legacy EOI SOAP services on `/<Service>Service` (dropped in AMT 9). */
  soap: boolean;
  /** Algorithm of the built-in root hashes (SHA-1 before AMT 11, SHA-256 from 11). */
  hashAlgorithm: HashAlgorithm;
  /** PSK hellos were removed in AMT 11. */
  pskHello: boolean;
  /** Custom hashes a technician may add in MEBx. */
  maxCustomHashes: number;
  /** AMT_8021XProfile exists on AMT 3–11; IPS_IEEE8021xSettings from AMT 7. */
  amt8021xProfile: boolean;
  ipsIeee8021x: boolean;
  /** Kerberos AES from AMT 8. */
  kerberosAes: boolean;
  /** Keys under 2048 bits are refused from ME 16. */
  minKeyBits: number;
}

export function profileFor(personality: Personality, firmwareVersion?: string): Profile {
  if (personality !== 'legacy' && personality !== 'modern') {
    throw invalidOption('personality', `expected "legacy" or "modern", got "${String(personality)}"`);
  }
  const fw = firmwareVersion ?? DEFAULT_FIRMWARE[personality];
  const version = parseVersion(fw);
  if (personality === 'legacy' && (version.major < 3 || version.major > 8)) {
    throw invalidOption('firmwareVersion', `legacy personality covers AMT 3–8, got ${fw}`);
  }
  if (personality === 'modern' && version.major < 9) {
    throw invalidOption('firmwareVersion', `modern personality covers AMT 9 and later, got ${fw}`);
  }
  const parts = fw.split('.');
  const serverVersion =
    parts.length >= 4 ? fw : `${version.major}.${version.minor}.${version.patch}.${BUILD}`;
  return {
    personality,
    firmwareVersion: fw,
    version,
    serverVersion,
    soap: personality === 'legacy',
    hashAlgorithm: version.major >= 11 ? 'sha256' : 'sha1',
    pskHello: version.major < 11,
    maxCustomHashes: 3,
    amt8021xProfile: version.major <= 11,
    ipsIeee8021x: version.major >= 7,
    kerberosAes: version.major >= 8,
    minKeyBits: version.major >= 16 ? 2048 : 1024,
  };
}

/** Up to 20 built-in roots before AMT 7 plus 3 custom; AMT 7+ send at most 23 hashes in total. */
export const BUILT_IN_ROOTS = 20;

const builtInCache = new Map<HashAlgorithm, TrustedHash[]>();

/**
 * Stand-ins for the public roots real firmware ships: stable per algorithm, shared by every
 * device, and matching no certificate anyone holds (so only custom hashes make a chain pass).
 */
export function builtInHashes(algorithm: HashAlgorithm): TrustedHash[] {
  let list = builtInCache.get(algorithm);
  if (!list) {
    list = Array.from({ length: BUILT_IN_ROOTS }, (_, i) => ({
      algorithm,
      hash: new Uint8Array(createHash(algorithm).update(`oobkit simulated built-in root ${i}`).digest()),
    }));
    builtInCache.set(algorithm, list);
  }
  return list;
}

export const HASH_LENGTH: Record<HashAlgorithm, number> = { sha1: 20, sha256: 32, sha384: 48 };
