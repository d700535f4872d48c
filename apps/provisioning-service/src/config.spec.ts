import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveApiToken, resolveConfig } from './config.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'oobkit-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('resolveConfig', () => {
  it('embeds defaults and generates a token once, saved 0600 in the data dir', () => {
    const dataDir = join(dir, 'data');
    const c = resolveConfig({ dataDir }, {});
    expect(c).toMatchObject({
      dataDir,
      databasePath: join(dataDir, 'oobkit.db'),
      keyFile: join(dataDir, 'secret.key'),
      hello: { host: '0.0.0.0', port: 9971 },
      api: { host: '127.0.0.1', port: 8080 },
      amtPorts: { tls: 16993 },
      logLevel: 'info',
    });
    expect(c.api.token.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(join(dataDir, 'api-token'), 'utf8').trim()).toBe(c.api.token);
    if (process.platform !== 'win32') expect(statSync(join(dataDir, 'api-token')).mode & 0o777).toBe(0o600);
    expect(resolveConfig({ dataDir }, {}).api.token).toBe(c.api.token);
  });

  it('reads the token file without creating one for a client (resolveApiToken read)', () => {
    const dataDir = join(dir, 'data');
    expect(resolveApiToken(undefined, dataDir, {}, 'read')).toBeUndefined();
    expect(existsSync(dataDir)).toBe(false);
    // The override first, then OOBKIT_API_TOKEN, each checked for length.
    expect(resolveApiToken('o'.repeat(16), dataDir, { OOBKIT_API_TOKEN: 'e'.repeat(16) }, 'read')).toBe(
      'o'.repeat(16),
    );
    expect(resolveApiToken(undefined, dataDir, { OOBKIT_API_TOKEN: 'e'.repeat(16) }, 'read')).toBe(
      'e'.repeat(16),
    );
    expect(() => resolveApiToken(undefined, dataDir, { OOBKIT_API_TOKEN: 'short' }, 'read')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', setting: 'api.token' }),
    );
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'api-token'), `${'f'.repeat(20)}\n`);
    expect(resolveApiToken(undefined, dataDir, {}, 'read')).toBe('f'.repeat(20));
    expect(resolveApiToken(undefined, dataDir, {}, 'create')).toBe('f'.repeat(20));
    writeFileSync(join(dataDir, 'api-token'), 'short\n');
    expect(() => resolveApiToken(undefined, dataDir, {}, 'read')).toThrow(/holds no usable token/);
  });

  it('applies OOBKIT_* variables, then overrides on top', () => {
    const env = {
      OOBKIT_DATA_DIR: dir,
      OOBKIT_API_PORT: '9090',
      OOBKIT_HELLO_PORT: '19971',
      OOBKIT_API_TOKEN: 'env-token-0123456789',
      OOBKIT_WORKERS: '4',
      OOBKIT_LOG_LEVEL: 'debug',
      OOBKIT_INSTANCE_ID: 'node-a',
      OOBKIT_DATABASE: join(dir, 'other.db'),
      OOBKIT_EVENT_RETENTION_DAYS: '30',
      OOBKIT_HELLO_DROP_WINDOW_MS: '0',
    };
    const c = resolveConfig({ api: { port: 0 }, workers: 2 }, env);
    expect(c.events).toEqual({ retentionDays: 30, helloDropWindowMs: 0, helloDropsPerMinute: 120 });
    expect(resolveConfig({ dataDir: dir, api: { token: 'x'.repeat(16) } }, {}).events).toEqual({
      retentionDays: 90,
      helloDropWindowMs: 3_600_000,
      helloDropsPerMinute: 120,
    });
    expect(() => resolveConfig({ dataDir: dir }, { OOBKIT_EVENT_RETENTION_DAYS: '-1' })).toThrow(
      expect.objectContaining({ setting: 'OOBKIT_EVENT_RETENTION_DAYS' }),
    );
    expect(c).toMatchObject({
      dataDir: dir,
      databasePath: join(dir, 'other.db'),
      hello: { port: 19971 },
      api: { port: 0, token: 'env-token-0123456789' },
      workers: 2,
      logLevel: 'debug',
      instanceId: 'node-a',
    });
  });

  it('takes the admin API TLS files together, as absolute paths', () => {
    const c = resolveConfig(
      { dataDir: dir, api: { token: 'x'.repeat(16), tlsCert: 'api.crt', tlsKey: 'api.key' } },
      {},
    );
    expect(c.api).toMatchObject({
      tlsCert: join(process.cwd(), 'api.crt'),
      tlsKey: join(process.cwd(), 'api.key'),
    });
    const fromEnv = resolveConfig(
      { dataDir: dir, api: { token: 'x'.repeat(16) } },
      { OOBKIT_API_TLS_CERT: '/etc/oobkit/api.crt', OOBKIT_API_TLS_KEY: '/etc/oobkit/api.key' },
    );
    expect(fromEnv.api.tlsKey).toBe('/etc/oobkit/api.key');
    expect(resolveConfig({ dataDir: dir, api: { token: 'x'.repeat(16) } }, {}).api.tlsCert).toBeUndefined();
    expect(() =>
      resolveConfig({ dataDir: dir, api: { token: 'x'.repeat(16), tlsCert: 'api.crt' } }, {}),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', setting: 'api.tlsKey' }));
  });

  it('takes a PostgreSQL URL from OOBKIT_DATABASE_URL, refusing another scheme without echoing it', () => {
    const dataDir = join(dir, 'data');
    const env = { OOBKIT_API_TOKEN: 'a-token-of-16-chars-or-more' };
    expect(resolveConfig({ dataDir }, env).databaseUrl).toBeUndefined();
    const url = 'postgresql://oobkit:pw@db.example.org:5433/site';
    expect(resolveConfig({ dataDir }, { ...env, OOBKIT_DATABASE_URL: url }).databaseUrl).toBe(url);
    const bad = () => resolveConfig({ dataDir }, { ...env, OOBKIT_DATABASE_URL: 'mysql://u:topsecret@h/db' });
    expect(bad).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', setting: 'databaseUrl' }));
    expect(bad).not.toThrow(/topsecret/);
  });

  it('names the bad setting', () => {
    expect(() => resolveConfig({ dataDir: dir }, { OOBKIT_API_PORT: 'http' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', setting: 'OOBKIT_API_PORT' }),
    );
    expect(() => resolveConfig({ dataDir: dir, hello: { port: 70000 } }, {})).toThrow(
      expect.objectContaining({ setting: 'hello.port' }),
    );
    expect(() => resolveConfig({ dataDir: dir, logLevel: 'loud' as 'info' }, {})).toThrow(
      expect.objectContaining({ setting: 'logLevel' }),
    );
    expect(() => resolveConfig({ dataDir: dir, api: { token: 'short' } }, {})).toThrow(
      expect.objectContaining({ setting: 'api.token' }),
    );
  });
});
