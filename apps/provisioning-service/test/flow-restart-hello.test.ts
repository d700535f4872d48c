/**
 * A job taken by an instance that did not see the device's hello (another instance, or this one
 * after a restart), with the event log pruned: the chain is chosen from the hello kept on the
 * device record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { type ChooseChain, chooseProvisioningChain } from '../src/flow/chain.js';
import type { AcceptedHello } from '../src/intake/intake.js';
import { requestProvisioning } from '../src/jobs.js';
import { createLogger } from '../src/log.js';
import { type RunningService, startService } from '../src/service.js';
import { createSite, type Site } from './flow-harness.js';

describe('the hello a job needs, after a restart', () => {
  let site: Site;
  let second: RunningService | undefined;
  beforeAll(async () => {
    site = await createSite();
  });
  afterAll(async () => {
    await second?.close();
    await site?.close();
  });

  it('comes from the device record when no instance holds it and its event is gone', async () => {
    const device = await site.device();
    expect((await site.provision(device)).outcome).toBe('succeeded');
    const kept = (await site.store.getDevice(device.uuid))?.lastHello;
    const [chain] = await site.store.listProvisioningCertificates();
    expect(kept).toMatchObject({
      algorithms: ['sha256'],
      matches: [
        { certificateId: chain?.id, algorithm: 'sha256', hash: site.pki.rootHashes.sha256.toString('hex') },
      ],
    });

    // The instance that saw the hello stops; the event log loses everything.
    await site.service.close();
    await site.store.pruneEvents(new Date(Date.now() + 60_000).toISOString());
    expect(await site.store.listEvents({ uuid: device.uuid })).toEqual([]);

    const seen: Array<AcceptedHello | undefined> = [];
    const chooseChain: ChooseChain = (store, hello, preferred) => {
      seen.push(hello);
      return chooseProvisioningChain(store, hello, preferred);
    };
    second = await startService(
      resolveConfig(
        {
          dataDir: '/nonexistent-oobkit-test',
          hello: { host: '127.0.0.1', port: 0 },
          api: { token: 'test-token-0123456789' },
          instanceId: 'restarted',
          events: { retentionDays: 0 },
        },
        {},
      ),
      { store: site.store, api: false, chooseChain, pollMs: 20, logger: createLogger({ level: 'silent' }) },
    );
    const done = new Promise<string>((resolve) =>
      second?.on('job-finished', (e) => {
        if (e.job.uuid === device.uuid) resolve(e.outcome);
      }),
    );
    expect((await requestProvisioning(site.store, device.uuid, 'retry')).outcome).toBe('queued');
    expect(await done).toBe('succeeded');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual({ uuid: device.uuid, address: device.address, ...kept });
  });
});
