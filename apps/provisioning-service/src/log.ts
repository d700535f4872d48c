import pino from 'pino';
import { isFlag, isSecretKey, REDACTED_VALUE, redactSecrets } from './secrets/redact.js';

export type Logger = pino.Logger;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface CreateLoggerOptions {
  level?: string;
  /** Where lines go; stdout by default. */
  destination?: NodeJS.WritableStream | pino.DestinationStream;
}

/**
 * The service logger: pino, JSON lines, and secrets redacted by key name at any depth
 * (`password`, `pass`, `secret`, `otp`, `masterKey`, `key`, `keyPem`, `pskPassphrase`,
 * `authorization`, `token`, and compound names ending in password, passphrase, secret, token or
 * key). Redaction covers the logged object, child bindings and serializer output (`err`, `req`,
 * `res`), so nothing reaches the stream unredacted. Message strings are not scanned: by rule they
 * never carry a secret.
 */
export function createLogger(opts: CreateLoggerOptions = {}): Logger {
  // Serializer output uses prototype accessors (pino's error and request shapes), so it is
  // redacted in the form it will be written: its JSON.
  const redactAfter =
    <T>(fn: (v: T) => unknown) =>
    (v: T) => {
      const out = fn(v);
      try {
        // Bytes (an error's `rawPacket`, say) are never written: JSON would spell them out.
        return redactSecrets(JSON.parse(JSON.stringify(out, hideBytes)) as unknown);
      } catch {
        return redactSecrets(out, { instances: true });
      }
    };
  const options: pino.LoggerOptions = {
    level: opts.level ?? 'info',
    formatters: {
      log: redactLogObject,
      bindings: (b) => redactSecrets(b),
    },
    serializers: {
      err: redactAfter(pino.stdSerializers.err),
      error: redactAfter(pino.stdSerializers.err),
      req: redactAfter(pino.stdSerializers.req),
      res: redactAfter(serializeResponse),
    },
  };
  const logger = opts.destination ? pino(options, opts.destination as pino.DestinationStream) : pino(options);
  // pino applies `formatters.bindings` to the root only; children inherit this `child`, so every
  // generation's bindings pass through redaction.
  const child = logger.child;
  (logger as { child: unknown }).child = function redactingChild(
    this: Logger,
    bindings: pino.Bindings,
    options?: pino.ChildLoggerOptions,
  ) {
    return Reflect.apply(child, this, [redactSecrets(bindings), options]) as Logger;
  };
  return logger;
}

/** A JSON.stringify replacer writing `[N bytes]` for a Buffer (after its toJSON) or a typed array. */
function hideBytes(_key: string, v: unknown): unknown {
  if (ArrayBuffer.isView(v)) return `[${v.byteLength} bytes]`;
  const b = v as { type?: unknown; data?: unknown } | null;
  if (b && b.type === 'Buffer' && Array.isArray(b.data)) return `[${b.data.length} bytes]`;
  return v;
}

/**
 * A fastify reply (its access line's `res`) logs its status as fastify's own serializer does;
 * pino's serializer reads `headersSent`, which only the raw response has, and wrote null.
 */
function serializeResponse(res: unknown): unknown {
  const raw = (res as { raw?: unknown } | null)?.raw;
  if (raw && typeof (raw as { statusCode?: unknown }).statusCode === 'number') {
    return { statusCode: (raw as { statusCode: number }).statusCode };
  }
  return pino.stdSerializers.res(res as Parameters<typeof pino.stdSerializers.res>[0]);
}

/** Errors under `err`/`error` are left whole for the error serializer, whose output is redacted. */
function redactLogObject(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (isSecretKey(k) && !isFlag(v)) out[k] = REDACTED_VALUE;
    else if ((k === 'err' || k === 'error') && v instanceof Error) out[k] = v;
    else out[k] = redactSecrets(v);
  }
  return out;
}
