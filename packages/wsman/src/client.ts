import type { Dispatcher } from 'undici';
import {
  AmtReturnValueError,
  WsmanBodyTooLargeError,
  WsmanError,
  WsmanFaultError,
  WsmanHttpError,
  WsmanInvalidArgumentError,
  WsmanParseError,
  WsmanTransportError,
  WsmanUnexpectedResponseError,
} from './errors.js';
import { type PullResult, parseWsmanResponse, type WsmanResponse } from './parse.js';
import { returnValueName } from './pt-status.js';
import {
  type BuiltRequest,
  buildCreateRequest,
  buildDeleteRequest,
  buildEnumerateRequest,
  buildGetRequest,
  buildIdentifyRequest,
  buildInvokeRequest,
  buildPullRequest,
  buildPutRequest,
  buildReleaseRequest,
  type RequestOptions,
} from './requests.js';
import { type EndpointReference, isEndpointReference, type Selectors, type WsmanItem } from './values.js';

export interface WsmanClientOptions {
  /** The transport: a TLS connection plus the digest interceptor, composed by the caller. */
  dispatcher: Dispatcher;
  /** e.g. `https://127.16.0.1:16993`. */
  origin: string;
  /** Default `/wsman`; also written as `wsa:To`. */
  path?: string;
  /** xs:duration for `wsman:OperationTimeout` (default PT60S; AMT needs ≥ PT30S). */
  operationTimeout?: string;
  /** Response body cap (default 8 MiB). */
  maxBodyBytes?: number;
  /** Extra HTTP headers on every request. */
  headers?: Record<string, string>;
  /** Sent as `wsman:MaxEnvelopeSize` when set (AMT wants ≥ 50000). */
  maxEnvelopeSize?: number;
  /** Header and body timeouts of each HTTP exchange, in ms (default 60 000). */
  timeoutMs?: number;
}

/** What WS-Identify returned. */
export interface IdentifyResult {
  productVendor: string;
  productVersion: string;
  protocolVersion: string;
  dashVersion?: string;
  securityProfiles: string[];
  /** Every element of IdentifyResponse, as parsed. */
  raw: WsmanItem;
}

export interface InvokeOptions {
  selectors?: Selectors;
  /** Non-zero ReturnValues that are not errors for this call (e.g. 4096 job started). */
  allowReturnValues?: readonly number[];
  /** The method's own names for return codes (CIM-style methods); PT_STATUS otherwise. */
  returnValueNames?: Readonly<Record<number, string>>;
}

export interface EnumerateOptions {
  /** Items per Pull (default 100). */
  maxElements?: number;
  maxCharacters?: number;
}

const DEFAULT_MAX_BODY = 8 * 1024 * 1024;

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return text(v[0]);
  return undefined;
}

/**
 * A WS-Management client for AMT. Transport is injected: every call is one POST through the
 * given undici Dispatcher. Faults, HTTP errors and non-zero ReturnValues become typed errors.
 */
export class WsmanClient {
  readonly origin: string;
  readonly path: string;
  private readonly dispatcher: Dispatcher;
  private readonly operationTimeout: string;
  private readonly maxBodyBytes: number;
  private readonly headers: Record<string, string>;
  private readonly maxEnvelopeSize: number | undefined;
  private readonly timeoutMs: number;

  constructor(opts: WsmanClientOptions) {
    if (!opts || typeof opts.dispatcher?.request !== 'function') {
      throw new WsmanInvalidArgumentError('a dispatcher is required');
    }
    let url: URL;
    try {
      url = new URL(opts.origin);
    } catch {
      throw new WsmanInvalidArgumentError('origin is not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new WsmanInvalidArgumentError('origin must be http: or https:');
    }
    this.origin = url.origin;
    this.path = opts.path ?? '/wsman';
    this.dispatcher = opts.dispatcher;
    this.operationTimeout = opts.operationTimeout ?? 'PT60S';
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
    this.headers = {
      ...(opts.headers ?? {}),
      'content-type': 'application/soap+xml;charset=UTF-8',
    };
    this.maxEnvelopeSize = opts.maxEnvelopeSize;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  private base(selectors?: Selectors): RequestOptions {
    const o: RequestOptions = { operationTimeout: this.operationTimeout, to: this.path };
    if (selectors) o.selectors = selectors;
    if (this.maxEnvelopeSize !== undefined) o.maxEnvelopeSize = this.maxEnvelopeSize;
    return o;
  }

  /** Sends an envelope and returns the raw body bytes with the HTTP status. */
  private async post(xml: string): Promise<{ status: number; body: Buffer }> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatcher.request({
        origin: this.origin,
        path: this.path,
        method: 'POST',
        headers: this.headers,
        body: xml,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      if (err instanceof WsmanError) throw err;
      throw new WsmanTransportError(`WS-Management request to ${this.origin} failed`, { cause: err });
    }
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBodyBytes) {
      discard(res.body);
      throw new WsmanBodyTooLargeError(this.maxBodyBytes);
    }
    const body = await readCapped(res.body, this.maxBodyBytes, this.origin);
    return { status: res.statusCode, body };
  }

  /**
   * Sends one request and returns the parsed answer. A fault (any status) throws WsmanFaultError,
   * a non-2xx status without one WsmanHttpError, a RelatesTo that does not match the MessageID
   * WsmanUnexpectedResponseError.
   */
  async send(
    req: BuiltRequest | string,
    _opts: {
      /** @deprecated Has no effect (see `ParseOptions.pull`); goes in the next major version. */
      pull?: boolean;
    } = {},
  ): Promise<WsmanResponse> {
    const xml = typeof req === 'string' ? req : req.xml;
    const { status, body } = await this.post(xml);
    const ok = status >= 200 && status < 300;
    let parsed: WsmanResponse;
    try {
      if (!ok && !looksLikeXml(body)) throw new WsmanHttpError(status);
      parsed = parseWsmanResponse(body, { maxBytes: this.maxBodyBytes });
    } catch (err) {
      if (!ok && err instanceof WsmanParseError) throw new WsmanHttpError(status);
      throw err;
    }
    if (parsed.fault) {
      throw new WsmanFaultError({
        faultCode: parsed.fault.code,
        subcode: parsed.fault.subcode,
        reason: parsed.fault.reason,
        detail: parsed.fault.detail,
        status,
        requestAction: typeof req === 'string' ? undefined : req.action,
      });
    }
    if (!ok) throw new WsmanHttpError(status);
    if (
      typeof req !== 'string' &&
      parsed.header.relatesTo !== undefined &&
      parsed.header.relatesTo !== req.messageId
    ) {
      throw new WsmanUnexpectedResponseError('RelatesTo does not match the request MessageID');
    }
    return parsed;
  }

  private expectBody(res: WsmanResponse, what: string): WsmanItem {
    if (res.bodyName === undefined)
      throw new WsmanUnexpectedResponseError(`${what} answer has an empty Body`);
    return res.body;
  }

  /** Transfer Get: the instance's properties. */
  async get(resourceUri: string, opts: { selectors?: Selectors } = {}): Promise<WsmanItem> {
    const res = await this.send(buildGetRequest(resourceUri, this.base(opts.selectors)));
    return this.expectBody(res, 'Get');
  }

  /** Transfer Put of a whole instance; returns the instance AMT sends back (`{}` if none). */
  async put(
    resourceUri: string,
    instance: object,
    opts: { selectors?: Selectors; className?: string } = {},
  ): Promise<WsmanItem> {
    const o: RequestOptions & { className?: string } = this.base(opts.selectors);
    if (opts.className) o.className = opts.className;
    const res = await this.send(buildPutRequest(resourceUri, instance, o));
    return res.body;
  }

  /** Transfer Create; returns the endpoint reference of the new instance. */
  async create(
    resourceUri: string,
    instance: object,
    opts: { selectors?: Selectors; className?: string } = {},
  ): Promise<{ epr: EndpointReference }> {
    const o: RequestOptions & { className?: string } = this.base(opts.selectors);
    if (opts.className) o.className = opts.className;
    const res = await this.send(buildCreateRequest(resourceUri, instance, o));
    const created: unknown = res.body;
    if (res.bodyName !== 'ResourceCreated' || !isEndpointReference(created)) {
      throw new WsmanUnexpectedResponseError('Create answer carries no ResourceCreated endpoint reference');
    }
    return { epr: created };
  }

  /** Transfer Delete of the instance the selectors name. */
  async delete(resourceUri: string, opts: { selectors: Selectors }): Promise<void> {
    if (!opts?.selectors || Object.keys(opts.selectors).length === 0) {
      throw new WsmanInvalidArgumentError('delete needs selectors');
    }
    await this.send(buildDeleteRequest(resourceUri, this.base(opts.selectors)));
  }

  /** Enumerate: returns the enumeration context to pull with. */
  async enumerateContext(resourceUri: string, opts: { selectors?: Selectors } = {}): Promise<string> {
    const res = await this.send(buildEnumerateRequest(resourceUri, this.base(opts.selectors)));
    const ctx = text(res.body.EnumerationContext)?.trim();
    if (res.bodyName !== 'EnumerateResponse' || !ctx) {
      throw new WsmanUnexpectedResponseError('Enumerate answer carries no EnumerationContext');
    }
    return ctx;
  }

  /** One Pull: the items in document order, the next context, EndOfSequence. */
  async pull(resourceUri: string, context: string, opts: EnumerateOptions = {}): Promise<PullResult> {
    const o: RequestOptions & EnumerateOptions = this.base();
    o.maxElements = opts.maxElements ?? 100;
    if (opts.maxCharacters !== undefined) o.maxCharacters = opts.maxCharacters;
    const res = await this.send(buildPullRequest(resourceUri, context, o));
    if (!res.pull) throw new WsmanUnexpectedResponseError('Pull answer carries no PullResponse');
    return res.pull;
  }

  /** Release an enumeration context that was not pulled to its end. */
  async release(resourceUri: string, context: string): Promise<void> {
    await this.send(buildReleaseRequest(resourceUri, context, this.base()));
  }

  /**
   * Every instance of a class: Enumerate, then Pull until EndOfSequence. Stopping early releases
   * the context.
   */
  async *enumerate(
    resourceUri: string,
    opts: EnumerateOptions & { selectors?: Selectors } = {},
  ): AsyncGenerator<WsmanItem, void, undefined> {
    let context = await this.enumerateContext(
      resourceUri,
      opts.selectors ? { selectors: opts.selectors } : {},
    );
    let done = false;
    let empty = 0;
    try {
      while (!done) {
        const page = await this.pull(resourceUri, context, opts);
        if (page.endOfSequence) done = true;
        else if (!page.context) {
          done = true;
          throw new WsmanUnexpectedResponseError('Pull answer has neither EndOfSequence nor a context');
        } else context = page.context;
        // A peer that keeps answering empty pages would keep us here forever.
        empty = page.items.length === 0 ? empty + 1 : 0;
        if (empty > 3 && !done) throw new WsmanUnexpectedResponseError('Pull keeps answering empty pages');
        for (const it of page.items) yield it.properties;
      }
    } finally {
      if (!done) await this.release(resourceUri, context).catch(() => undefined);
    }
  }

  /** Collects `enumerate` into an array. */
  async enumerateAll(
    resourceUri: string,
    opts: EnumerateOptions & { selectors?: Selectors } = {},
  ): Promise<WsmanItem[]> {
    const out: WsmanItem[] = [];
    for await (const it of this.enumerate(resourceUri, opts)) out.push(it);
    return out;
  }

  /**
   * Invokes a method with its input (written in the object's order). Returns the `_OUTPUT`
   * content; a non-zero ReturnValue not in `allowReturnValues` throws AmtReturnValueError.
   */
  async invoke(
    resourceUri: string,
    method: string,
    input: object = {},
    opts: InvokeOptions = {},
  ): Promise<WsmanItem> {
    const res = await this.send(buildInvokeRequest(resourceUri, method, input, this.base(opts.selectors)));
    const out = res.body;
    if (res.bodyName !== `${method}_OUTPUT`) {
      throw new WsmanUnexpectedResponseError(`${method} answer carries no ${method}_OUTPUT`);
    }
    const rvText = text(out.ReturnValue)?.trim();
    if (rvText !== undefined) {
      if (!/^\d{1,10}$/.test(rvText))
        throw new WsmanUnexpectedResponseError(`${method} ReturnValue is not a number`);
      const rv = Number(rvText);
      if (rv !== 0 && !(opts.allowReturnValues ?? []).includes(rv)) {
        throw new AmtReturnValueError({
          returnValue: rv,
          statusName: returnValueName(rv, opts.returnValueNames),
          method,
          resourceUri,
        });
      }
    }
    return out;
  }

  /** WS-Identify (AMT answers it without authentication). */
  async identify(): Promise<IdentifyResult> {
    const res = await this.send(buildIdentifyRequest());
    if (res.bodyName !== 'IdentifyResponse')
      throw new WsmanUnexpectedResponseError('not an IdentifyResponse');
    const b = res.body;
    const profiles = b.SecurityProfiles;
    const names =
      typeof profiles === 'object' && !Array.isArray(profiles) && !isEndpointReference(profiles)
        ? profiles.SecurityProfileName
        : undefined;
    const out: IdentifyResult = {
      productVendor: text(b.ProductVendor)?.trim() ?? '',
      productVersion: text(b.ProductVersion)?.trim() ?? '',
      protocolVersion: text(b.ProtocolVersion)?.trim() ?? '',
      securityProfiles: (Array.isArray(names) ? names : names === undefined ? [] : [names])
        .map((n) => text(n)?.trim() ?? '')
        .filter((n) => n !== ''),
      raw: b,
    };
    const dash = text(b.DASHVersion)?.trim();
    if (dash) out.dashVersion = dash;
    return out;
  }
}

// Stops reading an answer we will not use; the connection is dropped rather than drained.
/**
 * The whole body, refusing more than `max` bytes as they arrive. Plain stream events: an async
 * iterator costs a promise per chunk, and answers are usually one or two chunks.
 */
function readCapped(body: Dispatcher.ResponseData['body'], max: number, origin: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        body.off('data', onData);
        discard(body);
        reject(new WsmanBodyTooLargeError(max));
        return;
      }
      chunks.push(chunk);
    };
    body.on('data', onData);
    body.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    body.once('error', (err) => {
      if (size > max) return;
      reject(new WsmanTransportError(`reading the answer from ${origin} failed`, { cause: err }));
    });
  });
}

function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

function looksLikeXml(body: Buffer): boolean {
  for (let i = 0; i < body.length && i < 64; i++) {
    const c = body[i] as number;
    if (c === 0x3c) return true;
    if (c > 0x20 && c !== 0xef && c !== 0xbb && c !== 0xbf) return false;
  }
  return false;
}
