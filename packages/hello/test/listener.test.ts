import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createHelloListener,
  createVirtualClock,
  decodeHello,
  encodeHello,
  type HelloAcceptedEvent,
  type HelloDroppedEvent,
  HelloError,
  type HelloListenerEvent,
  type HelloRejectedEvent,
  sendHello,
} from '../src/index.js';
import { closeAll, outcomes, pkiHello, rawConnect, startListener, turn, write } from './helpers.js';

afterEach(closeAll);

describe('hello listener: framing', () => {
  it('decodes a hello that arrives in 1-byte segments', async () => {
    const { listener, port } = await startListener();
    const wire = encodeHello(pkiHello(1));
    const next = outcomes(listener, 1);
    const socket = await rawConnect(port);
    socket.setNoDelay(true);
    for (const byte of wire) {
      await write(socket, Uint8Array.of(byte));
      await turn();
    }
    socket.end();
    const [ev] = (await next) as HelloAcceptedEvent[];
    expect(ev?.type).toBe('hello');
    expect(ev?.hello).toEqual(pkiHello(1));
    expect(ev?.byteLength).toBe(807);
    expect(ev?.endedBy).toBe('close');
    expect(ev?.remoteAddress).toBe('127.0.0.1');
    expect(ev?.receivedAt).toBeInstanceOf(Date);
  });

  it('reports a malformed hello with its code, offset and bytes, and keeps serving', async () => {
    const { listener, port } = await startListener();
    const bad = encodeHello(pkiHello(2));
    bad.writeUInt16LE(4, 2); // interface version 4
    const next = outcomes(listener, 2);
    await sendHello({ host: '127.0.0.1', port }, bad);
    await sendHello({ host: '127.0.0.1', port }, pkiHello(3));
    const [rejected, accepted] = await next;
    expect(rejected?.type).toBe('rejected');
    const r = rejected as HelloRejectedEvent;
    expect(r.error).toBeInstanceOf(HelloError);
    expect([r.error.code, r.error.offset, r.endedBy]).toEqual(['HELLO_UNKNOWN_VERSION', 2, 'close']);
    expect(r.bytes.equals(bad)).toBe(true);
    expect((accepted as HelloAcceptedEvent).hello.uuid).toBe(pkiHello(3).uuid);
    const stats = listener.stats();
    expect(stats.accepted).toBe(1);
    expect(stats.rejected).toBe(1);
    expect(stats.rejectedByCode.HELLO_UNKNOWN_VERSION).toBe(1);
    expect(stats.rejectedByCode.HELLO_TRUNCATED).toBe(0);
  });

  it("with trailingBytes 'ignore', accepts a hello followed by junk", async () => {
    const { listener, port } = await startListener({ trailingBytes: 'ignore' });
    const next = outcomes(listener, 1);
    await sendHello(
      { host: '127.0.0.1', port },
      Buffer.concat([encodeHello(pkiHello(4)), Buffer.from('junk')]),
    );
    expect((await next)[0]?.type).toBe('hello');
  });

  it('agrees with decodeHello on random byte streams, whatever the segmentation', async () => {
    const { listener, port } = await startListener({ rateLimit: false });
    const valid = encodeHello(pkiHello(5));
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.constant(valid),
      fc.tuple(fc.nat(806), fc.integer({ min: 0, max: 255 })).map(([at, v]) => {
        const copy = Buffer.from(valid);
        copy[at] = v;
        return copy;
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        payload,
        fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 5 }),
        async (bytes, cuts) => {
          const next = outcomes(listener, 1);
          const socket = await rawConnect(port);
          let at = 0;
          for (const cut of cuts) {
            if (at >= bytes.length) break;
            await write(socket, bytes.subarray(at, at + cut));
            at += cut;
          }
          socket.end(bytes.subarray(at));
          const [ev] = await next;
          let expected: string;
          try {
            decodeHello(bytes);
            expected = 'hello';
          } catch (e) {
            expected = (e as HelloError).code;
          }
          if (bytes.length === 0) expect(ev).toMatchObject({ type: 'dropped', reason: 'empty' });
          else if (expected === 'hello') expect(ev?.type).toBe('hello');
          else expect((ev as HelloRejectedEvent).error.code).toBe(expected);
        },
      ),
      { numRuns: 40 },
    );
    expect(listener.stats().open).toBe(0);
  });
});

describe('hello listener: slow, silent and hostile peers', () => {
  it('a slow peer holds its own connection only: others are served meanwhile', async () => {
    const { listener, port } = await startListener();
    const slowWire = encodeHello(pkiHello(10));
    const next = outcomes(listener, 2);
    const slow = await rawConnect(port);
    await write(slow, slowWire.subarray(0, 400));
    await sendHello({ host: '127.0.0.1', port }, pkiHello(11));
    await write(slow, slowWire.subarray(400, 600));
    slow.end(slowWire.subarray(600));
    const evs = (await next) as HelloAcceptedEvent[];
    expect(evs.map((e) => e.hello.uuid)).toEqual([pkiHello(11).uuid, pkiHello(10).uuid]);
  });

  it('a peer that connects and sends nothing is cut at the idle cap', async () => {
    const clock = createVirtualClock(Date.now());
    const { listener, port } = await startListener({ clock, idleTimeoutMs: 5000 });
    const connected = once(listener, 'connection');
    const socket = await rawConnect(port);
    await connected;
    const next = outcomes(listener, 1);
    await clock.advance(4999);
    expect(listener.stats().open).toBe(1);
    await clock.advance(1);
    const [ev] = (await next) as HelloDroppedEvent[];
    expect(ev).toMatchObject({ type: 'dropped', reason: 'idle-timeout', remoteAddress: '127.0.0.1' });
    await once(socket, 'close');
    expect(listener.stats().droppedByLimit).toBe(1);
    const after = outcomes(listener, 1);
    await sendHello({ host: '127.0.0.1', port }, pkiHello(12));
    expect((await after)[0]?.type).toBe('hello');
  });

  it('a peer that connects and closes without sending is dropped as empty', async () => {
    const { listener, port } = await startListener();
    const next = outcomes(listener, 1);
    const socket = await rawConnect(port);
    socket.end();
    const [ev] = await next;
    expect(ev).toMatchObject({ type: 'dropped', reason: 'empty' });
    expect(listener.stats()).toMatchObject({ accepted: 0, rejected: 0, dropped: 1, droppedByLimit: 0 });
  });

  it('oversized floods are cut at 16 KiB while a real hello gets through', async () => {
    const { listener, port } = await startListener();
    const flood = Buffer.alloc(1024 * 1024, 0x41);
    const next = outcomes(listener, 6);
    const flooders = await Promise.all(Array.from({ length: 5 }, () => rawConnect(port)));
    for (const f of flooders) f.end(flood);
    await sendHello({ host: '127.0.0.1', port }, pkiHello(20));
    const evs = await next;
    const rejected = evs.filter((e): e is HelloRejectedEvent => e.type === 'rejected');
    expect(rejected).toHaveLength(5);
    for (const r of rejected) {
      expect([r.error.code, r.error.offset, r.endedBy]).toEqual(['HELLO_TOO_LARGE', 16384, 'size']);
      expect(r.bytes.length).toBeLessThanOrEqual(16384);
    }
    expect(evs.filter((e) => e.type === 'hello')).toHaveLength(1);
    await Promise.all(flooders.map((f) => (f.closed ? undefined : once(f, 'close'))));
    expect(listener.stats()).toMatchObject({ open: 0, accepted: 1, rejected: 5 });
  });

  it('limits the rate per source address, refilling on the listener clock', async () => {
    const clock = createVirtualClock(Date.now());
    const { listener, port } = await startListener({ clock, rateLimit: { burst: 3, perSecond: 1 } });
    const send = (from: string, n: number) =>
      sendHello({ host: '127.0.0.1', port, localAddress: from }, pkiHello(n)).catch(() => 'cut');
    let next = outcomes(listener, 5);
    await Promise.all([1, 2, 3, 4, 5].map((n) => send('127.0.0.9', n)));
    const evs = await next;
    expect(evs.filter((e) => e.type === 'hello')).toHaveLength(3);
    const dropped = evs.filter((e): e is HelloDroppedEvent => e.type === 'dropped');
    expect(dropped.map((d) => [d.reason, d.remoteAddress])).toEqual([
      ['rate-limit', '127.0.0.9'],
      ['rate-limit', '127.0.0.9'],
    ]);
    next = outcomes(listener, 1);
    await send('127.0.0.10', 6); // another address has its own bucket
    expect((await next)[0]?.type).toBe('hello');
    next = outcomes(listener, 1);
    await send('127.0.0.9', 7);
    expect((await next)[0]).toMatchObject({ type: 'dropped', reason: 'rate-limit' });
    await clock.advance(1000);
    next = outcomes(listener, 1);
    await send('127.0.0.9', 8);
    expect((await next)[0]).toMatchObject({ type: 'hello', remoteAddress: '127.0.0.9' });
    expect(listener.stats()).toMatchObject({ accepted: 5, droppedByLimit: 3 });
    expect(listener.stats().droppedByReason['rate-limit']).toBe(3);
  });

  it('limits concurrent connections and frees the slot when a connection ends', async () => {
    const { listener, port } = await startListener({ maxConnections: 2 });
    const admitted = new Promise<void>((resolve) => {
      let n = 0;
      listener.on('connection', () => {
        if (++n === 2) resolve();
      });
    });
    const a = await rawConnect(port);
    const b = await rawConnect(port);
    await admitted;
    let next = outcomes(listener, 1);
    await rawConnect(port);
    expect((await next)[0]).toMatchObject({ type: 'dropped', reason: 'max-connections' });
    next = outcomes(listener, 2);
    a.end(encodeHello(pkiHello(30)));
    b.end(encodeHello(pkiHello(31)));
    expect((await next).map((e) => e.type)).toEqual(['hello', 'hello']);
    next = outcomes(listener, 1);
    await sendHello({ host: '127.0.0.1', port }, pkiHello(32));
    expect((await next)[0]?.type).toBe('hello');
    expect(listener.stats()).toMatchObject({ accepted: 3, droppedByLimit: 1, peakOpen: 2, connections: 4 });
  });

  it('1,000 concurrent senders, each from its own loopback address, are all read', async () => {
    const n = 1000;
    // Both ends of every connection live in this process: 2,000 descriptors plus the runner's own.
    const limits = existsSync('/proc/self/limits') ? readFileSync('/proc/self/limits', 'utf8') : '';
    const openFiles = Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? Number.POSITIVE_INFINITY);
    expect(openFiles, 'raise `ulimit -n` to at least 4096 for this test').toBeGreaterThanOrEqual(2 * n + 200);
    const { listener, port } = await startListener({ maxConnections: 2000, backlog: 2048 });
    const from = (i: number) => `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const accepted = new Map<string, string>();
    const all = new Promise<void>((resolve) => {
      listener.on('hello', (ev) => {
        accepted.set(ev.hello.uuid, ev.remoteAddress);
        if (accepted.size === n) resolve();
      });
    });
    const sends = await Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        sendHello({ host: '127.0.0.1', port, localAddress: from(i), timeoutMs: 30_000 }, pkiHello(i, i)),
      ),
    );
    expect(sends.filter((s) => s.status === 'rejected')).toEqual([]);
    await all;
    for (let i = 0; i < n; i++) expect(accepted.get(pkiHello(i).uuid)).toBe(from(i));
    expect(listener.stats()).toMatchObject({ accepted: n, rejected: 0, dropped: 0, open: 0 });
  }, 60_000);
});

describe('hello listener: lifecycle', () => {
  it('iterates accepted and rejected hellos; close() drains open connections and ends iteration', async () => {
    const { listener, port } = await startListener();
    const seen = (async () => {
      const out: HelloListenerEvent[] = [];
      for await (const ev of listener) out.push(ev);
      return out;
    })();
    await sendHello({ host: '127.0.0.1', port }, pkiHello(40));
    await sendHello({ host: '127.0.0.1', port }, Buffer.from([1, 0, 3]));
    const connected = once(listener, 'connection');
    const partial = await rawConnect(port);
    const wire = encodeHello(pkiHello(41));
    await write(partial, wire.subarray(0, 100));
    await connected;
    const closing = listener.close();
    await expect(sendHello({ host: '127.0.0.1', port }, pkiHello(42))).rejects.toMatchObject({
      code: 'HELLO_SEND_FAILED',
    });
    partial.end(wire.subarray(100));
    await closing;
    const events = await seen;
    expect(events.map((e) => (e.type === 'hello' ? e.hello.uuid : e.error.code))).toEqual([
      pkiHello(40).uuid,
      'HELLO_TRUNCATED',
      pkiHello(41).uuid,
    ]);
    expect(listener.stats().open).toBe(0);
    expect(listener.address()).toBeUndefined();
    // Iterating a closed listener ends at once; close() again is the same promise.
    for await (const _ of listener) expect.unreachable();
    await listener.close();
  });

  it('close() ends connections still open after the drain timeout', async () => {
    const clock = createVirtualClock(Date.now());
    const { listener, port } = await startListener({ clock, drainTimeoutMs: 1000, idleTimeoutMs: 60_000 });
    const connected = once(listener, 'connection');
    await rawConnect(port);
    await connected;
    const next = outcomes(listener, 1);
    let closed = false;
    const closing = listener.close().then(() => {
      closed = true;
    });
    await turn();
    expect(closed).toBe(false);
    await clock.advance(1000);
    expect((await next)[0]).toMatchObject({ type: 'dropped', reason: 'closing' });
    await closing;
    expect(listener.stats().droppedByReason.closing).toBe(1);
  });

  it('a consumer that breaks out of iteration stops receiving; others continue', async () => {
    const { listener, port } = await startListener();
    const first = (async () => {
      for await (const ev of listener) return ev;
    })();
    const second = listener[Symbol.asyncIterator]();
    await sendHello({ host: '127.0.0.1', port }, pkiHello(50));
    await sendHello({ host: '127.0.0.1', port }, pkiHello(51));
    expect(((await first) as HelloAcceptedEvent).hello.uuid).toBe(pkiHello(50).uuid);
    const a = await second.next();
    const b = await second.next();
    expect([a.value, b.value].map((e) => (e as HelloAcceptedEvent).hello.uuid)).toEqual([
      pkiHello(50).uuid,
      pkiHello(51).uuid,
    ]);
  });

  it('a slow iterator keeps the newest events and counts what it discarded', async () => {
    const { listener, port } = await startListener({ iteratorBufferSize: 2 });
    const it = listener[Symbol.asyncIterator]();
    const next = outcomes(listener, 3);
    for (const n of [60, 61, 62]) await sendHello({ host: '127.0.0.1', port }, pkiHello(n));
    await next;
    const got = [await it.next(), await it.next()].map((r) => (r.value as HelloAcceptedEvent).hello.uuid);
    expect(got).toEqual([pkiHello(61).uuid, pkiHello(62).uuid]);
    expect(listener.stats().iteratorOverflow).toBe(1);
  });

  it('reports IPv4 peers of a dual-stack listener as plain IPv4', async () => {
    const listener = createHelloListener({ port: 0 });
    try {
      const { port } = await listener.listen();
      const next = outcomes(listener, 1);
      await sendHello({ host: '127.0.0.1', port, localAddress: '127.0.0.5' }, pkiHello(70));
      expect((await next)[0]?.remoteAddress).toBe('127.0.0.5');
    } finally {
      await listener.close();
    }
  });

  it('fails to listen with HELLO_LISTEN_FAILED and the OS error as cause', async () => {
    const { listener, port } = await startListener();
    const other = createHelloListener({ host: '127.0.0.1', port });
    await expect(other.listen()).rejects.toMatchObject({
      code: 'HELLO_LISTEN_FAILED',
      cause: expect.objectContaining({ code: 'EADDRINUSE' }),
    });
    await expect(listener.listen()).rejects.toMatchObject({ code: 'HELLO_LISTEN_FAILED' });
    await other.close();
  });

  it('rejects bad options up front', () => {
    for (const options of [
      { maxBytes: 0 },
      { port: 70_000 },
      { port: 1.5 },
      { idleTimeoutMs: Number.NaN },
      { maxConnections: 0 },
      { rateLimit: { burst: 0, perSecond: 1 } },
      { rateLimit: { burst: 1, perSecond: -1 } },
      { trailingBytes: 'keep' as 'ignore' },
    ]) {
      expect(() => createHelloListener(options)).toThrow(
        expect.objectContaining({ code: 'HELLO_BAD_OPTIONS' }),
      );
    }
  });

  it('a listener closed while binding does not stay open', async () => {
    const listener = createHelloListener({ host: '127.0.0.1', port: 0 });
    const listening = listener.listen();
    await listener.close();
    await expect(listening).rejects.toMatchObject({ code: 'HELLO_LISTEN_FAILED' });
    expect(listener.address()).toBeUndefined();
  });

  it('close() with a bad drain timeout rejects and leaves the listener serving', async () => {
    const { listener, port } = await startListener();
    await expect(listener.close({ drainTimeoutMs: -1 })).rejects.toMatchObject({ code: 'HELLO_BAD_OPTIONS' });
    const next = outcomes(listener, 1);
    await sendHello({ host: '127.0.0.1', port }, pkiHello(80));
    expect((await next)[0]?.type).toBe('hello');
  });

  it('a listener closed before it listened ends its iterators', async () => {
    const listener = createHelloListener({ port: 0 });
    const it = listener[Symbol.asyncIterator]();
    await listener.close();
    expect(await it.next()).toEqual({ value: undefined, done: true });
    await expect(listener.listen()).rejects.toMatchObject({ code: 'HELLO_LISTEN_FAILED' });
  });
});
