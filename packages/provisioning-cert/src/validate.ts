import type { ProvisioningChain } from './chain.js';
import { AMT_PROVISIONING_OID, HASH_LENGTHS, type HashAlgorithm, SERVER_AUTH_OID } from './constants.js';
import { ProvisioningCertError } from './errors.js';
import {
  type CertFacts,
  type CertificateInput,
  certificateFacts,
  factsThumbprint,
  namesIssuer,
  signedBy,
} from './facts.js';
import { type FirmwareRules, type FirmwareVersion, firmwareRules } from './firmware.js';
import { dnsSuffixLabels, matchNameLabels, type NameMatch } from './names.js';
import { decodePemCertificates } from './pem.js';
import { assertHashAlgorithm } from './thumbprint.js';

/** Stable codes of the rules a provisioning chain can fail (firmware side). */
export type ChainFailureCode =
  | 'CHAIN_EMPTY'
  | 'CERT_MALFORMED'
  | 'CHAIN_UNLINKED'
  | 'CHAIN_NO_ROOT'
  | 'ISSUER_NOT_CA'
  | 'SIGNATURE_INVALID'
  | 'SIGNATURE_ALGORITHM_UNSUPPORTED'
  | 'SIGNATURE_SHA1_REFUSED'
  | 'KEY_ALGORITHM_UNSUPPORTED'
  | 'KEY_TOO_SMALL'
  | 'KEY_TOO_LARGE'
  | 'CERT_EXPIRED'
  | 'CERT_NOT_YET_VALID'
  | 'LEAF_NO_SERVER_AUTH'
  | 'LEAF_NO_AMT_MARKER'
  | 'NAME_MISSING'
  | 'NAME_OUTSIDE_SUFFIX'
  | 'NAME_WILDCARD_INVALID'
  | 'ROOT_NOT_TRUSTED'
  | 'ROOT_HASH_ALGORITHM_UNSUPPORTED';

export interface ChainFailure {
  code: ChainFailureCode;
  message: string;
  /** Leaf = 0, root = last. */
  certificateIndex?: number;
}

/** A root hash AMT trusts (from firmware, MEBx, or a hello). */
export interface TrustedHash {
  algorithm: HashAlgorithm;
  hash: Uint8Array;
}

export interface ValidateProvisioningChainOptions {
  /** The device's DNS suffix (DHCP option 15, or the PKI DNS suffix set in MEBx). */
  dnsSuffix: string;
  /** The root hashes stored in the firmware. */
  trustedHashes: readonly TrustedHash[];
  /** `{ major, minor }` or a dotted string such as `11.8.50`. */
  firmware: FirmwareVersion | string;
  /** Validity instant; default now. */
  now?: Date;
}

export interface ChainValidation {
  ok: boolean;
  /** Every failed rule, in rule order; empty when `ok`. */
  failures: ChainFailure[];
  /** The trusted entry the root matched, if any. */
  matched?: { algorithm: HashAlgorithm };
  /** The first certificate name that fits the DNS suffix, if any. */
  name?: NameMatch & { fits: true };
}

/** Throws `PCERT_OPTION_INVALID` unless every entry has a known algorithm and a hash of its length. */
export function checkTrustedHashes(hashes: readonly TrustedHash[], what: string): void {
  if (!Array.isArray(hashes))
    throw new ProvisioningCertError('PCERT_OPTION_INVALID', `${what} must be an array`);
  for (const [i, h] of hashes.entries()) {
    const algorithm: unknown = h?.algorithm;
    assertHashAlgorithm(algorithm);
    if (!(h.hash instanceof Uint8Array) || h.hash.length !== HASH_LENGTHS[algorithm]) {
      throw new ProvisioningCertError(
        'PCERT_OPTION_INVALID',
        `${what}[${i}]: a ${algorithm} hash is ${HASH_LENGTHS[algorithm]} bytes`,
      );
    }
  }
}

export function checkNow(now: Date | undefined): number {
  if (now === undefined) return Date.now();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new ProvisioningCertError('PCERT_OPTION_INVALID', 'now must be a valid Date');
  }
  return now.getTime();
}

function label(f: CertFacts): string {
  return f.subject || '(empty subject)';
}

const HASH_STRENGTH: Record<HashAlgorithm, number> = { sha1: 1, sha256: 2, sha384: 3 };

function hashEquals(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** Validity, key and signature-algorithm rules of one certificate. */
export function certificateFailures(
  f: CertFacts,
  index: number,
  rules: FirmwareRules,
  now: number,
): ChainFailure[] {
  const out: ChainFailure[] = [];
  if (now < f.notBefore) {
    out.push({
      code: 'CERT_NOT_YET_VALID',
      message: `${label(f)} is not valid before ${new Date(f.notBefore).toISOString()}`,
      certificateIndex: index,
    });
  }
  if (now > f.notAfter) {
    out.push({
      code: 'CERT_EXPIRED',
      message: `${label(f)} expired at ${new Date(f.notAfter).toISOString()}`,
      certificateIndex: index,
    });
  }
  if (f.keyType !== 'rsa' || f.keyBits === undefined) {
    out.push({
      code: 'KEY_ALGORITHM_UNSUPPORTED',
      message: `${label(f)} has a ${f.keyType} key; AMT provisioning takes RSA keys`,
      certificateIndex: index,
    });
  } else if (f.keyBits < rules.minRsaBits) {
    out.push({
      code: 'KEY_TOO_SMALL',
      message: `${label(f)} has a ${f.keyBits}-bit RSA key; firmware ${fw(rules)} needs at least ${rules.minRsaBits}`,
      certificateIndex: index,
    });
  } else if (f.keyBits > rules.maxRsaBits) {
    out.push({
      code: 'KEY_TOO_LARGE',
      message: `${label(f)} has a ${f.keyBits}-bit RSA key; firmware ${fw(rules)} takes at most ${rules.maxRsaBits}`,
      certificateIndex: index,
    });
  }
  if (f.signatureHash === undefined) {
    out.push({
      code: 'SIGNATURE_ALGORITHM_UNSUPPORTED',
      message: `${label(f)} is signed with ${f.signatureName}; AMT takes RSA PKCS#1 v1.5 with SHA-1/SHA-2`,
      certificateIndex: index,
    });
  } else if (f.signatureHash === 'sha1' && !rules.sha1Signatures) {
    out.push({
      code: 'SIGNATURE_SHA1_REFUSED',
      message: `${label(f)} is signed with SHA-1, which firmware ${fw(rules)} refuses`,
      certificateIndex: index,
    });
  }
  return out;
}

function fw(rules: FirmwareRules): string {
  return `${rules.firmware.major}.${rules.firmware.minor}`;
}

/** serverAuth and the AMT marker (OID or exact OU) on the leaf. */
export function leafMarkerFailures(leaf: CertFacts): ChainFailure[] {
  const out: ChainFailure[] = [];
  const ekus = leaf.extendedKeyUsages;
  if (!ekus?.includes(SERVER_AUTH_OID)) {
    out.push({
      code: 'LEAF_NO_SERVER_AUTH',
      message: ekus
        ? `${label(leaf)}: EKU lacks serverAuth (${SERVER_AUTH_OID})`
        : `${label(leaf)} has no EKU extension (serverAuth is required)`,
      certificateIndex: 0,
    });
  }
  if (!ekus?.includes(AMT_PROVISIONING_OID) && !leaf.hasSetupOu) {
    const ous = leaf.organizationalUnits.length
      ? ` (OU: ${leaf.organizationalUnits.map((o) => JSON.stringify(o)).join(', ')})`
      : '';
    out.push({
      code: 'LEAF_NO_AMT_MARKER',
      message: `${label(leaf)}: neither the AMT OID ${AMT_PROVISIONING_OID} in the EKU nor the exact setup OU${ous}`,
      certificateIndex: 0,
    });
  }
  return out;
}

/** The name rule: a CN or SAN dNSName of the leaf fits the suffix. */
export function leafNameCheck(
  leaf: CertFacts,
  suffix: readonly string[],
  rules: FirmwareRules,
): { match?: NameMatch & { fits: true }; failure?: ChainFailure } {
  const names = [...new Set([...leaf.commonNames, ...leaf.dnsNames])];
  if (names.length === 0) {
    return {
      failure: {
        code: 'NAME_MISSING',
        message: `${label(leaf)} has no CN and no SAN dNSName`,
        certificateIndex: 0,
      },
    };
  }
  const results = names.map((n) => matchNameLabels(n, suffix, rules));
  const exact = results.find((r) => r.fits && r.rule !== 'shared-domain');
  const fit = exact ?? results.find((r) => r.fits);
  if (fit?.fits) return { match: fit };
  const wildcard = results.some((r) => !r.fits && r.reason === 'wildcard-invalid');
  const detail = results.map((r) => `${JSON.stringify(r.name)}: ${r.fits ? 'fits' : r.reason}`).join(', ');
  return {
    failure: {
      code: wildcard ? 'NAME_WILDCARD_INVALID' : 'NAME_OUTSIDE_SUFFIX',
      message: `no certificate name fits DNS suffix ${suffix.join('.')} (${detail})`,
      certificateIndex: 0,
    },
  };
}

function rootTrust(
  root: CertFacts,
  index: number,
  trusted: readonly TrustedHash[],
  rules: FirmwareRules,
): { matched?: HashAlgorithm; failure?: ChainFailure } {
  let unsupportedMatch: HashAlgorithm | undefined;
  let matched: HashAlgorithm | undefined;
  for (const t of trusted) {
    if (!hashEquals(factsThumbprint(root, t.algorithm), t.hash)) continue;
    if (!rules.hashAlgorithms.includes(t.algorithm)) unsupportedMatch = t.algorithm;
    else if (!matched || HASH_STRENGTH[t.algorithm] > HASH_STRENGTH[matched]) matched = t.algorithm;
  }
  if (matched) return { matched };
  if (unsupportedMatch) {
    return {
      failure: {
        code: 'ROOT_HASH_ALGORITHM_UNSUPPORTED',
        message: `${label(root)} matches a ${unsupportedMatch} entry, which firmware ${fw(rules)} does not honour (${rules.hashAlgorithms.join(', ')})`,
        certificateIndex: index,
      },
    };
  }
  return {
    failure: {
      code: 'ROOT_NOT_TRUSTED',
      message: `the hash of ${label(root)} is not in the trusted list`,
      certificateIndex: index,
    },
  };
}

function inputsOf(chain: readonly CertificateInput[] | ProvisioningChain): readonly CertificateInput[] {
  if (Array.isArray(chain)) return chain;
  const certs = (chain as ProvisioningChain | null)?.certificates;
  if (!Array.isArray(certs)) {
    throw new ProvisioningCertError(
      'PCERT_OPTION_INVALID',
      'chain must be an array of certificates or a ProvisioningChain',
    );
  }
  return certs;
}

function parseAll(inputs: readonly CertificateInput[]): { facts: CertFacts[]; failures: ChainFailure[] } {
  const facts: CertFacts[] = [];
  const failures: ChainFailure[] = [];
  for (const [i, input] of inputs.entries()) {
    try {
      if (typeof input === 'string') {
        for (const der of decodePemCertificates(input)) facts.push(certificateFacts(der, facts.length));
      } else {
        facts.push(certificateFacts(input, facts.length));
      }
    } catch (err) {
      if (!(err instanceof ProvisioningCertError)) throw err;
      failures.push({
        code: 'CERT_MALFORMED',
        message: `chain entry ${i}: ${err.message}`,
        certificateIndex: i,
      });
    }
  }
  return { facts, failures };
}

/**
 * The firmware's check of a provisioning chain received as the TLS client certificate, leaf
 * first. Returns every failed rule (not only the first); `ok` when there is none. Options that
 * are malformed throw `ProvisioningCertError`; a bad chain never throws.
 */
export async function validateProvisioningChain(
  chain: readonly CertificateInput[] | ProvisioningChain,
  opts: ValidateProvisioningChainOptions,
): Promise<ChainValidation> {
  return validateProvisioningChainSync(chain, opts);
}

/** Synchronous form of `validateProvisioningChain`. */
export function validateProvisioningChainSync(
  chain: readonly CertificateInput[] | ProvisioningChain,
  opts: ValidateProvisioningChainOptions,
): ChainValidation {
  const rules = firmwareRules(opts.firmware);
  const suffix = dnsSuffixLabels(opts.dnsSuffix);
  checkTrustedHashes(opts.trustedHashes, 'trustedHashes');
  const now = checkNow(opts.now);

  const { facts, failures } = parseAll(inputsOf(chain));
  if (failures.length) return { ok: false, failures };
  if (facts.length === 0)
    return { ok: false, failures: [{ code: 'CHAIN_EMPTY', message: 'no certificate was sent' }] };

  const leaf = facts[0] as CertFacts;
  const result: ChainValidation = { ok: false, failures };
  failures.push(...leafMarkerFailures(leaf));
  const name = leafNameCheck(leaf, suffix, rules);
  if (name.failure) failures.push(name.failure);
  if (name.match) result.name = name.match;

  for (const [i, f] of facts.entries()) {
    failures.push(...certificateFailures(f, i, rules, now));
    const issuer = facts[i + 1];
    if (issuer) {
      if (!namesIssuer(f, issuer)) {
        failures.push({
          code: 'CHAIN_UNLINKED',
          message: `${label(f)} is not issued by the next certificate, ${label(issuer)}`,
          certificateIndex: i,
        });
      } else if (!signedBy(f, issuer)) {
        failures.push({
          code: 'SIGNATURE_INVALID',
          message: `the signature of ${label(f)} does not verify with the key of ${label(issuer)}`,
          certificateIndex: i,
        });
      }
      // v1 certificates have no extensions at all; any v3 issuer must say cA (RFC 5280 4.2.1.9).
      if (issuer.hasExtensions && issuer.basicConstraintsCa !== true) {
        failures.push({
          code: 'ISSUER_NOT_CA',
          message: `${label(issuer)} issues ${label(f)} but is not a CA (basicConstraints)`,
          certificateIndex: i + 1,
        });
      }
    } else if (!f.selfIssued) {
      failures.push({
        code: 'CHAIN_NO_ROOT',
        message: `the chain ends at ${label(f)}, which is not a self-issued root`,
        certificateIndex: i,
      });
    } else if (!signedBy(f, f)) {
      failures.push({
        code: 'SIGNATURE_INVALID',
        message: `the self-signature of root ${label(f)} does not verify`,
        certificateIndex: i,
      });
    }
  }

  const rootIndex = facts.length - 1;
  const trust = rootTrust(facts[rootIndex] as CertFacts, rootIndex, opts.trustedHashes, rules);
  if (trust.failure) failures.push(trust.failure);
  if (trust.matched) result.matched = { algorithm: trust.matched };
  result.ok = failures.length === 0;
  return result;
}
