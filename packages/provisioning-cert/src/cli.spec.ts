import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPemChain } from './chain.js';
import { runPkiCli } from './cli-run.js';
import { loadPfx } from './pfx.js';
import { validateProvisioningChain } from './validate.js';

const work = mkdtempSync(join(tmpdir(), 'oobkit-pki-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runPkiCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('oobkit-pki', () => {
  const dir = join(work, 'demo');
  // 1024-bit keys keep this test fast; the layout does not depend on the size.
  const init = [
    'init',
    dir,
    '--fqdn',
    'ps.corp.example.com',
    '--marker',
    'ou',
    '--bits',
    '1024',
    '--intermediates',
    '0',
  ];

  it('init writes a demo PKI that validates and whose PFX opens with the written password', async () => {
    const result = await run(...init, '--password', 'Demo!Passw0rd');
    expect(result).toMatchObject({ code: 0, err: '' });
    const hashes = JSON.parse(readFileSync(join(dir, 'root-hashes.json'), 'utf8')) as Record<string, string>;
    expect(result.out).toContain(hashes.sha256);
    const chain = loadPemChain(
      readFileSync(join(dir, 'chain.pem'), 'utf8'),
      readFileSync(join(dir, 'leaf.key'), 'utf8'),
    );
    expect(chain.certificates).toHaveLength(2);
    const trusted = [{ algorithm: 'sha256' as const, hash: Buffer.from(hashes.sha256 as string, 'hex') }];
    const verdict = await validateProvisioningChain(chain, {
      dnsSuffix: 'corp.example.com',
      trustedHashes: trusted,
      firmware: '11.8',
    });
    expect(verdict).toMatchObject({ ok: true, failures: [] });
    const password = readFileSync(join(dir, 'provisioning.pfx.password'), 'utf8').trim();
    expect(password).toBe('Demo!Passw0rd');
    expect((await loadPfx(readFileSync(join(dir, 'provisioning.pfx')), password)).certPem).toBe(
      chain.certPem,
    );
    for (const secret of ['leaf.key', 'provisioning.pfx', 'provisioning.pfx.password']) {
      expect(statSync(join(dir, secret)).mode & 0o777).toBe(0o600);
    }
  });

  it('refuses to overwrite without --force', async () => {
    const before = readFileSync(join(dir, 'root.pem'), 'utf8');
    const refused = await run(...init);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('--force');
    expect(readFileSync(join(dir, 'root.pem'), 'utf8')).toBe(before);
    expect((await run(...init, '--force')).code).toBe(0);
    expect(readFileSync(join(dir, 'root.pem'), 'utf8')).not.toBe(before);
  });

  it('hashes prints the thumbprints of the last certificate of a file', async () => {
    const hashes = JSON.parse(readFileSync(join(dir, 'root-hashes.json'), 'utf8')) as Record<string, string>;
    const result = await run('hashes', join(dir, 'chain.pem'));
    expect(result.code).toBe(0);
    expect(result.out.split('\n')).toEqual([
      `sha1 ${hashes.sha1}`,
      `sha256 ${hashes.sha256}`,
      `sha384 ${hashes.sha384}`,
    ]);
  });

  it.each([
    [[], 2],
    [['frobnicate'], 2],
    [['init'], 2],
    [['init', join(work, 'x'), '--marker', 'none'], 2],
    [['init', join(work, 'x'), '--bits', 'many'], 2],
    [['init', join(work, 'x'), '--colour'], 2],
    [['init', join(work, 'x'), '--hash', 'MD5'], 1],
    [['hashes', join(work, 'missing.pem')], 1],
  ])('exits %j with %i', async (argv, code) => {
    const result = await run(...(argv as string[]));
    expect(result.code).toBe(code);
    expect(result.err.length).toBeGreaterThan(0);
  });

  it('prints its usage on help', async () => {
    const result = await run('help');
    expect(result).toMatchObject({ code: 0 });
    expect(result.out).toContain('oobkit-pki init <dir>');
  });
});
