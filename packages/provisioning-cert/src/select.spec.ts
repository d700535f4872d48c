import { beforeAll, describe, expect, it } from 'vitest';
import type { ProvisioningChain } from './chain.js';
import { createRsaKeyCache } from './keys.js';
import { selectProvisioningCertificate } from './select.js';
import { createTestPki, type TestPki } from './test-pki.js';
import type { TrustedHash } from './validate.js';

const keys = createRsaKeyCache({ keysPerSize: 6 });
let corp: TestPki;
let lab: TestPki;
let wide: ProvisioningChain;

beforeAll(async () => {
  corp = await createTestPki({ serverFqdn: 'ps.corp.example.com', keys });
  // A second, unrelated root: its keys sit in other cache slots.
  lab = await createTestPki({ serverFqdn: 'ps.lab.example.org', keys, intermediates: 2 });
  wide = await corp.issueLeaf({ commonName: 'ps.example.com' });
});

const only = (pki: TestPki, algorithm: TrustedHash['algorithm']): TrustedHash[] =>
  pki.trustedHashes.filter((h) => h.algorithm === algorithm);

describe('selectProvisioningCertificate', () => {
  it('picks the candidate whose root is in the hello and whose name fits', () => {
    const result = selectProvisioningCertificate([corp.chain, lab.chain], {
      helloHashes: [...only(lab, 'sha256')],
      deviceDnsSuffix: 'lab.example.org',
    });
    expect(result).toMatchObject({
      ok: true,
      candidateIndex: 1,
      matched: { algorithm: 'sha256', name: { rule: 'exact' } },
    });
    expect(result.ok && result.chain).toBe(lab.chain);
  });

  it('reports the strongest matching hello hash', () => {
    const result = selectProvisioningCertificate([corp.chain], { helloHashes: corp.trustedHashes });
    expect(result).toMatchObject({ ok: true, matched: { algorithm: 'sha384' } });
  });

  it('prefers an exact name over a shared-domain one, whatever the order', () => {
    const hello = { helloHashes: only(corp, 'sha256'), deviceDnsSuffix: 'corp.example.com' };
    for (const candidates of [
      [wide, corp.chain],
      [corp.chain, wide],
    ]) {
      const result = selectProvisioningCertificate(candidates, hello);
      expect(result.ok && result.chain).toBe(corp.chain);
    }
    const fallback = selectProvisioningCertificate([wide], hello);
    expect(fallback).toMatchObject({ ok: true, matched: { name: { rule: 'shared-domain' } } });
  });

  it('applies the firmware name rules when the firmware is known', () => {
    const opts = { helloHashes: only(corp, 'sha1'), deviceDnsSuffix: 'corp.example.com' };
    expect(selectProvisioningCertificate([wide], { ...opts, firmware: '2.5' })).toMatchObject({
      ok: false,
      reasons: [{ candidateIndex: 0, code: 'NAME_OUTSIDE_SUFFIX' }],
    });
    expect(selectProvisioningCertificate([wide], { ...opts, firmware: '2.6' }).ok).toBe(true);
  });

  it('explains, per candidate, why none fits', async () => {
    const unmarked = await corp.broken('no-marker');
    const result = selectProvisioningCertificate([corp.chain, lab.chain, unmarked], {
      helloHashes: only(corp, 'sha256'),
      deviceDnsSuffix: 'elsewhere.test',
    });
    expect(result.ok).toBe(false);
    const reasons = result.ok ? [] : result.reasons.map((r) => `${r.candidateIndex}:${r.code}`);
    expect(reasons).toEqual([
      '0:NAME_OUTSIDE_SUFFIX',
      '1:ROOT_NOT_IN_HELLO',
      '1:NAME_OUTSIDE_SUFFIX',
      '2:LEAF_NO_AMT_MARKER',
      '2:NAME_OUTSIDE_SUFFIX',
    ]);
  });

  it('skips expired and rootless candidates, and checks keys only for a known firmware', async () => {
    const expired = await corp.broken('expired');
    const rootless = await corp.broken('missing-root');
    const weak = await corp.broken('weak-key');
    const hello = { helloHashes: corp.trustedHashes };
    const none = selectProvisioningCertificate([expired, rootless], hello);
    expect(none.ok ? [] : none.reasons.map((r) => r.code)).toEqual([
      'CERT_EXPIRED',
      'CHAIN_NO_ROOT',
      'ROOT_NOT_IN_HELLO',
    ]);
    expect(selectProvisioningCertificate([weak], hello).ok).toBe(true);
    expect(selectProvisioningCertificate([weak], { ...hello, firmware: '16.0' })).toMatchObject({
      ok: false,
      reasons: [{ code: 'KEY_TOO_SMALL' }],
    });
  });

  it('says when there is no candidate, and refuses malformed hello hashes', () => {
    expect(selectProvisioningCertificate([], { helloHashes: [] })).toEqual({
      ok: false,
      reasons: [{ candidateIndex: -1, code: 'NO_CANDIDATES', message: expect.any(String) }],
    });
    expect(() =>
      selectProvisioningCertificate([corp.chain], {
        helloHashes: [{ algorithm: 'sha1', hash: new Uint8Array(32) }],
      }),
    ).toThrowError(expect.objectContaining({ code: 'PCERT_OPTION_INVALID' }));
    expect(() =>
      selectProvisioningCertificate([corp.chain], { helloHashes: [], deviceDnsSuffix: 'a..b' }),
    ).toThrowError(expect.objectContaining({ code: 'PCERT_OPTION_INVALID' }));
  });
});

describe('selectProvisioningCertificate: malformed candidates', () => {
  it('reports a candidate whose certificates is not an array instead of throwing a TypeError', () => {
    const result = selectProvisioningCertificate(
      [{ certificates: 'not an array' } as unknown as ProvisioningChain, corp.chain],
      { helloHashes: corp.trustedHashes },
    );
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.chain).toBe(corp.chain);
    const bad = selectProvisioningCertificate([{ certificates: 'x' } as unknown as ProvisioningChain], {
      helloHashes: corp.trustedHashes,
    });
    expect(bad).toEqual({
      ok: false,
      reasons: [expect.objectContaining({ candidateIndex: 0, code: 'CERT_MALFORMED' })],
    });
  });
});
