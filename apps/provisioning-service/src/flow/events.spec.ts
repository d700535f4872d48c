import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { staticKeyProvider } from '../secrets/index.js';
import { openSqliteStore } from '../store/sqlite.js';
import { createEventSink, createJobEventSink, Redactor } from './events.js';

describe('Redactor', () => {
  it('blanks every registered secret in text and nested data', () => {
    const r = new Redactor();
    r.add('S3cret#Pass', undefined, 'admin');
    expect(r.text('refused S3cret#Pass twice: S3cret#Pass')).toBe('refused *** twice: ***');
    expect(r.data({ a: ['x S3cret#Pass'], b: { c: 'S3cret#Pass' } })).toEqual({
      a: ['x ***'],
      b: { c: '***' },
    });
    // Too short to be a generated secret (and `admin` is the public factory default).
    expect(r.text('admin')).toBe('admin');
  });
});

/** An in-memory store, a debug logger whose lines are kept, and a redactor knowing one secret. */
async function sinkSetup() {
  const store = await openSqliteStore({
    path: ':memory:',
    keyProvider: staticKeyProvider(Buffer.alloc(32, 1)),
  });
  const lines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(chunk.toString());
        cb();
      },
    }),
  });
  const r = new Redactor();
  r.add('Top$ecret99');
  return { store, lines, logger, r };
}

describe('event sink', () => {
  it('stores the event and logs the same line, both without the secret', async () => {
    const { store, lines, logger, r } = await sinkSetup();
    const sink = createEventSink(store, logger, r);
    await sink.emit({
      type: 'login.refused',
      message: 'device said no to Top$ecret99',
      data: { echo: 'Top$ecret99' },
    });
    const [e] = await store.listEvents();
    expect(e).toMatchObject({
      type: 'login.refused',
      level: 'info',
      message: 'device said no to ***',
      data: { echo: '***' },
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('login.refused');
    expect(lines[0]).not.toContain('Top$ecret99');
    await store.close();
  });
});

describe('job event sink', () => {
  it('keeps info events for the next journal write, stores a warning at once after them', async () => {
    const { store, lines, logger, r } = await sinkSetup();
    let clock = Date.parse('2025-05-01T08:00:00.000Z');
    const sink = createJobEventSink(store, logger, r, () => new Date(clock));
    await sink.emit({ type: 'login.ok', message: 'in with Top$ecret99' });
    clock += 5;
    await sink.emit({ type: 'step.done', step: 'login', message: 'login done', durationMs: 5 });
    // Logged at once, stored later.
    expect(lines).toHaveLength(2);
    expect(await store.listEvents()).toEqual([]);
    const kept = sink.take();
    expect(kept.map((e) => [e.type, e.at, e.message])).toEqual([
      ['login.ok', '2025-05-01T08:00:00.000Z', 'in with ***'],
      ['step.done', '2025-05-01T08:00:00.005Z', 'login done'],
    ]);
    expect(sink.take()).toEqual([]);

    await sink.emit({ type: 'secret.pending', message: 'stored' });
    await sink.emit({ level: 'warn', type: 'step.retry', message: 'retrying' });
    expect((await store.listEvents()).map((e) => e.type)).toEqual(['secret.pending', 'step.retry']);
    expect(sink.take()).toEqual([]);

    await sink.emit({ type: 'job.skipped', message: 'nothing to do' });
    await sink.flush();
    expect((await store.listEvents()).map((e) => e.type)).toEqual([
      'secret.pending',
      'step.retry',
      'job.skipped',
    ]);
    expect(lines.join('')).not.toContain('Top$ecret99');
    await store.close();
  });
});
