import { HelloError } from './errors.js';

/** The time source of schedules and listeners: inject one to run hours of hellos in milliseconds. */
export interface HelloClock {
  /** Milliseconds since the epoch (or any fixed origin). */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** A clock whose time only moves when told to. */
export interface VirtualClock extends HelloClock {
  /** Moves time forward, firing due timers in order and letting promise chains run after each. */
  advance(ms: number): Promise<void>;
  /** Fires every timer, including those the fired timers set, until none is left. */
  runAll(): Promise<void>;
  /** Timers set and neither fired nor cleared. */
  pending(): number;
}

/** Real time and real timers. */
export const systemClock: HelloClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface VirtualTimer {
  due: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

const RUNAWAY_LIMIT = 1_000_000;

function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

export interface VirtualClockOptions {
  /** `runAll()` gives up with `HELLO_CLOCK_RUNAWAY` after firing this many timers (default 1,000,000). */
  runawayLimit?: number;
}

/** A virtual clock starting at `start` ms; timers fire only in `advance()`/`runAll()`. */
export function createVirtualClock(start = 0, options: VirtualClockOptions = {}): VirtualClock {
  const runawayLimit = options.runawayLimit ?? RUNAWAY_LIMIT;
  if (!Number.isFinite(start)) throw new HelloError('HELLO_BAD_OPTIONS', 'the start time must be finite');
  let now = start;
  let seq = 0;
  let live = 0;
  const heap: VirtualTimer[] = [];
  let chain: Promise<void> = Promise.resolve();

  const push = (t: VirtualTimer) => {
    heap.push(t);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const pop = (): VirtualTimer | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  const next = (): VirtualTimer | undefined => {
    while (heap.length > 0 && !heap[0]!.live) pop();
    return heap[0];
  };
  // Yield a macrotask so promise chains started by a timer settle before the next one fires.
  const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  const fireUntil = async (target: number, limit: number) => {
    let fired = 0;
    for (let t = next(); t !== undefined && t.due <= target; t = next()) {
      if (++fired > limit) {
        throw new HelloError('HELLO_CLOCK_RUNAWAY', `more than ${limit} timers fired in one run`);
      }
      pop();
      t.live = false;
      live--;
      now = Math.max(now, t.due);
      t.fn();
      await yieldTurn();
    }
    if (Number.isFinite(target)) now = Math.max(now, target);
  };
  const serialize = (work: () => Promise<void>): Promise<void> => {
    const run = chain.then(work);
    chain = run.catch(() => undefined);
    return run;
  };

  return {
    now: () => now,
    setTimeout(fn, ms) {
      const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
      const t: VirtualTimer = { due: now + delay, seq: seq++, fn, live: true };
      live++;
      push(t);
      return t;
    },
    clearTimeout(handle) {
      const t = handle as VirtualTimer | undefined;
      if (t && typeof t === 'object' && t.live === true) {
        t.live = false;
        live--;
      }
    },
    advance(ms) {
      if (!(ms >= 0) || !Number.isFinite(ms)) {
        return Promise.reject(new HelloError('HELLO_BAD_OPTIONS', 'advance() takes a finite ms ≥ 0'));
      }
      return serialize(() => fireUntil(now + ms, Number.POSITIVE_INFINITY));
    },
    runAll() {
      return serialize(() => fireUntil(Number.POSITIVE_INFINITY, runawayLimit));
    },
    pending: () => live,
  };
}

/**
 * Real timers with time compressed by `factor`: `scaledClock(3600)` runs an hour of the hello
 * schedule in a second. `now()` starts at the real time and runs `factor` times faster.
 */
export function scaledClock(factor: number): HelloClock {
  if (!Number.isFinite(factor) || factor <= 0) {
    throw new HelloError('HELLO_BAD_OPTIONS', 'the scale factor must be a finite number > 0');
  }
  const wall0 = Date.now();
  const mono0 = performance.now();
  return {
    now: () => wall0 + (performance.now() - mono0) * factor,
    setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms) / factor),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}
