import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { staticKeyProvider } from '../secrets/index.js';
import { redactSecrets } from '../secrets/redact.js';
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

/** The JSON form of a string without its quotes: how a secret reads inside JSON text. */
const escaped = (s: string): string => JSON.stringify(s).slice(1, -1);

/** Every string and key a value holds, as the stored JSON gives them back. */
function stringsOf(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) stringsOf(x, out);
  else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      stringsOf(x, out);
    }
  }
  return out;
}

/** What survives of `data` once stored: its JSON read back. */
const stored = (data: unknown): unknown => JSON.parse(JSON.stringify(data) ?? 'null');

describe('Redactor.data: secrets JSON would escape', () => {
  it('scrubs a secret holding a backslash or a quote (the AMT policy allows \\; credentials allow anything)', () => {
    const r = new Redactor();
    const secret = 'Pa\\ss"w0rd';
    r.add(secret);
    const out = r.data({ echo: `device said ${secret}.`, list: [secret, { deep: `${secret}${secret}` }] });
    expect(out).toEqual({ echo: 'device said ***.', list: ['***', { deep: '***' }] });
    expect(JSON.stringify(out)).not.toContain(escaped(secret));
  });

  it('scrubs a multi-line secret (a PEM private key) in data', () => {
    const r = new Redactor();
    const keyPem =
      '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';
    r.add(keyPem);
    const out = r.data({ sent: keyPem, note: `key: ${keyPem}` });
    expect(out).toEqual({ sent: '***', note: 'key: ***' });
    expect(JSON.stringify(out)).not.toContain('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC');
  });

  it('keeps working when a secret looks like JSON syntax (no SyntaxError, nothing lost)', () => {
    const r = new Redactor();
    r.add('":"login', '}{"a":', '\u0000\u0001ctl\u001f', '],[1,2');
    const data = { step: 'login', a: 1, list: [1, 2], z: [[1, 2]] };
    // Data without a secret comes back as it is, although its JSON text spells some of them.
    expect(r.data(data)).toBe(data);
    expect(
      r.data({
        step: 'x":"login',
        b: 'q}{"a":q',
        c: 'nul \u0000\u0001ctl\u001f!',
        d: ['],[1,2'],
      }),
    ).toEqual({ step: 'x***', b: 'q***q', c: 'nul ***!', d: ['***'] });
  });

  it('scrubs unicode secrets, astral characters and line separators included', () => {
    const r = new Redactor();
    r.add('pässwörd🔑', 'zé\u2028\u2029ro');
    expect(r.data({ a: 'x pässwörd🔑 y', b: ['zé\u2028\u2029ro'], c: 'pässwörd' })).toEqual({
      a: 'x *** y',
      b: ['***'],
      c: 'pässwörd',
    });
  });

  it('scrubs arrays in arrays in objects, and object keys', () => {
    const r = new Redactor();
    r.add('S3cret#Pass');
    const out = r.data({
      rows: [[['S3cret#Pass', 1]], [{ k: ['a', 'S3cret#Pass b'] }]],
      'S3cret#Pass': true,
      byLabel: { 'tried S3cret#Pass': { n: 1 } },
    });
    expect(out).toEqual({
      rows: [[['***', 1]], [{ k: ['a', '*** b'] }]],
      '***': true,
      byLabel: { 'tried ***': { n: 1 } },
    });
    expect(JSON.stringify(out)).not.toContain('S3cret');
  });

  it('keeps both values when two keys read the same once redacted', () => {
    const r = new Redactor();
    r.add('S3cret#Pass', 'Other#Pass9');
    expect(r.data({ 'S3cret#Pass': 1, 'Other#Pass9': 2, '***': 3, z: 4 })).toEqual({
      '***': 1,
      '*** (2)': 2,
      '*** (3)': 3,
      z: 4,
    });
  });

  it('handles a `__proto__` key (as JSON.parse makes it) as a plain key', () => {
    const r = new Redactor();
    r.add('S3cret#Pass');
    const data = JSON.parse('{"a":"S3cret#Pass","__proto__":{"b":"S3cret#Pass"}}') as Record<string, unknown>;
    const out = r.data(data);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"a":"***","__proto__":{"b":"***"}}');
  });
});

describe('Redactor.data: shape and identity', () => {
  it('returns data without secrets as it is (the store keeps it without a copy)', () => {
    const r = new Redactor();
    r.add('S3cret#Pass');
    const data = {
      source: 'credential',
      id: 3,
      label: 'factory admin',
      nested: { list: [1, 'two', null, true, { x: 'y' }] },
      at: new Date(0),
      bytes: Buffer.from('S3cret#Pass'),
      none: undefined,
    };
    const before = JSON.stringify(data);
    expect(r.data(data)).toBe(data);
    expect(JSON.stringify(data)).toBe(before);
  });

  it('copies only what changed, never changes its input, and keeps key order', () => {
    const r = new Redactor();
    r.add('S3cret#Pass');
    const clean = { x: [1, 2] };
    const data = { first: clean, secret: 'S3cret#Pass', list: [clean, 'S3cret#Pass'], last: 1 };
    const out = r.data(data);
    expect(out).toEqual({ first: { x: [1, 2] }, secret: '***', list: [{ x: [1, 2] }, '***'], last: 1 });
    expect(Object.keys(out)).toEqual(['first', 'secret', 'list', 'last']);
    expect(out.first).toBe(clean);
    expect(out.list[0]).toBe(clean);
    // The flow journals the very object it emits as step data: it must keep its values.
    expect(data).toEqual({ first: clean, secret: 'S3cret#Pass', list: [clean, 'S3cret#Pass'], last: 1 });
  });

  it('gives everything back unchanged when no secret is registered', () => {
    const data = { a: 'S3cret#Pass' };
    expect(new Redactor().data(data)).toBe(data);
    expect(new Redactor().text('S3cret#Pass')).toBe('S3cret#Pass');
  });

  it('turns a cycle into [circular] instead of throwing, and keeps shared objects', () => {
    const r = new Redactor();
    r.add('S3cret#Pass');
    const a: Record<string, unknown> = { s: 'S3cret#Pass' };
    a.self = a;
    a.list = [a];
    expect(r.data(a)).toEqual({ s: '***', self: '[circular]', list: ['[circular]'] });
    const shared = { s: 'S3cret#Pass' };
    expect(r.data({ x: shared, y: [shared] })).toEqual({ x: { s: '***' }, y: [{ s: '***' }] });
  });

  it('stops at a sane depth without leaking what lies deeper', () => {
    const r = new Redactor();
    r.add('S3cret#Pass');
    const nest = (leaf: unknown, n: number): unknown => (n === 0 ? leaf : { d: nest(leaf, n - 1) });
    const clean = nest('fine', 200);
    expect(r.data(clean)).toBe(clean);
    const out = r.data(nest('S3cret#Pass', 200));
    expect(JSON.stringify(out)).not.toContain('S3cret');
    expect(JSON.stringify(out)).toContain('[too deep]');
  });

  it('scrubs what JSON.stringify and the store would write: toJSON results, class instances, errors', () => {
    const r = new Redactor();
    r.add('S3cret#Pass');
    class Attempt {
      constructor(
        public label: string,
        public password: string,
      ) {}
    }
    const err = new Error('device echoed S3cret#Pass', { cause: new Error('inner S3cret#Pass') });
    const out = r.data({
      custom: { toJSON: () => ({ v: 'S3cret#Pass' }) },
      boxed: new String('S3cret#Pass'),
      attempt: new Attempt('tried', 'S3cret#Pass'),
      err,
    });
    expect(out).toMatchObject({
      custom: { v: '***' },
      boxed: '***',
      attempt: { label: 'tried', password: '***' },
      err: { type: 'Error', message: 'device echoed ***', cause: { type: 'Error', message: 'inner ***' } },
    });
    expect(JSON.stringify(out)).not.toContain('S3cret');
    expect(JSON.stringify(redactSecrets(out))).not.toContain('S3cret');
    // An error without a secret is kept as it is (the store and logger write it out).
    const clean = new Error('timeout');
    expect(r.data({ err: clean }).err).toBe(clean);
  });
});

describe('Redactor.text', () => {
  it('leaves nothing of a secret that holds another one (any registration order)', () => {
    for (const order of [
      ['Passw0rd', 'Passw0rd!2024'],
      ['Passw0rd!2024', 'Passw0rd'],
    ]) {
      const r = new Redactor();
      r.add(...order);
      expect(r.text('tried Passw0rd!2024 then Passw0rd')).toBe('tried *** then ***');
      expect(r.data({ m: 'Passw0rd!2024' })).toEqual({ m: '***' });
    }
  });

  it('leaves nothing of overlapping secrets, or of a secret overlapping itself', () => {
    const r = new Redactor();
    r.add('abcdef12', '12ghijkl');
    expect(r.text('<abcdef12ghijkl>')).toBe('<***>');
    const s = new Redactor();
    s.add('aaaaaa');
    expect(s.text('xaaaaaaax')).toBe('x***x');
  });

  it('scrubs a secret in the JSON-escaped form a quoted JSON body gives it', () => {
    const r = new Redactor();
    r.add('Pa\\ss"w0rd');
    const body = JSON.stringify({ error: 'bad password', password: 'Pa\\ss"w0rd' });
    expect(r.text(`directory: HTTP 400 ${body}`)).toBe(
      'directory: HTTP 400 {"error":"bad password","password":"***"}',
    );
  });

  it('leaves no secret that `***` and the text around it spell', () => {
    const r = new Redactor();
    r.add('xxxxxx', '***yyy');
    expect(r.text('a xxxxxxyyy b')).toBe('a *** b');
  });

  it('ignores empty, short, missing and non-string values on add', () => {
    const r = new Redactor();
    r.add('', 'admin', 'abc', undefined, null, 42 as unknown as string);
    expect(r.text('admin abc 42 ')).toBe('admin abc 42 ');
    const data = { kind: 'admin', step: 'stage1.admin-password' };
    expect(r.data(data)).toBe(data);
    r.add('S3cret#Pass');
    expect(r.text('admin secret #3: S3cret#Pass')).toBe('admin secret #3: ***');
  });
});

/** Pieces that break naive scrubbing: JSON syntax, escapes, controls, unicode, the mask itself. */
const tricky = fc.constantFrom(
  '"',
  '\\',
  '":"',
  '}{',
  '\u0000',
  '\n',
  '\u2028',
  'é',
  '🔑',
  '\ud800',
  '***',
  '[',
  ',',
  ':',
  'login',
  'null',
  '1',
  'a',
);
const piece = fc.oneof(tricky, fc.string({ unit: 'binary', maxLength: 3 }));
const secretArb = fc.array(piece, { minLength: 1, maxLength: 6 }).map((p) => p.join('').padEnd(6, 'x'));

/** A string that may hold some of `secrets`, between other tricky text. */
const textWith = (secrets: string[]) =>
  fc.array(fc.oneof(piece, fc.constantFrom(...secrets)), { maxLength: 5 }).map((p) => p.join(''));

/** JSON-like data whose strings and keys may hold the secrets. */
const dataWith = (secrets: string[]) =>
  fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      textWith(secrets),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('node'), { maxLength: 4 }),
      fc.dictionary(textWith(secrets), tie('node'), { maxKeys: 4 }),
    ),
  })).node;

describe('Redactor properties', () => {
  it('no registered secret survives in stored data or text, and nothing throws', () => {
    fc.assert(
      fc.property(
        fc
          .uniqueArray(secretArb, { minLength: 1, maxLength: 5 })
          .chain((secrets) =>
            fc.tuple(fc.constant(secrets), dataWith(secrets), textWith(secrets), fc.nat(secrets.length)),
          ),
        ([secrets, data, text, split]) => {
          const r = new Redactor();
          // Registered in two batches: order and repetition must not matter.
          r.add(...secrets.slice(split));
          r.add(...secrets.slice(0, split), ...secrets);
          const out = r.data({ data });
          const json = JSON.stringify(out);
          const kept = stringsOf(JSON.parse(json));
          const message = r.text(text);
          for (const s of secrets) {
            for (const k of kept) expect(k).not.toContain(s);
            expect(message).not.toContain(s);
            expect(message).not.toContain(escaped(s));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('data without secrets comes back as it is', () => {
    fc.assert(
      fc.property(fc.uniqueArray(secretArb, { minLength: 1, maxLength: 5 }), fc.jsonValue(), (secrets, v) => {
        const text = stringsOf(v);
        fc.pre(!secrets.some((s) => text.some((t) => t.includes(s) || t.includes(escaped(s)))));
        const r = new Redactor();
        r.add(...secrets);
        const data = { v };
        expect(r.data(data)).toBe(data);
        expect(stored(r.data(data))).toEqual(stored(data));
      }),
      { numRuns: 300 },
    );
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
