/**
 * Envelope parsing on fast-xml-parser, shaped for speed on AMT's answers.
 *
 * fast-xml-parser collects element text one character at a time, and its default object
 * builder walks every node again. So: every element that holds a value (header fields, the
 * properties of the body instance, of each pulled item, of a fault) is a *stop node*: the parser
 * hands its raw content over as one substring, and we decode it ourselves (entities, CDATA, or a
 * nested fragment such as an endpoint reference). The rest of the envelope is a skeleton kept in
 * document order (`preserveOrder`), which is cheaper to build than the default object form and is
 * walked once. Namespace prefixes are dropped: only local names count.
 */
import { XMLParser } from 'fast-xml-parser';
import { WsmanBodyTooLargeError, WsmanParseError } from './errors.js';
import type { EndpointReference, WsmanItem, WsmanValue } from './values.js';
import { decodeEntities } from './xml.js';

type FxpNode = Record<string, unknown>;

const COMMON = {
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  jPath: false,
  preserveOrder: true,
  cdataPropName: '#cdata',
  textNodeName: '#text',
  commentPropName: false,
  // fast-xml-parser renames `toString`, `hasOwnProperty`… to `__toString`…; keep the names as
  // sent (our nodes and items only ever hold own keys). `__proto__`, `constructor` and
  // `prototype` it refuses outright, which becomes WSMAN_PARSE.
  onDangerousProperty: (name: string) => name,
} as const;

/** Requests and every response but Pull: values sit in header fields and body-instance children. */
const ENVELOPE = new XMLParser({
  ...COMMON,
  ignoreAttributes: true,
  stopNodes: ['Envelope.Header.*', 'Envelope.Body.*.*'],
});

/** Pull responses: the values sit one level below each item of `Items`. */
const PULL_ENVELOPE = new XMLParser({
  ...COMMON,
  ignoreAttributes: true,
  stopNodes: [
    'Envelope.Header.*',
    'Envelope.Body.PullResponse.Items.*.*',
    'Envelope.Body.PullResponse.EnumerationContext',
    'Envelope.Body.PullResponse.EndOfSequence',
    'Envelope.Body.Fault.*',
  ],
});

/** Nested content (endpoint references, selector sets, embedded instances): attributes matter. */
const FRAGMENT = new XMLParser({ ...COMMON, ignoreAttributes: false, attributeNamePrefix: '' });

/** Default cap on a parsed document. */
export const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;

function nodeName(node: FxpNode): string | undefined {
  for (const k in node) if (k !== ':@') return k;
  return undefined;
}

function childrenOf(node: FxpNode, name: string): FxpNode[] {
  const c = node[name];
  return Array.isArray(c) ? (c as FxpNode[]) : [];
}

// fast-xml-parser reports where it failed together with a slice of the document, which may hold
// a secret: keep its reason, drop the slice.
function sanitizedCause(err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  const cut = msg.search(/context|"|:\s*</i);
  return new Error(cut === -1 ? msg.slice(0, 200) : msg.slice(0, cut).trim());
}

function runParser(parser: XMLParser, xml: string): FxpNode[] {
  let out: unknown;
  try {
    out = parser.parse(xml);
  } catch (err) {
    throw new WsmanParseError('malformed XML', { cause: sanitizedCause(err) });
  }
  return Array.isArray(out) ? (out as FxpNode[]) : [];
}

function cdataText(v: unknown): string {
  if (!Array.isArray(v)) return '';
  let s = '';
  for (const part of v) {
    const t = (part as FxpNode)['#text'];
    if (typeof t === 'string') s += t;
  }
  return s;
}

/** Decodes the raw content of a stop node: text with references, CDATA, comments, or elements. */
function decodeRaw(raw: string): WsmanValue {
  let out = '';
  let pos = 0;
  for (;;) {
    const lt = raw.indexOf('<', pos);
    if (lt === -1) return out + decodeEntities(raw.slice(pos));
    out += decodeEntities(raw.slice(pos, lt));
    let end: number;
    if (raw.startsWith('<![CDATA[', lt)) {
      end = raw.indexOf(']]>', lt + 9);
      if (end === -1) throw new WsmanParseError('unterminated CDATA section');
      out += raw.slice(lt + 9, end);
      pos = end + 3;
    } else if (raw.startsWith('<!--', lt)) {
      end = raw.indexOf('-->', lt + 4);
      if (end === -1) throw new WsmanParseError('unterminated comment');
      pos = end + 3;
    } else if (raw.startsWith('<?', lt)) {
      end = raw.indexOf('?>', lt + 2);
      if (end === -1) throw new WsmanParseError('unterminated processing instruction');
      pos = end + 2;
    } else {
      return elementValue(runParser(FRAGMENT, raw));
    }
  }
}

function addProperty(item: WsmanItem, name: string, value: WsmanValue): void {
  if (!Object.hasOwn(item, name)) {
    item[name] = value;
    return;
  }
  const prev = item[name] as WsmanValue;
  if (Array.isArray(prev)) prev.push(value);
  else item[name] = [prev, value];
}

/** `SelectorSet` children → `{ Name: value }` (value: text or endpoint reference). */
function selectorSetValue(children: FxpNode[]): WsmanItem {
  let nodes = children;
  if (nodes.length === 1) {
    const t = (nodes[0] as FxpNode)['#text'];
    if (typeof t === 'string') nodes = t.includes('<') ? runParser(FRAGMENT, t) : [];
  }
  const out: WsmanItem = {};
  for (const node of nodes) {
    if (nodeName(node) !== 'Selector') continue;
    const attrs = node[':@'] as Record<string, unknown> | undefined;
    const name = attrs?.Name;
    if (typeof name !== 'string') continue;
    let v = elementValue(childrenOf(node, 'Selector'));
    if (typeof v === 'object' && !Array.isArray(v) && !isEpr(v)) {
      const inner = (v as WsmanItem).EndpointReference;
      if (isEpr(inner)) v = inner;
    }
    const key = decodeEntities(name);
    // A prototype-named selector cannot be a real key; it must not become one either.
    if (key === '__proto__') continue;
    out[key] = v;
  }
  return out;
}

function isEpr(v: WsmanValue | undefined): v is EndpointReference {
  return (
    typeof v === 'object' &&
    !Array.isArray(v) &&
    typeof v.resourceUri === 'string' &&
    typeof v.selectors === 'object' &&
    typeof v.address === 'string'
  );
}

function firstText(v: WsmanValue | undefined): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return firstText(v[0]);
  return '';
}

/** An instance with `ReferenceParameters/ResourceURI` is an endpoint reference. */
function finishItem(item: WsmanItem): WsmanValue {
  const rp = item.ReferenceParameters;
  if (typeof rp !== 'object' || Array.isArray(rp) || isEpr(rp)) return item;
  const uri = rp.ResourceURI;
  if (typeof uri !== 'string') return item;
  const selectors: Record<string, string> = {};
  let refs: Record<string, EndpointReference> | undefined;
  const set = rp.SelectorSet;
  if (typeof set === 'object' && !Array.isArray(set) && !isEpr(set)) {
    for (const k of Object.keys(set)) {
      const v = set[k];
      if (typeof v === 'string') selectors[k] = v;
      else if (isEpr(v)) {
        refs ??= {};
        refs[k] = v;
      }
    }
  }
  const epr: EndpointReference = { address: firstText(item.Address), resourceUri: uri, selectors };
  if (refs) epr.referenceSelectors = refs;
  return epr;
}

/** The value of an element from its children: text, or an instance keyed by local names. */
function elementValue(children: FxpNode[]): WsmanValue {
  let text = '';
  let item: WsmanItem | undefined;
  for (let i = 0; i < children.length; i++) {
    const node = children[i] as FxpNode;
    const name = nodeName(node);
    if (name === '#text') {
      const t = node[name];
      if (typeof t !== 'string') continue;
      if (t.indexOf('<') === -1) text += decodeEntities(t);
      else {
        const v = decodeRaw(t);
        if (typeof v !== 'string') return v;
        text += v;
      }
    } else if (name === '#cdata') {
      text += cdataText(node[name]);
    } else if (name !== undefined) {
      item ??= {};
      const kids = childrenOf(node, name);
      addProperty(item, name, name === 'SelectorSet' ? selectorSetValue(kids) : elementValue(kids));
    }
  }
  return item === undefined ? text : finishItem(item);
}

function asItem(v: WsmanValue): WsmanItem {
  return typeof v === 'object' && !Array.isArray(v) ? (v as WsmanItem) : {};
}

/** Turns bytes into text with the size cap applied first. */
export function documentText(input: string | Uint8Array, maxBytes: number): string {
  if (typeof input === 'string') {
    // UTF-16 length ≤ UTF-8 length, so this check can only under-count; fine for a cap.
    if (input.length > maxBytes) throw new WsmanBodyTooLargeError(maxBytes);
    return input;
  }
  if (input.byteLength > maxBytes) throw new WsmanBodyTooLargeError(maxBytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch (err) {
    throw new WsmanParseError('body is not valid UTF-8', { cause: err });
  }
}

function localName(qname: string): string {
  const i = qname.indexOf(':');
  return i === -1 ? qname : qname.slice(i + 1);
}

// A truncated document parses "successfully" into a partial tree in fast-xml-parser, so the
// document must end with the root's end tag (comments and whitespace may follow).
function checkEnding(xml: string): void {
  let end = xml.length;
  for (;;) {
    while (end > 0 && xml.charCodeAt(end - 1) <= 0x20) end--;
    if (xml.startsWith('-->', end - 3)) {
      const open = xml.lastIndexOf('<!--', end - 3);
      if (open === -1) break;
      end = open;
      continue;
    }
    break;
  }
  if (xml.charCodeAt(end - 1) !== 0x3e) throw new WsmanParseError('document is truncated');
  const open = xml.lastIndexOf('</', end);
  if (open === -1 || localName(xml.slice(open + 2, end - 1).trim()) !== 'Envelope') {
    throw new WsmanParseError('document does not end with the Envelope end tag');
  }
}

export interface EnvelopeParts {
  header: WsmanItem;
  bodyName: string | undefined;
  /** The first Body child's children (skeleton nodes). */
  bodyNode: FxpNode[];
}

/** Parses a SOAP envelope into its header fields and the first body element. */
export function parseEnvelope(xml: string, pull: boolean): EnvelopeParts {
  // No DTDs at all: no entity expansion, no external entities, no surprises.
  if (xml.includes('<!DOCTYPE')) throw new WsmanParseError('DOCTYPE declarations are refused');
  checkEnding(xml);
  // The declaration carries nothing we use; fast-xml-parser would run its attribute reader on it.
  let doc = xml;
  if (doc.charCodeAt(0) === 0xfeff) doc = doc.slice(1);
  if (doc.startsWith('<?xml')) {
    const end = doc.indexOf('?>');
    if (end !== -1) doc = doc.slice(end + 2);
  }
  const top = runParser(pull ? PULL_ENVELOPE : ENVELOPE, doc);
  let root: FxpNode | undefined;
  for (const node of top) {
    const n = nodeName(node);
    if (n === undefined || n === '#text' || n === '#cdata') continue;
    if (root !== undefined) throw new WsmanParseError('more than one root element');
    root = node;
  }
  if (root === undefined || nodeName(root) !== 'Envelope') throw new WsmanParseError('not a SOAP envelope');
  let header: WsmanItem = {};
  let body: FxpNode[] | undefined;
  for (const node of childrenOf(root, 'Envelope')) {
    const n = nodeName(node);
    if (n === 'Header') header = asItem(elementValue(childrenOf(node, n)));
    else if (n === 'Body' && body === undefined) body = childrenOf(node, n);
  }
  if (body === undefined) throw new WsmanParseError('SOAP envelope has no Body');
  for (const node of body) {
    const n = nodeName(node);
    if (n === undefined || n === '#text' || n === '#cdata') continue;
    return { header, bodyName: n, bodyNode: childrenOf(node, n) };
  }
  return { header, bodyName: undefined, bodyNode: [] };
}

/** The value of body-element children as an instance (`{}` when there is none). */
export function bodyItem(parts: EnvelopeParts): WsmanItem {
  return asItem(elementValue(parts.bodyNode));
}

/** Header fields of a response. */
export interface ResponseHeader {
  action?: string;
  relatesTo?: string;
  messageId?: string;
  to?: string;
  resourceUri?: string;
}

/** A SOAP 1.2 fault, with QName values reduced to their local part. */
export interface WsmanFault {
  code: string;
  subcode?: string;
  reason: string;
  detail?: string;
}

/** One item of a Pull response, in document order. */
export interface PulledItem {
  className: string;
  properties: WsmanItem;
}

export interface PullResult {
  items: PulledItem[];
  /** The context for the next Pull (absent at the end). */
  context?: string;
  endOfSequence: boolean;
}

/** A parsed response envelope. */
export interface WsmanResponse {
  header: ResponseHeader;
  /** Local name of the first Body child (`AMT_GeneralSettings`, `PullResponse`, `Fault`…). */
  bodyName: string | undefined;
  /** Its content; for `PullResponse` see `pull`, for `Fault` see `fault`. */
  body: WsmanItem;
  fault?: WsmanFault;
  pull?: PullResult;
}

function headerText(h: WsmanItem, key: string): string | undefined {
  const v = h[key];
  if (v === undefined) return undefined;
  return firstText(v);
}

/** Flattens any value to its text (for `Detail`). */
function flatText(v: WsmanValue | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(flatText).join(' ');
  if (isEpr(v)) return v.resourceUri;
  return Object.values(v).map(flatText).join(' ');
}

function child(v: WsmanValue | undefined, key: string): WsmanValue | undefined {
  if (Array.isArray(v)) v = v[0];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  return (v as WsmanItem)[key];
}

export function faultOf(item: WsmanItem): WsmanFault {
  const code = item.Code;
  const fault: WsmanFault = {
    code: localName(firstText(child(code, 'Value')).trim()),
    reason: firstText(child(item.Reason, 'Text') ?? item.Reason).trim(),
  };
  const sub = firstText(child(child(code, 'Subcode'), 'Value')).trim();
  if (sub) fault.subcode = localName(sub);
  const detail = flatText(item.Detail).replace(/\s+/g, ' ').trim();
  if (detail) fault.detail = detail;
  return fault;
}

function pullOf(parts: EnvelopeParts): PullResult {
  const items: PulledItem[] = [];
  let context: string | undefined;
  let end = false;
  for (const node of parts.bodyNode) {
    const n = nodeName(node);
    if (n === 'Items') {
      let nodes = childrenOf(node, n);
      // Parsed without the Pull stop nodes, Items arrives raw: parse it, keeping order.
      const only = nodes.length === 1 ? (nodes[0] as FxpNode)['#text'] : undefined;
      if (typeof only === 'string' && only.includes('<')) nodes = runParser(FRAGMENT, only);
      for (const it of nodes) {
        const cn = nodeName(it);
        if (cn === undefined || cn === '#text' || cn === '#cdata') continue;
        items.push({ className: cn, properties: asItem(elementValue(childrenOf(it, cn))) });
      }
    } else if (n === 'EnumerationContext') {
      context = firstText(elementValue(childrenOf(node, n))).trim();
    } else if (n === 'EndOfSequence') {
      end = true;
    }
  }
  const result: PullResult = { items, endOfSequence: end };
  if (context) result.context = context;
  return result;
}

export interface ParseOptions {
  /** Size cap in bytes (default 8 MiB). */
  maxBytes?: number;
  /** A hint that the answer is a PullResponse: parse it with the Pull layout (faster). */
  pull?: boolean;
}

/** Parses a response envelope. Throws only WsmanError (`WSMAN_PARSE`, `WSMAN_BODY_TOO_LARGE`). */
export function parseWsmanResponse(input: string | Uint8Array, opts: ParseOptions = {}): WsmanResponse {
  const xml = documentText(input, opts.maxBytes ?? DEFAULT_MAX_BYTES);
  const parts = parseEnvelope(xml, opts.pull === true);
  const h = parts.header;
  const header: ResponseHeader = {};
  const action = headerText(h, 'Action');
  if (action !== undefined) header.action = action.trim();
  const rel = headerText(h, 'RelatesTo');
  if (rel !== undefined) header.relatesTo = rel.trim();
  const mid = headerText(h, 'MessageID');
  if (mid !== undefined) header.messageId = mid.trim();
  const to = headerText(h, 'To');
  if (to !== undefined) header.to = to.trim();
  const ru = headerText(h, 'ResourceURI');
  if (ru !== undefined) header.resourceUri = ru.trim();
  const res: WsmanResponse = { header, bodyName: parts.bodyName, body: {} };
  if (parts.bodyName === 'PullResponse') {
    res.pull = pullOf(parts);
  } else {
    res.body = bodyItem(parts);
    if (parts.bodyName === 'Fault') res.fault = faultOf(res.body);
  }
  return res;
}
