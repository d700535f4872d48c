export interface EventThrottleOptions {
  /** Per key: at most one logged event per window (default 3_600_000 ms). 0 = no per-key limit. */
  windowMs?: number;
  /** All keys together: at most this many logged events per minute (default 120). 0 = no cap. */
  perMinute?: number;
  /** Keys remembered at most (default 10_000); the least recently logged is forgotten first. */
  maxKeys?: number;
  /** Clock in ms (default Date.now); tests inject one. */
  now?: () => number;
}

export interface ThrottleDecision {
  /** Whether to store/log this event. */
  log: boolean;
  /** When log is true: events of this key not logged since its last logged one (per-key window). */
  repeats: number;
  /** When log is true: events of any key not logged because of the per-minute cap since the last logged event. */
  rateLimited: number;
}

export interface EventThrottle {
  admit(key: string): ThrottleDecision;
}

const MINUTE_MS = 60_000;

function option(name: string, value: unknown, integer: boolean): number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= 0 &&
    (!integer || Number.isSafeInteger(value));
  if (!ok)
    throw new TypeError(
      `event throttle: ${name} must be a non-negative ${integer ? 'integer' : 'finite number'}, got ${String(value)}`,
    );
  return value;
}

/**
 * Keeps repeated events out of the site's event log. AMT repeats an unanswered hello (every
 * minute for 5 min, every 5 min for an hour, then hourly for a day), a site usually has many
 * machines that were not imported, and any host on the network can send hellos with made-up
 * UUIDs: storing every one would grow the event table without bound.
 *
 * The per-minute cap is a sliding minute: a logged event counts against it for 60 s from when
 * it was logged, so no 60 s span ever has more than `perMinute` logged events (a fixed bucket
 * would let twice that through across a bucket boundary).
 *
 * A key's repeats are counted only while it is remembered: an evicted key starts afresh, and
 * its uncounted repeats are not reported. The state is this process's memory; a restart logs
 * each key's next event again.
 */
export function createEventThrottle(opts: EventThrottleOptions = {}): EventThrottle {
  const windowMs = option('windowMs', opts.windowMs ?? 3_600_000, false);
  const perMinute = option('perMinute', opts.perMinute ?? 120, true);
  const maxKeys = option('maxKeys', opts.maxKeys ?? 10_000, true);
  if (opts.now !== undefined && typeof opts.now !== 'function')
    throw new TypeError('event throttle: now must be a function returning milliseconds');
  const now = opts.now ?? Date.now;

  // Map order is the order of the last logged event: a logged key moves to the end (delete +
  // set), a counted repeat leaves it in place, so the first key is the least recently logged.
  const keys = new Map<string, { loggedAt: number; repeats: number }>();
  // When each event still inside the sliding minute was logged, oldest first from `head`.
  let logged: number[] = [];
  let head = 0;
  let rateLimited = 0;

  function capReached(t: number): boolean {
    if (perMinute === 0) return false;
    // A clock stepped back would keep the minute full until it caught up again (hours, maybe).
    if (head < logged.length && t < logged[logged.length - 1]!) {
      logged = [];
      head = 0;
    }
    while (head < logged.length && t - logged[head]! >= MINUTE_MS) head++;
    if (head >= 1024 && head * 2 >= logged.length) {
      logged = logged.slice(head);
      head = 0;
    }
    return logged.length - head >= perMinute;
  }

  return {
    admit(key) {
      const t = now();
      const entry = windowMs > 0 ? keys.get(key) : undefined;
      // `t < loggedAt` is a clock stepped back: the window restarts rather than lasting until
      // the clock catches up.
      if (entry && t >= entry.loggedAt && t - entry.loggedAt < windowMs) {
        entry.repeats++;
        return { log: false, repeats: 0, rateLimited: 0 };
      }
      // Refused by the cap, the key keeps its state: its next event may still be logged.
      if (capReached(t)) {
        rateLimited++;
        return { log: false, repeats: 0, rateLimited: 0 };
      }
      if (perMinute > 0) logged.push(t);
      const decision = { log: true, repeats: entry?.repeats ?? 0, rateLimited };
      rateLimited = 0;
      if (windowMs > 0 && maxKeys > 0) {
        keys.delete(key);
        keys.set(key, { loggedAt: t, repeats: 0 });
        if (keys.size > maxKeys) {
          const oldest = keys.keys().next();
          if (!oldest.done) keys.delete(oldest.value);
        }
      }
      return decision;
    },
  };
}
