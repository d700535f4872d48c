/**
 * Which object keys hold secrets, for log redaction and for scrubbing event data. Matching is by
 * key name at any depth (case-insensitive), never by value, so it costs nothing to call often.
 */
const SECRET_KEYS = new Set([
  'password',
  'pass',
  'passwd',
  'passphrase',
  'pskpassphrase',
  'pskvalue',
  'secret',
  'otp',
  'masterkey',
  'key',
  'keypem',
  'privatekey',
  'pfx',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'token',
  'apitoken',
  'accesstoken',
  'digestpassword',
  'mebxpassword',
  'adminpassword',
]);

/** Suffixes that mark a secret in compound names (`adminPassword`, `apiKey`, `clientSecret`). */
const SECRET_SUFFIXES = ['password', 'passphrase', 'secret', 'token', 'key', 'otp'];

/** Names the suffix rule would catch that are not secrets. */
const NOT_SECRET = new Set(['fencingtoken', 'publickey', 'sortkey']);

export const REDACTED_VALUE = '[redacted]';

export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase();
  if (NOT_SECRET.has(k)) return false;
  return SECRET_KEYS.has(k) || SECRET_SUFFIXES.some((s) => k.endsWith(s));
}

/**
 * A deep copy with every secret-named property of plain objects, arrays and errors replaced by
 * `[redacted]`. Cycles become `[circular]`; errors become plain objects keeping type, message,
 * stack and own properties (messages carry no secrets by rule).
 */
export function redactSecrets<T>(value: T, opts: { instances?: boolean } = {}): T {
  return walk(value, new WeakSet(), opts.instances === true) as T;
}

/** With `instances`, class instances are walked too, through `for…in` (own and inherited enumerable keys). */
function walk(v: unknown, seen: WeakSet<object>, instances: boolean): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Buffer.isBuffer(v) || ArrayBuffer.isView(v)) return `[${v.byteLength} bytes]`;
  // Other class instances (requests, sockets, URLs) are left to their serializers; walking them
  // would be slow and could run into native state.
  if (!instances && !Array.isArray(v) && !(v instanceof Error) && !isPlain(v)) return v;
  if (seen.has(v)) return '[circular]';
  seen.add(v);
  let out: unknown;
  if (Array.isArray(v)) {
    out = v.map((x) => walk(x, seen, instances));
  } else {
    const o: Record<string, unknown> = {};
    if (v instanceof Error) {
      o.type = v.name;
      o.message = v.message;
      if (v.stack) o.stack = v.stack;
      if (v.cause !== undefined) o.cause = walk(v.cause, seen, instances);
    }
    const entries: [string, unknown][] = [];
    if (instances) for (const k in v) entries.push([k, (v as Record<string, unknown>)[k]]);
    else entries.push(...Object.entries(v));
    for (const [k, x] of entries)
      o[k] = isSecretKey(k) && !isFlag(x) ? REDACTED_VALUE : walk(x, seen, instances);
    out = o;
  }
  seen.delete(v);
  return out;
}

/**
 * A true/false under a secret-like name (`deviceGeneratedKey: true`) holds no secret: it is kept,
 * so event data and the job journal read the same.
 */
export function isFlag(v: unknown): v is boolean {
  return typeof v === 'boolean';
}

function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
