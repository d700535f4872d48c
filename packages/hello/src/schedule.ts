import { type HelloClock, systemClock } from './clock.js';
import { HelloError } from './errors.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** How long a device keeps announcing itself after its first start: 24 hours. */
export const HELLO_SCHEDULE_WINDOW_MS = 24 * HOUR;

/**
 * The hello schedule (ConfigMgr 2007 docs: "every minute for 5 minutes, every 5 minutes for 1
 * hour, hourly for the next 23 hours") as offsets from first start. Our reading: the phases
 * tile the 24-hour window and each hello opens an interval of its phase — minutes 0–4 (5
 * hellos), minutes 5–55 every 5 (11), hours 1–23 (23): 39 hellos, the first at offset 0, none
 * at 24 h. The hello at index i carries retry count i.
 */
export const HELLO_RETRY_OFFSETS_MS: readonly number[] = Object.freeze([
  ...Array.from({ length: 5 }, (_, i) => i * MINUTE),
  ...Array.from({ length: 11 }, (_, i) => (i + 1) * 5 * MINUTE),
  ...Array.from({ length: 23 }, (_, i) => (i + 1) * HOUR),
]);

export interface HelloScheduleOptions {
  /** Other firmware, other schedule: offsets from first start, non-decreasing, ≥ 0. */
  offsets?: readonly number[];
}

export interface HelloScheduleStartOptions {
  /** Called when `send` throws or rejects; the schedule goes on (the next hello is the retry). */
  onError?: (error: unknown, retryCount: number) => void;
}

export interface HelloScheduleRun {
  /** Cancels the hellos not yet due; `done` then settles once in-flight sends have. */
  stop(): void;
  /** Resolves once every hello was sent (or the run stopped) and every send settled. Never rejects. */
  done: Promise<void>;
}

export interface HelloSchedule {
  offsets: readonly number[];
  /** Starts a run now: `send(i)` is called at `offsets[i]` after this call. */
  start(
    send: (retryCount: number) => void | Promise<void>,
    options?: HelloScheduleStartOptions,
  ): HelloScheduleRun;
}

/**
 * The documented retry schedule driven by `clock`. Each hello is due at a fixed offset from the
 * run's start (not from the previous send), so slow sends and timer jitter never add up.
 */
export function helloSchedule(
  clock: HelloClock = systemClock,
  options: HelloScheduleOptions = {},
): HelloSchedule {
  const offsets = options.offsets ?? HELLO_RETRY_OFFSETS_MS;
  if (!Array.isArray(offsets)) {
    throw new HelloError('HELLO_BAD_OPTIONS', 'schedule offsets must be an array of numbers');
  }
  let prev = 0;
  for (const o of offsets) {
    if (!Number.isFinite(o) || o < prev) {
      throw new HelloError('HELLO_BAD_OPTIONS', 'schedule offsets must be finite, ≥ 0 and non-decreasing');
    }
    prev = o;
  }
  const frozen = Object.isFrozen(offsets) ? offsets : Object.freeze([...offsets]);

  return {
    offsets: frozen,
    start(send, startOptions = {}) {
      const t0 = clock.now();
      let index = 0;
      let stopped = false;
      let timer: unknown;
      let inFlight = 0;
      let resolveDone!: () => void;
      const done = new Promise<void>((resolve) => {
        resolveDone = resolve;
      });
      const settleIfFinished = () => {
        if ((stopped || index >= frozen.length) && inFlight === 0) resolveDone();
      };
      const report = (error: unknown, retryCount: number) => {
        try {
          startOptions.onError?.(error, retryCount);
        } catch {
          // A failing error handler must not stop the device from announcing itself.
        }
      };
      const armNext = () => {
        const offset = frozen[index];
        if (offset === undefined) return;
        timer = clock.setTimeout(fire, Math.max(0, t0 + offset - clock.now()));
      };
      const fire = () => {
        if (stopped) return;
        const retryCount = index++;
        armNext();
        try {
          const result = send(retryCount);
          if (result && typeof (result as Promise<void>).then === 'function') {
            inFlight++;
            (result as Promise<void>).then(
              () => {
                inFlight--;
                settleIfFinished();
              },
              (error: unknown) => {
                inFlight--;
                report(error, retryCount);
                settleIfFinished();
              },
            );
          }
        } catch (error) {
          report(error, retryCount);
        }
        settleIfFinished();
      };
      armNext();
      settleIfFinished();
      return {
        stop() {
          if (stopped) return;
          stopped = true;
          clock.clearTimeout(timer);
          settleIfFinished();
        },
        done,
      };
    },
  };
}
