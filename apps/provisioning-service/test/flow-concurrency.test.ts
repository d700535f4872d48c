import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningService } from '../src/service.js';
import { createSite, type Site } from './flow-harness.js';

describe('one device, one worker', () => {
  let site: Site;
  let second: RunningService;
  beforeAll(async () => {
    site = await createSite({ workers: 4 });
    second = await site.startInstance({ instanceId: 'second', workers: 4 });
  });
  afterAll(async () => {
    await site?.close();
  });

  it('two instances given the same hellos provision the device once', async () => {
    const device = await site.device();
    await site.importDevice(device);
    const hello = {
      kind: 'pki' as const,
      version: 3 as const,
      adminCredentialsSet: false,
      retryCount: 0,
      uuid: device.uuid,
      hashes: device.helloHashes(),
    };
    const finished: string[] = [];
    const done = site.waitForJob(device.uuid, ['succeeded']);
    site.service.on('job-finished', (e) => e.job.uuid === device.uuid && finished.push('first'));
    second.on('job-finished', (e) => e.job.uuid === device.uuid && finished.push('second'));
    const outcomes = await Promise.all([
      site.service.handleHello({ hello, remoteAddress: device.address }),
      second.handleHello({ hello, remoteAddress: device.address }),
      site.service.handleHello({ hello: { ...hello, retryCount: 1 }, remoteAddress: device.address }),
      second.handleHello({ hello: { ...hello, retryCount: 1 }, remoteAddress: device.address }),
    ]);
    const jobIds = new Set(outcomes.map((o) => (o.action === 'queued' ? o.job.id : -1)));
    expect(jobIds.size).toBe(1);
    expect(outcomes.filter((o) => o.action === 'queued' && o.created)).toHaveLength(1);
    await done;
    await Promise.all([site.service.waitForIdle(), second.waitForIdle()]);
    expect(finished).toHaveLength(1);
    expect(await site.store.listJobs({ uuid: device.uuid })).toHaveLength(1);
    const started = await site.store.listEvents({ uuid: device.uuid, type: 'job.started' });
    expect(started).toHaveLength(1);
    const calls = device.events().flatMap((e) => (e.type === 'request' ? [e.name] : []));
    expect(calls.filter((n) => n.endsWith('SetAdminAclEntryEx'))).toHaveLength(1);
    expect(calls.filter((n) => n.endsWith('CommitChanges'))).toHaveLength(1);
  });

  it('a hello that arrives after the device was provisioned runs nothing again', async () => {
    const device = await site.device();
    expect((await site.provision(device)).outcome).toBe('succeeded');
    const seen = device.events().length;
    // A late hello (sent before the commit, delivered after the job): the job finds AMT in
    // post-provisioning and stops without touching it.
    const late = site.nextJob(device.uuid);
    // Its status stays `provisioned` throughout: no provisioning → provisioned flap.
    const original = site.store.upsertDevice.bind(site.store);
    const statuses: string[] = [];
    const spy = vi.spyOn(site.store, 'upsertDevice').mockImplementation((uuid, patch) => {
      if (uuid === device.uuid && patch.status !== undefined) statuses.push(patch.status);
      return original(uuid, patch);
    });
    await second.handleHello({
      hello: {
        kind: 'pki',
        version: 3,
        adminCredentialsSet: false,
        retryCount: 3,
        uuid: device.uuid,
        hashes: device.helloHashes(),
      },
      remoteAddress: device.address,
    });
    const outcome = await late;
    spy.mockRestore();
    expect(statuses).toEqual(['provisioned']);
    expect(outcome.outcome).toBe('cancelled');
    expect(await site.store.listEvents({ uuid: device.uuid, type: 'job.skipped' })).toHaveLength(1);
    expect((await site.store.getDevice(device.uuid))?.status).toBe('provisioned');
    const writes = device
      .events()
      .slice(seen)
      .filter((e) => e.type === 'request' && !/\.(Get|Enumerate|Pull)$|GetCoreVersion/.test(e.name));
    expect(writes).toEqual([]);
  });
});
