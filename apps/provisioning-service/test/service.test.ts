import { type AddressInfo, connect, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { requestProvisioning } from '../src/jobs.js';
import { createLogger } from '../src/log.js';
import { type RunningService, startService } from '../src/service.js';
import { agedEvent, createSite, openTestStore, type Site } from './flow-harness.js';

const TOKEN = 'service-test-token-0123456789';

describe('the service with its admin API', () => {
  let site: Site;
  let api: RunningService;
  let base: string;
  beforeAll(async () => {
    site = await createSite();
    api = await site.startInstance({ instanceId: 'with-api', api: true, token: TOKEN });
    base = `http://${api.apiAddress!.address}:${api.apiAddress!.port}`;
  });
  afterAll(async () => {
    await site?.close();
  });
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  it('listens for hellos and serves the API on the addresses it reports', async () => {
    expect(api.helloAddress.port).toBeGreaterThan(0);
    expect((await call('GET', '/health')).status).toBe(200);
    expect((await fetch(`${base}/devices`)).status).toBe(401);
  });

  it('refuses to start when the admin API port is taken, with API_LISTEN_FAILED, and leaves nothing listening', async () => {
    const store = await openTestStore();
    // A free port for the hello listener: the failed start must let go of it.
    const helloPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    try {
      const config = resolveConfig(
        {
          dataDir: '/nonexistent-oobkit-test',
          hello: { host: '127.0.0.1', port: helloPort },
          api: { host: '127.0.0.1', port: api.apiAddress!.port, token: 'test-token-0123456789' },
        },
        {},
      );
      const err = await startService(config, { store, logger: createLogger({ level: 'silent' }) }).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({
        code: 'API_LISTEN_FAILED',
        message: expect.stringMatching(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE.*--api-port/),
      });
      // Its hello listener (bound first) was closed again: a second start binds the same port.
      const again = await startService(
        { ...config, api: { ...config.api, port: 0 } },
        {
          store,
          logger: createLogger({ level: 'silent' }),
        },
      );
      await again.close();
    } finally {
      await store.close();
    }
  });

  it('serves Prometheus metrics behind the token, documented as text in the OpenAPI document', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const res = await call('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toMatch(/^oobkit_info\{instance_id="with-api",version="\d+\.\d+\.\d+[^"]*"\} 1$/m);
    expect(text).toMatch(/^oobkit_workers 4$/m);
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, { get?: { responses: Record<string, { content?: Record<string, unknown> }> } }>;
    };
    expect(Object.keys(doc.paths['/metrics']?.get?.responses['200']?.content ?? {})).toEqual(['text/plain']);
  });

  it('a manual job from the API re-applies stage 2 to a provisioned device, leaving stage 1 alone', async () => {
    const device = await site.device();
    expect((await site.provision(device)).outcome).toBe('succeeded');
    const [admin] = await site.store.listSecrets(device.uuid, { kind: 'admin', states: ['current'] });
    const done = site.waitForJob(device.uuid, ['succeeded', 'failed']);
    const res = await call('POST', `/devices/${device.uuid}/jobs`, { reason: 'manual' });
    expect(res.status).toBe(202);
    const finished = await done;
    expect(finished.outcome).toBe('succeeded');
    const job = await site.store.getJob(finished.job.id);
    expect(job?.reason).toBe('manual');
    expect(job?.journal['stage1.admin-password']).toBeUndefined();
    expect(job?.journal['stage2.acl']).toMatchObject({ added: 2 });
    // Same admin password as before: stage 1 did not run again.
    const [still] = await site.store.listSecrets(device.uuid, { kind: 'admin', states: ['current'] });
    expect(still?.id).toBe(admin?.id);
    expect(device.verifyAdminPassword(admin!.value)).toBe(true);
  });

  it('takes up a job queued behind its back (as `oobkit provision` on the data folder does) at its next poll', async () => {
    const device = await site.device();
    expect((await site.provision(device)).outcome).toBe('succeeded');
    const done = site.waitForJob(device.uuid, ['succeeded', 'failed']);
    // Straight into the store: no API call, so nothing wakes the workers.
    const r = await requestProvisioning(site.store, device.uuid, 'retry');
    expect(r.outcome).toBe('queued');
    const finished = await done;
    expect(finished.outcome).toBe('succeeded');
    expect(finished.job.reason).toBe('retry');
  });

  it('unprovisions a device through the API, retiring the admin passwords it no longer holds', async () => {
    const device = await site.device();
    expect((await site.provision(device)).outcome).toBe('succeeded');
    const before = await site.store.listSecrets(device.uuid);
    expect(before.filter((x) => x.kind === 'admin').map((x) => x.state)).toEqual(['current']);
    const mebxBefore = before.filter((x) => x.kind === 'mebx');
    const done = site.waitForJob(device.uuid, ['succeeded', 'failed']);
    const res = await call('POST', `/devices/${device.uuid}/unprovision`);
    expect(res.status).toBe(202);
    const finished = await done;
    expect(finished.outcome).toBe('succeeded');
    expect(device.state().provisioningState).toBe('pre');
    expect((await site.store.getDevice(device.uuid))?.status).toBe('unprovisioned');
    const job = await site.store.getJob(finished.job.id);
    expect(job?.journal.unprovision).toEqual({ from: 'post' });
    // AMT's admin password is `admin` again: no stored admin password is offered as current.
    const after = await site.store.listSecrets(device.uuid, { states: ['pending', 'current', 'retired'] });
    expect(after.filter((x) => x.kind === 'admin').map((x) => x.state)).toEqual(['retired']);
    // The MEBx password stays in the firmware, and on record.
    expect(after.filter((x) => x.kind === 'mebx')).toEqual(mebxBefore);
    const retired = await site.store.listEvents({ uuid: device.uuid, type: 'secret.retired' });
    expect(retired.map((e) => [e.jobId, e.data])).toEqual([[finished.job.id, { kind: 'admin', count: 1 }]]);
  });
});

describe('stopping', () => {
  it('cuts short a request a device is slow to answer: the job is left to resume, not failed', async () => {
    const site = await createSite();
    try {
      const device = await site.device();
      // The host-name Put (stage1.network) never answers in time.
      device.injectFault('AMT_GeneralSettings.Put', { kind: 'delay', ms: 3_600_000 });
      await site.importDevice(device);
      const finished = site.waitForJob(device.uuid, ['cancelled', 'failed', 'succeeded', 'lease-lost']);
      await device.sendHelloNow();
      for (;;) {
        const [job] = await site.store.listJobs({ uuid: device.uuid });
        if (job?.journal['stage1.clock'] !== undefined) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 100));
      // Without the cut, close() would wait for the request's own timeout (60 s) and the job
      // would be stored as failed at `stage1.network`.
      await site.service.close();
      const r = await finished;
      expect(r.outcome).toBe('cancelled');
      const job = await site.store.getJob(r.job.id);
      expect(job?.state).not.toBe('failed');
      expect(job?.lastError).toBeUndefined();
      expect((await site.store.getDevice(device.uuid))?.status).not.toBe('failed');
    } finally {
      await site.close();
    }
  });
});

describe('metrics', () => {
  /** The value of one sample line of the exposition text (labels written as the service writes them). */
  const sample = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('count what this instance screened and finished, and read the site’s devices and jobs from the store', async () => {
    const site = await createSite();
    try {
      const before = await site.service.metrics();
      expect(sample(before, 'oobkit_hellos_total{result="queued"}')).toBe(0);
      expect(sample(before, 'oobkit_devices{status="provisioned"}')).toBe(0);

      const device = await site.device();
      expect((await site.provision(device)).outcome).toBe('succeeded');
      const unknown = await site.device();
      expect(
        await site.service.handleHello({
          hello: {
            kind: 'pki',
            version: 3,
            adminCredentialsSet: false,
            retryCount: 0,
            uuid: unknown.uuid,
            hashes: [],
          },
          remoteAddress: unknown.address,
        }),
      ).toEqual({ action: 'dropped', reason: 'unknown-uuid' });

      const text = await site.service.metrics();
      expect(sample(text, 'oobkit_hellos_total{result="queued"}')).toBe(1);
      expect(sample(text, 'oobkit_hellos_total{result="unknown-uuid"}')).toBe(1);
      expect(sample(text, 'oobkit_jobs_finished_total{outcome="succeeded"}')).toBe(1);
      expect(sample(text, 'oobkit_jobs_finished_total{outcome="failed"}')).toBe(0);
      expect(sample(text, 'oobkit_job_duration_seconds_count')).toBe(1);
      const seconds = sample(text, 'oobkit_job_duration_seconds_sum') ?? 0;
      expect(seconds).toBeGreaterThan(0);
      expect(seconds).toBeLessThan(120);
      expect(sample(text, 'oobkit_devices{status="provisioned"}')).toBe(1);
      expect(sample(text, 'oobkit_jobs{state="succeeded"}')).toBe(1);
      expect(sample(text, 'oobkit_jobs{state="queued"}')).toBe(0);
      expect(sample(text, 'oobkit_workers_busy')).toBe(0);
      // No UUID or address of a device in any series.
      for (const d of [device, unknown]) {
        expect(text).not.toContain(d.uuid);
        expect(text).not.toContain(`"${d.address}"`);
      }
    } finally {
      await site.close();
    }
  });
});

describe('the event log upkeep', () => {
  const config = (retentionDays: number) =>
    resolveConfig(
      {
        dataDir: '/nonexistent-oobkit-test',
        hello: { host: '127.0.0.1', port: 0 },
        api: { token: 'test-token-0123456789' },
        events: { retentionDays },
      },
      {},
    );

  it('deletes the events older than the retention at start and says so in one event', async () => {
    const store = await openTestStore();
    try {
      await store.appendEvent(agedEvent('old', 'from last year', 365));
      await store.appendEvent(agedEvent('old', 'from 31 days ago', 31));
      await store.appendEvent(agedEvent('recent', 'from 29 days ago', 29));
      const service = await startService(config(30), {
        store,
        api: false,
        logger: createLogger({ level: 'silent' }),
      });
      try {
        const deadline = Date.now() + 10_000;
        let pruned = await store.listEvents({ type: 'events.pruned' });
        while (pruned.length === 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          pruned = await store.listEvents({ type: 'events.pruned' });
        }
        expect(pruned.map((e) => e.data)).toEqual([
          { removed: 2, before: expect.any(String), retentionDays: 30 },
        ]);
        expect(await store.listEvents({ type: 'old' })).toEqual([]);
        expect((await store.listEvents({ type: 'recent' })).map((e) => e.message)).toEqual([
          'from 29 days ago',
        ]);
      } finally {
        await service.close();
      }
    } finally {
      await store.close();
    }
  });

  it('keeps every event with a retention of 0 days', async () => {
    const store = await openTestStore();
    try {
      await store.appendEvent(agedEvent('old', 'ancient', 9_000));
      const service = await startService(config(0), {
        store,
        api: false,
        logger: createLogger({ level: 'silent' }),
      });
      // Closing waits for a prune that started; with retention 0 none may start at all.
      await service.close();
      expect((await store.listEvents({ type: 'old' })).map((e) => e.message)).toEqual(['ancient']);
      expect(await store.listEvents({ type: 'events.pruned' })).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('logs repeated dropped and malformed hellos once per window (events.helloDropWindowMs)', async () => {
    const countEvents = async (type: string) => (await store.listEvents({ type, limit: 1000 })).length;
    const store = await openTestStore();
    const start = (helloDropWindowMs: number) =>
      startService(
        resolveConfig(
          {
            dataDir: '/nonexistent-oobkit-test',
            hello: { host: '127.0.0.1', port: 0 },
            api: { token: 'test-token-0123456789' },
            events: { helloDropWindowMs },
          },
          {},
        ),
        { store, api: false, logger: createLogger({ level: 'silent' }) },
      );
    const unknown = {
      kind: 'pki' as const,
      version: 3 as const,
      adminCredentialsSet: false,
      retryCount: 0,
      uuid: '0d0d0d0d-0000-4000-8000-00000000abcd',
      hashes: [],
    };
    const garbage = (port: number) =>
      new Promise<void>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port }, () => s.end(Buffer.from('not a hello at all')));
        s.on('error', reject);
        s.on('close', () => resolve());
      });
    const waitFor = async (type: string, n: number) => {
      const deadline = Date.now() + 10_000;
      while ((await countEvents(type)) < n && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
    };
    try {
      const hourly = await start(3_600_000);
      for (let i = 0; i < 3; i++) {
        expect(
          await hourly.handleHello({ hello: { ...unknown, retryCount: i }, remoteAddress: '127.0.0.9' }),
        ).toEqual({
          action: 'dropped',
          reason: 'unknown-uuid',
        });
        await garbage(hourly.helloAddress.port);
      }
      await waitFor('hello.rejected', 1);
      await new Promise((r) => setTimeout(r, 100)); // time for wrongly logged repeats to show up
      expect(await countEvents('hello.dropped.unknown-uuid')).toBe(1);
      expect(await countEvents('hello.rejected')).toBe(1);
      await hourly.close();

      const each = await start(0);
      for (let i = 0; i < 2; i++) {
        await each.handleHello({ hello: unknown, remoteAddress: '127.0.0.9' });
        await garbage(each.helloAddress.port);
      }
      await waitFor('hello.rejected', 3);
      expect(await countEvents('hello.dropped.unknown-uuid')).toBe(3);
      expect(await countEvents('hello.rejected')).toBe(3);
      await each.close();
    } finally {
      await store.close();
    }
  });
});
