import { connect, createServer, type Server } from 'node:net';
import {
  createHelloListener,
  decodeHello,
  encodeHello,
  type HelloListener,
  type PkiHello,
} from '@oobkit/hello';
import type { Comparison } from '../harness.js';

// An AMT 11+ hello: 23 SHA-256 root hashes, 807 bytes, the size of the real capture.
const hello: PkiHello = {
  kind: 'pki',
  version: 3,
  adminCredentialsSet: false,
  retryCount: 0,
  uuid: '4c4c4544-0042-3510-8052-b3c04f4e5931',
  hashes: Array.from({ length: 23 }, (_, i) => ({
    algorithm: 'sha256' as const,
    hash: Buffer.alloc(32, i + 1),
  })),
};
const wire = encodeHello(hello);

/** The decode floor: the same fields read with no validation, no UUID formatting and no copies. */
function readUnchecked(b: Buffer) {
  const hashes: { algorithm: number; hash: Buffer }[] = [];
  const count = b[24] ?? 0;
  let o = 25;
  for (let i = 0; i < count; i++) {
    const len = b[o + 1] ?? 0;
    hashes.push({ algorithm: b[o] ?? 0, hash: b.subarray(o + 2, o + 2 + len) });
    o += 2 + len;
  }
  return {
    admin: b.readUInt16LE(0),
    version: b.readUInt16LE(2),
    retry: b.readUInt32LE(4),
    uuid: b.subarray(8, 24),
    hashes,
  };
}

// The load generator: loopback only, a fixed number of connections per batch, a deadline per batch.
const HOST = '127.0.0.1';
const PER_BATCH = 1000;
const CONCURRENCY = 32;
const BATCH_DEADLINE_MS = 60_000;

/** Something that counts each hello it has fully read; `arm(n)` resolves after the next n. */
interface Sink {
  port: number;
  arm(n: number): Promise<void>;
}

function counter(): { arm(n: number): Promise<void>; tick(): void; fail(e: Error): void } {
  let left = 0;
  let resolve: (() => void) | undefined;
  let reject: ((e: Error) => void) | undefined;
  return {
    arm(n) {
      left = n;
      return new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
    },
    tick() {
      if (--left === 0) resolve?.();
    },
    fail(e) {
      reject?.(e);
    },
  };
}

/** connect + 807-byte hello + close, `PER_BATCH` times, `CONCURRENCY` at once; resolves when the sink has read all. */
async function drive(sink: Sink): Promise<number> {
  const served = sink.arm(PER_BATCH);
  let launched = 0;
  let timer: NodeJS.Timeout | undefined;
  const clients = new Promise<void>((resolve, reject) => {
    let closed = 0;
    const one = () => {
      launched++;
      const s = connect({ host: HOST, port: sink.port });
      s.on('connect', () => s.end(wire));
      s.on('error', reject);
      s.resume();
      s.on('close', () => {
        if (++closed === PER_BATCH) resolve();
        else if (launched < PER_BATCH) one();
      });
    };
    for (let i = 0; i < CONCURRENCY; i++) one();
  });
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('hello bench: batch over its deadline')), BATCH_DEADLINE_MS);
  });
  try {
    await Promise.race([Promise.all([clients, served]), deadline]);
  } finally {
    clearTimeout(timer);
  }
  return PER_BATCH;
}

const raws: Server[] = [];
let listener: HelloListener | undefined;

async function rawFloor(): Promise<Sink> {
  const c = counter();
  const server = createServer((socket) => {
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('end', () => {
      c.tick();
      socket.destroy();
    });
  });
  raws.push(server);
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return { port: (server.address() as { port: number }).port, arm: c.arm };
}

async function helloListener(): Promise<Sink> {
  const c = counter();
  // One source address sends everything here, so the per-address rate limit is set out of the way
  // (it still runs: its cost is measured).
  const l = createHelloListener({ host: HOST, port: 0, rateLimit: { burst: 1e9, perSecond: 1e9 } });
  listener = l;
  l.on('hello', () => c.tick());
  l.on('rejected', (ev) => c.fail(ev.error));
  l.on('dropped', (ev) => c.fail(new Error(`dropped: ${ev.reason}`)));
  const { port } = await l.listen();
  return { port, arm: c.arm };
}

export async function comparisons(): Promise<Comparison[]> {
  const floor = await rawFloor();
  const floorTwin = await rawFloor();
  const subject = await helloListener();
  return [
    {
      title: 'decodeHello, 807-byte PKI hello (23 × SHA-256) vs reading the fields unchecked',
      baseline: { name: 'unchecked field read', fn: () => readUnchecked(wire) },
      subject: { name: 'decodeHello', fn: () => decodeHello(wire) },
      unit: 'hello',
    },
    {
      // Calibration: the same raw server on both sides shows how far this machine's noise moves the ratio below.
      title: `intake self-check: raw server vs an identical raw server (expect ≈ 1.0×)`,
      baseline: { name: 'raw net server', batch: () => drive(floor) },
      subject: { name: 'raw net server (twin)', batch: () => drive(floorTwin) },
      unit: 'hello',
    },
    {
      title: `hello intake on loopback: connect + 807-byte hello + close (${PER_BATCH} per round, ${CONCURRENCY} at once)`,
      baseline: { name: 'raw net server (accept, read, close)', batch: () => drive(floor) },
      subject: { name: 'createHelloListener', batch: () => drive(subject) },
      goal: 0.8,
      unit: 'hello',
    },
  ];
}

export async function teardown(): Promise<void> {
  await listener?.close({ drainTimeoutMs: 0 });
  await Promise.all(raws.map((r) => new Promise<void>((resolve) => r.close(() => resolve()))));
}
