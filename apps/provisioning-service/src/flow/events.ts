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
    return JSON.parse(this.text(JSON.stringify(value))) as T;
  }
}

/** One place that writes an event to the site store and the same line to the log. */
export interface EventSink {
  emit(e: Omit<NewSiteEvent, 'level'> & { level?: EventLevel }): Promise<SiteEvent | undefined>;
}

export function createEventSink(
  store: SiteStore,
  logger: Logger | undefined,
  redactor?: Redactor,
): EventSink {
  return {
    async emit(e) {
      const r = redactor;
      const event: NewSiteEvent = {
        ...e,
        level: e.level ?? 'info',
        message: r ? r.text(e.message) : e.message,
        ...(e.data !== undefined ? { data: r ? r.data(e.data) : e.data } : {}),
      };
      if (logger) {
        const { message, level, ...fields } = event;
        logger[level](fields, message);
      }
      try {
        return await store.appendEvent(event);
      } catch (err) {
        // Losing an event line must not fail provisioning; the log still has it.
        logger?.warn({ err: { message: (err as Error).message } }, 'event not stored');
        return undefined;
      }
    },
  };
}
