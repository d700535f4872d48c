import { randomBytes } from 'node:crypto';
import {
  createHelloListener,
  createVirtualClock,
  HELLO_RETRY_OFFSETS_MS,
  type Hello,
  type HelloListener,
  type VirtualClock,
} from '@oobkit/hello';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatorError } from '../src/index.js';
import { ADMIN_PASSWORD, device, setupDevice, uri, wsman } from './helpers.js';

let listener: HelloListener;
let target: { host: string; port: number };
let received: Hello[];
let waiters: Array<() => void>;
let clock: VirtualClock;

beforeEach(async () => {
  listener = createHelloListener({ host: '127.0.0.1', port: 0, rateLimit: false });
  received = [];
  waiters = [];
  listener.on('hello', (e) => {
    received.push(e.hello);
    for (const w of waiters.splice(0)) w();
  });
  const a = await listener.listen();
  target = { host: '127.0.0.1', port: a.port };
  clock = createVirtualClock(Date.parse('2026-01-01T00:00:00Z'));
});

afterEach(async () => {
  await listener.close({ drainTimeoutMs: 100 });
});

/** Waits until `n` hellos have arrived in total. */
async function helloCount(n: number): Promise<Hello[]> {
  while (received.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
  return received;
}

describe('hellos', () => {
  it('follow the documented schedule under the virtual clock, with the retry count, then stop', async () => {
    const { device: d, pki } = await setupDevice({ hello: { ...target, clock } });
    let now = 0;
    for (const [i, offset] of HELLO_RETRY_OFFSETS_MS.entries()) {
      if (offset > now) {
        await clock.advance(offset - now - 1);
        expect(received).toHaveLength(i);
        expect(clock.pending()).toBe(1);
        await clock.advance(1);
        now = offset;
      } else {
        await clock.advance(0);
      }
      const all = await helloCount(i + 1);
      expect(all[i]).toMatchObject({ kind: 'pki', version: 3, retryCount: i, uuid: d.uuid });
    }
    expect(HELLO_RETRY_OFFSETS_MS).toHaveLength(39);
    expect(clock.pending()).toBe(0);
    const first = received[0];
    expect(first?.kind === 'pki' && first.hashes.map((h) => h.algorithm)).toEqual([
      ...Array(20).fill('sha256'),
      'sha256',
    ]);
    expect(
      first?.kind === 'pki' && Buffer.from(first.hashes[20]?.hash ?? []).equals(pki.rootHashes.sha256),
    ).toBe(true);
    expect(first?.adminCredentialsSet).toBe(false);
    expect(d.state().hellos.running).toBe(false);
  });

  it('stop once the device is provisioned', async () => {
    const { device: d, pki } = await setupDevice({
      hello: { ...target, clock },
      adminPassword: ADMIN_PASSWORD,
    });
    await clock.advance(0);
    await helloCount(1);
    const c = wsman(d, { password: ADMIN_PASSWORD, tls: pki.chain });
    await c.invoke(uri('AMT_SetupAndConfigurationService'), 'CommitChanges');
    expect(d.state().hellos.running).toBe(false);
    expect(clock.pending()).toBe(0);
    await clock.advance(24 * 3_600_000);
    expect(received).toHaveLength(1);
  });

  it('restart after a partial unprovision for 6 hours only', async () => {
    const d = await device({ provisioned: true, adminPassword: ADMIN_PASSWORD, hello: { ...target, clock } });
    expect(clock.pending()).toBe(0);
    d.unprovision('partial');
    await clock.advance(24 * 3_600_000);
    const expected = HELLO_RETRY_OFFSETS_MS.filter((o) => o < 6 * 3_600_000).length;
    const all = await helloCount(expected);
    expect(all.map((h) => h.retryCount)).toEqual(Array.from({ length: expected }, (_, i) => i));
    expect(all[0]?.adminCredentialsSet).toBe(true);
    expect(clock.pending()).toBe(0);
  });

  it('legacy: SHA-1 hashes, or a PSK hello with the PID; PSK is refused on AMT 11+', async () => {
    const legacy = await setupDevice({ personality: 'legacy', hello: { ...target, autoStart: false } });
    await legacy.device.sendHelloNow();
    const [h] = await helloCount(1);
    expect(h?.kind === 'pki' && new Set(h.hashes.map((x) => x.algorithm))).toEqual(new Set(['sha1']));

    const psk = await device({ personality: 'legacy', hello: { ...target, kind: 'psk', autoStart: false } });
    await psk.sendHelloNow();
    const all = await helloCount(2);
    expect(all[1]).toMatchObject({ kind: 'psk', version: 2, uuid: psk.uuid, pid: psk.state().pid });
    expect(psk.state().pid).toMatch(/^[A-Z0-9]{8}$/);

    await expect(device({ hello: { ...target, kind: 'psk' } })).rejects.toMatchObject({
      code: 'SIM_HELLO_UNSUPPORTED',
    });
    await expect(device({ hello: { ...target, kind: 'psk' } })).rejects.toBeInstanceOf(SimulatorError);
  });

  it('carry at most 23 hashes: 20 built-in and 3 custom', async () => {
    const custom = [1, 2, 3].map(() => ({
      algorithm: 'sha384' as const,
      hash: new Uint8Array(randomBytes(48)),
    }));
    const d = await device({ customTrustedHashes: custom, hello: { ...target, autoStart: false } });
    expect(d.helloHashes()).toHaveLength(23);
    await d.sendHelloNow();
    const [h] = await helloCount(1);
    expect(h?.kind === 'pki' && h.hashes.slice(20).map((x) => Buffer.from(x.hash).toString('hex'))).toEqual(
      custom.map((c) => Buffer.from(c.hash).toString('hex')),
    );
    await expect(device({ customTrustedHashes: [...custom, ...custom] })).rejects.toMatchObject({
      code: 'SIM_INVALID_OPTION',
    });
  });

  it('a dropped hello is skipped; the next one carries the next retry count', async () => {
    const d = await device({ hello: { ...target, clock }, faults: { hello: { kind: 'drop' } } });
    await clock.advance(60_000);
    const [h] = await helloCount(1);
    expect(h?.retryCount).toBe(1);
    expect(d.events().filter((e) => e.type === 'fault')).toMatchObject([{ step: 'hello', fault: 'drop' }]);
  });
});
