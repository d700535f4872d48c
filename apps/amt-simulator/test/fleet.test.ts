import { connect } from 'node:net';
import { digestInterceptor } from '@oobkit/http-digest';
import { WsmanClient } from '@oobkit/wsman';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { startFleet } from '../src/index.js';
import { ADMIN_PASSWORD, uri } from './helpers.js';

const COUNT = 1000;

function refused(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

describe('a fleet of 1,000 devices', () => {
  it('starts, answers a WS-Man Get on every device, and stops cleanly', { timeout: 180_000 }, async () => {
    const fleet = await startFleet({
      count: COUNT,
      personalities: ['modern', 'legacy'],
      common: { provisioned: true, adminPassword: ADMIN_PASSWORD },
    });
    const agent = new Agent({ keepAliveTimeout: 1_000 });
    try {
      expect(fleet.devices).toHaveLength(COUNT);
      expect(new Set(fleet.devices.map((d) => d.address)).size).toBe(COUNT);
      expect(new Set(fleet.devices.map((d) => d.uuid)).size).toBe(COUNT);
      expect(fleet.devices.filter((d) => d.personality === 'legacy')).toHaveLength(COUNT / 2);

      const dispatcher = agent.compose(
        digestInterceptor({ credentials: { username: 'admin', password: ADMIN_PASSWORD } }),
      );
      const realms: string[] = [];
      const queue = [...fleet.devices.entries()];
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          for (let next = queue.shift(); next; next = queue.shift()) {
            const [i, d] = next;
            const c = new WsmanClient({ dispatcher, origin: `http://${d.address}:${d.ports.http}` });
            realms[i] = String((await c.get(uri('AMT_GeneralSettings'))).DigestRealm);
          }
        }),
      );
      expect(realms).toEqual(fleet.devices.map((d) => d.realm));
      expect(process.memoryUsage().rss).toBeLessThan(1024 ** 3);
    } finally {
      await agent.close();
      await fleet.stop();
    }
    const sample = fleet.devices.filter((_, i) => i % 50 === 0);
    const closed = await Promise.all(
      sample.flatMap((d) => [refused(d.address, d.ports.http), refused(d.address, d.ports.tls)]),
    );
    expect(closed.every(Boolean)).toBe(true);
  });
});
