import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { staticKeyProvider } from '../secrets/index.js';
import { openSqliteStore } from '../store/sqlite.js';
import { createEventSink, Redactor } from './events.js';

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

describe('event sink', () => {
  it('stores the event and logs the same line, both without the secret', async () => {
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
