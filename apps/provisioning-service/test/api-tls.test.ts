/**
 * The admin API over HTTPS: `api.tlsCert`/`api.tlsKey` for the service, `--api-ca` for the CLI,
 * and the warning for an admin API reachable from other hosts without TLS.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { apiExposureWarning, type RunningService, startService } from '../src/service.js';
import { runOobkit } from './cli-runner.js';
import { openTestStore } from './flow-harness.js';
import { selfSignedTlsFiles } from './tls-files.js';

const TOKEN = 'tls-test-token-0123456789';
let dir: string;
let certFile: string;
let keyFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'oobkit-api-tls-'));
  // A certificate for the address the CLI will name (an IP SAN: Node checks no CN for an IP).
  ({ certFile, keyFile } = selfSignedTlsFiles(dir, {
    name: 'api',
    commonName: 'oobkit admin API test',
    subjectAltName: 'IP:127.0.0.1',
  }));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(api: { tlsCert?: string; tlsKey?: string; host?: string }) {
  return resolveConfig(
    {
      dataDir: join(dir, 'data'),
      hello: { host: '127.0.0.1', port: 0 },
      api: { host: '127.0.0.1', port: 0, token: TOKEN, ...api },
      events: { retentionDays: 0 },
    },
    {},
  );
}

const oobkit = (args: string[]) => runOobkit(join(dir, 'cli'), args);

describe('the admin API over HTTPS', () => {
  it('serves HTTPS with the configured files; the CLI trusts it with --api-ca only', async () => {
    const store = await openTestStore();
    let service: RunningService | undefined;
    try {
      service = await startService(config({ tlsCert: certFile, tlsKey: keyFile }), {
        store,
        logger: createLogger({ level: 'silent' }),
      });
      const url = service.apiUrl as string;
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(service.apiWarning).toBeUndefined();

      const ca = readFileSync(certFile, 'utf8');
      const agent = new Agent({ connect: { ca } });
      try {
        const health = await fetch(`${url}/health`, { dispatcher: agent });
        expect(health.status).toBe(200);
        const denied = await fetch(`${url}/devices`, { dispatcher: agent });
        expect(denied.status).toBe(401);
      } finally {
        await agent.close();
      }
      // Plain HTTP on the same port gets no API.
      await expect(fetch(url.replace('https:', 'http:'))).rejects.toThrow();

      const trusted = await oobkit([
        '--api',
        url,
        '--api-ca',
        certFile,
        '--token',
        TOKEN,
        'devices',
        '--json',
      ]);
      expect([trusted.code, JSON.parse(trusted.stdout || 'null')]).toEqual([0, []]);
      const untrusted = await oobkit(['--api', url, '--token', TOKEN, 'devices']);
      expect([untrusted.code, untrusted.stderr]).toEqual([1, expect.stringContaining('API_UNAVAILABLE')]);
      const mismatched = await oobkit([
        '--api',
        url.replace('https:', 'http:'),
        '--api-ca',
        certFile,
        '--token',
        TOKEN,
        'devices',
      ]);
      expect([mismatched.code, mismatched.stderr]).toEqual([
        2,
        expect.stringContaining('--api-ca goes with an https'),
      ]);
    } finally {
      await service?.close();
      await store.close();
    }
  });

  it('refuses to start when a TLS file cannot be read, naming the setting', async () => {
    const store = await openTestStore();
    try {
      await expect(
        startService(config({ tlsCert: join(dir, 'missing.crt'), tlsKey: keyFile }), {
          store,
          logger: createLogger({ level: 'silent' }),
        }),
      ).rejects.toMatchObject({ code: 'CONFIG_INVALID', setting: 'api.tlsCert' });
    } finally {
      await store.close();
    }
  });

  it('warns when the API is reachable from other hosts without TLS, not on loopback', () => {
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
      expect(apiExposureWarning(address), address).toBeUndefined();
    }
    for (const address of ['0.0.0.0', '::', '10.1.2.3', '::ffff:10.1.2.3']) {
      expect(apiExposureWarning(address), address).toMatch(/without TLS: its bearer token/);
    }
  });
});
