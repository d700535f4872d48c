import { describe, expect, it } from 'vitest';
import type { HelloClock } from './clock.js';
import { encodeHello, type PkiHello } from './codec.js';
import { HelloIntake, type IntakeOutcome } from './intake.js';

const hello: PkiHello = {
  kind: 'pki',
  version: 3,
  adminCredentialsSet: false,
  retryCount: 2,
  uuid: '12345678-9abc-def0-1234-56789abcdef0',
  hashes: Array.from({ length: 23 }, (_, i) => ({ algorithm: 'sha256' as const, hash: Buffer.alloc(32, i) })),
};
const wire = encodeHello(hello);

/** One intake on a hand-moved clock; `at(ms)` moves time and runs the listener's sweep check. */
function setup(
  overrides: Partial<{ maxBytes: number; idleTimeoutMs: number; maxConnectionMs: number }> = {},
) {
  let t = 5_000;
  const clock: HelloClock = { now: () => t, setTimeout: () => 0, clearTimeout: () => undefined };
  const outcomes: IntakeOutcome[] = [];
  const intake = new HelloIntake(
    {
      maxBytes: 16 * 1024,
      idleTimeoutMs: 1000,
      maxConnectionMs: 30_000,
      trailingBytes: 'reject',
      clock,
      ...overrides,
    },
    (o) => outcomes.push(o),
  );
  const move = (ms: number) => {
    t += ms;
  };
  const at = (ms: number) => {
    move(ms);
    intake.check(t);
  };
  return { intake, outcomes, at, move, now: () => t };
}

describe('HelloIntake (one connection)', () => {
  it('accumulates 1-byte segments from a slow peer that never idles past the cap', () => {
    const { intake, outcomes, at } = setup({ maxConnectionMs: 10_000_000 });
    for (const byte of wire) {
      intake.push(Buffer.from([byte]));
      at(999);
    }
    expect(outcomes).toEqual([]);
    intake.end('close');
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ kind: 'hello', hello, endedBy: 'close', byteLength: 807 });
  });

  it('ends an idle peer and decodes what it sent', () => {
    const { intake, outcomes, at } = setup();
    intake.push(wire.subarray(0, 100));
    expect(intake.deadline).toBe(5_000 + 1000);
    at(999);
    expect(outcomes).toEqual([]);
    at(1);
    expect(outcomes).toHaveLength(1);
    const o = outcomes[0]!;
    expect(o.kind).toBe('rejected');
    if (o.kind === 'rejected') {
      expect(o.endedBy).toBe('idle-timeout');
      expect(o.error.code).toBe('HELLO_TRUNCATED');
      expect(o.bytes.equals(wire.subarray(0, 100))).toBe(true);
    }
  });

  it('moves its deadline with each segment', () => {
    const { intake, at, now } = setup();
    at(600);
    intake.push(wire.subarray(0, 1));
    expect(intake.deadline).toBe(now() + 1000);
  });

  it('accepts a complete hello from a peer that goes idle instead of closing', () => {
    const { intake, outcomes, at } = setup();
    intake.push(wire);
    at(1000);
    expect(outcomes[0]).toMatchObject({ kind: 'hello', endedBy: 'idle-timeout' });
  });

  it('reports a silent peer as empty after the idle cap', () => {
    const { outcomes, at } = setup();
    at(1000);
    expect(outcomes).toEqual([{ kind: 'empty', endedBy: 'idle-timeout' }]);
  });

  it('ends a trickling peer at the lifetime cap, however active', () => {
    const { intake, outcomes, at, now } = setup({ maxConnectionMs: 5000 });
    for (let i = 0; i < 20 && outcomes.length === 0; i++) {
      intake.push(wire.subarray(i, i + 1));
      expect(intake.deadline).toBeLessThanOrEqual(5_000 + 5000);
      at(500);
    }
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ kind: 'rejected', endedBy: 'lifetime' });
    expect(now()).toBe(5_000 + 5000);
  });

  it('does not read bytes that arrive after the lifetime, even before the check runs', () => {
    const { intake, outcomes, move } = setup({ idleTimeoutMs: 10_000, maxConnectionMs: 10_000 });
    intake.push(wire.subarray(0, 10));
    move(10_000); // no check: the late segment itself finds the cap passed
    intake.push(wire.subarray(10));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ kind: 'rejected', endedBy: 'lifetime' });
    if (outcomes[0]?.kind === 'rejected') expect(outcomes[0].bytes.length).toBe(10);
  });

  it('cuts at the size cap with HELLO_TOO_LARGE and ignores what follows', () => {
    const { intake, outcomes } = setup({ maxBytes: 1000 });
    intake.push(Buffer.alloc(600));
    intake.push(Buffer.alloc(600));
    intake.push(Buffer.alloc(600));
    intake.end('close');
    expect(outcomes).toHaveLength(1);
    const o = outcomes[0]!;
    expect(o.kind === 'rejected' && o.error.code).toBe('HELLO_TOO_LARGE');
    expect(o.kind === 'rejected' && o.error.offset).toBe(1000);
    expect(o.kind === 'rejected' && o.bytes.length).toBe(600);
    expect(o.endedBy).toBe('size');
  });

  it('ends exactly once', () => {
    const { intake, outcomes, at } = setup();
    intake.push(wire);
    intake.end('close');
    intake.end('reset');
    intake.push(wire);
    at(100_000);
    expect(outcomes).toHaveLength(1);
    expect(intake.finished).toBe(true);
  });

  it('reports a connection closed without bytes as empty, with what ended it', () => {
    const { intake, outcomes } = setup();
    intake.end('reset');
    expect(outcomes).toEqual([{ kind: 'empty', endedBy: 'reset' }]);
  });

  it('decoded hashes are views into the socket bytes it owns, not copies', () => {
    const { intake, outcomes } = setup();
    const chunk = Buffer.from(wire);
    intake.push(chunk);
    intake.end('close');
    const o = outcomes[0]!;
    expect(o.kind === 'hello' && o.hello.kind === 'pki' && o.hello.hashes[0]!.hash.buffer).toBe(chunk.buffer);
  });
});
