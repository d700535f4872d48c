/**
 * The CLI on a PostgreSQL site store (OOBKIT_DATABASE_URL): data commands read and write the
 * shared database, not the data folder; the SQLite-file commands refuse with what to do instead;
 * `serve` names the store without its password. Skipped without PostgreSQL's binaries, except
 * under `CI=true`, where that is a failure.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { fileKeyProvider } from '../src/secrets/index.js';
import { describeStoreLocation } from '../src/store/open.js';
import { openPostgresStore } from '../src/store/postgres.js';
import { CLI, runOobkit } from './cli-runner.js';
import { describeWithPostgres } from './postgres-suite.js';

await describeWithPostgres('oobkit CLI on a PostgreSQL site store', (server) => {
  let dir: string;
  let url: string;
  beforeEach(async () => {
    if (!existsSync(CLI)) throw new Error(`build the CLI first: ${CLI} is missing`);
    dir = mkdtempSync(join(tmpdir(), 'oobkit-cli-pg-'));
    url = server.url(await server.createDatabase());
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const oobkit = (args: string[], input?: string) =>
    runOobkit(join(dir, 'data'), args, {
      cwd: dir,
      env: { OOBKIT_DATABASE_URL: url },
      ...(input === undefined ? {} : { input }),
    });

  it('imports into the database and lists from it; nothing is written to a SQLite file', async () => {
    const csv = join(dir, 'fleet.csv');
    writeFileSync(
      csv,
      'uuid,hostName,domainName\n8f3a1c2e-0000-4000-8000-0000000000a1,pc-1,corp.example.com\n8f3a1c2e-0000-4000-8000-0000000000a2,pc-2,corp.example.com\n',
    );
    const imported = await oobkit(['import', csv, '--json']);
    expect(imported.stderr).toBe('');
    expect(JSON.parse(imported.stdout)).toEqual({ created: 2, updated: 0 });
    const listed = JSON.parse((await oobkit(['computers', 'list', '--json'])).stdout) as Array<{
      hostName: string;
    }>;
    expect(listed.map((c) => c.hostName)).toEqual(['pc-1', 'pc-2']);
    expect(existsSync(join(dir, 'data', 'oobkit.db'))).toBe(false);

    // The same rows, read by a store of this process on the same database and key file.
    const store = await openPostgresStore({
      connectionString: url,
      keyProvider: fileKeyProvider(join(dir, 'data', 'secret.key')),
    });
    try {
      expect((await store.listComputers()).map((c) => c.hostName)).toEqual(['pc-1', 'pc-2']);
    } finally {
      await store.close();
    }
  });

  it('refuses backup, and a one-step rotate-key, saying what to use instead, and changes nothing', async () => {
    const backup = await oobkit(['backup', join(dir, 'copy.db')]);
    expect(backup.code).toBe(2);
    expect(backup.stderr).toMatch(/pg_dump/);
    expect(existsSync(join(dir, 'copy.db'))).toBe(false);
    const rotate = await oobkit(['rotate-key']);
    expect(rotate.code).toBe(2);
    expect(rotate.stderr).toMatch(/rotate-key --stage.*every host.*rotate-key --finish/);
    // Refused before anything was opened: not even a key file was made.
    expect(existsSync(join(dir, 'data', 'secret.key'))).toBe(false);
  });

  it('rotates the key across two hosts in two steps, each host reading and writing throughout', async () => {
    // Host A runs the CLI on its data folder; host B is a store of this process on its own copy.
    const keyA = join(dir, 'data', 'secret.key');
    const added = await oobkit(
      ['credentials', 'add', '--label', 'first', '--password-stdin'],
      'First!Pass1\n',
    );
    expect(added.code).toBe(0);
    const keyB = join(dir, 'host-b.key');
    copyFileSync(keyA, keyB);
    const hostB = await openPostgresStore({ connectionString: url, keyProvider: fileKeyProvider(keyB) });
    try {
      const passwords = async () => (await hostB.listCredentials()).map((c) => c.password).sort();
      const staged = await oobkit(['rotate-key', '--stage', '--json']);
      expect(staged.code).toBe(0);
      expect(JSON.parse(staged.stdout)).toMatchObject({ phase: 'stage', records: 0 });
      expect(readFileSync(keyA, 'utf8').trim().split('\n')).toHaveLength(2);
      // B has not got the staged file yet: it still reads and writes under the old key.
      await hostB.addCredential({ label: 'b1', username: 'admin', password: 'Second!Pass2', priority: 1 });
      copyFileSync(keyA, keyB);

      const finished = await oobkit(['rotate-key', '--finish', '--json']);
      expect(finished.code).toBe(0);
      expect(JSON.parse(finished.stdout)).toMatchObject({ phase: 'finish', records: 3, replacedKeys: 1 });
      expect(readFileSync(keyA, 'utf8').trim().split('\n')).toHaveLength(1);
      // B, holding new + old, follows: it reads every record and seals new ones under the new key.
      expect(await passwords()).toEqual(['First!Pass1', 'Second!Pass2']);
      await hostB.addCredential({ label: 'b2', username: 'admin', password: 'Third!Pass3', priority: 2 });
      const listed = await oobkit(['credentials', 'list', '--json']);
      expect((JSON.parse(listed.stdout) as Array<{ label: string }>).map((c) => c.label)).toEqual([
        'first',
        'b1',
        'b2',
      ]);
      // The new key alone (A's file now) opens everything, B's last write included.
      const fresh = await openPostgresStore({ connectionString: url, keyProvider: fileKeyProvider(keyA) });
      try {
        expect((await fresh.listCredentials()).map((c) => c.password).sort()).toEqual([
          'First!Pass1',
          'Second!Pass2',
          'Third!Pass3',
        ]);
      } finally {
        await fresh.close();
      }
    } finally {
      await hostB.close();
    }
  });

  it('a server it cannot reach is STORE_UNAVAILABLE, naming the store without its password', async () => {
    // A port nothing listens on: bound, then released.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const r = await runOobkit(join(dir, 'data'), ['devices'], {
      cwd: dir,
      env: { OOBKIT_DATABASE_URL: `postgres://oobkit:s3cret-pw@127.0.0.1:${port}/site` },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `STORE_UNAVAILABLE: cannot use the PostgreSQL site store at postgres://oobkit:\\*\\*\\*@127\\.0\\.0\\.1:${port}/site: .*ECONNREFUSED`,
      ),
    );
    expect(r.stderr).not.toContain('s3cret-pw');
  });

  it('serve names the store, with the password masked', async () => {
    const withPassword = url.replace('postgres@', 'postgres:s3cret-pw@');
    expect(describeStoreLocation({ databasePath: 'unused', databaseUrl: withPassword })).not.toContain(
      's3cret-pw',
    );
    const child = spawn(
      process.execPath,
      [
        CLI,
        '--data-dir',
        join(dir, 'data'),
        'serve',
        '--hello-host',
        '127.0.0.1',
        '--hello-port',
        '0',
        '--api-port',
        '0',
      ],
      {
        cwd: dir,
        env: {
          ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OOBKIT_'))),
          OOBKIT_DATABASE_URL: withPassword,
          OOBKIT_LOG_LEVEL: 'silent',
        },
      },
    );
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    try {
      const deadline = Date.now() + 30_000;
      while (!/serving/.test(stderr) && child.exitCode === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(stderr).toMatch(/site store postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/oobkit_test_\w+/);
      expect(stderr).not.toContain('s3cret-pw');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 60_000);
});
