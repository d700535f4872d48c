/**
 * Request envelopes (the client side): SOAP 1.2 + WS-Addressing + WS-Management headers, with
 * the prefixes `s:`, `wsa:`, `wsman:`, `wsen:`, `h:` (the class namespace).
 */
import { randomUUID } from 'node:crypto';
import { WsmanInvalidArgumentError } from './errors.js';
import {
  ACTIONS,
  classNameOf,
  SOAP_NS,
  WSA_ANONYMOUS,
  WSA_NS,
  WSEN_NS,
  WSMAN_NS,
  WSMID_NS,
} from './namespaces.js';
import type { Selectors } from './values.js';
import { checkName, type Prefixes, writeProperties, writeSelectorSet } from './write.js';
import { escapeXml, escapeXmlAttribute } from './xml.js';

const P: Prefixes = { wsa: 'wsa', wsman: 'wsman' };
const OPEN = `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${SOAP_NS}" xmlns:wsa="${WSA_NS}" xmlns:wsman="${WSMAN_NS}">`;
const OPEN_ENUM = `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${SOAP_NS}" xmlns:wsa="${WSA_NS}" xmlns:wsman="${WSMAN_NS}" xmlns:wsen="${WSEN_NS}">`;
const CLOSE = '</s:Envelope>';
const DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;

/** Header options every request builder takes. */
export interface RequestOptions {
  /** `uuid:` + a random UUID when not given. */
  messageId?: string;
  /** xs:duration; AMT needs at least PT30S (default PT60S). */
  operationTimeout?: string;
  selectors?: Selectors;
  /** `wsa:To` (default `/wsman`). */
  to?: string;
  /** If sent, AMT wants at least 50000. */
  maxEnvelopeSize?: number;
}

/** A fresh `uuid:` message ID. */
export function newMessageId(): string {
  return `uuid:${randomUUID()}`;
}

// Actions, resource URIs, To and timeouts repeat on every call (and are no secrets): escape and
// check each once. Values are never cached.
const textMemo = new Map<string, string>();
const attrMemo = new Map<string, string>();
function memo(map: Map<string, string>, value: string, esc: (v: string) => string): string {
  let e = map.get(value);
  if (e === undefined) {
    e = esc(value);
    if (map.size >= 512) map.clear();
    map.set(value, e);
  }
  return e;
}
const escText = (v: string) => memo(textMemo, v, escapeXml);
const escAttr = (v: string) => memo(attrMemo, v, escapeXmlAttribute);
const goodTimeouts = new Set<string>(['PT60S']);

/** `escapedAction` is already escaped (invoke builds it from an escaped URI and a checked name). */
function header(
  escapedAction: string,
  resourceUri: string,
  o: RequestOptions,
  messageId: string,
  ownId: boolean,
): string {
  const timeout = o.operationTimeout ?? 'PT60S';
  if (!goodTimeouts.has(timeout)) {
    if (!DURATION.test(timeout))
      throw new WsmanInvalidArgumentError('operationTimeout is not an xs:duration');
    if (goodTimeouts.size < 64) goodTimeouts.add(timeout);
  }
  let s = `<s:Header><wsa:Action s:mustUnderstand="true">${escapedAction}</wsa:Action><wsa:To s:mustUnderstand="true">${escText(o.to ?? '/wsman')}</wsa:To><wsman:ResourceURI s:mustUnderstand="true">${escText(resourceUri)}</wsman:ResourceURI><wsa:MessageID s:mustUnderstand="true">${ownId ? messageId : escapeXml(messageId)}</wsa:MessageID><wsa:ReplyTo><wsa:Address>${WSA_ANONYMOUS}</wsa:Address></wsa:ReplyTo><wsman:OperationTimeout>${timeout}</wsman:OperationTimeout>`;
  if (o.maxEnvelopeSize !== undefined) {
    if (!Number.isInteger(o.maxEnvelopeSize) || o.maxEnvelopeSize < 50000) {
      throw new WsmanInvalidArgumentError('maxEnvelopeSize must be an integer ≥ 50000');
    }
    s += `<wsman:MaxEnvelopeSize s:mustUnderstand="true">${o.maxEnvelopeSize}</wsman:MaxEnvelopeSize>`;
  }
  if (o.selectors !== undefined && Object.keys(o.selectors).length > 0) s += writeSelectorSet(o.selectors, P);
  return `${s}</s:Header>`;
}

/** A request envelope plus the MessageID it carries (to match `RelatesTo`). */
export interface BuiltRequest {
  xml: string;
  messageId: string;
  action: string;
}

function build(
  open: string,
  action: string,
  escapedAction: string,
  resourceUri: string,
  o: RequestOptions,
  body: string,
): BuiltRequest {
  const messageId = o.messageId ?? newMessageId();
  return {
    xml: `${open}${header(escapedAction, resourceUri, o, messageId, o.messageId === undefined)}${body}${CLOSE}`,
    messageId,
    action,
  };
}

/** `name` must have been checked. */
function classElement(name: string, resourceUri: string, content: string): string {
  return `<s:Body><h:${name} xmlns:h="${escAttr(resourceUri)}">${content}</h:${name}></s:Body>`;
}

export function buildGetRequest(resourceUri: string, o: RequestOptions = {}): BuiltRequest {
  return build(OPEN, ACTIONS.GET, ACTIONS.GET, resourceUri, o, '<s:Body/>');
}

export function buildDeleteRequest(resourceUri: string, o: RequestOptions = {}): BuiltRequest {
  return build(OPEN, ACTIONS.DELETE, ACTIONS.DELETE, resourceUri, o, '<s:Body/>');
}

/** Put or Create: the whole instance, written in the order of its properties, as `h:<className>`. */
function instanceRequest(
  action: string,
  resourceUri: string,
  instance: object,
  o: RequestOptions & { className?: string },
): BuiltRequest {
  const cls = o.className ?? classNameOf(resourceUri);
  checkName(cls, 'class');
  return build(
    OPEN,
    action,
    action,
    resourceUri,
    o,
    classElement(cls, resourceUri, writeProperties('h', instance, P)),
  );
}

/** Put: the whole instance, written in the order of its properties, as `h:<className>`. */
export function buildPutRequest(
  resourceUri: string,
  instance: object,
  o: RequestOptions & { className?: string } = {},
): BuiltRequest {
  return instanceRequest(ACTIONS.PUT, resourceUri, instance, o);
}

export function buildCreateRequest(
  resourceUri: string,
  instance: object,
  o: RequestOptions & { className?: string } = {},
): BuiltRequest {
  return instanceRequest(ACTIONS.CREATE, resourceUri, instance, o);
}

/** Invoke: Action `<resourceUri>/<method>`, body `h:<method>_INPUT` with the input in its order. */
export function buildInvokeRequest(
  resourceUri: string,
  method: string,
  input: object = {},
  o: RequestOptions = {},
): BuiltRequest {
  checkName(method, 'method');
  return build(
    OPEN,
    `${resourceUri}/${method}`,
    `${escText(resourceUri)}/${method}`,
    resourceUri,
    o,
    classElement(`${method}_INPUT`, resourceUri, writeProperties('h', input, P)),
  );
}

export function buildEnumerateRequest(resourceUri: string, o: RequestOptions = {}): BuiltRequest {
  return build(
    OPEN_ENUM,
    ACTIONS.ENUMERATE,
    ACTIONS.ENUMERATE,
    resourceUri,
    o,
    '<s:Body><wsen:Enumerate/></s:Body>',
  );
}

function positive(n: number | undefined, what: string): void {
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) {
    throw new WsmanInvalidArgumentError(`${what} must be a positive integer`);
  }
}

export function buildPullRequest(
  resourceUri: string,
  context: string,
  o: RequestOptions & { maxElements?: number; maxCharacters?: number } = {},
): BuiltRequest {
  positive(o.maxElements, 'maxElements');
  positive(o.maxCharacters, 'maxCharacters');
  let body = `<s:Body><wsen:Pull><wsen:EnumerationContext>${escapeXml(context)}</wsen:EnumerationContext>`;
  if (o.maxElements !== undefined) body += `<wsen:MaxElements>${o.maxElements}</wsen:MaxElements>`;
  if (o.maxCharacters !== undefined) body += `<wsen:MaxCharacters>${o.maxCharacters}</wsen:MaxCharacters>`;
  return build(OPEN_ENUM, ACTIONS.PULL, ACTIONS.PULL, resourceUri, o, `${body}</wsen:Pull></s:Body>`);
}

export function buildReleaseRequest(
  resourceUri: string,
  context: string,
  o: RequestOptions = {},
): BuiltRequest {
  return build(
    OPEN_ENUM,
    ACTIONS.RELEASE,
    ACTIONS.RELEASE,
    resourceUri,
    o,
    `<s:Body><wsen:Release><wsen:EnumerationContext>${escapeXml(context)}</wsen:EnumerationContext></wsen:Release></s:Body>`,
  );
}

/** WS-Identify: no addressing headers, an empty `Identify` body; AMT answers it unauthenticated. */
export function buildIdentifyRequest(): string {
  return `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${SOAP_NS}" xmlns:wsmid="${WSMID_NS}"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>`;
}
