/**
 * The server side, for simulators: read a request envelope, write answers in the shapes AMT
 * sends (prefixes `a:` SOAP, `b:` WS-Addressing, `c:` WS-Man, `g:` the body element's namespace,
 * `h:` pulled items; `RelatesTo` = the request's MessageID; `…Response` actions).
 */
import { randomUUID } from 'node:crypto';
import { WsmanInvalidArgumentError, WsmanParseError } from './errors.js';
import {
  ACTIONS,
  resourceUriFor,
  SOAP_NS,
  WSA_ANONYMOUS,
  WSA_NS,
  WSEN_NS,
  WSMAN_NS,
  WSMID_NS,
  WXF_NS,
  XSI_NS,
} from './namespaces.js';
import { DEFAULT_MAX_BYTES, documentText, parseEnvelope } from './parse.js';
import { type EndpointReference, isEndpointReference, type WsmanItem, type WsmanValue } from './values.js';
import { checkName, type Prefixes, writeEprContent, writeProperties } from './write.js';
import { escapeXml, escapeXmlAttribute } from './xml.js';

export type WsmanRequestKind =
  | 'get'
  | 'put'
  | 'create'
  | 'delete'
  | 'enumerate'
  | 'pull'
  | 'release'
  | 'invoke'
  | 'identify'
  | 'unknown';

/** A parsed request envelope. */
export interface WsmanRequest {
  kind: WsmanRequestKind;
  /** `wsa:Action` ('' for WS-Identify, which has none). */
  action: string;
  /** `wsman:ResourceURI` ('' when absent). */
  resourceUri: string;
  /** `wsa:MessageID` ('' for WS-Identify). */
  messageId: string;
  to?: string;
  replyTo?: string;
  operationTimeout?: string;
  maxEnvelopeSize?: number;
  /** Header selectors with text values. */
  selectors: Record<string, string>;
  /** Header selectors whose value is an endpoint reference. */
  referenceSelectors?: Record<string, EndpointReference>;
  /** Local name of the first Body child (`AMT_GeneralSettings`, `SetMEBxPassword_INPUT`, `Pull`…). */
  bodyName?: string;
  /** Its content: values as strings, arrays for repeated elements, nested items, EPRs. */
  body: WsmanItem;
  /** For invoke: the method (the Action after `<resourceUri>/`). */
  method?: string;
  /** Pull / Release. */
  enumerationContext?: string;
  /** Pull. */
  maxElements?: number;
  maxCharacters?: number;
}

// A Map, not an object literal: the Action is the peer's, and `constructor` must stay unknown.
const KIND_BY_ACTION: ReadonlyMap<string, WsmanRequestKind> = new Map<string, WsmanRequestKind>([
  [ACTIONS.GET, 'get'],
  [ACTIONS.PUT, 'put'],
  [ACTIONS.CREATE, 'create'],
  [ACTIONS.DELETE, 'delete'],
  [ACTIONS.ENUMERATE, 'enumerate'],
  [ACTIONS.PULL, 'pull'],
  [ACTIONS.RELEASE, 'release'],
]);

function text(v: WsmanValue | undefined): string | undefined {
  if (typeof v === 'string') return v.trim();
  if (Array.isArray(v)) return text(v[0]);
  return undefined;
}

function count(v: WsmanValue | undefined): number | undefined {
  const t = text(v);
  if (t === undefined || !/^\d{1,15}$/.test(t)) return undefined;
  return Number(t);
}

/**
 * Parses a request envelope. Throws WsmanParseError for anything that is not a WS-Management
 * request (no Action or MessageID outside WS-Identify) and WsmanBodyTooLargeError over the cap.
 */
export function parseWsmanRequest(
  input: string | Uint8Array,
  opts: { maxBytes?: number } = {},
): WsmanRequest {
  const xml = documentText(input, opts.maxBytes ?? DEFAULT_MAX_BYTES);
  const parts = parseEnvelope(xml, false);
  const h = parts.header;
  const body = parts.body;
  const action = text(h.Action) ?? '';
  const messageId = text(h.MessageID) ?? '';
  const req: WsmanRequest = {
    kind: 'unknown',
    action,
    resourceUri: text(h.ResourceURI) ?? '',
    messageId,
    selectors: {},
    body,
  };
  if (parts.bodyName !== undefined) req.bodyName = parts.bodyName;
  if (action === '' && parts.bodyName === 'Identify') {
    req.kind = 'identify';
    return req;
  }
  if (action === '') throw new WsmanParseError('request has no wsa:Action');
  if (messageId === '') throw new WsmanParseError('request has no wsa:MessageID');
  const to = text(h.To);
  if (to !== undefined) req.to = to;
  const replyTo = h.ReplyTo;
  if (typeof replyTo === 'object' && !Array.isArray(replyTo)) {
    const addr = isEndpointReference(replyTo) ? replyTo.address : text((replyTo as WsmanItem).Address);
    if (addr !== undefined) req.replyTo = addr;
  }
  const timeout = text(h.OperationTimeout);
  if (timeout !== undefined) req.operationTimeout = timeout;
  const mes = count(h.MaxEnvelopeSize);
  if (mes !== undefined) req.maxEnvelopeSize = mes;
  const set = h.SelectorSet;
  if (typeof set === 'object' && !Array.isArray(set) && !isEndpointReference(set)) {
    for (const k of Object.keys(set)) {
      const v = set[k];
      if (typeof v === 'string') req.selectors[k] = v;
      else if (isEndpointReference(v)) {
        req.referenceSelectors ??= {};
        req.referenceSelectors[k] = v;
      }
    }
  }
  const kind = KIND_BY_ACTION.get(action);
  if (kind !== undefined) {
    req.kind = kind;
  } else if (req.resourceUri !== '' && action.startsWith(`${req.resourceUri}/`)) {
    req.kind = 'invoke';
    req.method = action.slice(req.resourceUri.length + 1);
  }
  if (req.kind === 'pull' || req.kind === 'release') {
    const ctx = text(body.EnumerationContext);
    if (ctx !== undefined) req.enumerationContext = ctx;
    const me = count(body.MaxElements);
    if (me !== undefined) req.maxElements = me;
    const mc = count(body.MaxCharacters);
    if (mc !== undefined) req.maxCharacters = mc;
  }
  return req;
}

// ---------------------------------------------------------------------------------------------
// Responses

const P: Prefixes = { wsa: 'b', wsman: 'c' };
const OPEN = `<?xml version="1.0" encoding="UTF-8"?><a:Envelope xmlns:a="${SOAP_NS}" xmlns:b="${WSA_NS}" xmlns:c="${WSMAN_NS}" xmlns:d="${WXF_NS}" xmlns:e="${WSEN_NS}" xmlns:xsi="${XSI_NS}">`;

/** What a response builder needs from the request (a parsed WsmanRequest fits). */
export interface RequestRef {
  messageId: string;
  resourceUri?: string;
}

function responseHeader(req: RequestRef | undefined, action: string, resourceUri?: string): string {
  let s = `<a:Header><b:To>${WSA_ANONYMOUS}</b:To>`;
  if (req?.messageId) s += `<b:RelatesTo>${escapeXml(req.messageId)}</b:RelatesTo>`;
  s += `<b:Action a:mustUnderstand="true">${escapeXml(action)}</b:Action><b:MessageID>uuid:${randomUUID()}</b:MessageID>`;
  const uri = resourceUri ?? req?.resourceUri;
  if (uri) s += `<c:ResourceURI>${escapeXml(uri)}</c:ResourceURI>`;
  return `${s}</a:Header>`;
}

function envelope(req: RequestRef | undefined, action: string, body: string, resourceUri?: string): string {
  return `${OPEN}${responseHeader(req, action, resourceUri)}<a:Body>${body}</a:Body></a:Envelope>`;
}

/** An instance to answer with. */
export interface InstanceSpec {
  className: string;
  /** Defaults to the request's resource URI, else the class's standard one. */
  resourceUri?: string;
  properties: object;
}

function instanceXml(prefix: string, spec: InstanceSpec, uri: string): string {
  checkName(spec.className, 'class');
  return `<${prefix}:${spec.className} xmlns:${prefix}="${escapeXmlAttribute(uri)}">${writeProperties(prefix, spec.properties, P)}</${prefix}:${spec.className}>`;
}

function uriFor(req: RequestRef | undefined, spec: { className: string; resourceUri?: string }): string {
  if (spec.resourceUri) return spec.resourceUri;
  if (req?.resourceUri?.endsWith(`/${spec.className}`)) return req.resourceUri;
  return resourceUriFor(spec.className);
}

/** Get answer: the instance as `g:<className>`. */
export function buildGetResponse(req: RequestRef, spec: InstanceSpec): string {
  const uri = uriFor(req, spec);
  return envelope(req, ACTIONS.GET_RESPONSE, instanceXml('g', spec, uri), uri);
}

/** Put answer: the instance as it now is. */
export function buildPutResponse(req: RequestRef, spec: InstanceSpec): string {
  const uri = uriFor(req, spec);
  return envelope(req, ACTIONS.PUT_RESPONSE, instanceXml('g', spec, uri), uri);
}

/** Create answer: `ResourceCreated` with the new instance's endpoint reference. */
export function buildCreateResponse(req: RequestRef, spec: { epr: EndpointReference }): string {
  return envelope(
    req,
    ACTIONS.CREATE_RESPONSE,
    `<d:ResourceCreated>${writeEprContent(spec.epr, P)}</d:ResourceCreated>`,
  );
}

/** Delete answer: an empty body. */
export function buildDeleteResponse(req: RequestRef): string {
  return envelope(req, ACTIONS.DELETE_RESPONSE, '');
}

/** Enumerate answer: the context the client pulls with. */
export function buildEnumerateResponse(req: RequestRef, spec: { context: string }): string {
  return envelope(
    req,
    ACTIONS.ENUMERATE_RESPONSE,
    `<e:EnumerateResponse><e:EnumerationContext>${escapeXml(spec.context)}</e:EnumerationContext></e:EnumerateResponse>`,
  );
}

/** Pull answer: items (`h:<className>`), the next context unless at the end, `EndOfSequence`. */
export function buildPullResponse(
  req: RequestRef,
  spec: {
    items: ReadonlyArray<{ className: string; resourceUri?: string; properties: object }>;
    endOfSequence: boolean;
    context?: string;
  },
): string {
  let items = '';
  for (const it of spec.items) items += instanceXml('h', it, uriFor(req, it));
  let body = `<e:PullResponse><e:Items>${items}</e:Items>`;
  if (spec.context !== undefined && !spec.endOfSequence) {
    body += `<e:EnumerationContext>${escapeXml(spec.context)}</e:EnumerationContext>`;
  }
  if (spec.endOfSequence) body += '<e:EndOfSequence/>';
  return envelope(req, ACTIONS.PULL_RESPONSE, `${body}</e:PullResponse>`);
}

/** Release answer: an empty body. */
export function buildReleaseResponse(req: RequestRef): string {
  return envelope(req, ACTIONS.RELEASE_RESPONSE, '');
}

/** Invoke answer: `g:<method>_OUTPUT` with the outputs in their order, then `ReturnValue` (as AMT). */
export function buildInvokeResponse(
  req: RequestRef & { resourceUri: string },
  spec: { method: string; returnValue: number; output?: object },
): string {
  checkName(spec.method, 'method');
  if (!Number.isInteger(spec.returnValue) || spec.returnValue < 0) {
    throw new WsmanInvalidArgumentError('returnValue must be a non-negative integer');
  }
  const uri = req.resourceUri;
  let out = '';
  if (spec.output) {
    const { ReturnValue: _ignored, ...rest } = spec.output as Record<string, unknown>;
    out = writeProperties('g', rest, P);
  }
  return envelope(
    req,
    `${uri}/${spec.method}Response`,
    `<g:${spec.method}_OUTPUT xmlns:g="${escapeXmlAttribute(uri)}">${out}<g:ReturnValue>${spec.returnValue}</g:ReturnValue></g:${spec.method}_OUTPUT>`,
    uri,
  );
}

const WSA_SUBCODES = new Set([
  'ActionNotSupported',
  'DestinationUnreachable',
  'EndpointUnavailable',
  'InvalidMessageInformationHeader',
  'MessageInformationHeaderRequired',
]);
const WSEN_SUBCODES = new Set([
  'InvalidEnumerationContext',
  'CannotProcessFilter',
  'FilterDialectRequestedUnavailable',
  'InvalidExpirationTime',
  'UnsupportedExpirationType',
]);

export interface FaultSpec {
  code: 'Sender' | 'Receiver';
  /** `wsman:InvalidSelectors`, `wsen:InvalidEnumerationContext`, `wsa:…`, `wxf:…`, or a bare local name. */
  subcode: string;
  reason: string;
  /** Written as `wsman:FaultDetail` (e.g. a FaultDetail URI). */
  detail?: string;
  /** Overrides the fault action. */
  action?: string;
}

/** The HTTP status for a fault: SOAP 1.2 binds Sender to 400 and Receiver to 500. */
export function faultHttpStatus(code: 'Sender' | 'Receiver'): number {
  return code === 'Sender' ? 400 : 500;
}

/** A SOAP 1.2 fault with Code/Subcode/Reason/Detail (RelatesTo the request when known). */
export function buildFault(req: RequestRef | undefined, spec: FaultSpec): string {
  const colon = spec.subcode.indexOf(':');
  let ns = colon === -1 ? '' : spec.subcode.slice(0, colon);
  const local = colon === -1 ? spec.subcode : spec.subcode.slice(colon + 1);
  checkName(local, 'fault subcode');
  if (ns === '') ns = WSA_SUBCODES.has(local) ? 'wsa' : WSEN_SUBCODES.has(local) ? 'wsen' : 'wsman';
  const prefix =
    ns === 'wsa' ? 'b' : ns === 'wsen' ? 'e' : ns === 'wxf' ? 'd' : ns === 'wsman' ? 'c' : undefined;
  if (prefix === undefined) throw new WsmanInvalidArgumentError(`unknown fault subcode namespace ${ns}`);
  const action = spec.action ?? (prefix === 'b' ? ACTIONS.WSA_FAULT : ACTIONS.WSMAN_FAULT);
  let body = `<a:Fault><a:Code><a:Value>a:${spec.code === 'Sender' ? 'Sender' : 'Receiver'}</a:Value><a:Subcode><a:Value>${prefix}:${local}</a:Value></a:Subcode></a:Code><a:Reason><a:Text xml:lang="en-US">${escapeXml(spec.reason)}</a:Text></a:Reason>`;
  if (spec.detail !== undefined)
    body += `<a:Detail><c:FaultDetail>${escapeXml(spec.detail)}</c:FaultDetail></a:Detail>`;
  return `${OPEN}${responseHeader(req, action, undefined)}<a:Body>${body}</a:Fault></a:Body></a:Envelope>`;
}

/** What WS-Identify reports. */
export interface IdentifySpec {
  productVendor?: string;
  productVersion: string;
  protocolVersion?: string;
  dashVersion?: string;
  securityProfiles?: readonly string[];
}

/** WS-Identify answer (no addressing headers, as AMT sends it). */
export function buildIdentifyResponse(_req: RequestRef | undefined, spec: IdentifySpec): string {
  let s = `<?xml version="1.0" encoding="UTF-8"?><a:Envelope xmlns:a="${SOAP_NS}" xmlns:b="${WSMID_NS}"><a:Header/><a:Body><b:IdentifyResponse><b:ProtocolVersion>${escapeXml(spec.protocolVersion ?? WSMAN_NS)}</b:ProtocolVersion><b:ProductVendor>${escapeXml(spec.productVendor ?? 'Intel Corporation')}</b:ProductVendor><b:ProductVersion>${escapeXml(spec.productVersion)}</b:ProductVersion>`;
  if (spec.dashVersion !== undefined) s += `<b:DASHVersion>${escapeXml(spec.dashVersion)}</b:DASHVersion>`;
  if (spec.securityProfiles && spec.securityProfiles.length > 0) {
    s += '<b:SecurityProfiles>';
    for (const p of spec.securityProfiles)
      s += `<b:SecurityProfileName>${escapeXml(p)}</b:SecurityProfileName>`;
    s += '</b:SecurityProfiles>';
  }
  return `${s}</b:IdentifyResponse></a:Body></a:Envelope>`;
}
