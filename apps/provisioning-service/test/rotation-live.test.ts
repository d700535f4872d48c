/**
 * A key rotation while a fleet is being provisioned: each rotation runs right after a job stored
 * a new password (sealed under the old key) and before it writes that password to the device.
 * Every device must still end provisioned with a stored password that opens it, readable with
 * the final key alone: no secret lost across rotations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fleet } from '@oobkit/amt-simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowCheckpoint } from '../src/flow/run.js';
import { rotateSecretKey } from '../src/maintenance.js';
import { fileKeyProvider, staticKeyProvider } from '../src/secrets/index.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { createSite, type Site, startSiteFleet } from './flow-harness.js';

const COUNT = 12;

describe('rotating the secret key while devices are provisioned', () => {
  let dir: string;
  let site: Site;
  let fleet: Fleet;
  const db = () => join(dir, 'oobkit.db');
  const keyFile = () => join(dir, 'secret.key');
  // Rotations run one after another (as one operator would), each inside a job's checkpoint.
  let rotations = 0;
  let chain: Promise<unknown> = Promise.resolve();
  const rotateInside = async (p: FlowCheckpoint): Promise<void> => {
    if (p.phase !== 'pending-stored') return;
    const run = chain.then(async () => {
      await rotateSecretKey({ databasePath: db(), keyFile: keyFile() });
      rotations++;
    });
    chain = run.catch(() => undefined);
    await run;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oobkit-rotation-live-'));
    const store = await openSqliteStore({ path: db(), keyProvider: fileKeyProvider(keyFile()) });
    site = await createSite({ store, workers: 6, checkpoint: rotateInside });
    fleet = await startSiteFleet(site, COUNT);
  });

  afterAll(async () => {
    await fleet?.stop();
    await site?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every device ends provisioned, and its stored passwords open it under the final key', async () => {
    const all = Promise.all(fleet.devices.map((d) => site.waitForJob(d.uuid, ['succeeded', 'failed'])));
    await Promise.all(fleet.devices.map((d) => d.sendHelloNow()));
    const finished = await all;
    await site.service.waitForIdle();
    expect(finished.map((f) => f.outcome)).toEqual(Array(COUNT).fill('succeeded'));
    // Every admin password (and every MEBx one, set on factory-fresh devices) was a rotation point.
    expect(rotations).toBeGreaterThanOrEqual(COUNT);

    const finalKey = fileKeyProvider(keyFile());
    const keys = (await finalKey.getKeys?.({ reload: true })) ?? [];
    expect(keys).toHaveLength(1);
    const fresh = await openSqliteStore({ path: db(), keyProvider: staticKeyProvider(keys[0] as Buffer) });
    try {
      for (const d of fleet.devices) {
        expect(d.state().provisioningState).toBe('post');
        const [admin] = await fresh.listSecrets(d.uuid, { kind: 'admin', states: ['current'] });
        expect(d.verifyAdminPassword(admin?.value ?? '')).toBe(true);
        expect(await fresh.listSecrets(d.uuid, { kind: 'mebx', states: ['current'] })).toHaveLength(1);
      }
      expect((await fresh.listEvents({ type: 'secret-key.rotated', limit: 1000 })).length).toBe(rotations);
    } finally {
      await fresh.close();
    }
  }, 120_000);
});
