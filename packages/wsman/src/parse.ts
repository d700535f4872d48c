/**
 * Envelope parsing: one pass over the document that checks well-formedness and builds the values
 * as it goes, shaped for AMT's answers and requests.
 *
 * WS-Management documents are small, shallow and use a handful of XML features: elements,
 * attributes, text with the five entities and character references, CDATA, comments. So this is a
 * purpose-built reader rather than a general one: no DTD (refused outright), no entity other than
 * the predefined five, namespace prefixes dropped (only local names count), attributes kept only
 * where a value needs them (`Selector Name`). It refuses what is not well-formed (mismatched or
 * missing end tags, broken attributes, stray text around the root) with `WSMAN_PARSE`, and never
 * puts document content in an error message (it may hold a secret).
 *
 * Values: an element with child elements becomes an instance keyed by local name (repeated
 * names become arrays; text between child elements is ignored), an element without them becomes
 * its text (`''` when empty), and an instance with `ReferenceParameters/ResourceURI` becomes an
 * endpoint reference.
 */
import { WsmanBodyTooLargeError, WsmanParseError } from './errors.js';
import type { EndpointReference, WsmanItem, WsmanValue } from './values.js';
import { decodeEntities, isXmlText } from './xml.js';

/** Default cap on a parsed document. */
export const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;

/** AMT nests a handful of levels; anything this deep is hostile (and would exhaust the stack). */
const MAX_DEPTH = 64;

/** AMT writes a handful of attributes (namespace declarations included) on an element; more is hostile. */
const MAX_ATTRIBUTES = 256;

/** Past this many attributes on one element, repeats are looked up in a Set, not the array. */
const FEW_ATTRIBUTES = 8;

// XML 1.0 §2.8: version, then optional encoding and standalone, in this order.
const XML_DECLARATION =
  /^<\?xml\s+version\s*=\s*(["'])1\.[0-9]+\1(\s+encoding\s*=\s*(["'])[A-Za-z][A-Za-z0-9._-]*\3)?(\s+standalone\s*=\s*(["'])(yes|no)\5)?\s*\?>$/;

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQUALS = 0x3d;
const QUOT = 0x22;
const APOS = 0x27;
const COLON = 0x3a;

function fail(message: string): never {
  throw new WsmanParseError(message);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === COLON || c >= 0xc0;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0xb7;
}

// Element names that would reach Object.prototype if they became keys.
function checkLocalName(local: string): void {
  if (local === '__proto__' || local === 'constructor' || local === 'prototype') {
    fail('element name is not allowed');
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

function asItem(v: WsmanValue): WsmanItem {
  return typeof v === 'object' && !Array.isArray(v) ? (v as WsmanItem) : {};
}

/** A start tag just read: its names, and the `Name` attribute when it is a `Selector`. */
interface StartTag {
  qname: string;
  local: string;
  selectorName: string | undefined;
  empty: boolean;
}

/** A position in a document whose line ends are already normalised. */
class Reader {
  pos = 0;
  private depth = 0;

  constructor(readonly xml: string) {}

  /** Reads a name at `pos` and moves past it. */
  private name(): string {
    const s = this.xml;
    const start = this.pos;
    if (start >= s.length || !isNameStart(s.charCodeAt(start))) fail('malformed XML: expected a name');
    let i = start + 1;
    while (i < s.length && isNameChar(s.charCodeAt(i))) i++;
    this.pos = i;
    return s.slice(start, i);
  }

  private skipSpace(): boolean {
    const s = this.xml;
    const start = this.pos;
    while (this.pos < s.length && isSpace(s.charCodeAt(this.pos))) this.pos++;
    return this.pos > start;
  }

  /** `pos` is on the `<` of a start tag: reads it whole, attributes included. */
  startTag(): StartTag {
    this.pos++;
    const qname = this.name();
    const colon = qname.indexOf(':');
    const local = colon === -1 ? qname : qname.slice(colon + 1);
    checkLocalName(local);
    const s = this.xml;
    let selectorName: string | undefined;
    // Attribute names so far, for the repeat check: an array while few (AMT writes 0–5), then a
    // Set as well, so a peer's thousands of attributes or `xmlns` declarations cost linear time.
    let seen: string[] | undefined;
    let many: Set<string> | undefined;
    for (;;) {
      const spaced = this.skipSpace();
      const c = s.charCodeAt(this.pos);
      if (c === GT) {
        this.pos++;
        return { qname, local, selectorName, empty: false };
      }
      if (c === SLASH) {
        if (s.charCodeAt(this.pos + 1) !== GT) fail('malformed XML: broken empty-element tag');
        this.pos += 2;
        return { qname, local, selectorName, empty: true };
      }
      if (Number.isNaN(c)) fail('malformed XML: unterminated start tag');
      if (!spaced) fail('malformed XML: attributes must be separated by white space');
      const attr = this.name();
      if (seen === undefined) seen = [attr];
      else if (seen.length >= MAX_ATTRIBUTES) fail('malformed XML: too many attributes on an element');
      else if (many === undefined ? seen.includes(attr) : many.has(attr))
        fail('malformed XML: repeated attribute');
      else if (seen.push(attr) > FEW_ATTRIBUTES) {
        if (many === undefined) many = new Set(seen);
        else many.add(attr);
      }
      this.skipSpace();
      if (s.charCodeAt(this.pos) !== EQUALS) fail('malformed XML: attribute without a value');
      this.pos++;
      this.skipSpace();
      const quote = s.charCodeAt(this.pos);
      if (quote !== QUOT && quote !== APOS) fail('malformed XML: attribute value without quotes');
      const end = s.indexOf(quote === QUOT ? '"' : "'", this.pos + 1);
      if (end === -1) fail('malformed XML: unterminated attribute value');
      const raw = s.slice(this.pos + 1, end);
      if (raw.includes('<')) fail('malformed XML: `<` in an attribute value');
      this.pos = end + 1;
      if (local === 'Selector' && attr === 'Name') selectorName = decodeEntities(raw);
      else if (raw.includes('&')) decodeEntities(raw);
    }
  }

  /** `pos` is on the `</` of the end tag of `qname`: reads it. */
  private endTag(qname: string): void {
    const s = this.xml;
    const end = this.pos + 2 + qname.length;
    if (!s.startsWith(qname, this.pos + 2) || isNameChar(s.charCodeAt(end))) {
      fail('malformed XML: end tag does not match its start tag');
    }
    this.pos = end;
    this.skipSpace();
    if (s.charCodeAt(this.pos) !== GT) fail('malformed XML: broken end tag');
    this.pos++;
  }

  /**
   * `pos` is on `<!` or `<?`: skips a comment or processing instruction, or reads a CDATA
   * section and returns its text ('' for the others).
   */
  private markup(): string {
    const s = this.xml;
    if (s.charCodeAt(this.pos + 1) === QUESTION) {
      const at = this.pos;
      this.pos += 2;
      const target = this.name();
      // `<?xml …?>` is the declaration, allowed only as the very first thing in the document.
      if (target.length === 3 && target.toLowerCase() === 'xml') {
        if (at !== 0 || !XML_DECLARATION.test(s.slice(0, s.indexOf('?>') + 2))) {
          fail('malformed XML: broken or misplaced XML declaration');
        }
      }
      const end = s.indexOf('?>', this.pos);
      if (end === -1) fail('malformed XML: unterminated processing instruction');
      if (end !== this.pos && !isSpace(s.charCodeAt(this.pos)))
        fail('malformed XML: broken processing instruction');
      this.pos = end + 2;
      return '';
    }
    if (s.startsWith('<!--', this.pos)) {
      const end = s.indexOf('-->', this.pos + 4);
      if (end === -1) fail('malformed XML: unterminated comment');
      // `--` may not appear inside a comment, nor may one end with `--->`.
      const dashes = s.indexOf('--', this.pos + 4);
      if (dashes < end || (end > this.pos + 4 && s.charCodeAt(end - 1) === 0x2d)) {
        fail('malformed XML: `--` inside a comment');
      }
      this.pos = end + 3;
      return '';
    }
    if (s.startsWith('<![CDATA[', this.pos)) {
      const end = s.indexOf(']]>', this.pos + 9);
      if (end === -1) fail('malformed XML: unterminated CDATA section');
      const text = s.slice(this.pos + 9, end);
      this.pos = end + 3;
      return text;
    }
    return fail('malformed XML: unexpected markup declaration');
  }

  /**
   * Reads the content of the element whose start tag was just read, through its end tag. Text
   * (entities decoded, CDATA included) is returned; each child element's start tag goes to
   * `onChild`, which must read that child to its end (`value` or `eachChild`).
   */
  private walk(tag: StartTag, onChild: (child: StartTag) => void): string {
    if (tag.empty) return '';
    if (++this.depth > MAX_DEPTH) fail('malformed XML: elements nested too deeply');
    const s = this.xml;
    let text = '';
    for (;;) {
      const lt = s.indexOf('<', this.pos);
      if (lt === -1) fail('malformed XML: missing end tag');
      if (lt > this.pos) {
        const raw = s.slice(this.pos, lt);
        if (raw.includes(']]>')) fail('malformed XML: `]]>` in text');
        text += raw.includes('&') ? decodeEntities(raw) : raw;
        this.pos = lt;
      }
      const c = s.charCodeAt(lt + 1);
      if (c === SLASH) {
        this.endTag(tag.qname);
        this.depth--;
        return text;
      }
      if (c === BANG || c === QUESTION) text += this.markup();
      else onChild(this.startTag());
    }
  }

  /** Reads the children of the element whose start tag was just read (its text is ignored). */
  eachChild(tag: StartTag, onChild: (child: StartTag) => void): void {
    this.walk(tag, onChild);
  }

  /** The value of the element whose start tag was just read (see the module comment). */
  value(tag: StartTag): WsmanValue {
    if (tag.local === 'SelectorSet') return this.selectorSet(tag);
    let item: WsmanItem | undefined;
    const text = this.walk(tag, (child) => {
      item ??= {};
      addProperty(item, child.local, this.value(child));
    });
    return item === undefined ? text : finishItem(item);
  }

  /** `SelectorSet` children → `{ Name: value }` (value: text or endpoint reference). */
  private selectorSet(tag: StartTag): WsmanItem {
    const out: WsmanItem = {};
    this.walk(tag, (child) => {
      let v = this.value(child);
      const key = child.selectorName;
      // A prototype-named selector cannot be a real key; it must not become one either.
      if (child.local !== 'Selector' || key === undefined || key === '__proto__') return;
      if (typeof v === 'object' && !Array.isArray(v) && !isEpr(v)) {
        const inner = v.EndpointReference;
        if (isEpr(inner)) v = inner;
      }
      out[key] = v;
    });
    return out;
  }

  /**
   * Skips what may surround the root (white space, comments, processing instructions). False at
   * the end of the document, true on the `<` of an element.
   */
  misc(): boolean {
    const s = this.xml;
    for (;;) {
      this.skipSpace();
      if (this.pos >= s.length) return false;
      if (s.charCodeAt(this.pos) !== LT) fail('malformed XML: text outside the root element');
      const c = s.charCodeAt(this.pos + 1);
      if (c === QUESTION || (c === BANG && s.startsWith('<!--', this.pos))) this.markup();
      // No DTDs at all: no entity expansion, no external entities, no surprises. (A DOCTYPE
      // can only stand here, before the root; `<!DOCTYPE` inside a comment or CDATA is text.)
      else if (s.startsWith('<!DOCTYPE', this.pos)) fail('DOCTYPE declarations are refused');
      else if (c === BANG) fail('malformed XML: unexpected markup declaration');
      else return true;
    }
  }
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

export interface EnvelopeParts {
  header: WsmanItem;
  /** Local name of the first Body child. */
  bodyName: string | undefined;
  /** That child's value as an instance (`{}` without child elements, and for a pulled PullResponse). */
  body: WsmanItem;
  /** A PullResponse body read with `pull`: its items in document order. */
  pull?: PullResult;
}

/** A PullResponse: items in document order, the next context, the end marker. */
function readPull(r: Reader, tag: StartTag): PullResult {
  const items: PulledItem[] = [];
  let context: string | undefined;
  let end = false;
  r.eachChild(tag, (child) => {
    if (child.local === 'Items') {
      r.eachChild(child, (it) => {
        items.push({ className: it.local, properties: asItem(r.value(it)) });
      });
    } else if (child.local === 'EnumerationContext') {
      context = firstText(r.value(child)).trim();
    } else {
      r.value(child);
      if (child.local === 'EndOfSequence') end = true;
    }
  });
  const result: PullResult = { items, endOfSequence: end };
  if (context) result.context = context;
  return result;
}

/**
 * Parses a SOAP envelope into its header fields and the first body element. With `pull`, a
 * PullResponse body is read as items in document order (`parts.pull`) instead of an instance.
 */
export function parseEnvelope(input: string, pull: boolean): EnvelopeParts {
  let xml = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  // XML end-of-line handling: CRLF and lone CR become LF first (a `&#13;` reference survives).
  if (xml.includes('\r')) xml = xml.replace(/\r\n?/g, '\n');
  if (!isXmlText(xml)) fail('malformed XML: a character XML 1.0 does not allow');
  const r = new Reader(xml);
  if (!r.misc()) fail('malformed XML: no root element');
  const root = r.startTag();
  if (root.local !== 'Envelope') fail('not a SOAP envelope');
  const parts: EnvelopeParts = { header: {}, bodyName: undefined, body: {} };
  let hasBody = false;
  r.eachChild(root, (child) => {
    if (child.local === 'Header') {
      parts.header = asItem(r.value(child));
    } else if (child.local === 'Body' && !hasBody) {
      hasBody = true;
      r.eachChild(child, (first) => {
        if (parts.bodyName !== undefined) r.value(first);
        else if (pull && first.local === 'PullResponse') {
          parts.bodyName = first.local;
          parts.pull = readPull(r, first);
        } else {
          parts.bodyName = first.local;
          parts.body = asItem(r.value(first));
        }
      });
    } else {
      r.value(child);
    }
  });
  if (r.misc()) fail('more than one root element');
  if (!hasBody) fail('SOAP envelope has no Body');
  return parts;
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

export interface ParseOptions {
  /** Size cap in bytes (default 8 MiB). */
  maxBytes?: number;
  /**
   * @deprecated Has no effect: a PullResponse is always read as items in document order, with
   * or without this hint. Kept so existing callers compile; it goes in the next major version.
   */
  pull?: boolean;
}

/** Parses a response envelope. Throws only WsmanError (`WSMAN_PARSE`, `WSMAN_BODY_TOO_LARGE`). */
export function parseWsmanResponse(input: string | Uint8Array, opts: ParseOptions = {}): WsmanResponse {
  const xml = documentText(input, opts.maxBytes ?? DEFAULT_MAX_BYTES);
  const parts = parseEnvelope(xml, true);
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
  if (parts.pull) {
    res.pull = parts.pull;
  } else {
    res.body = parts.body;
    if (parts.bodyName === 'Fault') res.fault = faultOf(res.body);
  }
  return res;
}
