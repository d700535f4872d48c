import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedCrash } from '../src/flow/errors.js';
import type { FlowCheckpoint } from '../src/flow/run.js';
import { verifyDeviceLogin } from '../src/flow/verify.js';
import { createSite, expectNoSecretLeak, FLOW_STEPS, type Site } from './flow-harness.js';

// Every step crashes once after its effect on the device and before its journal entry — the
// window where a resumed job must not lose track of the device — plus the moments a new secret
// is stored (pending) before it goes to the device.
const POINTS: Array<Pick<FlowCheckpoint, 'step' | 'phase'>> = [
  ...FLOW_STEPS.map((step) => ({ step, phase: 'effect' as const })),
  { step: 'stage1.admin-password', phase: 'pending-stored' },
  { step: 'stage1.mebx-password', phase: 'pending-stored' },
  { step: 'stage1.commit', phase: 'before' },
  { step: 'report', phase: 'done' },
];

describe('a crash at every step, then the job resumes', () => {
  let site: Site;
  const plan = new Map<string, string>();
  const crashed = new Set<string>();

  beforeAll(async () => {
    // Each device's job crashes once, in whichever instance runs it first.
    const checkpoint = (p: FlowCheckpoint) => {
      const point = `${p.step}:${p.phase}`;
      if (plan.get(p.uuid) === point && !crashed.has(p.uuid)) {
        crashed.add(p.uuid);
        throw new SimulatedCrash(point);
      }
    };
    site = await createSite({ leaseMs: 1000, pollMs: 50, checkpoint });
    // A second instance on the same store: either may run or resume a job.
    await site.startInstance({ instanceId: 'second' });
  });
  afterAll(async () => {
    await site?.close();
  });

  it('ends provisioned every time, with the stored password opening the device', async () => {
    const devices = await Promise.all(
      POINTS.map(async (p, i) => {
        const d = await site.device({
          personality: i % 4 === 3 ? 'legacy' : 'modern',
          wireless: i % 2 === 0,
        });
        plan.set(d.uuid, `${p.step}:${p.phase}`);
        await site.importDevice(d);
        return d;
      }),
    );
    const results = await Promise.all(
      devices.map(async (d) => {
        const crash = site.waitForJob(d.uuid, ['crashed']);
        const success = site.waitForJob(d.uuid, ['succeeded']);
        await d.sendHelloNow();
        await crash;
        return { device: d, done: await success };
      }),
    );
    for (const { device, done } of results) {
      const point = plan.get(device.uuid);
      expect(crashed.has(device.uuid), point).toBe(true);
      const job = await site.store.getJob(done.job.id);
      expect(job?.attempts, point).toBeGreaterThanOrEqual(2);
      expect(job?.state, point).toBe('succeeded');
      const resumed = await site.store.listEvents({ jobId: done.job.id, type: 'job.resumed' });
      expect(resumed.length, point).toBeGreaterThanOrEqual(1);
      // One job per device, whatever happened.
      expect(await site.store.listJobs({ uuid: device.uuid }), point).toHaveLength(1);
      const s = device.state();
      expect(s.provisioningState, point).toBe('post');
      expect(s.hostName, point).toMatch(/^pc-\d+$/);
      expect(s.tls.remote.enabled, point).toBe(true);
      expect(s.userAcls.length, point).toBe(2);
      expect(await site.store.listSecrets(device.uuid, { states: ['pending'] }), point).toEqual([]);
      const [admin] = await site.store.listSecrets(device.uuid, { kind: 'admin', states: ['current'] });
      expect(device.verifyAdminPassword(admin!.value), point).toBe(true);
      expect(device.verifyMebxPassword(site.settings.mebxPassword), point).toBe(true);
      expect(
        await verifyDeviceLogin({
          host: device.address,
          port: device.ports.tls,
          username: 'admin',
          password: admin!.value,
          profile: device.personality,
        }),
        point,
      ).toBe(true);
      expect((await site.store.getDevice(device.uuid))?.status, point).toBe('provisioned');
    }
    await expectNoSecretLeak(site);
  });
});
