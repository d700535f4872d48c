import { ProvisioningCertError } from './errors.js';
import { type FirmwareRules, type FirmwareVersion, firmwareRules, TLD_MATCH_DEPTH } from './firmware.js';

/** How a certificate name fits the device's DNS suffix. */
export type NameMatchRule = 'exact' | 'wildcard' | 'shared-domain';
/** Why a certificate name does not fit. */
export type NameMismatchReason = 'outside-suffix' | 'wildcard-invalid' | 'malformed';

export type NameMatch =
  | { fits: true; name: string; rule: NameMatchRule }
  | { fits: false; name: string; reason: NameMismatchReason };

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

// ASCII-only lower-casing: DNS compares case-insensitively in ASCII only, and String#toLowerCase
// would fold non-ASCII look-alikes (the Kelvin sign becomes "k").
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** Lower-cased labels of a DNS name (one trailing dot allowed), or null if it is not one. */
function labelsOf(name: string, allowWildcard: boolean): string[] | null {
  if (typeof name !== 'string' || name.length === 0 || name.length > 254) return null;
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const labels = asciiLower(trimmed).split('.');
  for (const [i, label] of labels.entries()) {
    if (allowWildcard && i === 0 && label === '*') continue;
    if (!LABEL.test(label)) return null;
  }
  return labels;
}

/** The device's DNS suffix as labels; throws `PCERT_OPTION_INVALID` if it is not a DNS name. */
export function dnsSuffixLabels(dnsSuffix: string): string[] {
  const labels = labelsOf(dnsSuffix, false);
  if (!labels) {
    throw new ProvisioningCertError(
      'PCERT_OPTION_INVALID',
      `dnsSuffix is not a DNS name: ${JSON.stringify(String(dnsSuffix).slice(0, 80))}`,
    );
  }
  return labels;
}

function endsWithLabels(
  labels: readonly string[],
  suffix: readonly string[],
  count = suffix.length,
): boolean {
  if (count > labels.length || count > suffix.length) return false;
  for (let i = 1; i <= count; i++) {
    if (labels[labels.length - i] !== suffix[suffix.length - i]) return false;
  }
  return true;
}

// The TLD comes from a certificate or a DHCP option: `constructor` and `__proto__` are valid
// labels, and must not find Object.prototype's members in the table.
function tldMatchDepth(tld: string): number | undefined {
  return Object.hasOwn(TLD_MATCH_DEPTH, tld) ? TLD_MATCH_DEPTH[tld] : undefined;
}

function sharedDepth(tld: string, rules: FirmwareRules): number | undefined {
  if ((tld === 'com' || tld === 'net') && rules.secondLevelComNet) return 2;
  return rules.tldDepth ? tldMatchDepth(tld) : undefined;
}

/** Internal form used by the validator, with the suffix already split. */
export function matchNameLabels(name: string, suffix: readonly string[], rules: FirmwareRules): NameMatch {
  const raw = typeof name === 'string' && name.includes('*') ? labelsOf(name, true) : labelsOf(name, false);
  if (!raw) {
    // A '*' anywhere but as the whole first label (`f*o.example.com`, `a.*.example.com`).
    const reason = typeof name === 'string' && name.includes('*') ? 'wildcard-invalid' : 'malformed';
    return { fits: false, name, reason };
  }
  const wildcard = raw[0] === '*';
  const target = wildcard ? raw.slice(1) : raw;
  if (wildcard) {
    const tld = target[target.length - 1] ?? '';
    // `*.com` or `*.co.uk` would cover a whole registry: never a valid provisioning name.
    const minBase = Math.max(2, tldMatchDepth(tld) ?? 2);
    if (!rules.wildcardNames || target.length < minBase)
      return { fits: false, name, reason: 'wildcard-invalid' };
  }
  // The device's suffix must be a suffix of the name, label by label (never raw characters).
  if (endsWithLabels(target, suffix)) return { fits: true, name, rule: wildcard ? 'wildcard' : 'exact' };
  const tld = suffix[suffix.length - 1] ?? '';
  const depth = sharedDepth(tld, rules);
  if (depth !== undefined && suffix.length >= depth && endsWithLabels(target, suffix, depth)) {
    return { fits: true, name, rule: 'shared-domain' };
  }
  return { fits: false, name, reason: 'outside-suffix' };
}

/**
 * Does a certificate name (CN or SAN dNSName) fit the device's DNS suffix under the rules of
 * `firmware`? Compares labels case-insensitively: `evil-example.com` is not in `example.com`.
 */
export function matchServerName(
  name: string,
  dnsSuffix: string,
  firmware: FirmwareVersion | string | FirmwareRules,
): NameMatch {
  const rules =
    typeof firmware === 'object' && 'hashAlgorithms' in firmware ? firmware : firmwareRules(firmware);
  return matchNameLabels(name, dnsSuffixLabels(dnsSuffix), rules);
}
