/**
 * A small WS-Management server built only from the package's server toolkit: enough AMT
 * behaviour (instances per class, enumeration contexts, methods) to drive the client over
 * real HTTP on loopback.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  buildCreateResponse,
  buildDeleteResponse,
  buildEnumerateResponse,
  buildFault,
  buildGetResponse,
  buildIdentifyResponse,
  buildInvokeResponse,
  buildPullResponse,
  buildPutResponse,
  buildReleaseResponse,
  classNameOf,
  endpointReference,
  type FaultSpec,
  faultHttpStatus,
  parseWsmanRequest,
  WsmanError,
  type WsmanRequest,
} from '../src/index.js';

export type Instance = Record<string, unknown>;
export type MethodHandler = (req: WsmanRequest) => { returnValue: number; output?: object };
export interface RawAnswer {
  status: number;
  body: string | Buffer;
  headers?: Record<string, string>;
  /** Write the body in pieces without Content-Length (chunked transfer encoding). */
  chunked?: boolean;
}

export interface MiniAmt {
  origin: string;
  /** Instances per class name. */
  instances: Map<string, Instance[]>;
  /** `${className}.${method}` → handler. */
  methods: Map<string, MethodHandler>;
  /** Every parsed request, in order. */
  requests: WsmanRequest[];
  /** Open enumeration contexts. */
  contexts: Map<string, { className: string; items: Instance[]; pos: number }>;
  /** Answer chunked (default true: AMT does). */
  chunked: boolean;
  /** Replaces the answer to the next requests when it returns something. */
  override:
    | ((
        req: WsmanRequest | undefined,
        raw: string,
        headers: IncomingMessage['headers'],
      ) => RawAnswer | undefined)
    | undefined;
  close(): Promise<void>;
}

const CT = 'application/soap+xml;charset=UTF-8';

function matches(inst: Instance, selectors: Record<string, string>): boolean {
  return Object.entries(selectors).every(([k, v]) => String(inst[k]) === v);
}

export async function startMiniAmt(): Promise<MiniAmt> {
  const amt: Omit<MiniAmt, 'origin' | 'close'> = {
    instances: new Map(),
    methods: new Map(),
    requests: [],
    contexts: new Map(),
    chunked: true,
    override: undefined,
  };

  const fault = (req: WsmanRequest | undefined, spec: FaultSpec): RawAnswer => ({
    status: faultHttpStatus(spec.code),
    body: buildFault(req, spec),
  });

  function answer(req: WsmanRequest): RawAnswer {
    if (req.kind === 'identify') {
      return {
        status: 200,
        body: buildIdentifyResponse(req, { productVersion: 'AMT 16.1', securityProfiles: ['urn:digest'] }),
      };
    }
    let className: string;
    try {
      className = classNameOf(req.resourceUri);
    } catch {
      return fault(req, { code: 'Sender', subcode: 'DestinationUnreachable', reason: 'unknown resource' });
    }
    const list = amt.instances.get(className) ?? [];
    const find = () => list.findIndex((i) => matches(i, req.selectors));
    switch (req.kind) {
      case 'get': {
        const at = find();
        const inst = list[at];
        if (inst === undefined)
          return fault(req, { code: 'Sender', subcode: 'InvalidSelectors', reason: 'no such instance' });
        return { status: 200, body: buildGetResponse(req, { className, properties: inst }) };
      }
      case 'put': {
        const at = find();
        if (at === -1)
          return fault(req, { code: 'Sender', subcode: 'InvalidSelectors', reason: 'no such instance' });
        list[at] = { ...req.body };
        return { status: 200, body: buildPutResponse(req, { className, properties: req.body }) };
      }
      case 'create': {
        const id = `${className} ${list.length}`;
        list.push({ ...req.body, InstanceID: id });
        amt.instances.set(className, list);
        return {
          status: 200,
          body: buildCreateResponse(req, {
            epr: endpointReference(req.resourceUri, { InstanceID: id }, 'default'),
          }),
        };
      }
      case 'delete': {
        const at = find();
        if (at === -1)
          return fault(req, { code: 'Sender', subcode: 'InvalidSelectors', reason: 'no such instance' });
        list.splice(at, 1);
        return { status: 200, body: buildDeleteResponse(req) };
      }
      case 'enumerate': {
        const ctx = randomUUID().toUpperCase();
        amt.contexts.set(ctx, { className, items: [...list], pos: 0 });
        return { status: 200, body: buildEnumerateResponse(req, { context: ctx }) };
      }
      case 'pull': {
        const c = req.enumerationContext === undefined ? undefined : amt.contexts.get(req.enumerationContext);
        if (c === undefined || req.enumerationContext === undefined) {
          return fault(req, {
            code: 'Sender',
            subcode: 'wsen:InvalidEnumerationContext',
            reason: 'no such context',
          });
        }
        const n = req.maxElements ?? 1;
        const page = c.items.slice(c.pos, c.pos + n);
        c.pos += page.length;
        const end = c.pos >= c.items.length;
        // AMT hands out a fresh context with each page.
        amt.contexts.delete(req.enumerationContext);
        const next = randomUUID().toUpperCase();
        if (!end) amt.contexts.set(next, c);
        return {
          status: 200,
          body: buildPullResponse(req, {
            items: page.map((properties) => ({ className: c.className, properties })),
            endOfSequence: end,
            context: next,
          }),
        };
      }
      case 'release': {
        if (req.enumerationContext !== undefined) amt.contexts.delete(req.enumerationContext);
        return { status: 200, body: buildReleaseResponse(req) };
      }
      case 'invoke': {
        const h = amt.methods.get(`${className}.${req.method}`);
        if (!h)
          return fault(req, { code: 'Sender', subcode: 'ActionNotSupported', reason: 'no such method' });
        const { returnValue, output } = h(req);
        return {
          status: 200,
          body: buildInvokeResponse(req, {
            method: req.method as string,
            returnValue,
            ...(output ? { output } : {}),
          }),
        };
      }
      default:
        return fault(req, { code: 'Sender', subcode: 'ActionNotSupported', reason: 'unknown action' });
    }
  }

  async function handle(inReq: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of inReq) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let req: WsmanRequest | undefined;
    let out: RawAnswer;
    try {
      req = parseWsmanRequest(raw);
      amt.requests.push(req);
      out = amt.override?.(req, raw, inReq.headers) ?? answer(req);
    } catch (err) {
      if (!(err instanceof WsmanError)) throw err;
      out =
        amt.override?.(undefined, raw, inReq.headers) ??
        fault(undefined, {
          code: 'Sender',
          subcode: 'wsa:InvalidMessageInformationHeader',
          reason: err.message,
        });
    }
    const body = typeof out.body === 'string' ? Buffer.from(out.body) : out.body;
    const headers: Record<string, string> = { 'content-type': CT, ...(out.headers ?? {}) };
    const chunked = out.chunked ?? amt.chunked;
    if (!chunked && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
    res.writeHead(out.status, headers);
    if (chunked && body.length > 1) {
      // Several writes without Content-Length: node sends Transfer-Encoding: chunked.
      const step = Math.max(1, Math.ceil(body.length / 3));
      for (let i = 0; i < body.length; i += step) res.write(body.subarray(i, i + step));
      res.end();
    } else {
      res.end(body);
    }
  }

  const server = createServer((q, r) => {
    handle(q, r).catch(() => {
      r.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(amt, {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
