import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/demo.js';
import { fileKeyProvider } from '../src/secrets/index.js';
import { openSqliteStore } from '../src/store/sqlite.js';

describe('oobkit demo', () => {
  it('provisions a mixed fleet, proves each stored password, and prints plain progress lines', async () => {
    const lines: string[] = [];
    const dataDir = await mkdtemp(join(tmpdir(), 'oobkit-demo-test-'));
    try {
      const summary = await runDemo({
        devices: 6,
        dataDir,
        out: (l) => lines.push(l),
        tty: false,
        timeoutMs: 120_000,
      });
      expect(summary).toMatchObject({ total: 6, provisioned: 6, failed: 0, verified: 6, ok: true });
      expect(summary.byPersonality).toEqual({
        legacy: { total: 2, provisioned: 2 },
        modern: { total: 4, provisioned: 4 },
      });
      expect(lines[0]).toMatch(/^oobkit demo: 6 simulated AMT devices \(2 legacy, 4 modern\)/);
      expect(lines.some((l) => /\[#+\] 6\/6 provisioned/.test(l))).toBe(true);
      expect(lines.at(-1)).toBe('OK');
      // The data stays where it was asked to be: the site store holds six provisioned devices.
      const store = await openSqliteStore({
        path: join(dataDir, 'oobkit.db'),
        keyProvider: fileKeyProvider(join(dataDir, 'secret.key')),
      });
      const devices = await store.listDevices({ status: 'provisioned' });
      expect(devices).toHaveLength(6);
      // Each personality's firmware versions in turn: 0, 3 legacy; 1, 2, 4, 5 modern.
      expect(devices.map((d) => d.amtVersion?.split('.').slice(0, 2).join('.')).sort()).toEqual([
        '11.8',
        '11.8',
        '16.1',
        '16.1',
        '5.2',
        '8.1',
      ]);
      const settingsBefore = await store.getSettings();
      const credentialsBefore = await store.listCredentials();
      await store.close();
      // A second demo on that folder would replace the site's settings and credentials: refused
      // before it starts anything, and the store is as it was.
      await expect(runDemo({ devices: 2, dataDir, out: () => undefined, tty: false })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(
          /needs a new data folder.*holds a site already \(oobkit\.db, secret\.key\)/,
        ),
      });
      const after = await openSqliteStore({
        path: join(dataDir, 'oobkit.db'),
        keyProvider: fileKeyProvider(join(dataDir, 'secret.key')),
      });
      expect(await after.getSettings()).toEqual(settingsBefore);
      expect(await after.listCredentials()).toEqual(credentialsBefore);
      expect(await after.listComputers()).toHaveLength(6);
      await after.close();
      const store2 = await openSqliteStore({
        path: join(dataDir, 'oobkit.db'),
        keyProvider: fileKeyProvider(join(dataDir, 'secret.key')),
      });
      // Natural, zero-padded host names.
      expect((await store2.listComputers()).map((c) => c.hostName)).toEqual([
        'pc-0001',
        'pc-0002',
        'pc-0003',
        'pc-0004',
        'pc-0005',
        'pc-0006',
      ]);
      await store2.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 150_000);

  it('shares the work between instances on one SQLite file, machine i saying hello to instance i mod n', async () => {
    const lines: string[] = [];
    const summary = await runDemo({ devices: 8, instances: 2, out: (l) => lines.push(l), tty: false });
    expect(summary).toMatchObject({ total: 8, provisioned: 8, verified: 8, ok: true, store: 'sqlite' });
    expect(Object.keys(summary.byInstance)).toEqual(['demo-1', 'demo-2']);
    expect(Object.values(summary.byInstance).reduce((a, b) => a + b, 0)).toBe(8);
    expect(lines[1]).toMatch(/^ {2}hellos on 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+ /);
    expect(lines).toContain('  2 service instance(s) sharing the site store (sqlite)');
    expect(lines.some((l) => /^ {2}jobs by instance: demo-1 \d+, demo-2 \d+$/.test(l))).toBe(true);
  }, 150_000);

  it('stops on its signal, removing its temporary folder and key file', async () => {
    const stop = new AbortController();
    let folder: string | undefined;
    const run = runDemo({
      devices: 4,
      tty: false,
      signal: stop.signal,
      out: (line) => {
        const m = / data in (\S+)$/.exec(line);
        if (m && !folder) {
          folder = m[1];
          expect(existsSync(join(folder as string, 'secret.key'))).toBe(true);
          stop.abort(new Error('interrupted'));
        }
      },
    });
    await expect(run).rejects.toThrow('interrupted');
    expect(folder).toBeDefined();
    expect(existsSync(folder as string)).toBe(false);
  }, 60_000);

  it('prints one JSON summary in --json mode', async () => {
    const lines: string[] = [];
    const summary = await runDemo({ devices: 2, json: true, out: (l) => lines.push(l), timeoutMs: 120_000 });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual(summary);
    expect(summary.ok).toBe(true);
    expect(summary.seconds).toBeGreaterThan(0);
  }, 150_000);
});
