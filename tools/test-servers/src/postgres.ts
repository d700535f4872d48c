/**
 * A throw-away PostgreSQL server for tests: `initdb` in a temp folder, `postgres` on 127.0.0.1 at
 * a free port (trust authentication, fsync off), one fresh database per `createDatabase()`, and
 * everything removed by `stop()`. Needs the PostgreSQL server binaries (Debian's
 * `postgresql-15`; found through `OOBKIT_PG_BINDIR`, `pg_config --bindir`, the usual Debian
 * folders, or the PATH). Run as root, the server runs as the `postgres` user (initdb refuses
 * root).
 *
 * Without the binaries `startPgServer()` returns a reason instead of a server, and the tests
 * skip with it; under `CI=true` it throws instead, so CI never passes by skipping.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PgServer {
  /** A connection URL for `database` on this server. */
  url(database: string): string;
  /** Creates an empty database with a new name and returns the name. */
  createDatabase(): Promise<string>;
  /** Drops a database, closing whatever is still connected to it. */
  dropDatabase(name: string): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], asPostgres: boolean): Promise<string> {
  const [file, argv] = asPostgres ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The folder holding `initdb`, `pg_ctl` and `postgres`, or undefined. */
async function findBinDir(): Promise<string | undefined> {
  const has = (dir: string) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(dir, b)));
  const candidates: string[] = [];
  if (process.env.OOBKIT_PG_BINDIR) candidates.push(process.env.OOBKIT_PG_BINDIR);
  try {
    candidates.push((await run('pg_config', ['--bindir'], false)).trim());
  } catch {
    // no pg_config on the PATH
  }
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    // no Debian server package
  }
  for (const p of (process.env.PATH ?? '').split(':')) if (p) candidates.push(p);
  return candidates.find(has);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/**
 * Starts a server, or returns why it cannot (no binaries) outside CI. Under `CI=true` a missing
 * server is an error.
 */
export async function startPgServer(): Promise<PgServer | { unavailable: string }> {
  const bin = await findBinDir();
  if (!bin) {
    const why =
      'PostgreSQL server binaries not found (install postgresql-15, or set OOBKIT_PG_BINDIR to the folder holding initdb, pg_ctl and postgres)';
    if (process.env.CI === 'true') throw new Error(`CI=true: ${why}`);
    return { unavailable: why };
  }
  const asPostgres = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'oobkit-pg-'));
  if (asPostgres) {
    const uid = Number((await run('id', ['-u', 'postgres'], false)).trim());
    const gid = Number((await run('id', ['-g', 'postgres'], false)).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  try {
    await run(
      join(bin, 'initdb'),
      ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--no-sync'],
      asPostgres,
    );
    let port = 0;
    // A free port can be taken between the probe and the start: try a few.
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      const options = [
        `-p ${port}`,
        `-k ${dir}`,
        '-c listen_addresses=127.0.0.1',
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=200',
      ].join(' ');
      try {
        await run(
          join(bin, 'pg_ctl'),
          ['-D', data, '-o', options, '-l', log, '-w', '-t', '60', 'start'],
          asPostgres,
        );
        break;
      } catch (err) {
        if (attempt >= 2) {
          const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
          throw new Error(`${(err as Error).message}\n${tail}`);
        }
      }
    }
    const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
    const admin = new pg.Pool({ connectionString: url('postgres'), max: 2 });
    let next = 0;
    let stopped = false;
    return {
      url,
      async createDatabase() {
        const name = `oobkit_test_${process.pid}_${++next}`;
        await admin.query(`CREATE DATABASE ${name}`);
        return name;
      },
      async dropDatabase(name) {
        if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`not a test database name: ${name}`);
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await admin.end().catch(() => undefined);
        await run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], asPostgres).catch(
          () => undefined,
        );
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
