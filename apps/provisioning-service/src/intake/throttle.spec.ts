import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEventThrottle, type EventThrottleOptions } from './throttle.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** A throttle on a clock the test moves by hand. */
function clocked(opts: Omit<EventThrottleOptions, 'now'> = {}) {
  const clock = { t: 1_000_000 };
  const throttle = createEventThrottle({ ...opts, now: () => clock.t });
  return { clock, admit: (key: string) => throttle.admit(key) };
}

const LOGGED = { log: true, repeats: 0, rateLimited: 0 };
const HELD = { log: false, repeats: 0, rateLimited: 0 };

describe('event throttle: per key', () => {
  it('logs the first event of each key', () => {
    const { admit } = clocked();
    expect(admit('a')).toEqual(LOGGED);
    expect(admit('b')).toEqual(LOGGED);
    expect(admit('a')).toEqual(HELD);
  });

  it('counts repeats within the window and reports them once, on the first event after it', () => {
    const { clock, admit } = clocked({ windowMs: HOUR });
    expect(admit('a').log).toBe(true);
    // AMT's own schedule: every minute for 5 min, then every 5 min.
    for (const step of [MINUTE, MINUTE, MINUTE, MINUTE, 5 * MINUTE, 5 * MINUTE]) {
      clock.t += step;
      expect(admit('a')).toEqual(HELD);
    }
    // The window runs from the last logged event, not from the last repeat.
    clock.t += HOUR - 14 * MINUTE - 1;
    expect(admit('a')).toEqual(HELD);
    clock.t += 1;
    expect(admit('a')).toEqual({ log: true, repeats: 7, rateLimited: 0 });
    // The count started again with that logged event.
    clock.t += MINUTE;
    expect(admit('a')).toEqual(HELD);
    clock.t += HOUR;
    expect(admit('a')).toEqual({ log: true, repeats: 1, rateLimited: 0 });
    clock.t += HOUR;
    expect(admit('a')).toEqual(LOGGED);
  });

  it('keeps keys apart', () => {
    const { clock, admit } = clocked({ windowMs: 1000 });
    admit('a');
    admit('a');
    admit('a');
    admit('b');
    clock.t += 1000;
    expect(admit('b')).toEqual(LOGGED);
    expect(admit('a')).toEqual({ log: true, repeats: 2, rateLimited: 0 });
  });

  it('logs every event with windowMs 0', () => {
    const { admit } = clocked({ windowMs: 0 });
    for (let i = 0; i < 5; i++) expect(admit('a')).toEqual(LOGGED);
  });

  it('restarts a window when the clock steps back instead of holding events until it catches up', () => {
    const { clock, admit } = clocked({ windowMs: HOUR });
    admit('a');
    admit('a');
    clock.t -= 10 * HOUR;
    expect(admit('a')).toEqual({ log: true, repeats: 1, rateLimited: 0 });
    expect(admit('a')).toEqual(HELD);
  });
});

describe('event throttle: per-minute cap', () => {
  it('refuses events over the cap and reports them on the next logged event', () => {
    const { clock, admit } = clocked({ perMinute: 3 });
    for (const key of ['a', 'b', 'c']) expect(admit(key)).toEqual(LOGGED);
    expect(admit('d')).toEqual(HELD);
    expect(admit('e')).toEqual(HELD);
    // A repeat within its key's window is not the cap's doing.
    expect(admit('a')).toEqual(HELD);
    clock.t += MINUTE;
    expect(admit('f')).toEqual({ log: true, repeats: 0, rateLimited: 2 });
    expect(admit('g')).toEqual(LOGGED);
  });

  it('does not let a refused event take its key window', () => {
    const { clock, admit } = clocked({ perMinute: 1 });
    expect(admit('a')).toEqual(LOGGED);
    expect(admit('b')).toEqual(HELD);
    clock.t += MINUTE;
    // `b` was never logged: its next event is its first, not a repeat inside a window.
    expect(admit('b')).toEqual({ log: true, repeats: 0, rateLimited: 1 });
    expect(admit('b')).toEqual(HELD);
  });

  it('is a sliding minute: never more than perMinute logged in any 60 s', () => {
    const { clock, admit } = clocked({ perMinute: 2, windowMs: 0 });
    expect(admit('a').log).toBe(true); // t0
    clock.t += 40_000;
    expect(admit('a').log).toBe(true); // t0 + 40 s
    clock.t += 19_999;
    expect(admit('a').log).toBe(false); // a fixed bucket starting at t0 would say the same
    clock.t += 1;
    expect(admit('a')).toEqual({ log: true, repeats: 0, rateLimited: 1 }); // t0 + 60 s: t0 left the minute
    clock.t += 30_000;
    expect(admit('a').log).toBe(false); // t0 + 90 s: t0 + 40 s and t0 + 60 s are still in it
    clock.t += 10_000;
    expect(admit('a').log).toBe(true); // t0 + 100 s
  });

  it('does not stay full after the clock steps back', () => {
    const { clock, admit } = clocked({ perMinute: 1, windowMs: 0 });
    admit('a');
    clock.t -= 10 * HOUR;
    expect(admit('a').log).toBe(true);
    expect(admit('a').log).toBe(false);
  });

  it('counts right across many minutes of a large cap', () => {
    const { clock, admit } = clocked({ perMinute: 3000, windowMs: 0 });
    for (let minute = 0; minute < 4; minute++) {
      for (let i = 0; i < 3000; i++) expect(admit('a').log).toBe(true);
      expect(admit('a').log).toBe(false);
      clock.t += MINUTE - 1;
      expect(admit('a').log).toBe(false);
      clock.t += 1;
    }
    expect(admit('a')).toEqual({ log: true, repeats: 0, rateLimited: 2 });
  });

  it('has no cap with perMinute 0', () => {
    const { admit } = clocked({ perMinute: 0 });
    for (let i = 0; i < 1000; i++) expect(admit(`k${i}`).log).toBe(true);
  });

  it('allows 120 a minute by default', () => {
    const { admit } = clocked();
    for (let i = 0; i < 120; i++) expect(admit(`k${i}`).log).toBe(true);
    expect(admit('k120').log).toBe(false);
  });
});

describe('event throttle: memory', () => {
  it('forgets the least recently logged key beyond maxKeys', () => {
    const { clock, admit } = clocked({ maxKeys: 2, windowMs: HOUR });
    admit('a');
    clock.t += 1;
    admit('b');
    // A held repeat does not make `a` recently logged.
    expect(admit('a')).toEqual(HELD);
    admit('c'); // forgets `a`, the least recently logged
    expect(admit('a')).toEqual(LOGGED); // forgets `b`
    expect(admit('c')).toEqual(HELD);
    expect(admit('b')).toEqual(LOGGED);
  });

  it('moves a key logged again to the end of the line', () => {
    const { clock, admit } = clocked({ maxKeys: 2, windowMs: HOUR });
    admit('a');
    admit('b');
    clock.t += HOUR;
    expect(admit('a').log).toBe(true); // `a` is now the most recently logged
    admit('c'); // forgets `b`
    expect(admit('a')).toEqual(HELD);
    expect(admit('b')).toEqual(LOGGED);
  });

  it('remembers no key with maxKeys 0', () => {
    const { admit } = clocked({ maxKeys: 0 });
    expect(admit('a')).toEqual(LOGGED);
    expect(admit('a')).toEqual(LOGGED);
  });
});

describe('event throttle: options', () => {
  it('rejects options that are not non-negative numbers', () => {
    const bad: Array<[EventThrottleOptions, RegExp]> = [
      [{ windowMs: -1 }, /windowMs must be a non-negative finite number, got -1/],
      [{ windowMs: Number.POSITIVE_INFINITY }, /windowMs/],
      [{ windowMs: Number.NaN }, /windowMs/],
      [{ windowMs: '5' as unknown as number }, /windowMs/],
      [{ perMinute: 1.5 }, /perMinute must be a non-negative integer, got 1.5/],
      [{ perMinute: -3 }, /perMinute/],
      [{ maxKeys: 2 ** 60 }, /maxKeys must be a non-negative integer/],
      [{ maxKeys: Number.NaN }, /maxKeys/],
      [{ now: 5 as unknown as () => number }, /now must be a function/],
    ];
    for (const [opts, message] of bad) expect(() => createEventThrottle(opts), String(opts)).toThrow(message);
    for (const [opts] of bad) expect(() => createEventThrottle(opts)).toThrow(TypeError);
  });

  it('accepts zeros, a fractional window and no options at all', () => {
    expect(() => createEventThrottle({ windowMs: 0, perMinute: 0, maxKeys: 0 })).not.toThrow();
    expect(() => createEventThrottle({ windowMs: 0.5 })).not.toThrow();
    expect(createEventThrottle().admit('a')).toEqual(LOGGED);
  });
});

describe('event throttle: properties', () => {
  const events = fc.array(
    fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), step: fc.integer({ min: 0, max: 2500 }) }),
    { maxLength: 200 },
  );

  it('property: without a cap, a key logs exactly when windowMs has passed since its last logged event, and every event is logged or counted once', () => {
    fc.assert(
      fc.property(events, fc.integer({ min: 0, max: 5000 }), (seq, windowMs) => {
        const { clock, admit } = clocked({ windowMs, perMinute: 0 });
        const lastLogged = new Map<string, number>();
        const pending = new Map<string, number>();
        let logged = 0;
        let reported = 0;
        for (const { key, step } of seq) {
          clock.t += step;
          const last = lastLogged.get(key);
          const due = last === undefined || clock.t - last >= windowMs;
          const d = admit(key);
          expect(d.log).toBe(due);
          expect(d.rateLimited).toBe(0);
          if (d.log) {
            expect(d.repeats).toBe(pending.get(key) ?? 0);
            logged++;
            reported += d.repeats;
            lastLogged.set(key, clock.t);
            pending.set(key, 0);
          } else {
            pending.set(key, (pending.get(key) ?? 0) + 1);
          }
        }
        const stillPending = [...pending.values()].reduce((a, b) => a + b, 0);
        expect(logged + reported + stillPending).toBe(seq.length);
      }),
    );
  });

  it('property: an event is refused only by its key window or a full minute, and every refused event is reported once', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
            step: fc.integer({ min: 0, max: 30_000 }),
          }),
          { maxLength: 200 },
        ),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(0, 20_000, HOUR),
        (seq, perMinute, windowMs) => {
          const { clock, admit } = clocked({ windowMs, perMinute });
          const lastLogged = new Map<string, number>();
          const loggedAt: number[] = [];
          let reported = 0;
          const take = (key: string) => {
            const d = admit(key);
            const last = lastLogged.get(key);
            const inWindow = last !== undefined && clock.t - last < windowMs;
            const inMinute = loggedAt.filter((t) => clock.t - t < MINUTE).length;
            expect(d.log).toBe(!inWindow && inMinute < perMinute);
            if (d.log) {
              reported += d.repeats + d.rateLimited;
              lastLogged.set(key, clock.t);
              loggedAt.push(clock.t);
            } else {
              expect(d).toEqual(HELD);
            }
          };
          for (const { key, step } of seq) {
            clock.t += step;
            take(key);
          }
          const logged = loggedAt.length;
          // One more event per key, each after its window and a quiet minute, reports the rest.
          for (const key of new Set(seq.map((e) => e.key))) {
            clock.t += Math.max(windowMs, MINUTE);
            take(key);
          }
          expect(logged + reported).toBe(seq.length);
        },
      ),
    );
  });
});
