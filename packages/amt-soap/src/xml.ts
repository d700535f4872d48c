import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AmtSoapParseError } from './errors.js';

export const SOAP_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** A namespace-resolved element. Prefixes are gone: only (namespace, local name) count. */
export interface XmlElement {
  readonly ns: string;
  readonly local: string;
  readonly attrs: readonly XmlAttr[];
  readonly children: readonly XmlElement[];
  /** Decoded character data directly inside this element (text and CDATA), untrimmed. */
  readonly text: string;
}

export interface XmlAttr {
  readonly ns: string;
  readonly local: string;
  readonly value: string;
}

// Entities are decoded here, not by fast-xml-parser: v5 leaves numeric references and unknown
// entities as literal text, and we want exactly the five XML entities plus character references.
const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  cdataPropName: '#cdata',
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: 64,
  // No callbacks use paths; building them costs ~5% of a parse.
  jPath: false,
  // fast-xml-parser renames an unprefixed `toString`, `hasOwnProperty`… to `__toString`…: keep
  // names as sent (they only become own keys, see setOwn). It refuses `__proto__`,
  // `constructor` and `prototype` outright, which is a SOAP_PARSE error.
  onDangerousProperty: (name: string) => name,
});

type FxpNode = Record<string, unknown>;

const NAMED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const REF = /&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,8})|#x([0-9a-fA-F]{1,7}));|&/g;

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

function decodeRefs(raw: string): string {
  // XML 1.0 §2.11: literal CR LF and lone CR read as LF; a CR written as &#13; survives.
  const s = raw.indexOf('\r') >= 0 ? raw.replace(/\r\n?/g, '\n') : raw;
  if (s.indexOf('&') < 0) return s;
  return s.replace(REF, (_m, named: string | undefined, dec: string | undefined, hex: string | undefined) => {
    if (named !== undefined) return NAMED[named] as string;
    const cp =
      dec !== undefined ? Number.parseInt(dec, 10) : hex !== undefined ? Number.parseInt(hex, 16) : -1;
    if (cp < 0) throw new AmtSoapParseError('xml', 'unknown entity or bare "&" in character data');
    if (!isXmlChar(cp)) throw new AmtSoapParseError('xml', 'character reference to a non-XML character');
    return String.fromCodePoint(cp);
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Parses a whole document into its namespace-resolved root element. Throws only AmtSoapParseError. */
export function parseXmlDocument(input: string | Uint8Array): XmlElement {
  let xml: string;
  if (typeof input === 'string') {
    xml = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else {
    try {
      xml = utf8.decode(input);
    } catch (cause) {
      throw new AmtSoapParseError('xml', 'document is not valid UTF-8', { cause });
    }
  }
  // SOAP 1.1 §3: a SOAP message must not contain a DTD. Refusing it also rules out entity tricks.
  if (xml.includes('<!') && /<!DOCTYPE/i.test(xml))
    throw new AmtSoapParseError('xml', 'a DTD is not allowed in a SOAP message');
  let nodes: FxpNode[];
  try {
    const valid = XMLValidator.validate(xml);
    if (valid !== true) {
      throw new AmtSoapParseError('xml', `not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
    }
    nodes = parser.parse(xml) as FxpNode[];
  } catch (cause) {
    if (cause instanceof AmtSoapParseError) throw cause;
    throw new AmtSoapParseError('xml', 'not well-formed XML', { cause });
  }
  const roots = nodes.filter((n) => tagOf(n) !== undefined);
  if (roots.length !== 1) throw new AmtSoapParseError('xml', 'document must have exactly one root element');
  return resolve(roots[0] as FxpNode, { decls: new Map([['xml', XML_NS]]), parent: undefined });
}

/**
 * In-scope namespace declarations: each element that declares some links to its parent's scope
 * instead of copying it, so a peer's thousands of declarations cost linear time, not quadratic.
 * Depth is capped by `maxNestedTags`, which bounds a lookup.
 */
interface Scope {
  readonly decls: ReadonlyMap<string, string>;
  readonly parent: Scope | undefined;
}

function lookup(scope: Scope, prefix: string): string | undefined {
  for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
    const ns = s.decls.get(prefix);
    if (ns !== undefined) return ns;
  }
  return undefined;
}

function tagOf(node: FxpNode): string | undefined {
  for (const k of Object.keys(node)) {
    if (k !== ':@' && k !== '#text' && k !== '#cdata') return k;
  }
  return undefined;
}

function splitQName(qname: string): [prefix: string, local: string] {
  const i = qname.indexOf(':');
  if (i < 0) return ['', qname];
  const prefix = qname.slice(0, i);
  const local = qname.slice(i + 1);
  if (prefix === '' || local === '' || local.includes(':')) {
    throw new AmtSoapParseError('xml', 'malformed qualified name');
  }
  return [prefix, local];
}

function textOf(children: unknown[]): string {
  let out = '';
  for (const c of children as FxpNode[]) {
    if (typeof c['#text'] === 'string') out += decodeRefs(c['#text']);
    const cdata = c['#cdata'];
    if (Array.isArray(cdata)) {
      for (const t of cdata as FxpNode[]) {
        if (typeof t['#text'] === 'string') out += (t['#text'] as string).replace(/\r\n?/g, '\n');
      }
    }
  }
  return out;
}

function resolve(node: FxpNode, parentScope: Scope): XmlElement {
  const qname = tagOf(node) as string;
  const rawAttrs = (node[':@'] ?? {}) as Record<string, unknown>;
  let decls: Map<string, string> | undefined;
  const plain: [string, string][] = [];
  for (const [name, v] of Object.entries(rawAttrs)) {
    const value = decodeRefs(typeof v === 'string' ? v : String(v));
    if (name === 'xmlns' || name.startsWith('xmlns:')) {
      decls ??= new Map();
      decls.set(name === 'xmlns' ? '' : name.slice(6), value);
    } else {
      plain.push([name, value]);
    }
  }
  const scope: Scope = decls === undefined ? parentScope : { decls, parent: parentScope };
  const [prefix, local] = splitQName(qname);
  const ns = lookup(scope, prefix);
  if (ns === undefined) {
    if (prefix !== '') throw new AmtSoapParseError('namespace', 'undeclared namespace prefix');
  }
  const attrs: XmlAttr[] = plain.map(([name, value]) => {
    const [ap, al] = splitQName(name);
    // Unprefixed attributes are in no namespace (Namespaces in XML §6.2).
    const ans = ap === '' ? '' : lookup(scope, ap);
    if (ans === undefined) throw new AmtSoapParseError('namespace', 'undeclared attribute prefix');
    return { ns: ans, local: al, value };
  });
  const kids = (node[qname] ?? []) as unknown[];
  const children: XmlElement[] = [];
  for (const k of kids as FxpNode[]) {
    if (tagOf(k) !== undefined) children.push(resolve(k, scope));
  }
  return { ns: ns ?? '', local, attrs, children, text: textOf(kids) };
}

/** True for `xsi:nil="true"` (or `1`). */
export function isNil(el: XmlElement): boolean {
  return el.attrs.some(
    (a) => a.ns === XSI_NS && a.local === 'nil' && (a.value.trim() === 'true' || a.value.trim() === '1'),
  );
}

const UNSAFE = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** False if the string holds a character XML 1.0 cannot carry (C0 controls, lone surrogates, U+FFFE/F). */
export function isXmlSafe(s: string): boolean {
  return !UNSAFE.test(s);
}

const ESC = /[&<>"'\r]/g;
const ESC_MAP: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#13;',
};

/** Escapes text for element content and attribute values alike. */
export function escapeXml(s: string): string {
  ESC.lastIndex = 0;
  return ESC.test(s) ? s.replace(ESC, (c) => ESC_MAP[c] as string) : s;
}
