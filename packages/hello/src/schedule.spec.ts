import { describe, expect, it } from 'vitest';
import { createVirtualClock, scaledClock } from './clock.js';
import { HelloError } from './errors.js';
import { HELLO_RETRY_OFFSETS_MS, HELLO_SCHEDULE_WINDOW_MS, helloSchedule } from './schedule.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

function gaps(xs: readonly number[]): number[] {
  return xs.slice(1).map((x, i) => x - xs[i]!);
}

describe('HELLO_RETRY_OFFSETS_MS (our reading of the ConfigMgr schedule)', () => {
  const o = HELLO_RETRY_OFFSETS_MS;

  it('starts at 0 and stays inside the 24-hour window, strictly increasing', () => {
    expect(o[0]).toBe(0);
    expect(HELLO_SCHEDULE_WINDOW_MS).toBe(24 * HOUR);
    expect(o.every((x) => x < HELLO_SCHEDULE_WINDOW_MS)).toBe(true);
    expect(gaps(o).every((g) => g > 0)).toBe(true);
  });

  it('is every minute for the first 5 minutes', () => {
    const first = o.filter((x) => x < 5 * MIN);
    expect(first).toHaveLength(5);
    expect(gaps(first).every((g) => g === MIN)).toBe(true);
  });

  it('then every 5 minutes until the first hour is over', () => {
    const second = o.filter((x) => x >= 5 * MIN && x < HOUR);
    expect(second[0]).toBe(5 * MIN);
    expect(second.length).toBe((HOUR - 5 * MIN) / (5 * MIN));
    expect(gaps(second).every((g) => g === 5 * MIN)).toBe(true);
  });

  it('then hourly for the next 23 hours', () => {
    const third = o.filter((x) => x >= HOUR);
    expect(third).toHaveLength(23);
    expect(third[0]).toBe(HOUR);
    expect(gaps(third).every((g) => g === HOUR)).toBe(true);
  });

  it('cannot be changed by a caller', () => {
    expect(Object.isFrozen(o)).toBe(true);
  });
});

describe('helloSchedule on a virtual clock', () => {
  it('runs 24 hours of hellos, each at its offset from start with retry count = index', async () => {
    const clock = createVirtualClock(1_700_000_000_000);
    const t0 = clock.now();
    const seen: [number, number][] = [];
    const run = helloSchedule(clock).start((retryCount) => {
      seen.push([clock.now() - t0, retryCount]);
    });
    await clock.runAll();
    await run.done;
    expect(seen).toEqual(HELLO_RETRY_OFFSETS_MS.map((offset, i) => [offset, i]));
    expect(clock.pending()).toBe(0);
  });

  it('fires nothing early: minute by minute through the first phase', async () => {
    const clock = createVirtualClock();
    const sent: number[] = [];
    helloSchedule(clock).start((i) => {
      sent.push(i);
    });
    expect(sent).toEqual([]); // never synchronously inside start()
    await clock.advance(0);
    expect(sent).toEqual([0]);
    await clock.advance(MIN - 1);
    expect(sent).toEqual([0]);
    await clock.advance(1);
    expect(sent).toEqual([0, 1]);
    await clock.advance(4 * MIN);
    expect(sent).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('stop() cancels what is not yet due and settles done', async () => {
    const clock = createVirtualClock();
    const sent: number[] = [];
    const run = helloSchedule(clock).start((i) => {
      sent.push(i);
    });
    await clock.advance(2 * MIN);
    run.stop();
    await run.done;
    await clock.advance(HELLO_SCHEDULE_WINDOW_MS);
    expect(sent).toEqual([0, 1, 2]);
    expect(clock.pending()).toBe(0);
  });

  it('a slow send does not delay the next hello, and done waits for it', async () => {
    const clock = createVirtualClock();
    const sent: number[] = [];
    let finishFirst!: () => void;
    const run = helloSchedule(clock, { offsets: [0, 1000, 2000] }).start((i) => {
      sent.push(i);
      if (i === 0) return new Promise<void>((r) => (finishFirst = r));
    });
    await clock.runAll();
    expect(sent).toEqual([0, 1, 2]);
    let done = false;
    void run.done.then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    finishFirst();
    await run.done;
  });

  it('a failing send is reported and the schedule goes on', async () => {
    const clock = createVirtualClock();
    const errors: [unknown, number][] = [];
    const sent: number[] = [];
    const run = helloSchedule(clock, { offsets: [0, 10, 20, 30] }).start(
      async (i) => {
        sent.push(i);
        if (i === 1) throw new Error('connection refused');
        if (i === 2) return Promise.reject(new Error('timeout'));
      },
      { onError: (e, i) => errors.push([(e as Error).message, i]) },
    );
    await clock.runAll();
    await run.done;
    expect(sent).toEqual([0, 1, 2, 3]);
    expect(errors).toEqual([
      ['connection refused', 1],
      ['timeout', 2],
    ]);
  });

  it('a send that throws synchronously is reported too', async () => {
    const clock = createVirtualClock();
    const errors: number[] = [];
    const run = helloSchedule(clock, { offsets: [0, 5] }).start(
      (i) => {
        throw new Error(`boom ${i}`);
      },
      { onError: (_e, i) => errors.push(i) },
    );
    await clock.runAll();
    await run.done;
    expect(errors).toEqual([0, 1]);
  });

  it('two runs on one clock are independent', async () => {
    const clock = createVirtualClock();
    const s = helloSchedule(clock, { offsets: [0, 100] });
    const log: string[] = [];
    s.start((i) => {
      log.push(`a${i}@${clock.now()}`);
    });
    await clock.advance(50);
    s.start((i) => {
      log.push(`b${i}@${clock.now()}`);
    });
    await clock.runAll();
    expect(log).toEqual(['a0@0', 'b0@50', 'a1@100', 'b1@150']);
  });

  it('rejects offsets that go backwards or are not finite', () => {
    for (const offsets of [[-1], [0, 10, 5], [Number.NaN], [0, Number.POSITIVE_INFINITY]]) {
      expect(() => helloSchedule(createVirtualClock(), { offsets })).toThrow(
        expect.objectContaining({ code: 'HELLO_BAD_OPTIONS' }),
      );
    }
  });

  it('rejects offsets that are not an array with a HelloError, not a TypeError', () => {
    for (const offsets of [5, 'x', { 0: 1 }] as unknown as number[][]) {
      expect(() => helloSchedule(createVirtualClock(), { offsets })).toThrow(
        expect.objectContaining({ code: 'HELLO_BAD_OPTIONS' }),
      );
    }
  });

  it('an empty schedule is done at once', async () => {
    const run = helloSchedule(createVirtualClock(), { offsets: [] }).start(() => {
      throw new Error('never called');
    });
    await run.done;
  });
});

describe('virtual clock', () => {
  it('fires timers in due order, ties in the order they were set, and honours clearTimeout', async () => {
    const clock = createVirtualClock(100);
    const log: string[] = [];
    clock.setTimeout(() => log.push('c'), 30);
    clock.setTimeout(() => log.push('a'), 10);
    const dropped = clock.setTimeout(() => log.push('x'), 10);
    clock.setTimeout(() => log.push('b'), 10);
    clock.setTimeout(() => log.push('neg'), -5);
    clock.clearTimeout(dropped);
    clock.clearTimeout(dropped);
    clock.clearTimeout({});
    expect(clock.pending()).toBe(4);
    await clock.advance(10);
    expect(log).toEqual(['neg', 'a', 'b']);
    expect(clock.now()).toBe(110);
    await clock.runAll();
    expect(log).toEqual(['neg', 'a', 'b', 'c']);
    expect(clock.now()).toBe(130);
    expect(clock.pending()).toBe(0);
  });

  it('sets the time to each timer as it fires, including timers set by timers', async () => {
    const clock = createVirtualClock();
    const at: number[] = [];
    clock.setTimeout(() => {
      at.push(clock.now());
      clock.setTimeout(() => at.push(clock.now()), 5);
    }, 5);
    await clock.advance(20);
    expect(at).toEqual([5, 10]);
    expect(clock.now()).toBe(20);
  });

  it('lets promise chains started by a timer run before the next timer', async () => {
    const clock = createVirtualClock();
    const log: string[] = [];
    clock.setTimeout(() => {
      void Promise.resolve()
        .then(() => undefined)
        .then(() => log.push('chain'));
    }, 1);
    clock.setTimeout(() => log.push('second'), 2);
    await clock.runAll();
    expect(log).toEqual(['chain', 'second']);
  });

  it('serializes concurrent advance() calls', async () => {
    const clock = createVirtualClock();
    const at: number[] = [];
    for (const d of [10, 20, 30]) clock.setTimeout(() => at.push(clock.now()), d);
    await Promise.all([clock.advance(15), clock.advance(15)]);
    expect(at).toEqual([10, 20, 30]);
    expect(clock.now()).toBe(30);
  });

  it('stops a runaway runAll() with a typed error', async () => {
    const clock = createVirtualClock(0, { runawayLimit: 50 });
    const again = () => clock.setTimeout(again, 1);
    again();
    await expect(clock.runAll()).rejects.toMatchObject({ code: 'HELLO_CLOCK_RUNAWAY' });
    await expect(clock.advance(-1)).rejects.toBeInstanceOf(HelloError);
  });

  it('propagates an exception thrown by a timer', async () => {
    const clock = createVirtualClock();
    clock.setTimeout(() => {
      throw new Error('timer bug');
    }, 1);
    await expect(clock.advance(1)).rejects.toThrow('timer bug');
    await clock.advance(1); // the clock is still usable
    expect(clock.now()).toBe(2);
  });
});

describe('scaledClock', () => {
  it('runs a schedule on real timers, compressed', async () => {
    const clock = scaledClock(60_000); // a minute per millisecond
    const sent: number[] = [];
    const run = helloSchedule(clock, { offsets: [0, MIN, 2 * MIN] }).start((i) => {
      sent.push(i);
    });
    await run.done;
    expect(sent).toEqual([0, 1, 2]);
  });

  it('starts at the real time and can cancel its timers', async () => {
    const before = Date.now();
    const clock = scaledClock(1000);
    expect(clock.now()).toBeGreaterThanOrEqual(before);
    let fired = false;
    const h = clock.setTimeout(() => {
      fired = true;
    }, 1000);
    clock.clearTimeout(h);
    await new Promise<void>((r) => clock.setTimeout(r, 2000));
    expect(fired).toBe(false);
  });

  it('rejects factors that are not finite and positive', () => {
    for (const f of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => scaledClock(f)).toThrow(expect.objectContaining({ code: 'HELLO_BAD_OPTIONS' }));
    }
  });
});
