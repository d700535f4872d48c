import type { Fleet } from '@oobkit/amt-simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyDeviceLogin } from '../src/flow/verify.js';
import { createSite, type Site, startSiteFleet } from './flow-harness.js';

const COUNT = 200;
const LEGACY = ['5.2.10', '7.0.20', '8.1.40'];

describe(`a ${COUNT}-device fleet`, () => {
  let site: Site;
  let fleet: Fleet;
  beforeAll(async () => {
    site = await createSite({ workers: 32 });
    fleet = await startSiteFleet(site, COUNT, (i) => ({
      wireless: i % 4 === 1,
      firmwareVersion: i % 3 === 0 ? (LEGACY[(i / 3) % 3] as string) : i % 2 ? '16.1.25' : '11.8.50',
    }));
  });
  afterAll(async () => {
    await fleet?.stop();
    await site?.close();
  });

  it('provisions every device exactly once', async () => {
    const all = Promise.all(fleet.devices.map((d) => site.waitForJob(d.uuid, ['succeeded'])));
    await Promise.all(fleet.devices.map((d) => d.sendHelloNow()));
    await all;
    await site.service.waitForIdle();
    expect(await site.store.listDevices({ status: 'provisioned' })).toHaveLength(COUNT);
    expect(await site.store.listJobs({ state: 'failed' })).toEqual([]);
    expect(await site.store.listJobs({ limit: 1000 })).toHaveLength(COUNT);
    for (const [i, d] of fleet.devices.entries()) {
      const s = d.state();
      expect(s.provisioningState).toBe('post');
      expect(s.hostName).toBe(`pc-${i + 1}`);
      const [admin] = await site.store.listSecrets(d.uuid, { kind: 'admin', states: ['current'] });
      expect(d.verifyAdminPassword(admin!.value)).toBe(true);
    }
    // And a fresh digest login with the stored password, on a sample of each personality.
    for (const d of fleet.devices.slice(0, 6)) {
      const [admin] = await site.store.listSecrets(d.uuid, { kind: 'admin', states: ['current'] });
      expect(
        await verifyDeviceLogin({
          host: d.address,
          port: d.ports.tls,
          username: 'admin',
          password: admin!.value,
          profile: d.personality,
        }),
      ).toBe(true);
    }
  }, 180_000);
});
