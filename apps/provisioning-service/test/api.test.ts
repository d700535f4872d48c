import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect } from 'node:net';
import { Writable } from 'node:stream';
import { createRsaKeyCache, createTestPki, type TestPki } from '@oobkit/provisioning-cert';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildAdminApi } from '../src/api/index.js';
import { createLogger } from '../src/log.js';
import { staticKeyProvider } from '../src/secrets/index.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { Job, ProvisioningSettings, SiteStore } from '../src/store/types.js';

const TOKEN = 'test-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const U1 = '8f3a1c2e-0000-4000-8000-000000000001';
const U2 = '8f3a1c2e-0000-4000-8000-000000000002';

let store: SiteStore;
let app: FastifyInstance;
let queued: Job[];

beforeEach(async () => {
  store = await openSqliteStore({ path: ':memory:', keyProvider: staticKeyProvider(randomBytes(32)) });
  queued = [];
  app = await buildAdminApi({ store, token: TOKEN, onJobQueued: (j) => queued.push(j) });
});

afterEach(async () => {
  await app.close();
  await store.close();
});

const get = (url: string) => app.inject({ method: 'GET', url, headers: AUTH });
const send = (
  method: 'POST' | 'PUT' | 'DELETE',
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
) =>
  app.inject({
    method,
    url,
    headers: { ...AUTH, ...headers },
    ...(payload === undefined ? {} : { payload: payload as string }),
  });

describe('authentication', () => {
  it('refuses requests without or with a wrong bearer token, with 401 and a stable code', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token-0123456789' },
      { authorization: TOKEN },
      { authorization: 'Basic eDp5' },
    ]) {
      const r = await app.inject({ method: 'GET', url: '/computers', headers });
      expect(r.statusCode).toBe(401);
      expect(r.json()).toMatchObject({ code: 'API_UNAUTHORIZED' });
      expect(r.headers['www-authenticate']).toBe('Bearer');
    }
    const unknown = await app.inject({ method: 'GET', url: '/nowhere' });
    expect(unknown.statusCode).toBe(401);
    expect((await get('/computers')).statusCode).toBe(200);
  });

  it('says what blocks provisioning on /readiness, and what only needs attention', async () => {
    const empty = (await get('/readiness')).json();
    expect(empty.ready).toBe(false);
    expect(empty.blockers).toHaveLength(3);
    expect(empty.warnings).toEqual(empty.blockers);
    await store.addCredential({ label: 'factory', username: 'admin', password: 'admin', priority: 0 });
    await store.importComputers([
      { uuid: U1, hostName: 'pc-1', domainName: 'corp.example.com', source: 'import' },
    ]);
    const oneLeft = (await get('/readiness')).json();
    expect(oneLeft).toEqual({
      ready: false,
      blockers: [expect.stringMatching(/^no enabled provisioning certificate/)],
      warnings: [expect.stringMatching(/^no enabled provisioning certificate/)],
    });
  });

  it('serves /health and /openapi.json without a token', async () => {
    const h = await app.inject({ method: 'GET', url: '/health' });
    expect(h.json()).toEqual({ status: 'ok' });
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/computers',
        '/computers/{uuid}',
        '/credentials',
        '/credentials/{id}',
        '/settings',
        '/provisioning-certificates',
        '/provisioning-certificates/{id}',
        '/provisioning-certificates/{id}/enabled',
        '/devices',
        '/devices/{uuid}',
        '/devices/{uuid}/events',
        '/devices/{uuid}/jobs',
        '/devices/{uuid}/unprovision',
        '/events',
        '/jobs',
        '/jobs/{id}',
        '/health',
      ]),
    );
    const imp = doc.paths['/computers'].post;
    expect(Object.keys(imp.requestBody.content)).toEqual(['application/json', 'text/csv']);
    expect(imp.responses['401']).toBeDefined();
    expect(doc.paths['/devices/{uuid}'].get.parameters[0]).toMatchObject({
      name: 'uuid',
      in: 'path',
      required: true,
    });
    // Outside settings (whose secrets read "***"), no response describes a password or key.
    const responses = Object.entries(doc.paths as Record<string, Record<string, { responses: unknown }>>)
      .filter(([path]) => path !== '/settings')
      .flatMap(([, ops]) => Object.values(ops).map((o) => JSON.stringify(o.responses)));
    expect(responses.filter((r) => /"password"|"keyPem"|"pfx"|"value"/.test(r))).toEqual([]);
  });

  it('logs requests without the bearer token or any posted secret', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const logged = await buildAdminApi({
      store,
      token: TOKEN,
      logger: createLogger({ level: 'debug', destination }),
    });
    try {
      await logged.inject({
        method: 'POST',
        url: '/credentials',
        headers: AUTH,
        payload: { label: 'l', username: 'admin', password: 'Posted!Secret7' },
      });
      await logged.inject({
        method: 'GET',
        url: '/credentials',
        headers: { authorization: 'Bearer not-the-token-123456' },
      });
    } finally {
      await logged.close();
    }
    const text = lines.join('');
    expect(lines.length).toBeGreaterThan(2);
    expect(text).toContain('[redacted]');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('not-the-token-123456');
    expect(text).not.toContain('Posted!Secret7');
  });

  it('reports an unavailable store on /health with 503', async () => {
    await store.close();
    const h = await app.inject({ method: 'GET', url: '/health' });
    expect(h.statusCode).toBe(503);
    expect(h.json().code).toBe('API_UNAVAILABLE');
  });
});

describe('computers', () => {
  it('imports a JSON array, lists, gets and deletes', async () => {
    const r = await send('POST', '/computers', [
      { uuid: U1.toUpperCase(), hostName: 'pc-1', domainName: 'corp.example.com', ou: 'OU=AMT' },
      { uuid: U2, hostName: 'pc-2', domainName: 'corp.example.com' },
    ]);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ created: 2, updated: 0 });
    expect((await get('/computers')).json().map((c: { uuid: string }) => c.uuid)).toEqual([U1, U2]);
    expect((await get(`/computers/${U1}`)).json()).toMatchObject({
      hostName: 'pc-1',
      ou: 'OU=AMT',
      source: 'import',
    });
    expect((await send('DELETE', `/computers/${U1}`)).statusCode).toBe(204);
    const again = await send('DELETE', `/computers/${U1}`);
    expect(again.statusCode).toBe(404);
    expect(again.json().code).toBe('API_NOT_FOUND');
    expect((await get(`/computers/${U1}`)).statusCode).toBe(404);
  });

  it('imports CSV', async () => {
    const csv = `uuid,hostName,domainName,ou\n${U1},pc-1,corp.example.com,"OU=AMT,DC=corp"\n${U2},pc-2,corp.example.com,\n`;
    const r = await send('POST', '/computers', csv, { 'content-type': 'text/csv' });
    expect(r.json()).toEqual({ created: 2, updated: 0 });
    expect((await store.getComputer(U1))?.ou).toBe('OU=AMT,DC=corp');
  });

  it('refuses bad input with 400, a stable code, and changes nothing', async () => {
    const cases: [unknown, string, Record<string, string>?][] = [
      [[{ uuid: U1, hostName: 'pc-1' }], 'API_VALIDATION_FAILED'],
      [[{ uuid: 'nope', hostName: 'pc-1', domainName: 'a.b' }], 'API_VALIDATION_FAILED'],
      [[{ uuid: U1, hostName: 'pc-1', domainName: 'a.b', extra: 1 }], 'API_VALIDATION_FAILED'],
      [[{ uuid: U1, hostName: 'pc 1', domainName: 'a.b' }], 'STORE_INVALID_INPUT'],
      [
        [
          { uuid: U1, hostName: 'pc-1', domainName: 'a.b' },
          { uuid: U1, hostName: 'pc-2', domainName: 'a.b' },
        ],
        'STORE_INVALID_INPUT',
      ],
      ['{not json', 'API_INVALID_JSON', { 'content-type': 'application/json' }],
      [
        `uuid,hostName,domainName\n${U1},pc-1,a.b\n${U2},"pc-2\n`,
        'CSV_SYNTAX',
        { 'content-type': 'text/csv' },
      ],
      [`uuid,host,domainName\n`, 'CSV_HEADER', { 'content-type': 'text/csv' }],
      [
        `uuid,hostName,domainName\n${U1},pc-1,a.b\n${U2},pc 2,a.b\n`,
        'CSV_ROW',
        { 'content-type': 'text/csv' },
      ],
    ];
    for (const [payload, code, headers] of cases) {
      const r = await send('POST', '/computers', payload, headers);
      expect(r.statusCode, code).toBe(400);
      expect(r.json().code).toBe(code);
    }
    const row = await send(
      'POST',
      '/computers',
      `uuid,hostName,domainName\n${U1},pc-1,a.b\n${U2},pc 2,a.b\n`,
      {
        'content-type': 'text/csv',
      },
    );
    expect(row.json().details).toEqual({ line: 3 });
    const xml = await send('POST', '/computers', '<x/>', { 'content-type': 'application/xml' });
    expect(xml.statusCode).toBe(415);
    expect(xml.json().code).toBe('API_UNSUPPORTED_MEDIA_TYPE');
    expect(await store.listComputers()).toEqual([]);
  });
});

describe('credentials', () => {
  it('adds, lists and deletes, never returning the password', async () => {
    const r = await send('POST', '/credentials', {
      label: 'factory',
      username: 'admin',
      password: 'P@ssw0rd-secret',
    });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({ id: 1, label: 'factory', username: 'admin', priority: 0 });
    await send('POST', '/credentials', {
      label: 'site',
      username: 'admin',
      password: 'Other!Secret1',
      priority: -1,
    });
    const list = await get('/credentials');
    expect(list.json().map((c: { label: string }) => c.label)).toEqual(['site', 'factory']);
    expect(list.body).not.toContain('secret');
    expect(list.body).not.toContain('Secret');
    expect((await store.listCredentials())[1]?.password).toBe('P@ssw0rd-secret');
    expect((await send('DELETE', '/credentials/1')).statusCode).toBe(204);
    expect((await send('DELETE', '/credentials/1')).statusCode).toBe(404);
    const bad = await send('POST', '/credentials', {
      label: 'x',
      username: 'admin',
      password: 'x'.repeat(33),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('API_VALIDATION_FAILED');
    expect(bad.body).not.toContain('x'.repeat(33));
    expect((await send('DELETE', '/credentials/abc')).statusCode).toBe(400);
    expect(await store.listCredentials()).toHaveLength(1);
  });
});

describe('settings', () => {
  it('reads with secrets redacted and writes back, keeping "***" secrets', async () => {
    const stored = await store.getSettings();
    const r = await get('/settings');
    const shown = r.json() as ProvisioningSettings;
    expect(shown.mebxPassword).toBe('***');
    expect(r.body).not.toContain(stored.mebxPassword);
    const next = {
      ...shown,
      powerBehaviour: 'SP1',
      userAcls: [{ username: 'helpdesk', password: 'Help!Desk9', accessPermission: 2, realms: [3] }],
      wifiProfiles: [
        {
          name: 'office',
          ssid: 'Office',
          priority: 1,
          authenticationMethod: 6,
          encryptionMethod: 4,
          pskPassphrase: 'psk-passphrase-1',
        },
      ],
    };
    const put = await send('PUT', '/settings', next);
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({
      powerBehaviour: 'SP1',
      mebxPassword: '***',
      userAcls: [{ password: '***' }],
    });
    const after = await store.getSettings();
    expect(after.mebxPassword).toBe(stored.mebxPassword);
    expect(after.userAcls[0]?.password).toBe('Help!Desk9');
    // A second round trip of the redacted document keeps every secret.
    await send('PUT', '/settings', (await get('/settings')).json());
    expect(await store.getSettings()).toEqual(after);
  });

  it('refuses invalid settings with 400 and changes nothing', async () => {
    const before = await store.getSettings();
    const shown = (await get('/settings')).json();
    const bad = [
      { ...shown, powerBehaviour: 'SP3' },
      { ...shown, features: { ping: true } },
      { ...shown, mebxPassword: 'weakpass' },
      { ...shown, unknown: 1 },
      { ...shown, userAcls: [{ username: 'new', password: '***', accessPermission: 2, realms: [3] }] },
    ];
    for (const b of bad) {
      const r = await send('PUT', '/settings', b);
      expect(r.statusCode).toBe(400);
      expect(['API_VALIDATION_FAILED', 'STORE_INVALID_INPUT']).toContain(r.json().code);
    }
    expect(await store.getSettings()).toEqual(before);
  });
});

describe('devices, jobs and events', () => {
  beforeEach(async () => {
    await store.importComputers([
      { uuid: U1, hostName: 'pc-1', domainName: 'corp.example.com', source: 'import' },
    ]);
  });

  it('lists devices with status and shows one with its secrets but never their values', async () => {
    await store.upsertDevice(U1, { status: 'provisioned', address: '127.0.0.9' });
    await store.upsertDevice(U2, { status: 'failed' });
    const s = await store.addPendingSecret(U1, 'admin', 'Adm!nSecret9');
    await store.confirmSecret(s.id);
    expect((await get('/devices')).json().map((d: { uuid: string }) => d.uuid)).toEqual([U1, U2]);
    expect((await get('/devices?status=failed')).json().map((d: { uuid: string }) => d.uuid)).toEqual([U2]);
    expect((await get('/devices?status=bogus')).statusCode).toBe(400);
    expect((await get('/summary')).json()).toEqual({
      devices: { discovered: 0, queued: 0, provisioning: 0, provisioned: 1, failed: 1, unprovisioned: 0 },
      jobs: { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 },
    });
    const one = await get(`/devices/${U1}`);
    expect(one.json()).toMatchObject({
      uuid: U1,
      status: 'provisioned',
      computer: { hostName: 'pc-1' },
      secrets: [{ id: s.id, kind: 'admin', state: 'current' }],
    });
    expect(one.body).not.toContain('Adm!nSecret9');
    // A hello kept apart from the address on record (a provisioned device) shows where it came from.
    await store.upsertDevice(U1, {
      lastHello: {
        retryCount: 2,
        algorithms: ['sha256'],
        matches: [],
        receivedAt: new Date(0).toISOString(),
        address: '127.0.0.66',
      },
    });
    expect((await get(`/devices/${U1}`)).json()).toMatchObject({
      address: '127.0.0.9',
      lastHello: { address: '127.0.0.66' },
    });
    expect((await get('/devices')).json()[0]).toMatchObject({ lastHello: { address: '127.0.0.66' } });
    expect((await get(`/devices/${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}`)).statusCode).toBe(404);
    expect((await get('/devices/not-a-uuid')).statusCode).toBe(400);
  });

  it('starts and retries a job for an imported computer, once per device', async () => {
    const r = await send('POST', `/devices/${U1}/jobs`);
    expect(r.statusCode).toBe(202);
    expect(r.json()).toMatchObject({ created: true, job: { uuid: U1, reason: 'manual', state: 'queued' } });
    expect(queued.map((j) => j.id)).toEqual([r.json().job.id]);
    const again = await send('POST', `/devices/${U1}/jobs`, { reason: 'retry' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ created: false, job: { id: r.json().job.id } });
    expect(queued).toHaveLength(1);
    expect((await send('POST', `/devices/${U2}/jobs`)).statusCode).toBe(404);
    expect((await send('POST', `/devices/${U1}/jobs`, { reason: 'unprovision' })).statusCode).toBe(400);
    const jobs = await get(`/jobs?uuid=${U1}`);
    expect(jobs.json()).toHaveLength(1);
    expect((await get(`/jobs/${r.json().job.id}`)).json()).toMatchObject({ reason: 'manual', journal: {} });
    expect((await get('/jobs/999')).statusCode).toBe(404);
    expect((await get('/jobs?state=queued&limit=5')).json()).toHaveLength(1);
  });

  it('queues an unprovision job for a known device, refusing while another job is live', async () => {
    expect((await send('POST', `/devices/${U1}/unprovision`)).statusCode).toBe(404);
    await store.upsertDevice(U1, { status: 'provisioned' });
    const r = await send('POST', `/devices/${U1}/unprovision`);
    expect(r.statusCode).toBe(202);
    expect(r.json().job.reason).toBe('unprovision');
    expect((await send('POST', `/devices/${U1}/unprovision`)).statusCode).toBe(200);
    const lease = await store.claimJob('w', 60_000);
    await store.finishJob(lease!.job.id, lease!.fencingToken, { state: 'succeeded' });
    await send('POST', `/devices/${U1}/jobs`);
    const conflict = await send('POST', `/devices/${U1}/unprovision`);
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().code).toBe('API_JOB_CONFLICT');
  });

  it('lists events, per device, filtered and tailed', async () => {
    const a = await store.appendEvent({
      level: 'info',
      type: 'hello',
      uuid: U1,
      message: 'hello from device',
    });
    await store.appendEvent({
      level: 'warn',
      type: 'hello.dropped.unknown-uuid',
      uuid: U2,
      message: 'unknown',
    });
    await store.appendEvent({
      level: 'info',
      type: 'step.done',
      uuid: U1,
      jobId: 1,
      step: 'tls',
      durationMs: 3,
      message: 'done',
      data: { x: 1 },
    });
    expect((await get('/events')).json()).toHaveLength(3);
    expect((await get(`/events?afterId=${a.id}`)).json().map((e: { type: string }) => e.type)).toEqual([
      'hello.dropped.unknown-uuid',
      'step.done',
    ]);
    expect((await get('/events?type=step.done')).json()[0]).toMatchObject({
      step: 'tls',
      durationMs: 3,
      data: { x: 1 },
    });
    expect((await get(`/devices/${U1}/events?limit=1`)).json().map((e: { type: string }) => e.type)).toEqual([
      'step.done',
    ]);
    expect((await get('/events?limit=0')).statusCode).toBe(400);
  });
});

describe('provisioning certificates', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await createTestPki({ serverFqdn: 'provision.corp.example.com', keys: createRsaKeyCache() });
  });

  it('adds a PEM chain with its key, hashing the root, and lists it without the key', async () => {
    // Any order: the root first, then the leaf and its intermediate.
    const certPem = [pki.root.pem, pki.leaf.pem, ...pki.intermediates.map((c) => c.pem)].join('');
    const r = await send('POST', '/provisioning-certificates', {
      name: 'corp',
      certPem,
      keyPem: pki.leaf.keyPem,
    });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({
      id: 1,
      name: 'corp',
      enabled: true,
      rootHashes: {
        sha1: pki.rootHashes.sha1.toString('hex'),
        sha256: pki.rootHashes.sha256.toString('hex'),
        sha384: pki.rootHashes.sha384.toString('hex'),
      },
    });
    expect(r.json().certPem).toBe(pki.chain.certPem); // ordered leaf → root
    const list = await get('/provisioning-certificates');
    expect(list.json()).toHaveLength(1);
    expect(list.body).not.toContain('PRIVATE KEY');
    expect(r.body).not.toContain('PRIVATE KEY');
    const stored = (await store.listProvisioningCertificates())[0];
    expect(stored?.keyPem).toContain('PRIVATE KEY');
  });

  it('turns a certificate off and on, deletes it with its key, and says 404 for an unknown id', async () => {
    const added = await send('POST', '/provisioning-certificates', {
      name: 'old',
      certPem: pki.chain.certPem,
      keyPem: pki.leaf.keyPem,
    });
    const { id, notAfter, notBefore } = added.json();
    expect(notAfter).toBe(pki.leaf.certificate.notAfter.toISOString());
    expect(notBefore).toBe(pki.leaf.certificate.notBefore.toISOString());

    const off = await send('PUT', `/provisioning-certificates/${id}/enabled`, { enabled: false });
    expect(off.statusCode).toBe(200);
    expect(off.json()).toMatchObject({ id, name: 'old', enabled: false, notAfter });
    expect(off.body).not.toContain('PRIVATE KEY');
    expect((await store.listProvisioningCertificates())[0]?.enabled).toBe(false);
    const bad = await send('PUT', `/provisioning-certificates/${id}/enabled`, { enabled: 'yes' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('API_VALIDATION_FAILED');
    expect((await store.listProvisioningCertificates())[0]?.enabled).toBe(false);
    const on = await send('PUT', `/provisioning-certificates/${id}/enabled`, { enabled: true });
    expect(on.json()).toMatchObject({ id, enabled: true });
    expect((await send('PUT', '/provisioning-certificates/99/enabled', { enabled: true })).statusCode).toBe(
      404,
    );

    expect((await send('DELETE', `/provisioning-certificates/${id}`)).statusCode).toBe(204);
    expect(await store.listProvisioningCertificates()).toEqual([]);
    const again = await send('DELETE', `/provisioning-certificates/${id}`);
    expect(again.statusCode).toBe(404);
    // Each change is on record, once, as made through the API; refusals and misses are not.
    expect((await store.listEvents()).map((e) => [e.type, e.data?.id, e.data?.by])).toEqual([
      ['certificate.added', id, 'api'],
      ['certificate.disabled', id, 'api'],
      ['certificate.enabled', id, 'api'],
      ['certificate.deleted', id, 'api'],
    ]);
    expect(again.json().code).toBe('API_NOT_FOUND');
  });

  it('adds a PFX with its password', async () => {
    const r = await send('POST', '/provisioning-certificates', {
      name: 'pfx',
      pfx: pki.pfx.toString('base64'),
      password: pki.pfxPassword,
      enabled: false,
    });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({
      enabled: false,
      rootHashes: { sha256: pki.rootHashes.sha256.toString('hex') },
    });
  });

  it('refuses a wrong PFX password, a foreign key, a chain without its root, and mixed forms; nothing stored', async () => {
    const cases: [unknown, string][] = [
      [{ name: 'x', pfx: pki.pfx.toString('base64'), password: 'wrong-password' }, 'API_INVALID_CERTIFICATE'],
      [{ name: 'x', pfx: '***not base64***', password: 'p' }, 'API_INVALID_CERTIFICATE'],
      [{ name: 'x', certPem: pki.chain.certPem, keyPem: pki.root.keyPem }, 'API_INVALID_CERTIFICATE'],
      [{ name: 'x', certPem: 'no pem here', keyPem: pki.leaf.keyPem }, 'API_INVALID_CERTIFICATE'],
      [
        { name: 'x', certPem: pki.chain.certPem, keyPem: pki.leaf.keyPem, pfx: 'AAAA', password: 'p' },
        'API_VALIDATION_FAILED',
      ],
      [{ name: 'x', certPem: pki.chain.certPem }, 'API_VALIDATION_FAILED'],
    ];
    const missingRoot = await pki.broken('missing-root');
    cases.push([
      { name: 'x', certPem: missingRoot.certPem, keyPem: missingRoot.keyPem },
      'API_INVALID_CERTIFICATE',
    ]);
    for (const [payload, code] of cases) {
      const r = await send('POST', '/provisioning-certificates', payload);
      expect(r.statusCode, code).toBe(400);
      expect(r.json().code).toBe(code);
      expect(r.body).not.toContain('PRIVATE KEY');
      expect(r.body).not.toContain(pki.pfxPassword);
    }
    expect(await store.listProvisioningCertificates()).toEqual([]);
  });
});

/** Sends raw bytes to the listening app and reads the answer until the server closes. */
async function rawExchange(
  api: FastifyInstance,
  request: string,
  opts: { end?: boolean } = {},
): Promise<{ status: number; headers: string; body: string }> {
  const { port } = api.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer in 5 s'));
    }, 5_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {}); // the server may reset after answering
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', body = ''] = text.split('\r\n\r\n', 2);
      resolve({ status: Number(head.split(' ')[1]), headers: head, body });
    });
    socket.write(request, 'latin1');
    if (opts.end) socket.end();
  });
}

describe('audit: refusals in the error shape, no coercion, consistent media types', () => {
  it('refuses POST /computers without a body with 400 API_VALIDATION_FAILED (not 500)', async () => {
    for (const headers of [{}, { 'content-length': '0' }]) {
      const r = await app.inject({ method: 'POST', url: '/computers', headers: { ...AUTH, ...headers } });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ code: 'API_VALIDATION_FAILED' });
      expect(r.json().message).toMatch(/JSON array or a text\/csv body/);
    }
    expect(await store.listComputers()).toEqual([]);
  });

  it('does not coerce body types (credentials, settings); query strings still are', async () => {
    const credentials: unknown[] = [
      { label: 'x', username: 'admin', password: true },
      { label: 'x', username: 'admin', password: 12345678 },
      { label: 'x', username: 'admin', password: 'Str0ng!Pass', priority: null },
      { label: 'x', username: 'admin', password: 'Str0ng!Pass', priority: '3' },
      { label: ['x'], username: 'admin', password: 'Str0ng!Pass' },
    ];
    for (const c of credentials) {
      const r = await send('POST', '/credentials', c);
      expect(r.statusCode, JSON.stringify(c)).toBe(400);
      expect(r.json().code).toBe('API_VALIDATION_FAILED');
    }
    expect(await store.listCredentials()).toEqual([]);

    // The import's per-content-type body schema goes through the same non-coercing compiler.
    const computer = await send('POST', '/computers', [{ uuid: U1, hostName: 123, domainName: 'a.b' }]);
    expect(computer.statusCode).toBe(400);
    expect(computer.json().code).toBe('API_VALIDATION_FAILED');
    expect(await store.listComputers()).toEqual([]);

    const before = await store.getSettings();
    const shown = (await get('/settings')).json();
    const settings = [
      { ...shown, features: { ...shown.features, ping: 'false' } },
      { ...shown, powerScheme: '5' },
      { ...shown, kerberos: { enabled: 0 } },
      { ...shown, userAcls: [{ username: 'u', password: 'Help!Desk9', accessPermission: 2, realms: 2 }] },
      { ...shown, userAcls: [{ username: 'u', password: 'Help!Desk9', accessPermission: '2', realms: [3] }] },
    ];
    for (const s of settings) {
      const r = await send('PUT', '/settings', s);
      expect(r.statusCode).toBe(400);
      expect(r.json().code).toBe('API_VALIDATION_FAILED');
    }
    expect(await store.getSettings()).toEqual(before);

    // Query strings and path parameters are text: they are still coerced.
    expect((await get('/jobs?limit=5')).statusCode).toBe(200);
    expect((await send('DELETE', '/credentials/7')).statusCode).toBe(404);
  });

  it('refuses text/plain everywhere and text/csv where only JSON is taken, with 415', async () => {
    const csv = `uuid,hostName,domainName\n${U1},pc-1,a.b\n`;
    const plain = await send('POST', '/computers', csv, { 'content-type': 'text/plain' });
    expect(plain.statusCode).toBe(415);
    expect(plain.json().code).toBe('API_UNSUPPORTED_MEDIA_TYPE');
    expect(await store.listComputers()).toEqual([]);
    for (const [method, url] of [
      ['POST', '/credentials'],
      ['PUT', '/settings'],
      ['POST', `/devices/${U1}/jobs`],
    ] as const) {
      const r = await send(method, url, 'label,username,password\nx,admin,Str0ng!Pass\n', {
        'content-type': 'text/csv',
      });
      expect(r.statusCode, url).toBe(415);
      expect(r.json().code).toBe('API_UNSUPPORTED_MEDIA_TYPE');
    }
    expect(await store.listCredentials()).toEqual([]);
    expect(await store.listJobs({})).toEqual([]);
    // CSV still imports where it is documented.
    expect((await send('POST', '/computers', csv, { 'content-type': 'text/csv' })).json()).toEqual({
      created: 1,
      updated: 0,
    });
  });

  it("answers fastify's own URL refusals in the error shape", async () => {
    const bad = await get('/computers/%E0%A4%A');
    expect(bad.statusCode).toBe(400);
    expect(Object.keys(bad.json()).sort()).toEqual(['code', 'message']);
    expect(bad.json().code).toBe('API_VALIDATION_FAILED');
    const long = await get(`/computers/${'a'.repeat(101)}`);
    expect(long.statusCode).toBe(414);
    expect(Object.keys(long.json()).sort()).toEqual(['code', 'message']);
    expect(long.json().code).toBe('API_VALIDATION_FAILED');
  });

  it('answers malformed HTTP on the socket in the error shape (400, 431 for big headers)', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const auth = `Authorization: Bearer ${TOKEN}\r\n`;
    const cases: [string, string, number, boolean?][] = [
      ['request line', 'GARBAGE\r\n\r\n', 400],
      [
        'chunked encoding',
        `POST /credentials HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
        400,
      ],
      [
        'short body',
        `POST /credentials HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"label":`,
        400,
        true,
      ],
      [
        'big header',
        `GET /computers HTTP/1.1\r\nHost: x\r\n${auth}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        431,
      ],
    ];
    for (const [what, request, status, end] of cases) {
      const r = await rawExchange(app, request, { end: end === true });
      expect(r.status, what).toBe(status);
      expect(r.headers, what).toMatch(/content-type: application\/json/i);
      expect(JSON.parse(r.body), what).toMatchObject({ code: 'API_BAD_REQUEST' });
      expect(Object.keys(JSON.parse(r.body)).sort(), what).toEqual(['code', 'message']);
    }
    expect(await store.listCredentials()).toEqual([]);
  });

  it('matches the bearer scheme case-insensitively (RFC 7235 §2.1), with one or more spaces', async () => {
    for (const authorization of [`bearer ${TOKEN}`, `BEARER ${TOKEN}`, `BeArEr   ${TOKEN}`]) {
      const r = await app.inject({ method: 'GET', url: '/computers', headers: { authorization } });
      expect(r.statusCode, authorization).toBe(200);
    }
    for (const authorization of [
      `bearer${TOKEN}`,
      `bearer-${TOKEN}`,
      `bear ${TOKEN}`,
      'bearer ',
      `Bearer x${TOKEN}`,
    ]) {
      const r = await app.inject({ method: 'GET', url: '/computers', headers: { authorization } });
      expect(r.statusCode, authorization).toBe(401);
      expect(r.json().code).toBe('API_UNAUTHORIZED');
    }
  });

  it('documents 413 and 415 for every operation with a body and 500 for every operation', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const ops = Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>).flatMap(
      ([path, methods]) => Object.entries(methods).map(([m, op]) => ({ name: `${m} ${path}`, op })),
    );
    expect(ops.length).toBeGreaterThan(20);
    for (const { name, op } of ops) {
      const responses = op.responses as Record<string, { content?: Record<string, { schema: unknown }> }>;
      expect(responses['500']?.content?.['application/json']?.schema, name).toMatchObject({
        required: ['code', 'message'],
      });
      if (op.requestBody) {
        expect(responses['413'], name).toBeDefined();
        expect(responses['415'], name).toBeDefined();
      } else {
        expect(responses['415'], name).toBeUndefined();
      }
    }
    expect(doc.paths['/devices/{uuid}/unprovision'].post.requestBody).toMatchObject({ required: false });
  });

  it('refuses a body on unprovision and unknown query parameters on every protected route', async () => {
    await store.importComputers([{ uuid: U1, hostName: 'pc-1', domainName: 'a.b', source: 'import' }]);
    await store.upsertDevice(U1, { status: 'provisioned' });
    const body = await send('POST', `/devices/${U1}/unprovision`, { anything: 'goes' });
    expect(body.statusCode).toBe(400);
    expect(body.json().code).toBe('API_VALIDATION_FAILED');
    expect(await store.listJobs({})).toEqual([]);
    for (const url of [
      '/computers?limit=0',
      '/credentials?x=1',
      '/settings?reveal=1',
      `/devices/${U1}?x=1`,
      '/summary?x=1',
    ]) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(400);
      expect(r.json().code).toBe('API_VALIDATION_FAILED');
    }
    const del = await send('DELETE', `/computers/${U1}?force=1`);
    expect(del.statusCode).toBe(400);
    expect(await store.getComputer(U1)).toBeDefined();
    // Public probes stay lenient.
    expect((await app.inject({ method: 'GET', url: '/health?probe=1' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/openapi.json?v=1' })).statusCode).toBe(200);
    // An empty object (or no body at all) still queues the job.
    const ok = await send('POST', `/devices/${U1}/unprovision`, {});
    expect(ok.statusCode).toBe(202);
  });

  it('takes an empty application/json body where the body is optional, still refusing __proto__', async () => {
    await store.importComputers([{ uuid: U1, hostName: 'pc-1', domainName: 'a.b', source: 'import' }]);
    const poisoned = await send('POST', `/devices/${U1}/jobs`, '{"__proto__":{"reason":"retry"}}', {
      'content-type': 'application/json',
    });
    expect(poisoned.statusCode).toBe(400);
    expect(poisoned.json().code).toBe('API_INVALID_JSON');
    expect(await store.listJobs({})).toEqual([]);
    const r = await send('POST', `/devices/${U1}/jobs`, '', { 'content-type': 'application/json' });
    expect(r.statusCode).toBe(202);
    expect(r.json()).toMatchObject({ created: true, job: { reason: 'manual' } });
    // Where the body is required, an empty JSON body is still refused.
    const required = await send('POST', '/credentials', '', { 'content-type': 'application/json' });
    expect(required.statusCode).toBe(400);
    expect(required.json().code).toBe('API_INVALID_JSON');
  });

  it('describes secret fields as "***" or a string of the real length, and refuses short ones in the schema', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const s = doc.paths['/settings'].put.requestBody.content['application/json'].schema;
    const secret = (min: number, max: number) => ({
      type: 'string',
      anyOf: [{ const: '***' }, { minLength: min, maxLength: max }],
    });
    expect(s.properties.mebxPassword).toMatchObject(secret(8, 32));
    expect(s.properties.userAcls.items.properties.password).toMatchObject(secret(8, 32));
    expect(s.properties.wifiProfiles.items.properties.pskPassphrase).toMatchObject(secret(8, 63));
    const before = await store.getSettings();
    const shown = (await get('/settings')).json();
    const wifi = { name: 'w', ssid: 'w', priority: 1, authenticationMethod: 6, encryptionMethod: 4 };
    for (const bad of [
      { ...shown, mebxPassword: 'Ab1!x' },
      { ...shown, mebxPassword: '****' },
      { ...shown, userAcls: [{ username: 'u', password: 'Ab1!x', accessPermission: 2, realms: [3] }] },
      { ...shown, wifiProfiles: [{ ...wifi, pskPassphrase: 'short' }] },
      { ...shown, wifiProfiles: [{ ...wifi, pskPassphrase: 'p'.repeat(64) }] },
    ]) {
      const r = await send('PUT', '/settings', bad);
      expect(r.statusCode).toBe(400);
      expect(r.json().code).toBe('API_VALIDATION_FAILED');
    }
    expect(await store.getSettings()).toEqual(before);
  });
});
