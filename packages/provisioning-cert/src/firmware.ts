import type { HashAlgorithm } from './constants.js';
import { ProvisioningCertError } from './errors.js';

/** AMT / CSME firmware version; only major and minor change the certificate rules. */
export interface FirmwareVersion {
  major: number;
  minor: number;
}

/** What a firmware version accepts in a provisioning chain (see the package README). */
export interface FirmwareRules {
  readonly firmware: FirmwareVersion;
  /** Thumbprint algorithms whose trusted-hash entries the firmware honours. */
  readonly hashAlgorithms: readonly HashAlgorithm[];
  readonly minRsaBits: number;
  readonly maxRsaBits: number;
  /** Whether SHA-1 certificate signatures are accepted anywhere in the chain. */
  readonly sha1Signatures: boolean;
  /** `*.domain` names (amt-protocol.md gives no version for this: allowed everywhere). */
  readonly wildcardNames: boolean;
  /** `.com`/`.net`: a shared second-level domain is enough (AMT 2.6+). */
  readonly secondLevelComNet: boolean;
  /** Other TLDs: a shared domain of `TLD_MATCH_DEPTH[tld]` labels is enough (AMT 4.1, 5.1, 6+). */
  readonly tldDepth: boolean;
}

const VERSION = /^(\d{1,3})(?:\.(\d{1,4}))?(?:\.\d{1,6}){0,2}$/;

/**
 * Accepts `{ major, minor }` or a dotted string as AMT reports it (`11.8.50`, `11.8.50.3425`,
 * `6.2`, `16`). Anything else throws `PCERT_FIRMWARE_INVALID`.
 */
export function parseFirmwareVersion(version: FirmwareVersion | string): FirmwareVersion {
  if (typeof version === 'string') {
    const m = VERSION.exec(version.trim());
    if (!m)
      throw new ProvisioningCertError(
        'PCERT_FIRMWARE_INVALID',
        `not a firmware version: ${JSON.stringify(version.slice(0, 40))}`,
      );
    return { major: Number(m[1]), minor: Number(m[2] ?? 0) };
  }
  if (
    typeof version === 'object' &&
    version !== null &&
    Number.isInteger(version.major) &&
    Number.isInteger(version.minor) &&
    version.major >= 0 &&
    version.major <= 999 &&
    version.minor >= 0 &&
    version.minor <= 9999
  ) {
    return { major: version.major, minor: version.minor };
  }
  throw new ProvisioningCertError(
    'PCERT_FIRMWARE_INVALID',
    'firmware must be { major, minor } integers or a dotted string',
  );
}

export function formatFirmwareVersion(v: FirmwareVersion): string {
  return `${v.major}.${v.minor}`;
}

function atLeast(v: FirmwareVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/**
 * The certificate rules of one firmware version. Facts from amt-protocol.md §2: `.com`/`.net`
 * second-level matching from AMT 2.6; per-TLD depth from AMT 4.1 and 5.1; 4096-bit keys from
 * AMT 6; ME 16 refuses SHA-1 and RSA below 2048. Our readings (unverified on hardware): SHA-1
 * root hashes only before AMT 6 and SHA-256/384 hashes from AMT 6 on; ME 16 also stops honouring
 * SHA-1 hash entries; RSA keys below 1024 bits are refused everywhere.
 */
export function firmwareRules(firmware: FirmwareVersion | string): FirmwareRules {
  const fw = parseFirmwareVersion(firmware);
  const me16 = fw.major >= 16;
  let hashAlgorithms: HashAlgorithm[];
  if (fw.major < 6) hashAlgorithms = ['sha1'];
  else if (me16) hashAlgorithms = ['sha256', 'sha384'];
  else hashAlgorithms = ['sha1', 'sha256', 'sha384'];
  return {
    firmware: fw,
    hashAlgorithms,
    minRsaBits: me16 ? 2048 : 1024,
    maxRsaBits: fw.major >= 6 ? 4096 : 2048,
    sha1Signatures: !me16,
    wildcardNames: true,
    secondLevelComNet: atLeast(fw, 2, 6),
    // "4.1/5.1+": 4.0 and 5.0 lack it, every later major has it.
    tldDepth: (fw.major === 4 && fw.minor >= 1) || (fw.major === 5 && fw.minor >= 1) || fw.major >= 6,
  };
}

/**
 * Per-TLD depth: how many trailing labels the server name and the device's DNS suffix must share
 * for firmware with `tldDepth`. **Unverified**: Intel documents the rule ("co.uk-style depth 3")
 * but not its table; this one follows where registrations sit under each TLD. `.com`/`.net`
 * (depth 2) are listed for completeness; they work from AMT 2.6 through `secondLevelComNet`.
 */
export const TLD_MATCH_DEPTH: Readonly<Record<string, number>> = Object.freeze({
  com: 2,
  net: 2,
  org: 2,
  edu: 2,
  gov: 2,
  mil: 2,
  info: 2,
  biz: 2,
  de: 2,
  fr: 2,
  nl: 2,
  be: 2,
  ch: 2,
  at: 2,
  it: 2,
  es: 2,
  se: 2,
  dk: 2,
  no: 2,
  fi: 2,
  pl: 2,
  cz: 2,
  ie: 2,
  ca: 2,
  us: 2,
  eu: 2,
  uk: 3,
  jp: 3,
  au: 3,
  nz: 3,
  za: 3,
  br: 3,
  il: 3,
  kr: 3,
  cn: 3,
  tw: 3,
  hk: 3,
  sg: 3,
});
