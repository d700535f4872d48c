import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestProvisioning } from '../src/jobs.js';
import type { RunningService } from '../src/service.js';
import { createSite, type Site } from './flow-harness.js';

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

  it('unprovisions a device through the API', async () => {
    const device = await site.device();
    expect((await site.provision(device)).outcome).toBe('succeeded');
    const done = site.waitForJob(device.uuid, ['succeeded', 'failed']);
    const res = await call('POST', `/devices/${device.uuid}/unprovision`);
    expect(res.status).toBe(202);
    const finished = await done;
    expect(finished.outcome).toBe('succeeded');
    expect(device.state().provisioningState).toBe('pre');
    expect((await site.store.getDevice(device.uuid))?.status).toBe('unprovisioned');
    const job = await site.store.getJob(finished.job.id);
    expect(job?.journal.unprovision).toEqual({ from: 'post' });
  });
});
