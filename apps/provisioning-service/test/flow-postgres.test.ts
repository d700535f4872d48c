/**
 * Scale-out on PostgreSQL: two service instances, each with its own store (its own connection
 * pool) on one database, both given every hello of a fleet. Each device is provisioned exactly
 * once, by one of them, and the password stored for it opens it. Skipped without PostgreSQL's
 * binaries, except under `CI=true`, where that is a failure.
 */

import { expect, it } from 'vitest';
import { runDemo } from '../src/demo.js';
import { staticKeyProvider } from '../src/secrets/index.js';
import { openPostgresStore } from '../src/store/postgres.js';
import type { SiteStore } from '../src/store/types.js';
import { createSite } from './flow-harness.js';
import { describeWithPostgres } from './postgres-suite.js';

const FLEET = 24;
await describeWithPostgres('two instances on one PostgreSQL database', (server) => {
  it(`provision a ${FLEET}-device fleet, each device once, both doing work`, async () => {
    const url = server.url(await server.createDatabase());
    const key = Buffer.alloc(32, 7);
    const open = () => openPostgresStore({ connectionString: url, keyProvider: staticKeyProvider(key) });
    const stores: SiteStore[] = [];
    const storeA = await open();
    const storeB = await open();
    stores.push(storeB);
    const site = await createSite({ store: storeA, workers: 4 });
    try {
      const second = await site.startInstance({ instanceId: 'pg-second', store: storeB, workers: 4 });
      const ranBy = new Map<string, string[]>();
      const note = (who: string) => (e: { job: { uuid: string }; outcome: string }) => {
        if (e.outcome === 'succeeded') ranBy.set(e.job.uuid, [...(ranBy.get(e.job.uuid) ?? []), who]);
      };
      site.service.on('job-finished', note('first'));
      second.on('job-finished', note('second'));

      const devices = await Promise.all(
        Array.from({ length: FLEET }, (_, i) => site.device(i % 3 === 0 ? { personality: 'legacy' } : {})),
      );
      for (const d of devices) await site.importDevice(d);
      const done = devices.map((d) => site.waitForJob(d.uuid, ['succeeded', 'failed']));
      await Promise.all(
        devices.flatMap((d) => {
          const hello = {
            kind: 'pki' as const,
            version: 3 as const,
            adminCredentialsSet: false,
            retryCount: 0,
            uuid: d.uuid,
            hashes: d.helloHashes(),
          };
          return [
            site.service.handleHello({ hello, remoteAddress: d.address }),
            second.handleHello({ hello, remoteAddress: d.address }),
          ];
        }),
      );
      const finished = await Promise.all(done);
      expect(finished.map((f) => f.outcome)).toEqual(devices.map(() => 'succeeded'));
      await Promise.all([site.service.waitForIdle(), second.waitForIdle()]);

      for (const d of devices) {
        expect(ranBy.get(d.uuid)).toHaveLength(1);
        expect(await storeA.listJobs({ uuid: d.uuid })).toHaveLength(1);
        expect(await storeB.listEvents({ uuid: d.uuid, type: 'job.started' })).toHaveLength(1);
        const calls = d.events().flatMap((e) => (e.type === 'request' ? [e.name] : []));
        expect(calls.filter((n) => n.endsWith('CommitChanges'))).toHaveLength(1);
        const [admin] = await storeB.listSecrets(d.uuid, { kind: 'admin', states: ['current'] });
        expect(d.verifyAdminPassword(admin?.value ?? '')).toBe(true);
        expect((await storeA.getDevice(d.uuid))?.status).toBe('provisioned');
      }
      const byInstance = [...ranBy.values()].flat();
      expect(byInstance.filter((w) => w === 'first').length).toBeGreaterThan(0);
      expect(byInstance.filter((w) => w === 'second').length).toBeGreaterThan(0);
      expect((await storeA.countByState()).devices.provisioned).toBe(FLEET);
    } finally {
      await site.close();
      for (const s of stores) await s.close();
    }
  }, 120_000);

  it('oobkit demo --instances 2 --database-url: a mixed fleet provisioned by two instances, and a used database refused', async () => {
    const url = server.url(await server.createDatabase());
    const lines: string[] = [];
    const summary = await runDemo({
      devices: 12,
      instances: 2,
      databaseUrl: url,
      json: true,
      out: (l) => lines.push(l),
    });
    expect(summary).toMatchObject({ total: 12, provisioned: 12, verified: 12, ok: true, store: url });
    expect(summary.byInstance['demo-1']).toBeGreaterThan(0);
    expect(summary.byInstance['demo-2']).toBeGreaterThan(0);
    expect((summary.byInstance['demo-1'] ?? 0) + (summary.byInstance['demo-2'] ?? 0)).toBe(12);
    // A second run on the same (now used) database refuses to mix its fleet in.
    await expect(
      runDemo({ devices: 2, databaseUrl: url, json: true, out: () => undefined }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      setting: 'databaseUrl',
    });
  }, 150_000);
});
