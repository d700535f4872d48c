import {
  loadPemChain,
  type ProvisioningChain,
  selectProvisioningCertificate,
} from '@oobkit/provisioning-cert';
import type { AcceptedHello } from '../intake/intake.js';
import type { SiteStore, StoredProvisioningCertificate } from '../store/types.js';
import { ProvisioningError } from './errors.js';

export interface ChainChoice {
  certificateId: number;
  name: string;
  /** The hello hash algorithm the root matched with. */
  algorithm: string;
  certPem: string;
  keyPem: string;
}

/**
 * How a job picks the chain it presents (flow A.3): `chooseProvisioningChain` in production. The
 * service takes another only as a test seam, to present a chain the device must refuse itself.
 */
export type ChooseChain = (
  store: SiteStore,
  hello: AcceptedHello | undefined,
  preferredId?: number,
) => Promise<ChainChoice>;

// Parsing a chain costs more than the lookup; stored chains never change under the same id.
const parsed = new Map<string, ProvisioningChain>();

function parse(c: StoredProvisioningCertificate): ProvisioningChain {
  const key = `${c.id}:${c.createdAt}`;
  let chain = parsed.get(key);
  if (!chain) {
    chain = loadPemChain(c.certPem, c.keyPem);
    if (parsed.size > 256) parsed.clear();
    parsed.set(key, chain);
  }
  return chain;
}

/**
 * Flow A.3: the enabled provisioning chain whose root hash the device's hello carries. The rules
 * (root hash, OID/OU marker, validity) are @oobkit/provisioning-cert's; the device's DNS suffix is
 * unknown here, so names are left for the device to judge.
 */
export async function chooseProvisioningChain(
  store: SiteStore,
  hello: AcceptedHello | undefined,
  preferredId?: number,
): Promise<ChainChoice> {
  const all = (await store.listProvisioningCertificates()).filter((c) => c.enabled);
  const matchedIds = new Set(hello?.matches.map((m) => m.certificateId));
  let stored = hello ? all.filter((c) => matchedIds.has(c.id)) : all;
  if (preferredId !== undefined) {
    stored = [...stored].sort((a, b) => Number(b.id === preferredId) - Number(a.id === preferredId));
  }
  if (stored.length === 0) {
    throw new ProvisioningError(
      'FLOW_NO_CERTIFICATE',
      'no enabled provisioning certificate matches the root hashes in the hello',
      {
        step: 'chain',
      },
    );
  }
  const helloHashes = hello
    ? hello.matches.map((m) => ({ algorithm: m.algorithm, hash: Buffer.from(m.hash, 'hex') }))
    : stored.map((c) => ({ algorithm: 'sha256' as const, hash: Buffer.from(c.rootHashes.sha256, 'hex') }));
  const chains: ProvisioningChain[] = [];
  const usable: StoredProvisioningCertificate[] = [];
  const broken: string[] = [];
  for (const c of stored) {
    try {
      chains.push(parse(c));
      usable.push(c);
    } catch (err) {
      broken.push(`${c.name}: ${(err as Error).message}`);
    }
  }
  const selection = chains.length > 0 ? selectProvisioningCertificate(chains, { helloHashes }) : undefined;
  if (!selection?.ok) {
    const reasons = [
      ...broken,
      ...(selection && !selection.ok
        ? selection.reasons.map((r) => `${usable[r.candidateIndex]?.name ?? '-'}: ${r.code} ${r.message}`)
        : []),
    ];
    throw new ProvisioningError(
      'FLOW_NO_CERTIFICATE',
      `no usable provisioning chain: ${reasons.join('; ')}`,
      {
        step: 'chain',
        ...(selection && !selection.ok && selection.reasons[0]
          ? { causeCode: selection.reasons[0].code }
          : {}),
      },
    );
  }
  const chosen = usable[selection.candidateIndex] as StoredProvisioningCertificate;
  return {
    certificateId: chosen.id,
    name: chosen.name,
    algorithm: selection.matched.algorithm,
    certPem: selection.chain.certPem,
    keyPem: chosen.keyPem,
  };
}
