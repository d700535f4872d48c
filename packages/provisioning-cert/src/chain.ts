import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { ProvisioningCertError } from './errors.js';
import { type CertFacts, certificateFacts, namesIssuer, signedBy } from './facts.js';
import { encryptedKeyIterations, kdfIterationsAllowed, MAX_KDF_ITERATIONS } from './kdf.js';
import { decodePem, decodePemCertificates, encodePem, type PemBlock } from './pem.js';
import type { X509Certificate } from './x509.js';

/** A provisioning certificate chain, ordered leaf → root, ready to be a TLS client certificate. */
export interface ProvisioningChain {
  /** Leaf first, root last (@peculiar/x509 objects). */
  certificates: X509Certificate[];
  /** The same certificates as concatenated PEM, leaf → root: usable as Node's tls `cert`. */
  certPem: string;
  /** The leaf's private key as unencrypted PKCS#8 PEM, when known. */
  keyPem?: string;
}

/**
 * Orders certificates leaf → root by issuer/subject names (and key identifiers when present).
 * Duplicates are dropped. Throws `PCERT_CHAIN_UNLINKED` if they are not exactly one chain: two
 * leaves, a stray certificate, or a gap. The root may be absent (the chain then ends at the last
 * certificate that has an issuer here).
 */
export function orderChain(all: readonly CertFacts[]): CertFacts[] {
  const certs: CertFacts[] = [];
  for (const f of all) if (!certs.some((c) => c.der.equals(f.der))) certs.push(f);
  if (certs.length === 0) throw new ProvisioningCertError('PCERT_CHAIN_EMPTY', 'no certificate given');
  const leaves = certs.filter((p) => !certs.some((c) => c !== p && namesIssuer(c, p)));
  if (leaves.length !== 1) {
    throw new ProvisioningCertError(
      'PCERT_CHAIN_UNLINKED',
      leaves.length === 0
        ? 'the certificates issue each other in a loop: no leaf'
        : `the certificates form ${leaves.length} chains, not one (ends: ${leaves.map((l) => l.subject).join('; ')})`,
    );
  }
  const leaf = leaves[0] as CertFacts;
  const ordered = [leaf];
  const used = new Set<CertFacts>(ordered);
  let current = leaf;
  while (!current.selfIssued) {
    const from = current;
    const candidates = certs.filter((p) => !used.has(p) && namesIssuer(from, p));
    // Two CA certificates with one name (a re-keyed CA): the signature decides.
    const next =
      candidates.length > 1 ? (candidates.find((p) => signedBy(from, p)) ?? candidates[0]) : candidates[0];
    if (!next) break;
    ordered.push(next);
    used.add(next);
    current = next;
  }
  if (used.size !== certs.length) {
    const stray = certs.filter((c) => !used.has(c)).map((c) => c.subject);
    throw new ProvisioningCertError(
      'PCERT_CHAIN_UNLINKED',
      `certificates not on the chain from ${leaf.subject}: ${stray.join('; ')}`,
    );
  }
  return ordered;
}

/** An encrypted PKCS#8 key whose KDF would run more iterations than we allow, if any. */
function excessiveKdf(keyPem: string): bigint | undefined {
  let blocks: PemBlock[];
  try {
    blocks = decodePem(keyPem);
  } catch {
    return undefined; // not PEM we can read: OpenSSL refuses it before any key derivation
  }
  for (const b of blocks) {
    if (b.label !== 'ENCRYPTED PRIVATE KEY') continue;
    const count = encryptedKeyIterations(b.der);
    if (count !== undefined && !kdfIterationsAllowed(count)) return count;
  }
  return undefined;
}

/** Parses a PEM private key (PKCS#8 or PKCS#1; encrypted ones need `passphrase`). */
export function privateKeyFromPem(keyPem: string, passphrase?: string): KeyObject {
  // OpenSSL derives the key synchronously with the file's iteration count: bound it first.
  const excessive = passphrase === undefined ? undefined : excessiveKdf(keyPem);
  if (excessive !== undefined) {
    throw new ProvisioningCertError(
      'PCERT_KEY_INVALID',
      `the encrypted private key asks for ${excessive} key-derivation iterations, outside 1…${MAX_KDF_ITERATIONS}`,
    );
  }
  try {
    const key = createPrivateKey(
      passphrase === undefined ? { key: keyPem, format: 'pem' } : { key: keyPem, format: 'pem', passphrase },
    );
    return key;
  } catch (cause) {
    // Never echo the key or passphrase: only say what kind of failure it was.
    throw new ProvisioningCertError(
      'PCERT_KEY_INVALID',
      passphrase === undefined
        ? 'the private key does not parse (an encrypted key needs keyPassphrase)'
        : 'the private key does not parse or the passphrase is wrong',
      { cause },
    );
  }
}

function spki(key: KeyObject): Buffer {
  return (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });
}

/** Throws `PCERT_KEY_MISMATCH` unless `key` is the private key of the leaf. */
export function assertKeyMatchesLeaf(key: KeyObject, leaf: CertFacts): void {
  if (!spki(key).equals(spki(leaf.publicKey))) {
    throw new ProvisioningCertError(
      'PCERT_KEY_MISMATCH',
      `the private key does not belong to ${leaf.subject}`,
      {
        certificateIndex: 0,
      },
    );
  }
}

/** Builds the chain object from ordered facts (and a key already checked against the leaf). */
export function chainFromFacts(ordered: readonly CertFacts[], key?: KeyObject): ProvisioningChain {
  const chain: ProvisioningChain = {
    certificates: ordered.map((f) => f.certificate),
    certPem: ordered.map((f) => encodePem(f.der)).join(''),
  };
  if (key) chain.keyPem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  return chain;
}

/**
 * Loads a PEM certificate chain (any order; text between blocks is ignored) and optionally the
 * leaf's private key. Returns it ordered leaf → root. Throws `PCERT_CHAIN_UNLINKED` for
 * certificates that do not form one chain, `PCERT_KEY_MISMATCH` for a key of another certificate.
 */
export function loadPemChain(
  certsPem: string,
  keyPem?: string,
  options?: { keyPassphrase?: string },
): ProvisioningChain {
  const facts = decodePemCertificates(certsPem).map((der, i) => certificateFacts(der, i));
  const ordered = orderChain(facts);
  if (keyPem === undefined) return chainFromFacts(ordered);
  const key = privateKeyFromPem(keyPem, options?.keyPassphrase);
  assertKeyMatchesLeaf(key, ordered[0] as CertFacts);
  return chainFromFacts(ordered, key);
}

/** The shape of Node's `tls.DetailedPeerCertificate` that a chain walk needs. */
export interface PeerCertificateLike {
  raw?: Uint8Array;
  issuerCertificate?: PeerCertificateLike;
}

/**
 * DER certificates leaf → root from `socket.getPeerCertificate(true)`: follows
 * `issuerCertificate` and stops at the self-issued root (which Node links to itself). Node
 * rebuilds this list by issuer, so a certificate the peer sent that links to nothing is absent.
 */
export function chainFromPeerCertificate(peer: PeerCertificateLike | null | undefined): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<PeerCertificateLike>();
  let current = peer ?? undefined;
  while (current && current.raw instanceof Uint8Array && current.raw.length > 0 && !seen.has(current)) {
    seen.add(current);
    const raw = Buffer.from(current.raw);
    const last = out[out.length - 1];
    if (last?.equals(raw)) break;
    out.push(raw);
    if (out.length >= 16) break;
    current = current.issuerCertificate;
  }
  return out;
}
