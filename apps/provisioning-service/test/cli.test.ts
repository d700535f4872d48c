import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRsaKeyCache, createTestPki } from '@oobkit/provisioning-cert';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildAdminApi } from '../src/api/index.js';
import { fileKeyProvider, staticKeyProvider } from '../src/secrets/index.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { CLI, type CliRun, runOobkit } from './cli-runner.js';
import { selfSignedTlsFiles } from './tls-files.js';

/** What the first write on a folder without a site prints on stderr (and nothing else). */
const NEW_SITE =
  /^oobkit: created a new site store at \S+oobkit\.db \(key \S+secret\.key\); pass --data-dir to use another site\n$/;
const U1 = '8f3a1c2e-0000-4000-8000-000000000001';
const U2 = '8f3a1c2e-0000-4000-8000-000000000002';

type Run = CliRun;

let dir: string;
let dataDir: string;

const oobkit = (args: string[], input?: string): Promise<Run> =>
  runOobkit(dataDir, args, { cwd: dir, ...(input === undefined ? {} : { input }) });

beforeAll(() => {
  if (!existsSync(CLI))
    throw new Error(`build the CLI first (npx -y pnpm@12.4.2 exec tsup): ${CLI} is missing`);
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'oobkit-cli-'));
  dataDir = join(dir, 'data');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

async function seedStore(fn: (s: Awaited<ReturnType<typeof openSqliteStore>>) => Promise<void>) {
  const s = await openSqliteStore({
    path: join(dataDir, 'oobkit.db'),
    keyProvider: fileKeyProvider(join(dataDir, 'secret.key')),
  });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

describe('oobkit CLI on a data folder', () => {
  it('prints its package version with --version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const r = await oobkit(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it('prints help with every command and exits 0', async () => {
    const r = await oobkit(['--help']);
    expect(r.code).toBe(0);
    const commands = [
      'serve',
      'import',
      'devices',
      'device',
      'secret',
      'events',
      'jobs',
      'provision',
      'unprovision',
      'rotate-key',
      'backup',
      'prune-events',
      'computers',
    ];
    for (const c of [...commands, 'unprovision', 'credentials', 'settings', 'certs', 'demo']) {
      expect(r.stdout).toContain(c);
    }
  });

  it('imports CSV and JSON files, reporting new and updated computers', async () => {
    const csv = file(
      'fleet.csv',
      `uuid,hostName,domainName,ou\n${U1},pc-1,corp.example.com,"OU=AMT,DC=corp"\n${U2},pc-2,corp.example.com,\n`,
    );
    const first = await oobkit(['import', csv]);
    expect(first).toMatchObject({ code: 0, stdout: 'imported 2 computers (2 new, 0 updated)\n' });
    const notAnObject = await oobkit(['import', file('null.json', '[null]')]);
    expect([notAnObject.code, notAnObject.stderr]).toEqual([
      1,
      'oobkit: STORE_INVALID_INPUT: computers[0] must be an object\n',
    ]);
    const json = file(
      'fleet.json',
      JSON.stringify([{ uuid: U1, hostName: 'pc-1b', domainName: 'corp.example.com' }]),
    );
    const second = await oobkit(['import', json, '--json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({ created: 0, updated: 1 });
    if (process.platform !== 'win32') {
      expect(existsSync(join(dataDir, 'secret.key'))).toBe(true);
    }
  });

  it('reports a bad file with its code and line, exit 1, and imports nothing', async () => {
    const csv = file(
      'bad.csv',
      `uuid,hostName,domainName\n${U1},pc-1,corp.example.com\n${U2},pc 2,corp.example.com\n`,
    );
    const r = await oobkit(['import', csv]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/CSV_ROW: line 3/);
    const bad = await oobkit([
      'import',
      file('bad.json', JSON.stringify([{ uuid: U1, hostName: 'pc', domainName: 'a.b', x: 1 }])),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('STORE_INVALID_INPUT');
    const devices = await oobkit(['import', file('ok.csv', 'uuid,hostName,domainName\n'), '--json']);
    expect(JSON.parse(devices.stdout)).toEqual({ created: 0, updated: 0 });
  });

  it('refuses to read a data folder that does not exist', async () => {
    const r = await oobkit(['devices']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('STORE_NOT_FOUND');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('lists devices and events as tables or JSON', async () => {
    await seedStore(async (s) => {
      await s.upsertDevice(U1, { status: 'provisioned', address: '127.0.0.7', amtVersion: '11.8.50' });
      await s.upsertDevice(U2, {
        status: 'failed',
        lastError: { code: 'DIGEST_UNAUTHORIZED', message: 'no credential worked' },
      });
      await s.appendEvent({ level: 'info', type: 'job.succeeded', uuid: U1, message: 'provisioned' });
      await s.appendEvent({ level: 'error', type: 'job.failed', uuid: U2, message: 'no credential worked' });
    });
    const table = await oobkit(['devices']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^UUID\s+STATUS\s+ADDRESS\s+AMT\s+UPDATED\s+ERROR$/);
    expect(lines[1]).toMatch(new RegExp(`^${U1}\\s+provisioned\\s+127\\.0\\.0\\.7\\s+11\\.8\\.50`));
    expect(lines[2]).toMatch(/failed.*DIGEST_UNAUTHORIZED$/);
    const failed = JSON.parse((await oobkit(['devices', '--status', 'failed', '--json'])).stdout);
    expect(failed.map((d: { uuid: string }) => d.uuid)).toEqual([U2]);
    const events = JSON.parse((await oobkit(['events', '--uuid', U2, '--json'])).stdout);
    expect(events.map((e: { type: string }) => e.type)).toEqual(['job.failed']);
    const text = await oobkit(['events', '--limit', '1']);
    expect(text.stdout).toContain('job.failed');
    expect(text.stdout).not.toContain('job.succeeded');
    expect((await oobkit(['devices', '--summary'])).stdout).toBe('2 device(s): provisioned 1, failed 1\n');
    expect(JSON.parse((await oobkit(['devices', '--summary', '--json'])).stdout)).toEqual({
      total: 2,
      byStatus: { provisioned: 1, failed: 1 },
    });
    expect((await oobkit(['devices', '--summary', '--status', 'failed'])).stdout).toBe(
      '1 device(s): failed 1\n',
    );
    expect((await oobkit(['events', '--interval', '100'])).code).toBe(2);
  });

  it('check says what keeps the site from provisioning, exit 1 until nothing does', async () => {
    await oobkit(['import', file('one.csv', `uuid,hostName,domainName\n${U1},pc-1,corp.example.com\n`)]);
    const notReady = await oobkit(['check']);
    expect(notReady.code).toBe(1);
    expect(notReady.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^not ready: no enabled provisioning certificate/),
      expect.stringMatching(/^not ready: no AMT credentials/),
    ]);
    const pki = await createTestPki({ serverFqdn: 'provision.corp.example.com', keys: createRsaKeyCache() });
    await seedStore(async (s) => {
      await s.addCredential({ label: 'factory', username: 'admin', password: 'admin', priority: 1 });
      await s.addProvisioningCertificate({
        name: 'corp',
        certPem: pki.chain.certPem,
        keyPem: pki.chain.keyPem ?? '',
        rootHashes: { sha1: 'a'.repeat(40), sha256: 'b'.repeat(64), sha384: 'c'.repeat(96) },
        enabled: true,
      });
    });
    const ready = await oobkit(['check', '--json']);
    expect([ready.code, JSON.parse(ready.stdout)]).toEqual([0, { ready: true, blockers: [], warnings: [] }]);
    // A certificate that expires within 30 days is a warning: still ready, exit 0.
    const soon = await createTestPki({
      serverFqdn: 'provision.corp.example.com',
      keys: createRsaKeyCache(),
      notBefore: new Date(Date.now() - 86_400_000),
      notAfter: new Date(Date.now() + 10 * 86_400_000),
    });
    await seedStore(async (s) => {
      await s.addProvisioningCertificate({
        name: 'ending',
        certPem: soon.chain.certPem,
        keyPem: soon.chain.keyPem ?? '',
        rootHashes: { sha1: 'd'.repeat(40), sha256: 'e'.repeat(64), sha384: 'f'.repeat(96) },
        enabled: true,
      });
    });
    const warned = await oobkit(['check']);
    expect([warned.code, warned.stdout.trim().split('\n')]).toEqual([
      0,
      [
        expect.stringMatching(/^warning: provisioning certificate "ending" expires in (9|10) day\(s\)/),
        'ready: the site can provision',
      ],
    ]);
  });

  it('serve says where it listens and what keeps an empty site from provisioning, and stops on SIGINT', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('OOBKIT_')) delete env[k];
    const child = spawn(
      process.execPath,
      [CLI, '--data-dir', dataDir, '--log-level', 'silent', 'serve', '--hello-host', '127.0.0.1'],
      {
        env: { ...env, OOBKIT_HELLO_PORT: '0', OOBKIT_API_PORT: '0' },
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 600 && (err.match(/warning:/g) ?? []).length < 3; i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(err).toMatch(
        /^oobkit: serving — hellos on 127\.0\.0\.1:\d+, admin API on http:\/\/127\.0\.0\.1:\d+;/m,
      );
      expect(err).toContain('oobkit: warning: no enabled provisioning certificate');
      expect(err).toContain('oobkit: warning: no AMT credentials');
      expect(err).toContain('oobkit: warning: no computers imported');
      // The service makes its API token on first start (clients only ever read it).
      expect(readFileSync(join(dataDir, 'api-token'), 'utf8').trim().length).toBeGreaterThanOrEqual(32);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('serve refuses a short --token with exit 2, without echoing it', async () => {
    const r = await oobkit(['--token', 'short-secret', 'serve', '--hello-port', '0', '--api-port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('oobkit: --token must be at least 16 characters\n');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('follows the event log: what is there, then each new event once, until SIGINT', async () => {
    await seedStore(async (s) => {
      await s.appendEvent({ level: 'info', type: 'job.started', uuid: U1, message: 'first' });
    });
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('OOBKIT_')) delete env[k];
    const child = spawn(
      process.execPath,
      [CLI, '--data-dir', dataDir, 'events', '--follow', '--json', '--interval', '100', '--limit', '2'],
      { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const lines = () =>
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { message: string });
    const until = async (n: number) => {
      for (let i = 0; i < 600 && lines().length < n; i++) await new Promise((r) => setTimeout(r, 25));
      return lines();
    };
    try {
      expect((await until(1)).map((e) => e.message)).toEqual(['first']);
      // Five at once: more than one page (--limit 2), all printed, in order, once.
      await seedStore(async (s) => {
        for (const m of ['a', 'b', 'c', 'd', 'e'])
          await s.appendEvent({ level: 'info', type: 'step.done', uuid: U1, message: m });
      });
      expect((await until(6)).map((e) => e.message)).toEqual(['first', 'a', 'b', 'c', 'd', 'e']);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(lines()).toHaveLength(6);
  });

  it('queues provisioning and unprovisioning jobs by hand, and lists jobs', async () => {
    await seedStore(async (s) => {
      await s.importComputers([
        { uuid: U1, hostName: 'pc-1', domainName: 'corp.example.com', source: 'import' },
      ]);
      await s.upsertDevice(U2, { status: 'provisioned' });
    });
    const queued = await oobkit(['provision', U1]);
    expect(queued.code).toBe(0);
    expect(queued.stdout).toMatch(new RegExp(`^queued job (\\d+) \\(manual\\) for ${U1}; a service running`));
    const again = JSON.parse((await oobkit(['provision', U1, '--retry', '--json'])).stdout);
    expect(again).toMatchObject({ created: false, job: { uuid: U1, reason: 'manual', state: 'queued' } });
    // Not imported: nothing to provision. Not a known device: nothing to unprovision.
    const unknown = await oobkit(['provision', U2]);
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringContaining('STORE_NOT_FOUND')]);
    const notDevice = await oobkit(['unprovision', U1]);
    expect([notDevice.code, notDevice.stderr]).toEqual([1, expect.stringContaining('STORE_NOT_FOUND')]);
    const un = JSON.parse((await oobkit(['unprovision', U2, '--json'])).stdout);
    expect(un).toMatchObject({ created: true, job: { uuid: U2, reason: 'unprovision', state: 'queued' } });
    const bad = await oobkit(['provision', 'not-a-uuid']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('STORE_INVALID_INPUT');

    const table = (await oobkit(['jobs'])).stdout.trim().split('\n');
    expect(table[0]).toMatch(/^ID\s+UUID\s+REASON\s+STATE\s+STEP\s+ATTEMPTS\s+UPDATED\s+ERROR$/);
    expect(table.slice(1).map((l) => l.split(/\s+/).slice(1, 4))).toEqual([
      [U2, 'unprovision', 'queued'],
      [U1, 'manual', 'queued'],
    ]);
    const forU1 = JSON.parse((await oobkit(['jobs', '--uuid', U1, '--state', 'queued', '--json'])).stdout);
    expect(forU1.map((j: { uuid: string }) => j.uuid)).toEqual([U1]);
    expect((await oobkit(['jobs', '--state', 'stuck'])).code).toBe(2);
    await seedStore(async (s) => {
      expect((await s.listJobs()).map((j) => [j.uuid, j.reason])).toEqual([
        [U2, 'unprovision'],
        [U1, 'manual'],
      ]);
    });
  });

  it('shows one device, and hands out its passwords on the data folder only, each read on record', async () => {
    let ids: { admin1: number; admin2: number; mebx: number } | undefined;
    await seedStore(async (s) => {
      await s.importComputers([
        { uuid: U1, hostName: 'pc-1', domainName: 'corp.example.com', source: 'import' },
      ]);
      await s.upsertDevice(U1, { status: 'provisioned', address: '127.0.0.9', amtVersion: '16.1.25' });
      const a1 = await s.addPendingSecret(U1, 'admin', 'Old-Adm1n!pass');
      await s.confirmSecret(a1.id);
      const m = await s.addPendingSecret(U1, 'mebx', 'Mebx-Passw0rd!');
      await s.confirmSecret(m.id);
      // A later job wrote a new admin password but did not finish: it stays pending.
      const a2 = await s.addPendingSecret(U1, 'admin', 'New-Adm1n!pass');
      ids = { admin1: a1.id, admin2: a2.id, mebx: m.id };
    });
    const shown = await oobkit(['device', U1]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^uuid:\s+8f3a1c2e/m);
    expect(shown.stdout).toMatch(/^name:\s+pc-1\.corp\.example\.com$/m);
    expect(shown.stdout).toContain(`admin #${ids?.admin2} pending`);
    expect(shown.stdout).not.toMatch(/Adm1n|Mebx-/);
    const detail = JSON.parse((await oobkit(['device', U1, '--json'])).stdout);
    expect(detail).toMatchObject({ uuid: U1, status: 'provisioned', computer: { hostName: 'pc-1' } });
    expect(JSON.stringify(detail)).not.toMatch(/Adm1n|Mebx-/);

    const admin = await oobkit(['secret', U1]);
    expect([admin.code, admin.stdout]).toEqual([0, 'Old-Adm1n!pass\n']);
    expect((await oobkit(['secret', U1, '--kind', 'mebx'])).stdout).toBe('Mebx-Passw0rd!\n');
    const both = JSON.parse((await oobkit(['secret', U1, '--pending', '--json'])).stdout);
    expect(both).toEqual([
      { id: ids?.admin2, kind: 'admin', state: 'pending', value: 'New-Adm1n!pass' },
      { id: ids?.admin1, kind: 'admin', state: 'current', value: 'Old-Adm1n!pass' },
    ]);
    const none = await oobkit(['secret', U1, '--kind', 'directory']);
    expect([none.code, none.stderr]).toEqual([
      1,
      expect.stringContaining('STORE_NOT_FOUND: no current directory secret'),
    ]);
    expect((await oobkit(['secret', U2])).code).toBe(1);
    expect((await oobkit(['secret', U1, '--kind', 'root'])).code).toBe(2);
    // Every read is on record, by id, never by value.
    const events = JSON.parse((await oobkit(['events', '--type', 'secret.revealed', '--json'])).stdout);
    expect(events.map((e: { data: { kind: string } }) => e.data.kind)).toEqual([
      'admin',
      'mebx',
      'admin',
      'directory',
    ]);
    expect(events[2].data.secretIds).toEqual([ids?.admin2, ids?.admin1]);
    expect(JSON.stringify(events)).not.toMatch(/Adm1n|Mebx-/);
  });

  it('adds and lists credentials without ever printing the password', async () => {
    const add = await oobkit(
      ['credentials', 'add', '--label', 'factory', '--password-stdin', '--priority', '5', '--json'],
      'Factory!Pass9\n',
    );
    // The first write on a folder without a site says it made one (a mistyped --data-dir shows).
    expect(add.stderr).toMatch(NEW_SITE);
    expect(add.code).toBe(0);
    expect(JSON.parse(add.stdout)).toEqual({ id: 1, label: 'factory', username: 'admin', priority: 5 });
    const list = await oobkit(['credentials', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([{ id: 1, label: 'factory', username: 'admin', priority: 5 }]);
    expect(add.stdout + list.stdout + add.stderr + list.stderr).not.toContain('Factory!Pass9');
    await seedStore(async (s) => {
      expect((await s.listCredentials())[0]?.password).toBe('Factory!Pass9');
    });
    const missing = await oobkit(['credentials', 'add', '--label', 'x']);
    expect(missing.code).toBe(2);
    expect((await oobkit(['credentials', 'delete', '1'])).code).toBe(0);
    expect((await oobkit(['credentials', 'delete', '1'])).code).toBe(1);
  });

  it('provision --all-failed retries every failed device, reporting the ones it cannot', async () => {
    const U3 = '8f3a1c2e-0000-4000-8000-000000000003';
    await oobkit([
      'import',
      file(
        'three.csv',
        `uuid,hostName,domainName\n${U1},pc-1,corp.example.com\n${U2},pc-2,corp.example.com\n${U3},pc-3,corp.example.com\n`,
      ),
    ]);
    await seedStore(async (s) => {
      await s.upsertDevice(U1, { status: 'failed', address: '127.0.0.1' });
      await s.upsertDevice(U2, { status: 'provisioned', address: '127.0.0.2' });
      await s.upsertDevice(U3, { status: 'failed', address: '127.0.0.3' });
      await s.deleteComputer(U3);
    });
    expect((await oobkit(['provision', '--all-failed', U1])).code).toBe(2);
    const r = await oobkit(['provision', '--all-failed', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual([
      { uuid: U1, jobId: expect.any(Number), created: true },
      { uuid: U3, error: expect.stringContaining('STORE_NOT_FOUND') },
    ]);
    const jobs = JSON.parse((await oobkit(['jobs', '--json'])).stdout) as Array<{
      uuid: string;
      reason: string;
    }>;
    expect(jobs.map((j) => [j.uuid, j.reason])).toEqual([[U1, 'retry']]);
    // Again: the job is there already.
    const again = await oobkit(['provision', '--all-failed']);
    expect(again.stdout).toContain('queued 0 retries of failed devices; 1 already had a job');
  });

  it('demo stops on Ctrl-C with exit 130, removing its temporary folder', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('OOBKIT_')) delete env[k];
    const child = spawn(process.execPath, [CLI, 'demo', '--devices', '4'], {
      env,
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    const folder = await new Promise<string>((resolve) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        const m = / data in (\S+)\n/.exec(out);
        if (m) resolve(m[1] as string);
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(err).toContain('the demo was interrupted; its temporary data folder was removed');
    expect(existsSync(folder)).toBe(false);
  }, 60_000);

  it('demo honours --log-level: the service log on stderr, stdout the summary alone', async () => {
    const quiet = await runOobkit(undefined, ['demo', '--devices', '2', '--json'], { cwd: dir });
    expect([quiet.code, quiet.stderr]).toEqual([0, '']);
    const run = await runOobkit(undefined, ['--log-level', 'info', 'demo', '--devices', '2', '--json'], {
      cwd: dir,
    });
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ total: 2, provisioned: 2, ok: true });
    const logged = run.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: number; msg: string; type?: string });
    expect(logged.some((l) => l.type === 'job.succeeded')).toBe(true);
    expect(logged.every((l) => l.level >= 30)).toBe(true);
  }, 120_000);

  it('shows settings redacted and changes them by path or from a file', async () => {
    await oobkit(['import', file('e.csv', 'uuid,hostName,domainName\n')]);
    const shown = JSON.parse((await oobkit(['settings', 'show'])).stdout);
    expect(shown).toMatchObject({ powerBehaviour: 'SP2', powerScheme: 5, mebxPassword: '***' });
    const revealed = JSON.parse((await oobkit(['settings', 'show', '--reveal'])).stdout);
    expect(revealed.mebxPassword).not.toBe('***');
    expect((await oobkit(['settings', 'set', 'powerBehaviour', 'SP1'])).code).toBe(0);
    expect((await oobkit(['settings', 'set', 'features.sol', 'false'])).code).toBe(0);
    const after = JSON.parse((await oobkit(['settings', 'show', '--reveal'])).stdout);
    expect(after).toMatchObject({
      powerBehaviour: 'SP1',
      features: { sol: false, ping: true },
      mebxPassword: revealed.mebxPassword,
    });
    const doc = { ...shown, kerberos: { enabled: false } };
    const fromFile = await oobkit([
      'settings',
      'set',
      '--file',
      file('s.json', JSON.stringify(doc)),
      '--json',
    ]);
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toMatchObject({
      kerberos: { enabled: false },
      powerBehaviour: 'SP2',
      mebxPassword: '***',
    });
    const unknown = await oobkit(['settings', 'set', 'bogus', '1']);
    expect(unknown.code).toBe(2);
    const invalid = await oobkit(['settings', 'set', 'powerBehaviour', 'SP3']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('STORE_INVALID_INPUT');
    // A password from stdin: out of the process list, and text as it is (digits stay a string).
    const fromStdin = await oobkit(['settings', 'set', 'mebxPassword', '--value-stdin'], 'N3w-Mebx!pw\n');
    expect([fromStdin.code, fromStdin.stdout]).toEqual([0, 'set mebxPassword\n']);
    expect(JSON.parse((await oobkit(['settings', 'show', '--reveal'])).stdout).mebxPassword).toBe(
      'N3w-Mebx!pw',
    );
    expect((await oobkit(['settings', 'set', 'mebxPassword', 'x', '--value-stdin'], 'y\n')).code).toBe(2);
    // A misspelt field below the top level is refused too, not reported as set.
    const typo = await oobkit(['settings', 'set', 'features.SOL', 'true']);
    expect([typo.code, typo.stderr]).toEqual([1, expect.stringContaining('features.SOL is not a setting')]);
    expect(JSON.parse((await oobkit(['settings', 'show'])).stdout).powerBehaviour).toBe('SP2');
    // Each change and each reveal is on record, made on the command line.
    const events = JSON.parse((await oobkit(['events', '--json'])).stdout) as Array<{
      type: string;
      data?: { by?: string };
    }>;
    expect(events.filter((e) => e.data?.by === 'cli').map((e) => e.type)).toEqual([
      'computers.imported',
      'secret.revealed',
      'settings.changed',
      'settings.changed',
      'secret.revealed',
      'settings.changed',
      'settings.changed',
      'secret.revealed',
    ]);
    expect(JSON.stringify(events)).not.toContain(revealed.mebxPassword);
    expect(JSON.stringify(events)).not.toContain('N3w-Mebx!pw');
  });

  it('adds a provisioning certificate from PEM files and from a PFX', async () => {
    const pki = await createTestPki({ serverFqdn: 'provision.corp.example.com', keys: createRsaKeyCache() });
    const cert = file('chain.pem', pki.chain.certPem);
    const key = file('leaf.key', pki.leaf.keyPem);
    const add = await oobkit(['certs', 'add', '--name', 'corp', '--cert', cert, '--key', key, '--json']);
    expect(add.code).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({
      id: 1,
      rootHashes: { sha256: pki.rootHashes.sha256.toString('hex') },
    });
    const pfx = file('corp.pfx', '');
    writeFileSync(pfx, pki.pfx);
    const viaPfx = await oobkit(
      ['certs', 'add', '--name', 'pfx', '--pfx', pfx, '--pfx-password-stdin'],
      `${pki.pfxPassword}\n`,
    );
    expect(viaPfx.code).toBe(0);
    const wrong = await oobkit(['certs', 'add', '--name', 'bad', '--pfx', pfx, '--pfx-password', 'nope']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('PCERT_PFX_PASSWORD');
    // No HTTP on the data folder, whatever the check shared with the API throws.
    expect(wrong.stderr).not.toContain('HTTP');
    const list = await oobkit(['certs', 'list', '--json']);
    expect(JSON.parse(list.stdout).map((c: { name: string }) => c.name)).toEqual(['corp', 'pfx']);
    expect(add.stdout + list.stdout).not.toContain('PRIVATE KEY');
  });

  it('exits 2 on usage errors', async () => {
    expect((await oobkit(['nonsense'])).code).toBe(2);
    const bad = await oobkit(['events', '--limit', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected a whole number');
    expect((await oobkit(['devices', '--status', 'sleeping'])).code).toBe(2);
  });

  it('exits 2 on a flag value out of range, naming the flag, before anything is created', async () => {
    const cases: Array<[string[], string]> = [
      [['serve', '--workers', '0'], "option '--workers <n>' argument '0' is invalid"],
      [['serve', '--api-port', '70000'], "option '--api-port <port>' argument '70000' is invalid"],
      [['serve', '--hello-port', '-1'], "option '--hello-port <port>' argument '-1' is invalid"],
      [['--log-level', 'verbose', 'devices'], "option '--log-level <level>' argument 'verbose' is invalid"],
      [['events', '--limit', '0'], "option '--limit <n>' argument '0' is invalid"],
      [['events', '--after', '-1'], "option '--after <id>' argument '-1' is invalid"],
      [['events', '--follow', '--interval', '10'], "option '--interval <ms>' argument '10' is invalid"],
      [['jobs', '--limit', '0'], "option '--limit <n>' argument '0' is invalid"],
      [['jobs', '--limit', '10001'], 'expected a whole number from 1 to 10000'],
      [['certs', 'disable', '-1'], "value '-1' is invalid for argument 'id'"],
      [['certs', 'delete', '0'], "value '0' is invalid for argument 'id'"],
      [['credentials', 'delete', '-1'], "value '-1' is invalid for argument 'id'"],
      [['demo', '--devices', '0'], "option '--devices <n>' argument '0' is invalid"],
      [['demo', '--instances', '9'], "option '--instances <n>' argument '9' is invalid"],
      [['prune-events', '--older-than', '0'], "option '--older-than <days>' argument '0' is invalid"],
    ];
    for (const [args, message] of cases) {
      const r = await oobkit(args);
      expect([args, r.code], r.stderr).toEqual([args, 2]);
      expect(r.stderr).toContain(message);
      // The flag's name, not a config key (api.port) or a store field.
      expect(r.stderr).not.toMatch(/CONFIG_INVALID|STORE_|api\.port|workers must/);
    }
    expect(existsSync(dataDir)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('ignores --token on the data folder, where no token is used, and leaves no token file', async () => {
    const csv = file('one.csv', `uuid,hostName,domainName\n${U1},pc-1,corp.example.com\n`);
    const imported = await oobkit(['--token', 'short', 'import', csv]);
    expect([imported.code, imported.stderr]).toEqual([0, expect.stringMatching(NEW_SITE)]);
    const devices = await oobkit(['--token', 'short', 'computers', 'list', '--json']);
    expect([devices.code, devices.stderr]).toEqual([0, '']);
    expect(JSON.parse(devices.stdout).map((c: { uuid: string }) => c.uuid)).toEqual([U1]);
    expect(existsSync(join(dataDir, 'api-token'))).toBe(false);
  });

  it('imports JSON and reads a settings file that start with a UTF-8 byte order mark', async () => {
    const bom = '\uFEFF';
    const json = file(
      'bom.json',
      `${bom}${JSON.stringify([{ uuid: U1, hostName: 'pc-1', domainName: 'corp.example.com' }])}`,
    );
    const r = await oobkit(['import', json, '--json']);
    expect([r.code, r.stderr]).toEqual([0, expect.stringMatching(NEW_SITE)]);
    expect(JSON.parse(r.stdout)).toEqual({ created: 1, updated: 0 });
    const fromStdin = await oobkit(['import', '-', '--json'], `${bom}[]`);
    expect([fromStdin.code, fromStdin.stderr]).toEqual([0, '']);
    const shown = JSON.parse((await oobkit(['settings', 'show'])).stdout);
    const settings = file('s.json', `${bom}${JSON.stringify({ ...shown, powerScheme: 3 })}`);
    const set = await oobkit(['settings', 'set', '--file', settings]);
    expect([set.code, set.stderr]).toEqual([0, '']);
    expect(JSON.parse((await oobkit(['settings', 'show'])).stdout).powerScheme).toBe(3);
  });

  it('shows the step a failed job failed at in jobs and device; --json keeps the raw job', async () => {
    await seedStore(async (s) => {
      await s.importComputers([
        { uuid: U1, hostName: 'pc-1', domainName: 'corp.example.com', source: 'import' },
        { uuid: U2, hostName: 'pc-2', domainName: 'corp.example.com', source: 'import' },
      ]);
      for (const [uuid, error] of [
        // The journal got to `chain`; the step that failed is `connect`.
        [U1, { code: 'FLOW_UNREACHABLE', message: 'connection refused', step: 'connect' }],
        // An error without a step: the job's own step is all there is.
        [U2, { code: 'FLOW_CANCELLED', message: 'cancelled' }],
      ] as const) {
        await s.upsertDevice(uuid, { status: 'failed', lastError: error });
        await s.enqueueJob(uuid, 'manual');
        const lease = await s.claimJob('cli-test', 60_000);
        if (!lease) throw new Error('no job to claim');
        await s.recordStep(lease.job.id, lease.fencingToken, { step: 'chain', journal: { chain: {} } });
        await s.finishJob(lease.job.id, lease.fencingToken, { state: 'failed', error });
      }
    });
    const rows = (await oobkit(['jobs'])).stdout.trim().split('\n');
    expect(rows.slice(1).map((l) => l.split(/\s+/).slice(1, 5))).toEqual([
      [U2, 'manual', 'failed', 'chain'],
      [U1, 'manual', 'failed', 'connect'],
    ]);
    const shown = await oobkit(['device', U1]);
    expect(shown.stdout).toMatch(/^latest job: #\d+ manual failed at connect$/m);
    expect((await oobkit(['device', U2])).stdout).toMatch(/^latest job: #\d+ manual failed at chain$/m);
    const raw = JSON.parse((await oobkit(['jobs', '--uuid', U1, '--json'])).stdout);
    expect(raw).toEqual([
      expect.objectContaining({
        state: 'failed',
        step: 'chain',
        lastError: expect.objectContaining({ step: 'connect' }),
      }),
    ]);
    const detail = JSON.parse((await oobkit(['device', U1, '--json'])).stdout);
    expect(detail.latestJob).toMatchObject({ step: 'chain', lastError: { step: 'connect' } });
  });
});

/** A running admin API on a throw-away store, for `--api` runs. */
async function withApi(
  fn: (url: string, token: string, store: Awaited<ReturnType<typeof openSqliteStore>>) => Promise<void>,
): Promise<void> {
  const store = await openSqliteStore({ path: ':memory:', keyProvider: staticKeyProvider(randomBytes(32)) });
  const token = 'cli-test-token-0123456789';
  const app = await buildAdminApi({ store, token });
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    await fn(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, token, store);
  } finally {
    await app.close();
    await store.close();
  }
}

/**
 * A bare HTTP server that counts the requests it gets (401 to each), for runs that must fail
 * before sending one.
 */
async function withCountingServer(fn: (url: string, requests: () => number) => Promise<void>) {
  let n = 0;
  const server: Server = createHttpServer((_req, res) => {
    n++;
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"API_UNAUTHORIZED"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, () => n);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('oobkit CLI against the admin API', () => {
  it('never creates a token file with --api: --token, OOBKIT_API_TOKEN, an existing token file, else exit 2', async () => {
    await withCountingServer(async (url, requests) => {
      // No token anywhere: refused before any request, naming the three ways to give one.
      const none = await oobkit(['--api', url, 'devices']);
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(
        /^oobkit: --api needs the admin API token: give --token, set OOBKIT_API_TOKEN, or point --data-dir/,
      );
      expect(none.stderr).toContain(join(dataDir, 'api-token'));
      // The same with the default data folder (.oobkit in the working directory).
      const byDefault = await runOobkit(undefined, ['--api', url, 'devices'], { cwd: dir });
      expect(byDefault.code).toBe(2);
      expect(byDefault.stderr).toContain('--api needs the admin API token');
      const short = await oobkit(['--api', url, '--token', 'short-secret', 'devices']);
      expect([short.code, short.stderr]).toEqual([2, 'oobkit: --token must be at least 16 characters\n']);
      expect(requests()).toBe(0);
    });
    expect(readdirSync(dir)).toEqual([]);

    await withApi(async (url, token) => {
      const fromEnv = await runOobkit(dataDir, ['--api', url, 'devices', '--json'], {
        cwd: dir,
        env: { OOBKIT_API_TOKEN: token },
      });
      expect([fromEnv.code, fromEnv.stdout]).toEqual([0, '[]\n']);
      expect(existsSync(dataDir)).toBe(false);
      // A token file a service made is read, and left as it is.
      mkdirSync(dataDir);
      writeFileSync(join(dataDir, 'api-token'), `${token}\n`, { mode: 0o600 });
      const fromFile = await oobkit(['--api', url, 'devices', '--json']);
      expect([fromFile.code, fromFile.stdout]).toEqual([0, '[]\n']);
      expect(readFileSync(join(dataDir, 'api-token'), 'utf8')).toBe(`${token}\n`);
      expect(readdirSync(dataDir)).toEqual(['api-token']);
      // --token comes first.
      const wrong = await oobkit(['--api', url, '--token', 'wrong-token-0123456789', 'devices']);
      expect(wrong.stderr).toContain('API_UNAUTHORIZED (HTTP 401)');
    });
  });

  it('refuses an --api that is not an http(s) URL and an --api-ca without a certificate, before any request', async () => {
    const token = ['--token', 'cli-test-token-0123456789'];
    for (const api of ['localhost:45080', 'ftp://127.0.0.1:45080', '127.0.0.1']) {
      const r = await oobkit(['--api', api, ...token, 'devices']);
      expect([api, r.code]).toEqual([api, 2]);
      expect(r.stderr).toContain(
        `option '--api <url>' argument '${api}' is invalid. expected an http:// or https:// URL`,
      );
      expect(r.stderr).not.toContain('null');
    }
    await withCountingServer(async (url, requests) => {
      const https = url.replace('http:', 'https:');
      const notPem = file('ca.txt', 'not a certificate\n');
      const r = await oobkit(['--api', https, '--api-ca', notPem, ...token, 'devices']);
      expect([r.code, r.stderr]).toEqual([
        2,
        `oobkit: --api-ca ${notPem} holds no PEM certificate (-----BEGIN CERTIFICATE----- …)\n`,
      ]);
      const broken = file('broken.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
      expect((await oobkit(['--api', https, '--api-ca', broken, ...token, 'devices'])).code).toBe(2);
      // From the variable, it is configuration: CONFIG_INVALID, exit 1.
      const env = await runOobkit(dataDir, ['--api', https, ...token, 'devices'], {
        cwd: dir,
        env: { OOBKIT_API_CA: notPem },
      });
      expect([env.code, env.stderr]).toEqual([
        1,
        expect.stringContaining(`CONFIG_INVALID: OOBKIT_API_CA ${notPem} holds no PEM certificate`),
      ]);
      expect(requests()).toBe(0);
    });
  });

  it('says why the admin API cannot be reached: refused, untrusted certificate, name mismatch', async () => {
    const token = ['--token', 'cli-test-token-0123456789'];
    // A port with nothing listening: one that was just free.
    const probe = createHttpServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const refused = await oobkit(['--api', `http://127.0.0.1:${port}`, ...token, 'devices']);
    expect([refused.code, refused.stderr]).toEqual([
      1,
      `oobkit: API_UNAVAILABLE: cannot reach the admin API at http://127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port})\n`,
    ]);

    // Self-signed, for a name the CLI does not use.
    const { certFile, keyFile } = selfSignedTlsFiles(dir, {
      name: 'api',
      commonName: 'oobkit CLI test',
      subjectAltName: 'DNS:admin.oobkit.test',
    });
    const server = createHttpsServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) }, (_q, s) =>
      s.end('[]'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const untrusted = await oobkit(['--api', url, ...token, 'devices']);
      expect([untrusted.code, untrusted.stderr]).toEqual([
        1,
        `oobkit: API_UNAVAILABLE: cannot reach the admin API at ${url} (self-signed certificate)\n`,
      ]);
      const mismatch = await oobkit(['--api', url, '--api-ca', certFile, ...token, 'devices']);
      expect(mismatch.code).toBe(1);
      expect(mismatch.stderr).toMatch(
        /^oobkit: API_UNAVAILABLE: cannot reach the admin API at https:\/\/127\.0\.0\.1:\d+ \(Hostname\/IP does not match certificate's altnames: .*\)\n$/,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('uses the API with --api and --token, and fails cleanly with a wrong token', async () => {
    await withApi(async (url, token, store) => {
      const csv = file('fleet.csv', `uuid,hostName,domainName\n${U1},pc-1,corp.example.com\n`);
      const imported = await oobkit(['--api', url, '--token', token, 'import', csv, '--json']);
      expect(imported.code).toBe(0);
      expect(JSON.parse(imported.stdout)).toEqual({ created: 1, updated: 0 });
      expect((await store.getComputer(U1))?.hostName).toBe('pc-1');
      await store.upsertDevice(U1, { status: 'queued' });
      const devices = await oobkit(['--api', url, '--token', token, 'devices', '--json']);
      expect(JSON.parse(devices.stdout).map((d: { status: string }) => d.status)).toEqual(['queued']);
      const summary = await oobkit(['--api', url, '--token', token, 'devices', '--summary', '--json']);
      expect(JSON.parse(summary.stdout)).toEqual({ total: 1, byStatus: { queued: 1 } });
      const job = JSON.parse(
        (await oobkit(['--api', url, '--token', token, 'provision', U1, '--json'])).stdout,
      );
      expect(job).toMatchObject({ created: true, job: { uuid: U1, reason: 'manual' } });
      const jobs = JSON.parse((await oobkit(['--api', url, '--token', token, 'jobs', '--json'])).stdout);
      expect(jobs.map((j: { id: number }) => j.id)).toEqual([job.job.id]);
      // U1 has a provisioning job queued: unprovisioning it now is a conflict, and says so.
      const conflict = await oobkit(['--api', url, '--token', token, 'unprovision', U1]);
      expect([conflict.code, conflict.stderr]).toEqual([
        1,
        expect.stringContaining('API_JOB_CONFLICT (HTTP 409)'),
      ]);
      const one = JSON.parse((await oobkit(['--api', url, '--token', token, 'device', U1, '--json'])).stdout);
      expect(one).toMatchObject({ uuid: U1, status: 'queued', computer: { hostName: 'pc-1' }, secrets: [] });
      const check = await oobkit(['--api', url, '--token', token, 'check', '--json']);
      expect(check.code).toBe(1);
      // The same report as on the data folder: blockers apart from warnings.
      expect(JSON.parse(check.stdout)).toEqual({
        ready: false,
        blockers: [
          expect.stringMatching(/^no enabled provisioning/),
          expect.stringMatching(/^no AMT credentials/),
        ],
        warnings: [],
      });
      // Secret values never travel over the API.
      expect((await oobkit(['--api', url, '--token', token, 'secret', U1])).code).toBe(2);
      const set = await oobkit(['--api', url, '--token', token, 'settings', 'set', 'powerScheme', '4']);
      expect(set.code).toBe(0);
      expect((await store.getSettings()).powerScheme).toBe(4);
      const denied = await oobkit(['--api', url, '--token', 'wrong-token-0123456789', 'devices']);
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain('API_UNAUTHORIZED (HTTP 401)');
      const reveal = await oobkit(['--api', url, '--token', token, 'settings', 'show', '--reveal']);
      expect(reveal.code).toBe(2);
    });
    expect(existsSync(join(dataDir, 'oobkit.db'))).toBe(false);
    expect(existsSync(join(dataDir, 'api-token'))).toBe(false);
  });
});

describe('oobkit certs enable/disable/delete and computers list/delete', () => {
  let pki: Awaited<ReturnType<typeof createTestPki>>;
  beforeAll(async () => {
    pki = await createTestPki({ serverFqdn: 'provision.corp.example.com', keys: createRsaKeyCache() });
  });

  /** `notFound`: how a missing record reads, `STORE_NOT_FOUND: …` or `API_NOT_FOUND (HTTP 404): …`. */
  async function scenario(
    args: string[],
    store: Awaited<ReturnType<typeof openSqliteStore>>,
    notFound: (what: string) => string,
  ) {
    const run = (a: string[]) => oobkit([...args, ...a]);
    const added = await run([
      'certs',
      'add',
      '--name',
      'old',
      '--cert',
      file('chain.pem', pki.chain.certPem),
      '--key',
      file('leaf.key', pki.leaf.keyPem),
      '--json',
    ]);
    const cert = JSON.parse(added.stdout) as { id: number };
    await store.importComputers([
      { uuid: U1, hostName: 'pc-1', domainName: 'corp.example.com', source: 'import' },
      { uuid: U2, hostName: 'pc-2', domainName: 'corp.example.com', source: 'import' },
    ]);

    const off = await run(['certs', 'disable', String(cert.id), '--json']);
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({ id: cert.id, enabled: false });
    expect((await store.listProvisioningCertificates())[0]?.enabled).toBe(false);
    const list = await run(['certs', 'list']);
    expect(list.stdout).toContain('EXPIRES');
    expect(list.stdout).toContain(pki.leaf.certificate.notAfter.toISOString().slice(0, 10));
    expect(list.stdout).toMatch(/old\s+false/);
    expect((await run(['certs', 'enable', String(cert.id)])).stdout).toContain('enabled');
    expect((await store.listProvisioningCertificates())[0]?.enabled).toBe(true);
    const missing = await run(['certs', 'disable', '999']);
    expect([missing.code, missing.stderr]).toEqual([1, notFound('provisioning certificate 999')]);
    expect((await run(['certs', 'delete', String(cert.id)])).code).toBe(0);
    expect(await store.listProvisioningCertificates()).toEqual([]);
    const deletedTwice = await run(['certs', 'delete', String(cert.id)]);
    expect([deletedTwice.code, deletedTwice.stderr]).toEqual([
      1,
      notFound(`provisioning certificate ${cert.id}`),
    ]);

    const computers = await run(['computers', 'list', '--json']);
    expect(JSON.parse(computers.stdout).map((c: { uuid: string }) => c.uuid)).toEqual([U1, U2]);
    expect((await run(['computers', 'list'])).stdout).toMatch(/pc-2\s+corp\.example\.com/);
    expect((await run(['computers', 'delete', U1])).code).toBe(0);
    expect((await store.listComputers()).map((c) => c.uuid)).toEqual([U2]);
    const gone = await run(['computers', 'delete', U1]);
    expect([gone.code, gone.stderr]).toEqual([1, notFound(`computer ${U1}`)]);
  }

  it('on the data folder', async () => {
    const store = await openSqliteStore({
      path: join(dataDir, 'oobkit.db'),
      keyProvider: fileKeyProvider(join(dataDir, 'secret.key')),
    });
    try {
      // No HTTP on the data folder: the store's code, without a status.
      await scenario([], store, (what) => `oobkit: STORE_NOT_FOUND: ${what} not found\n`);
    } finally {
      await store.close();
    }
  });

  it('over the admin API', async () => {
    await withApi((url, token, store) =>
      scenario(
        ['--api', url, '--token', token],
        store,
        (what) => `oobkit: API_NOT_FOUND (HTTP 404): ${what} not found\n`,
      ),
    );
  });
});
