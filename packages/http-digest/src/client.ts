import { stringify } from 'node:querystring';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import {
  answerChallenge,
  computeHa1,
  type DigestAlgorithm,
  type DigestCredentials,
  isDigestAlgorithm,
  randomCnonce,
  selectChallenge,
  selectQop,
} from './digest.js';
import { DigestError } from './errors.js';
import { type DigestChallenge, parseAuthenticationInfo, parseWwwAuthenticate } from './header.js';

export interface DigestInterceptorOptions {
  /** Credentials for every request that does not carry its own `digest` option. */
  credentials?: DigestCredentials;
  /**
   * How many refusals of an answer to a fresh challenge end the request with
   * `DIGEST_WRONG_CREDENTIALS` (default 1: one wrong try per credential, kind to AMT's
   * anti-hammering). `stale=true` refusals never count.
   */
  maxRefusals?: number;
  /** Client nonce source (default 16 random bytes in hex); inject one for test vectors. */
  cnonce?: () => string;
  /**
   * Answer up front with the last nonce of the origin and the next `nc`, saving a round trip
   * (default true). Only done with credentials the origin already accepted.
   */
  preemptive?: boolean;
  /**
   * Milliseconds a challenge nobody has answered yet (from a 401, to any request through this
   * interceptor) stays usable as the next request's challenge, saving that request its bare try
   * (default 5000; 0 turns it off). Only with `preemptive`.
   */
  unansweredTtlMs?: number;
  /** Clock for that age (default `performance.now`); tests inject one. */
  now?: () => number;
}

/**
 * Per-request credentials. undici passes unknown dispatch options through to interceptors, so
 * `dispatcher.request({ origin, path, method, digest: { username, password } })` and
 * `request(url, { dispatcher, digest })` both work; the interceptor strips the field before
 * the request goes on.
 */
export interface DigestDispatchOptions {
  digest?: DigestCredentials;
}

// Typed call sites: importing this package makes `digest` a known dispatch option of undici.
declare module 'undici' {
  namespace Dispatcher {
    interface DispatchOptions {
      /** Digest credentials for this request (read by `digestInterceptor`, stripped before sending). */
      digest?: DigestCredentials;
    }
  }
}

/** `Dispatcher.RequestOptions` with the per-request `digest` field, for typed call sites. */
export type DigestRequestOptions<TOpaque = null> = Dispatcher.RequestOptions<TOpaque> & DigestDispatchOptions;

interface NonceEntry {
  challenge: DigestChallenge;
  nc: number;
  /** HA1 of the last credentials used with this entry's realm and hash, saving a hash per request. */
  ha1?: { key: string; value: string };
  /** Credentials (user NUL password) the origin last accepted with this cache entry. */
  accepted?: string;
  /** When the challenge arrived, while no request has answered it yet. */
  unanswered?: number;
}

interface Shared {
  cache: Map<string, NonceEntry>;
  maxRefusals: number;
  preemptive: boolean;
  unansweredTtlMs: number;
  now: () => number;
  cnonce: () => string;
}

type AttemptKind = 'bare' | 'cached' | 'fresh';

// Bounds the per-interceptor nonce cache (one entry per origin) and the rounds per request.
const MAX_CACHED_ORIGINS = 1_000;
const EXTRA_ROUNDS = 3;

function credentialKey(c: DigestCredentials): string {
  return `${c.username}\u0000${c.password}`;
}

function checkCredentials(c: unknown): asserts c is DigestCredentials {
  const o = c as Partial<DigestCredentials> | null;
  if (
    typeof o !== 'object' ||
    o === null ||
    typeof o.username !== 'string' ||
    typeof o.password !== 'string'
  ) {
    throw new DigestError(
      'DIGEST_INVALID_ARGUMENT',
      'digest credentials need a username and password string',
    );
  }
}

function originKey(origin: Dispatcher.DispatchOptions['origin']): string {
  return origin instanceof URL ? origin.origin : String(origin ?? '');
}

/**
 * The challenge of a 401 this client would answer: the first Digest one whose algorithm and qop
 * it implements, `'none'` when the 401 carries no Digest challenge, or why it cannot be answered.
 */
function challengeOf(
  headers: Record<string, string | string[] | undefined>,
): DigestChallenge | 'none' | DigestError {
  const values = headerValues(headers['www-authenticate']);
  const challenges: DigestChallenge[] = [];
  let parseError: unknown;
  for (const v of values) {
    try {
      challenges.push(...parseWwwAuthenticate(v));
    } catch (err) {
      // Only a broken Digest challenge matters; another scheme's syntax is not our business.
      if (/digest/i.test(v)) parseError ??= err;
    }
  }
  if (challenges.length === 0) return parseError instanceof DigestError ? parseError : 'none';
  try {
    const chosen = selectChallenge(challenges, values.join(', '));
    selectQop(chosen);
    return chosen;
  } catch (err) {
    return err as DigestError;
  }
}

/** Makes `entry` the origin's newest cache entry, dropping the oldest origin past the bound. */
function remember(shared: Shared, key: string, entry: NonceEntry): void {
  const { cache } = shared;
  cache.delete(key);
  cache.set(key, entry);
  if (cache.size > MAX_CACHED_ORIGINS) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
}

function headerValues(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Copies request headers in any form undici accepts, replacing `authorization`. */
function withAuthorization(headers: Dispatcher.DispatchOptions['headers'], value: string): string[] {
  const out: string[] = [];
  const add = (k: unknown, v: unknown): void => {
    const name = String(k);
    if (name.toLowerCase() === 'authorization' || v === undefined) return;
    for (const item of Array.isArray(v) ? v : [v]) out.push(name, String(item));
  };
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown as [unknown, unknown][]) add(pair[0], pair[1]);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i], headers[i + 1]);
    }
  } else if (headers != null && typeof headers === 'object') {
    if (Symbol.iterator in headers) {
      for (const [k, v] of headers as Iterable<[string, string | string[] | undefined]>) add(k, v);
    } else {
      for (const [k, v] of Object.entries(headers)) add(k, v);
    }
  }
  out.push('authorization', value);
  return out;
}

function bodyBytes(body: unknown): { replayable: boolean; bytes?: string | Uint8Array } {
  if (body == null) return { replayable: true };
  if (typeof body === 'string') return { replayable: true, bytes: body };
  if (ArrayBuffer.isView(body)) {
    return { replayable: true, bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) };
  }
  return { replayable: false };
}

/** One request through the interceptor: the bare or preemptive try, then answers to 401s. */
class DigestFlow {
  private refusals = 0;
  private rounds = 0;
  private readonly key: string;
  private readonly credKey: string;
  private readonly uri: string;
  private readonly body: { replayable: boolean; bytes?: string | Uint8Array };

  constructor(
    private readonly dispatch: Dispatcher.Dispatch,
    private readonly opts: Dispatcher.DispatchOptions,
    readonly handler: Dispatcher.DispatchHandler,
    private readonly credentials: DigestCredentials,
    private readonly shared: Shared,
  ) {
    this.key = originKey(opts.origin);
    this.credKey = credentialKey(credentials);
    this.uri = opts.path;
    this.body = bodyBytes(opts.body);
  }

  start(): boolean {
    const { shared } = this;
    const entry = shared.cache.get(this.key);
    if (shared.preemptive && entry !== undefined && this.canAnswer(entry)) {
      // A challenge the origin just sent (e.g. to a probe, or to the previous credentials of a
      // list) and nobody answered: answering it is what the bare try would lead to, one round
      // trip sooner. Its refusal counts like any answer to a fresh challenge.
      if (entry.unanswered !== undefined && shared.now() - entry.unanswered <= shared.unansweredTtlMs) {
        return this.send(entry, 'fresh');
      }
      if (entry.accepted === this.credKey) return this.send(entry, 'cached');
    }
    return this.dispatch(this.opts, new DigestAttempt(this, 'bare'));
  }

  private canAnswer(entry: NonceEntry): boolean {
    return this.body.replayable || selectQop(entry.challenge) !== 'auth-int';
  }

  private send(entry: NonceEntry, kind: AttemptKind): boolean {
    entry.unanswered = undefined;
    if (entry.nc >= 0xffffffff) entry.nc = 0;
    entry.nc += 1;
    const request: { method: string; uri: string; body?: string | Uint8Array } = {
      method: this.opts.method,
      uri: this.uri,
    };
    if (this.body.bytes !== undefined) request.body = this.body.bytes;
    const { challenge } = entry;
    const algorithm = challenge.algorithm ?? 'MD5';
    let ha1: string | undefined;
    if (isDigestAlgorithm(algorithm)) {
      const key = `${algorithm}\u0000${challenge.realm}\u0000${this.credKey}`;
      if (entry.ha1?.key !== key) {
        const base = algorithm.replace(/-sess$/, '') as DigestAlgorithm;
        entry.ha1 = {
          key,
          value: computeHa1(base, this.credentials.username, challenge.realm, this.credentials.password),
        };
      }
      ha1 = entry.ha1.value;
    }
    const authorization = answerChallenge(challenge, this.credentials, request, {
      nc: entry.nc,
      cnonce: this.shared.cnonce(),
      ...(ha1 === undefined ? {} : { ha1 }),
    });
    const opts = { ...this.opts, headers: withAuthorization(this.opts.headers, authorization) };
    return this.dispatch(opts, new DigestAttempt(this, kind));
  }

  /** A 401 arrived: decide to pass it on, answer it, or fail with a typed error. */
  on401(
    headers: Record<string, string | string[] | undefined>,
    kind: AttemptKind,
  ): 'pass' | NonceEntry | DigestError {
    const chosen = challengeOf(headers);
    if (chosen === 'none') return 'pass';
    if (chosen instanceof DigestError) return chosen;
    const previous = this.shared.cache.get(this.key);
    const entry: NonceEntry = { challenge: chosen, nc: 0, unanswered: this.shared.now() };
    // Only an answer to a challenge of this very request can prove the credentials wrong: a
    // cached nonce may have been reset without `stale`, so its refusal just means "try fresh".
    const refused = kind === 'fresh' && !chosen.stale;
    if (refused) this.refusals++;
    const accepted = previous?.accepted;
    if (accepted !== undefined && !(refused && accepted === this.credKey)) entry.accepted = accepted;
    // Keep the new nonce even when giving up: the next credentials in a list can use it.
    remember(this.shared, this.key, entry);
    const facts = {
      status: 401,
      refusals: this.refusals,
      username: this.credentials.username,
      realm: chosen.realm,
    };
    if (this.refusals >= this.shared.maxRefusals) {
      return new DigestError(
        'DIGEST_WRONG_CREDENTIALS',
        `digest credentials for user "${this.credentials.username}" refused ${this.refusals} time(s)`,
        facts,
      );
    }
    if (++this.rounds > this.shared.maxRefusals + EXTRA_ROUNDS) {
      return new DigestError(
        'DIGEST_TOO_MANY_CHALLENGES',
        `gave up after ${this.rounds} digest challenges`,
        facts,
      );
    }
    if (!this.body.replayable) {
      return new DigestError(
        'DIGEST_BODY_NOT_REPLAYABLE',
        'a 401 asked for digest credentials but the request body is a stream that cannot be resent',
        facts,
      );
    }
    return entry;
  }

  onAuthenticated(headers: Record<string, string | string[] | undefined>): void {
    const entry = this.shared.cache.get(this.key);
    if (entry === undefined) return;
    entry.accepted = this.credKey;
    const info = headerValues(headers['authentication-info'])[0];
    if (info === undefined) return;
    try {
      const next = parseAuthenticationInfo(info).nextnonce;
      if (next !== undefined && next !== '') {
        entry.challenge = { ...entry.challenge, nonce: next, stale: false };
        entry.nc = 0;
      }
    } catch {
      // A broken Authentication-Info only costs us the nonce hint.
    }
  }

  retry(controller: Dispatcher.DispatchController, entry: NonceEntry): void {
    try {
      this.send(entry, 'fresh');
    } catch (err) {
      this.handler.onResponseError?.(controller, err as Error);
    }
  }
}

/** Hands every callback of an exchange to `inner` unchanged; subclasses step in where needed. */
class Forwarding implements Dispatcher.DispatchHandler {
  constructor(protected readonly inner: Dispatcher.DispatchHandler) {}

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.inner.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    socket: Duplex,
  ): void {
    this.inner.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    this.inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.inner.onResponseData?.(controller, chunk);
  }

  onResponseEnd(
    controller: Dispatcher.DispatchController,
    trailers: Record<string, string | string[] | undefined>,
  ): void {
    this.inner.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.inner.onResponseError?.(controller, error);
  }
}

/** Handler of one HTTP exchange in a flow: forwards everything except a 401 it answers. */
class DigestAttempt extends Forwarding {
  private outcome: undefined | NonceEntry | DigestError;

  constructor(
    private readonly flow: DigestFlow,
    private readonly kind: AttemptKind,
  ) {
    super(flow.handler);
  }

  override onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    if (statusCode === 401) {
      const decision = this.flow.on401(headers, this.kind);
      if (decision !== 'pass') {
        // Drain the 401 body so the connection can be reused; act once it has ended.
        this.outcome = decision;
        return;
      }
    } else if (this.kind !== 'bare') {
      this.flow.onAuthenticated(headers);
    }
    this.inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  override onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.outcome === undefined) this.inner.onResponseData?.(controller, chunk);
  }

  override onResponseEnd(
    controller: Dispatcher.DispatchController,
    trailers: Record<string, string | string[] | undefined>,
  ): void {
    const outcome = this.outcome;
    if (outcome === undefined) this.inner.onResponseEnd?.(controller, trailers);
    else if (outcome instanceof DigestError) this.inner.onResponseError?.(controller, outcome);
    else this.flow.retry(controller, outcome);
  }
}

/**
 * Forwards a request without credentials untouched, remembering the digest challenge of a 401
 * so the origin's next request with credentials can answer it at once.
 */
class ChallengeObserver extends Forwarding {
  constructor(
    handler: Dispatcher.DispatchHandler,
    private readonly shared: Shared,
    private readonly key: string,
  ) {
    super(handler);
  }

  override onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    if (statusCode === 401) this.learn(headers);
    this.inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  private learn(headers: Record<string, string | string[] | undefined>): void {
    const chosen = challengeOf(headers);
    // Nothing we could answer: the caller gets the 401 as it came, and nothing is remembered.
    if (chosen === 'none' || chosen instanceof DigestError) return;
    const previous = this.shared.cache.get(this.key);
    const entry: NonceEntry = { challenge: chosen, nc: 0, unanswered: this.shared.now() };
    if (previous?.accepted !== undefined) entry.accepted = previous.accepted;
    remember(this.shared, this.key, entry);
  }
}

/**
 * An undici interceptor that answers HTTP digest challenges (RFC 7616) — for
 * `new Agent(...).compose(digestInterceptor({ credentials }))`. It resends the same request and
 * body after a 401, keeps each origin's nonce so later requests authenticate up front with a
 * growing `nc`, handles `stale=true` and nonce resets, and fails with a typed `DigestError`
 * (`DIGEST_WRONG_CREDENTIALS` after `maxRefusals` refusals). Per-request credentials go in the
 * `digest` dispatch option (see `DigestDispatchOptions`).
 */
export function digestInterceptor(
  options: DigestInterceptorOptions = {},
): Dispatcher.DispatcherComposeInterceptor {
  if (options.credentials !== undefined) checkCredentials(options.credentials);
  const maxRefusals = options.maxRefusals ?? 1;
  if (!Number.isInteger(maxRefusals) || maxRefusals < 1) {
    throw new DigestError('DIGEST_INVALID_ARGUMENT', 'maxRefusals must be an integer ≥ 1');
  }
  if (options.cnonce !== undefined && typeof options.cnonce !== 'function') {
    throw new DigestError('DIGEST_INVALID_ARGUMENT', 'cnonce must be a function');
  }
  const unansweredTtlMs = options.unansweredTtlMs ?? 5_000;
  if (!Number.isFinite(unansweredTtlMs) || unansweredTtlMs < 0) {
    throw new DigestError('DIGEST_INVALID_ARGUMENT', 'unansweredTtlMs must be a number ≥ 0');
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new DigestError('DIGEST_INVALID_ARGUMENT', 'now must be a function');
  }
  const shared: Shared = {
    cache: new Map(),
    maxRefusals,
    preemptive: options.preemptive ?? true,
    unansweredTtlMs,
    now: options.now ?? (() => performance.now()),
    cnonce: options.cnonce ?? randomCnonce,
  };
  return (dispatch) =>
    function digestDispatch(opts, handler) {
      const { digest, ...rest } = opts as Dispatcher.DispatchOptions & DigestDispatchOptions;
      const credentials = digest ?? options.credentials;
      if (credentials === undefined) {
        const plain = digest === undefined ? opts : rest;
        if (!shared.preemptive || shared.unansweredTtlMs === 0) return dispatch(plain, handler);
        return dispatch(plain, new ChallengeObserver(handler, shared, originKey(plain.origin)));
      }
      checkCredentials(credentials);
      // Fold `query` into the path so the digest `uri` is exactly the request-target sent.
      if (rest.query != null && !rest.path.includes('?')) {
        const q = stringify(rest.query);
        rest.path = q === '' ? rest.path : `${rest.path}?${q}`;
        delete rest.query;
      }
      return new DigestFlow(dispatch, rest, handler, credentials, shared).start();
    };
}
