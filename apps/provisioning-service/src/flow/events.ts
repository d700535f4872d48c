import type { Logger } from 'pino';
import type { EventLevel, NewSiteEvent, SiteEvent, SiteStore } from '../store/types.js';

/** What a secret occurrence becomes. */
const MASK = '***';
/** Shorter values are not registered (see `Redactor.add`). */
const MIN_SECRET_LENGTH = 6;
/** Deeper data is not walked; see `Redactor.#tooDeep`. Event data is a few levels deep. */
const MAX_DEPTH = 64;
/** What a reference back to an enclosing object becomes (as in `redactSecrets`). */
const CIRCULAR = '[circular]';
/** What data nested deeper than `MAX_DEPTH` becomes when it may hold a secret. */
const TOO_DEEP = '[too deep]';

const hasOwn = (o: object, k: string): boolean => Object.hasOwn(o, k);

/** Sets an own data property, also for `__proto__` (an own key JSON.parse may have made). */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** `k`, or `k (2)`, `k (3)` … when `o` has `k` already (two keys that read the same once redacted). */
function freeKey(o: Record<string, unknown>, k: string): string {
  if (!hasOwn(o, k)) return k;
  for (let n = 2; ; n++) if (!hasOwn(o, `${k} (${n})`)) return `${k} (${n})`;
}

/**
 * Replaces every known secret value with `***` in text and in nested data. The flow registers each
 * secret it handles (credentials, generated passwords, PSKs, private keys), so even a peer's error
 * message that echoes one back never reaches the event log or the logs.
 *
 * Matching is on the exact value, and also on its JSON-escaped form (a secret holding `"`, `\` or
 * a line break, as a PEM key does, reads that way inside a JSON text quoted in a message). Every
 * run of characters covered by one or more occurrences — overlapping, nested (one secret inside a
 * longer one) or adjacent — becomes a single `***`, so no part of any secret is left; the result
 * is scanned again until nothing matches (a `***` next to other text cannot spell a secret).
 */
export class Redactor {
  readonly #secrets = new Set<string>();
  /** The strings searched for: each secret and its JSON-escaped form, longest first. */
  #needles: string[] = [];
  #minLength = Number.POSITIVE_INFINITY;
  /** The objects enclosing the one being walked (index = depth), for cycles; reused between calls. */
  readonly #path: unknown[] = [];
  #walking = false;

  /**
   * Registers secrets. `undefined`, `null`, non-strings and values shorter than 6 characters are
   * ignored: AMT passwords (≥ 8), PSKs (≥ 8), generated passwords and keys are longer, and
   * blanking short values would garble ordinary words — and so tell a reader what the value is.
   * In particular the factory password `admin`, which the flow registers with the other
   * credentials, is public knowledge and must not turn `admin secret #3` into `*** secret #3`.
   */
  add(...values: (string | null | undefined)[]): void {
    let changed = false;
    for (const v of values) {
      if (typeof v !== 'string' || v.length < MIN_SECRET_LENGTH || this.#secrets.has(v)) continue;
      this.#secrets.add(v);
      this.#needles.push(v);
      const escaped = JSON.stringify(v).slice(1, -1);
      if (escaped !== v) this.#needles.push(escaped);
      changed = true;
    }
    if (!changed) return;
    this.#needles.sort((a, b) => b.length - a.length);
    this.#minLength = this.#needles[this.#needles.length - 1]!.length;
  }

  text(s: string): string {
    if (typeof s !== 'string' || s.length < this.#minLength) return s;
    let out = s;
    for (;;) {
      const next = this.#replaceOnce(out);
      if (next === out) return out;
      // Each pass replaces ≥ 6 characters with 3: this ends.
      out = next;
    }
  }

  /** `s` with every maximal run covered by a secret occurrence replaced; `s` itself if none. */
  #replaceOnce(s: string): string {
    if (s.length < this.#minLength) return s;
    let ranges: [number, number][] | undefined;
    for (const n of this.#needles) {
      if (n.length > s.length) continue;
      for (let i = s.indexOf(n); i !== -1; i = s.indexOf(n, i + 1)) {
        if (ranges === undefined) ranges = [];
        ranges.push([i, i + n.length]);
      }
    }
    if (ranges === undefined) return s;
    ranges.sort((a, b) => a[0] - b[0]);
    let out = '';
    let at = 0;
    let [start, end] = ranges[0]!;
    for (const [a, b] of ranges) {
      if (a <= end) {
        if (b > end) end = b;
        continue;
      }
      out += s.slice(at, start) + MASK;
      at = end;
      start = a;
      end = b;
    }
    return out + s.slice(at, start) + MASK + s.slice(end);
  }

  /**
   * `value` with every registered secret replaced, as `text` does, in every string and object key
   * that JSON.stringify would write: plain objects, arrays, other objects' own enumerable
   * properties, `toJSON` results (called as JSON.stringify calls them), errors' name, message,
   * stack and cause (which the store and the logger write out). Keys are scrubbed too: they are
   * written verbatim, and data keyed by a value (a label, an SSID) could be keyed by a secret;
   * two keys that read the same once redacted are kept as `***` and `*** (2)`.
   *
   * Copy on write: `value` is never changed, and every object or array holding nothing to
   * replace is returned as it is (the store keeps such data without copying it; the flow
   * journals the very object it emits as step data). A reference back to an enclosing object
   * becomes `[circular]`. Bytes (buffers, typed arrays) serialise as numbers and are left alone.
   */
  data<T>(value: T): T {
    if (this.#needles.length === 0) return value;
    // A `toJSON` that redacts again (nothing does) gets a path of its own.
    const nested = this.#walking;
    const path = nested ? [] : this.#path;
    this.#walking = true;
    try {
      return this.#value(value, '', 0, path) as T;
    } finally {
      if (!nested) {
        this.#walking = false;
        path.length = 0;
      }
    }
  }

  #value(v: unknown, key: string | number, depth: number, path: unknown[]): unknown {
    if (typeof v === 'string') return this.text(v);
    if (typeof v !== 'object' || v === null) return v;
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function' && !ArrayBuffer.isView(v)) {
      const j: unknown = toJSON.call(v, String(key));
      const out = this.#plain(j, depth, path);
      // Unchanged: the object itself, which serialises to the same JSON.
      return out === j ? v : out;
    }
    return this.#plain(v, depth, path);
  }

  /** A value after `toJSON`: strings, arrays and objects are looked into. */
  #plain(v: unknown, depth: number, path: unknown[]): unknown {
    if (typeof v === 'string') return this.text(v);
    if (typeof v !== 'object' || v === null) return v;
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v;
    if (v instanceof String) {
      const s = String(v);
      const out = this.text(s);
      return out === s ? v : out;
    }
    if (v instanceof Number || v instanceof Boolean) return v;
    for (let i = 0; i < depth; i++) if (path[i] === v) return CIRCULAR;
    if (depth >= MAX_DEPTH) return this.#tooDeep(v);
    path[depth] = v;
    if (Array.isArray(v)) return this.#array(v, depth, path);
    if (v instanceof Error) return this.#error(v, depth, path);
    return this.#object(v as Record<string, unknown>, depth, path);
  }

  #array(v: readonly unknown[], depth: number, path: unknown[]): unknown {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      const y = this.#value(x, i, depth + 1, path);
      if (out === undefined) {
        if (y === x) continue;
        out = [];
        for (let j = 0; j < i; j++) out.push(v[j]);
      }
      out.push(y);
    }
    return out ?? v;
  }

  /** Own enumerable string keys, as JSON.stringify reads them; a copy (a plain object) if any changed. */
  #object(v: Record<string, unknown>, depth: number, path: unknown[]): unknown {
    let out: Record<string, unknown> | undefined;
    for (const k in v) {
      if (!hasOwn(v, k)) continue;
      const x = v[k];
      const y = this.#value(x, k, depth + 1, path);
      const k2 = this.text(k);
      if (out === undefined) {
        if (y === x && k2 === k) continue;
        out = {};
        // The keys before this one, all unchanged (so distinct).
        for (const j in v) {
          if (j === k) break;
          if (hasOwn(v, j)) setOwn(out, j, v[j]);
        }
      }
      setOwn(out, freeKey(out, k2), y);
    }
    return out ?? v;
  }

  /**
   * An error as the store and the logger write it (`redactSecrets`: type, message, stack, cause,
   * own properties) when any of that holds a secret; else the error itself.
   */
  #error(e: Error, depth: number, path: unknown[]): unknown {
    const name = this.text(e.name);
    const message = this.text(e.message);
    const stack = e.stack === undefined ? undefined : this.text(e.stack);
    const cause = e.cause === undefined ? undefined : this.#value(e.cause, 'cause', depth + 1, path);
    const props = this.#object(e as unknown as Record<string, unknown>, depth, path);
    if (name === e.name && message === e.message && stack === e.stack && cause === e.cause && props === e) {
      return e;
    }
    const out: Record<string, unknown> = { type: name, message };
    if (stack !== undefined) out.stack = stack;
    if (cause !== undefined) out.cause = cause;
    const own = props as Record<string, unknown>;
    for (const k in own) if (hasOwn(own, k)) setOwn(out, k, own[k]);
    return out;
  }

  /** Data nested this deep is kept if its JSON holds no secret, else dropped (never walked further). */
  #tooDeep(v: object): unknown {
    let json: string | undefined;
    try {
      json = JSON.stringify(v);
    } catch {
      return TOO_DEEP;
    }
    if (json === undefined) return v;
    for (const n of this.#needles) if (json.includes(n)) return TOO_DEEP;
    return v;
  }
}

/** One place that writes an event to the site store and the same line to the log. */
export interface EventSink {
  emit(e: Omit<NewSiteEvent, 'level'> & { level?: EventLevel }): Promise<SiteEvent | undefined>;
}

/**
 * A job's event sink: `info`/`debug` events are logged at once and kept (with their time) until
 * the job's next journal write, which stores them in the same transaction — one store write per
 * step instead of one per event. A `warn`/`error` event is stored at once, after the kept ones.
 */
export interface JobEventSink extends EventSink {
  /** The kept events, oldest first, for the next journal write; the sink forgets them. */
  take(): NewSiteEvent[];
  /** Stores the kept events now (e.g. when the job ends without a journal write). */
  flush(): Promise<void>;
}

function prepare(
  e: Omit<NewSiteEvent, 'level'> & { level?: EventLevel },
  r: Redactor | undefined,
): NewSiteEvent {
  return {
    ...e,
    level: e.level ?? 'info',
    message: r ? r.text(e.message) : e.message,
    ...(e.data !== undefined ? { data: r ? r.data(e.data) : e.data } : {}),
  };
}

function log(logger: Logger | undefined, event: NewSiteEvent): void {
  if (!logger) return;
  const { message, level, ...fields } = event;
  logger[level](fields, message);
}

async function store1(
  store: SiteStore,
  logger: Logger | undefined,
  event: NewSiteEvent,
): Promise<SiteEvent | undefined> {
  try {
    return await store.appendEvent(event);
  } catch (err) {
    // Losing an event line must not fail provisioning; the log still has it.
    logger?.warn(
      { err: { message: (err as Error).message }, uuid: event.uuid, jobId: event.jobId, type: event.type },
      'event not stored',
    );
    return undefined;
  }
}

export function createEventSink(
  store: SiteStore,
  logger: Logger | undefined,
  redactor?: Redactor,
): EventSink {
  return {
    async emit(e) {
      const event = prepare(e, redactor);
      log(logger, event);
      return store1(store, logger, event);
    },
  };
}

export function createJobEventSink(
  store: SiteStore,
  logger: Logger | undefined,
  redactor?: Redactor,
  now: () => Date = () => new Date(),
): JobEventSink {
  let kept: NewSiteEvent[] = [];
  const take = (): NewSiteEvent[] => {
    const out = kept;
    kept = [];
    return out;
  };
  const flush = async (): Promise<void> => {
    for (const e of take()) await store1(store, logger, e);
  };
  return {
    async emit(e) {
      const event = prepare(e, redactor);
      log(logger, event);
      if (event.level === 'info' || event.level === 'debug') {
        kept.push({ ...event, at: event.at ?? now().toISOString() });
        return undefined;
      }
      await flush();
      return store1(store, logger, event);
    },
    take,
    flush,
  };
}
