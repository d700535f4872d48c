import { createHash, constants as cryptoConstants } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { type DigestCredentials, digestInterceptor, parseWwwAuthenticate } from '@oobkit/http-digest';
import { parseAmtServerHeader } from '@oobkit/wsman';
import { buildConnector, Client, type Dispatcher } from 'undici';
import { codeOf, ProvisioningError } from './errors.js';

/**
 * TLS options per firmware generation. Modern AMT speaks TLS 1.2 (capped there: AMT 21 had
 * trouble with 1.3). Old AMT speaks TLS 1.0 with RSA key transport, which OpenSSL 3 refuses
 * unless asked: those options are only ever used for a device known (or found) to be legacy.
 */
export type TlsProfile = 'modern' | 'legacy';

export interface ClientChain {
  /** leaf → root PEM, sent whole as the TLS client certificate chain (flow A.3.4). */
  certPem: string;
  keyPem: string;
}

export function tlsOptions(profile: TlsProfile, chain: ClientChain | undefined): SecureContextOptions {
  const base = {
    ...(chain ? { cert: chain.certPem, key: chain.keyPem } : {}),
    maxVersion: 'TLSv1.2' as const,
  };
  if (profile === 'modern') return { ...base, minVersion: 'TLSv1.2' };
  return {
    ...base,
    minVersion: 'TLSv1',
    ciphers: 'DEFAULT:@SECLEVEL=0',
    secureOptions: cryptoConstants.SSL_OP_LEGACY_SERVER_CONNECT,
  };
}

// Parsing a chain and its key into an OpenSSL context costs more than the handshake itself:
// one context per chain and profile, shared by every connection.
const contexts = new Map<string, SecureContext>();

function secureContextFor(profile: TlsProfile, chain: ClientChain | undefined): SecureContext {
  const key = `${profile}\u0000${chain ? createHash('sha256').update(chain.certPem).update(chain.keyPem).digest('hex') : ''}`;
  let ctx = contexts.get(key);
  if (!ctx) {
    ctx = createSecureContext(tlsOptions(profile, chain));
    if (contexts.size >= 64) contexts.clear();
    contexts.set(key, ctx);
  }
  return ctx;
}

/** Counters a benchmark (or a curious operator) can read. */
export interface TransportStats {
  handshakes: number;
  requests: number;
}

export function newTransportStats(): TransportStats {
  return { handshakes: 0, requests: 0 };
}

export interface FirmwareInfo {
  /** As the `Server` header gives it, e.g. `11.8.50.3425`; undefined when it was not given. */
  version?: string;
  major?: number;
  minor?: number;
}

/** The firmware as AMT's `Server` header reveals it before login (amt-protocol.md §4). */
export function firmwareFromServerHeader(server: string | string[] | undefined): FirmwareInfo {
  const h = parseAmtServerHeader(server);
  return h ? { version: h.version, major: h.major, minor: h.minor } : {};
}

/** A TLS + digest connection to one device's 16993, whose credentials can be switched. */
export interface DeviceConnection {
  readonly origin: string;
  readonly profile: TlsProfile;
  /** Digest dispatcher using the current credentials. */
  readonly dispatcher: Dispatcher;
  credentials: DigestCredentials | undefined;
  close(): Promise<void>;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

/** The error and its causes, outermost first. */
export function causeChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (
    let e: unknown = err;
    e !== undefined && e !== null && out.length < 8;
    e = (e as { cause?: unknown }).cause
  ) {
    out.push(e);
  }
  return out;
}

/** A TLS failure that means "wrong protocol version or suite", not "chain refused". */
export function isTlsVersionError(err: unknown): boolean {
  return causeChain(err).some(isTlsVersionError1);
}

function isTlsVersionError1(err: unknown): boolean {
  const code = codeOf(err) ?? '';
  const msg = (err as Error)?.message ?? '';
  return (
    code === 'ERR_SSL_UNSUPPORTED_PROTOCOL' ||
    code === 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' ||
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    code === 'ERR_SSL_NO_PROTOCOLS_AVAILABLE' ||
    code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' ||
    /protocol version|wrong version number|unsupported protocol|no protocols available/i.test(msg)
  );
}

function isTlsError(err: unknown): boolean {
  return causeChain(err).some(isTlsError1);
}

function isTlsError1(err: unknown): boolean {
  const code = codeOf(err) ?? '';
  return (
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    /\bSSL\b|\balert\b/i.test((err as Error)?.message ?? '')
  );
}

/** Maps a transport-level error to the flow's codes (TLS refused vs unreachable). */
export function transportError(err: unknown, step?: string): ProvisioningError {
  if (err instanceof ProvisioningError) return err;
  if (isTlsError(err)) {
    return new ProvisioningError('FLOW_TLS_REFUSED', `TLS handshake failed: ${(err as Error).message}`, {
      cause: err,
      ...(step !== undefined ? { step } : {}),
    });
  }
  if (isNetworkError(err)) {
    return new ProvisioningError('FLOW_UNREACHABLE', `device unreachable: ${(err as Error).message}`, {
      cause: err,
      ...(step !== undefined ? { step } : {}),
    });
  }
  return new ProvisioningError('FLOW_DEVICE_ERROR', (err as Error)?.message ?? String(err), {
    cause: err,
    ...(step !== undefined ? { step } : {}),
  });
}

function isNetworkError(err: unknown): boolean {
  return causeChain(err).some((e) => NETWORK_CODES.has(codeOf(e) ?? ''));
}

/** True for errors worth one more try of an idempotent step (a dropped or reset connection). */
export function isTransient(err: unknown): boolean {
  if (err instanceof ProvisioningError) return err.code === 'FLOW_UNREACHABLE';
  return isNetworkError(err) && !isTlsError(err);
}

export function openDeviceConnection(opts: {
  host: string;
  port: number;
  profile: TlsProfile;
  /** The provisioning chain (client certificate); none after provisioning. */
  chain?: ClientChain;
  stats?: TransportStats;
  connectTimeoutMs?: number;
  /** Per-request timeout (AMT answers slowly when it generates keys). */
  requestTimeoutMs?: number;
  /** Aborting it (the service closing) ends the connection and fails its requests at once. */
  signal?: AbortSignal;
}): DeviceConnection {
  const connector = buildConnector({
    secureContext: secureContextFor(opts.profile, opts.chain),
    // AMT presents a self-signed certificate during provisioning: nothing to verify it against.
    rejectUnauthorized: false,
    timeout: opts.connectTimeoutMs ?? 10_000,
    // No session resumption: every connection presents the provisioning chain in full, so the
    // firmware checks it each time (and a resumed session would carry no client certificate).
    maxCachedSessions: 0,
  });
  const stats = opts.stats;
  const origin = `https://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`;
  // One origin per connection object: a Client (which reconnects after AMT's `Connection: close`
  // on a 401) rather than an Agent, whose per-origin bookkeeping in undici 7 lets a replaced
  // client's late disconnect close its successor, which cost a new TLS handshake per request.
  const client = new Client(origin, {
    connect: (o, cb) => {
      if (stats) stats.handshakes++;
      connector(o, cb);
    },
    pipelining: 1,
    headersTimeout: opts.requestTimeoutMs ?? 60_000,
    bodyTimeout: opts.requestTimeoutMs ?? 60_000,
  });
  const signal = opts.signal;
  const onAbort = () => void client.destroy().catch(() => undefined);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  const conn = {
    origin,
    profile: opts.profile,
    credentials: undefined as DigestCredentials | undefined,
    dispatcher: undefined as unknown as Dispatcher,
    close: () => {
      signal?.removeEventListener('abort', onAbort);
      return client.close();
    },
  };
  // compose(): the last interceptor is the outermost. Counting sits innermost so it sees every
  // request on the wire (digest retries too); the credential injector is outermost so a switch of
  // `conn.credentials` applies to the next call.
  conn.dispatcher = client.compose(
    (dispatch) => (o, h) => {
      if (stats) stats.requests++;
      return dispatch(o, h);
    },
    digestInterceptor(),
    (dispatch) => (o, h) =>
      dispatch(conn.credentials ? ({ ...o, digest: conn.credentials } as Dispatcher.DispatchOptions) : o, h),
  );
  return conn;
}

export interface ProbeResult {
  status: number;
  firmware: FirmwareInfo;
  /** From the 401's digest challenge, when the probe got one. */
  realm?: string;
}

/**
 * One unauthenticated request: completes the TLS handshake (where AMT checks the provisioning
 * chain, flow A.3.5) and returns what AMT says before login: its `Server` header and digest realm.
 */
export async function probeDevice(conn: DeviceConnection, path = '/wsman'): Promise<ProbeResult> {
  const saved = conn.credentials;
  conn.credentials = undefined;
  try {
    const res = await conn.dispatcher.request({
      origin: conn.origin,
      path,
      method: 'POST',
      headers: { 'content-type': 'application/soap+xml;charset=UTF-8' },
      body: '',
    });
    await res.body.dump();
    const out: ProbeResult = {
      status: res.statusCode,
      firmware: firmwareFromServerHeader(res.headers.server),
    };
    const www = res.headers['www-authenticate'];
    for (const h of Array.isArray(www) ? www : www ? [www] : []) {
      try {
        const c = parseWwwAuthenticate(h)[0];
        if (c?.realm) {
          out.realm = c.realm;
          break;
        }
      } catch {
        // not a digest challenge
      }
    }
    return out;
  } finally {
    conn.credentials = saved;
  }
}
