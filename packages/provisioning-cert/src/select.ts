import type { ProvisioningChain } from './chain.js';
import type { HashAlgorithm } from './constants.js';
import { ProvisioningCertError } from './errors.js';
import { type CertFacts, certificateFacts, factsThumbprint } from './facts.js';
import { type FirmwareRules, type FirmwareVersion, firmwareRules } from './firmware.js';
import { dnsSuffixLabels, type NameMatch } from './names.js';
import {
  type ChainFailureCode,
  certificateFailures,
  checkNow,
  checkTrustedHashes,
  leafMarkerFailures,
  leafNameCheck,
  type TrustedHash,
} from './validate.js';
import type { X509Certificate } from './x509.js';

export interface SelectProvisioningCertificateOptions {
  /** The hashes from the device's hello. */
  helloHashes: readonly TrustedHash[];
  /** The device's DNS suffix, when known; without it names are not checked. */
  deviceDnsSuffix?: string;
  /**
   * The device's firmware, when known: its name, key and signature rules then apply. Without it,
   * names are matched with the most permissive rules (AMT 6–15) and keys are not checked.
   */
  firmware?: FirmwareVersion | string;
  now?: Date;
}

export type SelectionReasonCode =
  | 'NO_CANDIDATES'
  | 'ROOT_NOT_IN_HELLO'
  | Extract<
      ChainFailureCode,
      | 'CHAIN_EMPTY'
      | 'CERT_MALFORMED'
      | 'CHAIN_NO_ROOT'
      | 'CERT_EXPIRED'
      | 'CERT_NOT_YET_VALID'
      | 'KEY_ALGORITHM_UNSUPPORTED'
      | 'KEY_TOO_SMALL'
      | 'KEY_TOO_LARGE'
      | 'SIGNATURE_ALGORITHM_UNSUPPORTED'
      | 'SIGNATURE_SHA1_REFUSED'
      | 'LEAF_NO_SERVER_AUTH'
      | 'LEAF_NO_AMT_MARKER'
      | 'NAME_MISSING'
      | 'NAME_OUTSIDE_SUFFIX'
      | 'NAME_WILDCARD_INVALID'
    >;

export interface SelectionReason {
  /** Position in `candidates`; -1 when there was no candidate at all. */
  candidateIndex: number;
  code: SelectionReasonCode;
  message: string;
}

export type ProvisioningSelection =
  | {
      ok: true;
      chain: ProvisioningChain;
      candidateIndex: number;
      matched: { algorithm: HashAlgorithm; name?: NameMatch & { fits: true } };
    }
  | { ok: false; reasons: SelectionReason[] };

// Rules used for names when the firmware is unknown: every relaxation, SHA-1 hashes still honoured.
const PERMISSIVE: FirmwareRules = firmwareRules({ major: 15, minor: 0 });
const STRENGTH: Record<HashAlgorithm, number> = { sha1: 1, sha256: 2, sha384: 3 };

/**
 * Service side of step A.3: the candidate chain whose root's hash is in the hello and whose leaf
 * name fits the device's DNS suffix. Prefers an exact (or wildcard) name over a shared-domain one,
 * then the earlier candidate. When none fits, says why for each candidate.
 */
export function selectProvisioningCertificate(
  candidates: readonly ProvisioningChain[],
  opts: SelectProvisioningCertificateOptions,
): ProvisioningSelection {
  checkTrustedHashes(opts.helloHashes, 'helloHashes');
  const suffix = opts.deviceDnsSuffix === undefined ? undefined : dnsSuffixLabels(opts.deviceDnsSuffix);
  const rules = opts.firmware === undefined ? PERMISSIVE : firmwareRules(opts.firmware);
  const now = checkNow(opts.now);
  if (!Array.isArray(candidates) || candidates.length === 0) {
    return {
      ok: false,
      reasons: [
        { candidateIndex: -1, code: 'NO_CANDIDATES', message: 'no provisioning chain is configured' },
      ],
    };
  }

  const reasons: SelectionReason[] = [];
  let best:
    | { index: number; algorithm: HashAlgorithm; name?: NameMatch & { fits: true }; rank: number }
    | undefined;
  for (const [index, candidate] of candidates.entries()) {
    const add = (code: SelectionReasonCode, message: string) =>
      reasons.push({ candidateIndex: index, code, message });
    let facts: CertFacts[];
    try {
      const certs: unknown = candidate?.certificates ?? [];
      if (!Array.isArray(certs)) {
        throw new ProvisioningCertError('PCERT_CERT_INVALID', 'certificates is not an array');
      }
      facts = certs.map((c: X509Certificate, i) => certificateFacts(c, i));
    } catch (err) {
      if (!(err instanceof ProvisioningCertError)) throw err;
      add('CERT_MALFORMED', err.message);
      continue;
    }
    const leaf = facts[0];
    const root = facts[facts.length - 1];
    if (!leaf || !root) {
      add('CHAIN_EMPTY', 'the chain holds no certificate');
      continue;
    }
    const before = reasons.length;
    if (!root.selfIssued)
      add('CHAIN_NO_ROOT', `the chain ends at ${root.subject}, not at a self-issued root`);
    let algorithm: HashAlgorithm | undefined;
    for (const h of opts.helloHashes) {
      if (Buffer.compare(factsThumbprint(root, h.algorithm), h.hash) !== 0) continue;
      if (!algorithm || STRENGTH[h.algorithm] > STRENGTH[algorithm]) algorithm = h.algorithm;
    }
    if (!algorithm) add('ROOT_NOT_IN_HELLO', `no hello hash matches root ${root.subject}`);
    for (const [i, f] of facts.entries()) {
      for (const failure of certificateFailures(f, i, rules, now)) {
        const keyRule = failure.code.startsWith('KEY_') || failure.code.startsWith('SIGNATURE_');
        if (!keyRule || opts.firmware !== undefined)
          add(failure.code as SelectionReasonCode, failure.message);
      }
    }
    for (const failure of leafMarkerFailures(leaf)) add(failure.code as SelectionReasonCode, failure.message);
    let name: (NameMatch & { fits: true }) | undefined;
    if (suffix) {
      const check = leafNameCheck(leaf, suffix, rules);
      if (check.failure) add(check.failure.code as SelectionReasonCode, check.failure.message);
      name = check.match;
    }
    if (reasons.length > before || !algorithm) continue;
    const rank = name?.rule === 'shared-domain' ? 1 : 0;
    if (!best || rank < best.rank) best = { index, algorithm, rank, ...(name ? { name } : {}) };
  }
  if (!best) return { ok: false, reasons };
  return {
    ok: true,
    chain: candidates[best.index] as ProvisioningChain,
    candidateIndex: best.index,
    matched: { algorithm: best.algorithm, ...(best.name ? { name: best.name } : {}) },
  };
}
