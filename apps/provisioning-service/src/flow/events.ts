import type { Logger } from 'pino';
import type { EventLevel, NewSiteEvent, SiteEvent, SiteStore } from '../store/types.js';

/**
 * Replaces every known secret value with `***` in text and nested data. The flow registers each
 * secret it handles (credentials, generated passwords, PSKs), so even a peer's error message that
 * echoes one back never reaches the event log or the logs.
 */
export class Redactor {
  readonly #secrets = new Set<string>();

  add(...values: (string | undefined)[]): void {
    // Very short values would blank out ordinary words; AMT passwords are ≥ 8 characters, and
    // the factory default `admin` is public knowledge.
    for (const v of values) if (v !== undefined && v.length >= 6) this.#secrets.add(v);
  }

  text(s: string): string {
    let out = s;
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.split(secret).join('***');
    return out;
  }

  data<T>(value: T): T {
    if (this.#secrets.size === 0) return value;
    const json = JSON.stringify(value);
    if (json === undefined) return value;
    const redacted = this.text(json);
    // Nothing to hide (the usual case): the value as it is, without a parse.
    return redacted === json ? value : (JSON.parse(redacted) as T);
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
