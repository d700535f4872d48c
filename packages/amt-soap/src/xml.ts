/**
 * XML reading: one pass over the document that checks well-formedness (XML 1.0 and Namespaces
 * in XML 1.0) and builds a namespace-resolved tree as it goes.
 *
 * Legacy AMT SOAP uses a handful of XML features: elements, attributes, namespaces, text with the
 * five entities and character references, CDATA, comments. So this is a purpose-built reader, not
 * a general one: no DTD (refused where it stands, before the root), no entity other than the
 * predefined five, depth capped. It is generic (nothing SOAP-specific) and never puts document
 * content in an error message (a document may hold a password or a key).
 */
import { AmtSoapError, AmtSoapParseError, type AmtSoapParseReason } from './errors.js';

export const SOAP_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** AMT nests a handful of levels; anything deeper is hostile. The reader keeps its own stack. */
const MAX_DEPTH = 64;

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

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQUALS = 0x3d;
const QUOT = 0x22;
const APOS = 0x27;
const COLON = 0x3a;

// XML 1.0 §2.8: version, then optional encoding and standalone, in this order. Any 1.x is read
// as 1.0, as §2.8 asks of a 1.0 processor.
const XML_DECLARATION =
  /<\?xml[ \t\n]+version[ \t\n]*=[ \t\n]*(?:"1\.[0-9]+"|'1\.[0-9]+')(?:[ \t\n]+encoding[ \t\n]*=[ \t\n]*(?:"[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?(?:[ \t\n]+standalone[ \t\n]*=[ \t\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\n]*\?>/y;
const HEX_DIGITS = /^[0-9A-Fa-f]+$/;
const DEC_DIGITS = /^[0-9]+$/;
const EDGE_SPACE = /^[ \t\n\r]+|[ \t\n\r]+$/g;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

// XML 1.0 (5th ed.) NameStartChar beyond ASCII. Code units, not code points: a high surrogate of
// U+10000–U+EFFFF starts a name, and a low surrogate continues one (lone surrogates never reach
// here, the whole document is checked first).
function isWideNameStart(c: number): boolean {
  return (
    (c >= 0xc0 && c <= 0xd6) ||
    (c >= 0xd8 && c <= 0xf6) ||
    (c >= 0xf8 && c <= 0x2ff) ||
    (c >= 0x370 && c <= 0x37d) ||
    (c >= 0x37f && c <= 0x1fff) ||
    c === 0x200c ||
    c === 0x200d ||
    (c >= 0x2070 && c <= 0x218f) ||
    (c >= 0x2c00 && c <= 0x2fef) ||
    (c >= 0x3001 && c <= 0xd7ff) ||
    (c >= 0xf900 && c <= 0xfdcf) ||
    (c >= 0xfdf0 && c <= 0xfffd) ||
    (c >= 0xd800 && c <= 0xdb7f)
  );
}

function isNameStart(c: number): boolean {
  if (c < 0x80) return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === COLON;
  return isWideNameStart(c);
}

function isNameChar(c: number): boolean {
  if (c < 0x80) {
    return (
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x5f ||
      c === COLON ||
      c === 0x2d ||
      c === 0x2e
    );
  }
  return (
    isWideNameStart(c) ||
    c === 0xb7 ||
    (c >= 0x300 && c <= 0x36f) ||
    c === 0x203f ||
    c === 0x2040 ||
    (c >= 0xdc00 && c <= 0xdfff)
  );
}

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

/**
 * In-scope namespace declarations: each element that declares some links to its parent's scope
 * instead of copying it, so a peer's thousands of declarations cost linear time, not quadratic.
 * The depth cap bounds a lookup.
 */
interface Scope {
  readonly decls: ReadonlyMap<string, string>;
  readonly parent: Scope | undefined;
}

const DOCUMENT_SCOPE: Scope = { decls: new Map([['xml', XML_NS]]), parent: undefined };

function lookup(scope: Scope, prefix: string): string | undefined {
  for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
    const ns = s.decls.get(prefix);
    if (ns !== undefined) return ns;
  }
  return undefined;
}

/** An element being built; it is handed out as a (readonly) XmlElement. */
interface Building {
  ns: string;
  local: string;
  attrs: XmlAttr[];
  children: XmlElement[];
  text: string;
}

/** An open element: what its end tag must repeat, and the scope its content sees. */
interface Open {
  readonly el: Building;
  readonly qname: string;
  readonly scope: Scope;
  readonly empty: boolean;
}

/** Remembers strings, linearly while few (the usual case), by a Set once there are many. */
class SeenSet {
  private list: string[] = [];
  private set: Set<string> | undefined;

  /** False if `key` was there already. */
  add(key: string): boolean {
    if (this.set !== undefined) {
      if (this.set.has(key)) return false;
      this.set.add(key);
      return true;
    }
    if (this.list.includes(key)) return false;
    this.list.push(key);
    if (this.list.length > 8) this.set = new Set(this.list);
    return true;
  }
}

class Reader {
  private pos = 0;

  constructor(private readonly s: string) {}

  private fail(message: string, reason: AmtSoapParseReason = 'xml'): never {
    const what = reason === 'xml' ? 'not well-formed XML' : 'namespace error';
    throw new AmtSoapParseError(reason, `${what}: ${message} (at offset ${this.pos})`);
  }

  /** The whole document: prolog, exactly one root element, epilog. */
  document(): XmlElement {
    if (!this.misc()) this.fail('document must have exactly one root element');
    const root = this.element();
    if (this.misc()) this.fail('document must have exactly one root element');
    return root;
  }

  /**
   * Skips what may surround the root (white space, comments, processing instructions). False at
   * the end of the document, true on the `<` of an element.
   */
  private misc(): boolean {
    const s = this.s;
    for (;;) {
      this.skipSpace();
      if (this.pos >= s.length) return false;
      if (s.charCodeAt(this.pos) !== LT) this.fail('text outside the root element');
      const c = s.charCodeAt(this.pos + 1);
      if (c === QUESTION) this.pi();
      else if (c !== BANG) return true;
      else if (s.startsWith('<!--', this.pos)) this.comment();
      // No DTD at all (SOAP 1.1 §3 forbids one): no entity expansion, no external entities. A
      // DOCTYPE can only stand here, before the root; `<!DOCTYPE` in a comment or CDATA is text.
      else if (s.startsWith('<!DOCTYPE', this.pos)) this.fail('a DTD (DOCTYPE) is not allowed');
      else this.fail('unexpected markup declaration');
    }
  }

  /** Reads the root element and everything inside it, with an explicit stack (no recursion). */
  private element(): XmlElement {
    const s = this.s;
    const root = this.startTag(DOCUMENT_SCOPE, 1);
    if (root.empty) return root.el;
    const stack: Open[] = [root];
    let top = root;
    for (;;) {
      const lt = s.indexOf('<', this.pos);
      if (lt === -1) {
        this.pos = s.length;
        this.fail('missing end tag');
      }
      if (lt > this.pos) {
        top.el.text += this.charData(s.slice(this.pos, lt));
        this.pos = lt;
      }
      const c = s.charCodeAt(lt + 1);
      if (c === SLASH) {
        this.endTag(top.qname);
        stack.pop();
        const parent = stack[stack.length - 1];
        if (parent === undefined) return root.el;
        top = parent;
      } else if (c === QUESTION) {
        this.pi();
      } else if (c === BANG) {
        if (s.startsWith('<!--', lt)) this.comment();
        else if (s.startsWith('<![CDATA[', lt)) top.el.text += this.cdata();
        else this.fail('unexpected markup declaration');
      } else {
        const child = this.startTag(top.scope, stack.length + 1);
        top.el.children.push(child.el);
        if (!child.empty) {
          stack.push(child);
          top = child;
        }
      }
    }
  }

  private skipSpace(): boolean {
    const s = this.s;
    const start = this.pos;
    while (this.pos < s.length && isSpace(s.charCodeAt(this.pos))) this.pos++;
    return this.pos > start;
  }

  /** Reads an XML Name (an NCName, without colons, when `colons` is false) at `pos`. */
  private name(colons = true): string {
    const s = this.s;
    const start = this.pos;
    const first = s.charCodeAt(start);
    if (!isNameStart(first) || (!colons && first === COLON)) this.fail('expected a name');
    let i = start + 1;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (!isNameChar(c) || (!colons && c === COLON)) break;
    }
    this.pos = i;
    return s.slice(start, i);
  }

  /** Splits a QName; `prefix:local` with exactly one colon, neither part empty. */
  private splitQName(qname: string): [prefix: string, local: string] {
    const i = qname.indexOf(':');
    if (i < 0) return ['', qname];
    const local = qname.slice(i + 1);
    if (i === 0 || local === '' || local.includes(':')) this.fail('malformed qualified name');
    return [qname.slice(0, i), local];
  }

  /** `pos` is on the `<` of a start tag: reads it whole, attributes and declarations resolved. */
  private startTag(parentScope: Scope, depth: number): Open {
    if (depth > MAX_DEPTH) this.fail(`elements nested deeper than ${MAX_DEPTH} levels`);
    const s = this.s;
    this.pos++;
    const qname = this.name();
    let names: string[] | undefined;
    let values: string[] | undefined;
    let seen: SeenSet | undefined;
    let empty = false;
    for (;;) {
      const spaced = this.skipSpace();
      const c = s.charCodeAt(this.pos);
      if (c === GT) {
        this.pos++;
        break;
      }
      if (c === SLASH) {
        if (s.charCodeAt(this.pos + 1) !== GT) this.fail('broken empty-element tag');
        this.pos += 2;
        empty = true;
        break;
      }
      if (Number.isNaN(c)) this.fail('unterminated start tag');
      if (!spaced) this.fail('attributes must be separated by white space');
      const name = this.name();
      seen ??= new SeenSet();
      if (!seen.add(name)) this.fail('repeated attribute');
      this.skipSpace();
      if (s.charCodeAt(this.pos) !== EQUALS) this.fail('attribute without a value');
      this.pos++;
      this.skipSpace();
      const quote = s.charCodeAt(this.pos);
      if (quote !== QUOT && quote !== APOS) this.fail('attribute value without quotes');
      const end = s.indexOf(quote === QUOT ? '"' : "'", this.pos + 1);
      if (end === -1) this.fail('unterminated attribute value');
      const raw = s.slice(this.pos + 1, end);
      if (raw.includes('<')) this.fail('`<` in an attribute value');
      // XML 1.0 §3.3.3: literal white space reads as a space (a reference survives as written).
      let value = raw.includes('\t') || raw.includes('\n') ? raw.replace(/[\t\n]/g, ' ') : raw;
      if (value.includes('&')) value = this.references(value);
      this.pos = end + 1;
      if (names === undefined || values === undefined) {
        names = [name];
        values = [value];
      } else {
        names.push(name);
        values.push(value);
      }
    }

    let scope = parentScope;
    let plain: number[] | undefined;
    if (names !== undefined && values !== undefined) {
      let decls: Map<string, string> | undefined;
      for (let i = 0; i < names.length; i++) {
        const name = names[i] as string;
        if (name.startsWith('xmlns') && (name.length === 5 || name.charCodeAt(5) === COLON)) {
          const prefix = name.length === 5 ? '' : this.splitQName(name)[1];
          decls ??= new Map();
          decls.set(prefix, this.declaration(prefix, values[i] as string));
        } else {
          plain ??= [];
          plain.push(i);
        }
      }
      if (decls !== undefined) scope = { decls, parent: parentScope };
    }

    const [prefix, local] = this.splitQName(qname);
    // These would reach Object.prototype if a caller made keys of names.
    if (local === '__proto__' || local === 'constructor' || local === 'prototype') {
      this.fail('element name is not allowed');
    }
    const ns = lookup(scope, prefix);
    if (ns === undefined && prefix !== '') this.fail('undeclared element prefix', 'namespace');

    const attrs: XmlAttr[] = [];
    if (plain !== undefined) {
      let expanded: SeenSet | undefined;
      for (const i of plain) {
        const [ap, al] = this.splitQName(names?.[i] as string);
        // Unprefixed attributes are in no namespace (Namespaces in XML §6.2).
        const ans = ap === '' ? '' : lookup(scope, ap);
        if (ans === undefined) this.fail('undeclared attribute prefix', 'namespace');
        if (ap !== '') {
          // Two prefixes for one namespace still make one attribute (Namespaces in XML §6.3).
          expanded ??= new SeenSet();
          if (!expanded.add(`${ans} ${al}`)) this.fail('repeated attribute', 'namespace');
        }
        attrs.push({ ns: ans, local: al, value: values?.[i] as string });
      }
    }
    return { el: { ns: ns ?? '', local, attrs, children: [], text: '' }, qname, scope, empty };
  }

  /** Checks a namespace declaration (Namespaces in XML §3) and returns the namespace. */
  private declaration(prefix: string, value: string): string {
    const ns = value.replace(EDGE_SPACE, '');
    if (prefix === 'xmlns') this.fail('the xmlns prefix cannot be declared', 'namespace');
    if (prefix === 'xml' ? ns !== XML_NS : ns === XML_NS) {
      this.fail('the xml prefix and only it is bound to the XML namespace', 'namespace');
    }
    if (ns === XMLNS_NS) this.fail('the xmlns namespace cannot be declared', 'namespace');
    if (ns === '' && prefix !== '') this.fail('a prefix cannot be undeclared in XML 1.0', 'namespace');
    return ns;
  }

  /** `pos` is on the `</` of the end tag of `qname`: reads it. */
  private endTag(qname: string): void {
    const s = this.s;
    const end = this.pos + 2 + qname.length;
    if (!s.startsWith(qname, this.pos + 2) || isNameChar(s.charCodeAt(end))) {
      this.fail('end tag does not match its start tag');
    }
    this.pos = end;
    this.skipSpace();
    if (s.charCodeAt(this.pos) !== GT) this.fail('broken end tag');
    this.pos++;
  }

  /** Text between markup: references decoded, `]]>` refused (XML 1.0 §2.4). */
  private charData(raw: string): string {
    if (raw.includes(']]>')) this.fail('`]]>` in text');
    return raw.includes('&') ? this.references(raw) : raw;
  }

  /** Replaces the five predefined entities and character references; anything else is an error. */
  private references(text: string): string {
    let out = '';
    let last = 0;
    let amp = text.indexOf('&');
    while (amp !== -1) {
      const semi = text.indexOf(';', amp + 1);
      if (semi === -1) this.fail('unknown entity or bare "&"');
      out += text.slice(last, amp) + this.reference(text.slice(amp + 1, semi));
      last = semi + 1;
      amp = text.indexOf('&', last);
    }
    return out + text.slice(last);
  }

  private reference(name: string): string {
    switch (name) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
    }
    let cp = -1;
    if (name.startsWith('#x')) {
      if (HEX_DIGITS.test(name.slice(2))) cp = Number.parseInt(name.slice(2), 16);
    } else if (name.startsWith('#') && DEC_DIGITS.test(name.slice(1))) {
      cp = Number.parseInt(name.slice(1), 10);
    }
    if (cp === -1) this.fail('unknown entity or bare "&"');
    if (!isXmlChar(cp)) this.fail('character reference to a character XML does not allow');
    return String.fromCodePoint(cp);
  }

  /** `pos` is on `<!--`: skips the comment. */
  private comment(): void {
    const s = this.s;
    const end = s.indexOf('-->', this.pos + 4);
    if (end === -1) this.fail('unterminated comment');
    // `--` may not appear inside a comment, nor may one end with `--->` (XML 1.0 §2.5).
    if (s.indexOf('--', this.pos + 4) < end || (end > this.pos + 4 && s.charCodeAt(end - 1) === 0x2d)) {
      this.fail('`--` inside a comment');
    }
    this.pos = end + 3;
  }

  /** `pos` is on `<![CDATA[`: returns the section's text, as written. */
  private cdata(): string {
    const s = this.s;
    const end = s.indexOf(']]>', this.pos + 9);
    if (end === -1) this.fail('unterminated CDATA section');
    const text = s.slice(this.pos + 9, end);
    this.pos = end + 3;
    return text;
  }

  /** `pos` is on `<?`: skips a processing instruction, or checks the XML declaration. */
  private pi(): void {
    const s = this.s;
    const at = this.pos;
    this.pos += 2;
    if (!isNameStart(s.charCodeAt(this.pos))) this.fail('processing instruction without a target');
    const target = this.name(false);
    if (target.length === 3 && target.toLowerCase() === 'xml') {
      // The declaration is allowed only as the very first thing; `XML`, `Xml`… are reserved.
      if (target !== 'xml' || at !== 0) this.fail('misplaced XML declaration');
      XML_DECLARATION.lastIndex = 0;
      if (!XML_DECLARATION.test(s)) this.fail('broken XML declaration');
      this.pos = XML_DECLARATION.lastIndex;
      return;
    }
    if (s.startsWith('?>', this.pos)) {
      this.pos += 2;
      return;
    }
    if (!isSpace(s.charCodeAt(this.pos))) this.fail('broken processing instruction target');
    const end = s.indexOf('?>', this.pos);
    if (end === -1) this.fail('unterminated processing instruction');
    this.pos = end + 2;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Parses a whole document into its namespace-resolved root element. Throws only AmtSoapParseError. */
export function parseXmlDocument(input: string | Uint8Array): XmlElement {
  let xml: string;
  if (typeof input === 'string') {
    xml = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else {
    try {
      xml = utf8.decode(input); // drops a leading BOM
    } catch (cause) {
      throw new AmtSoapParseError('xml', 'document is not valid UTF-8', { cause });
    }
  }
  // XML 1.0 §2.11: literal CR LF and lone CR read as LF; a CR written as &#13; survives.
  if (xml.includes('\r')) xml = xml.replace(/\r\n?/g, '\n');
  if (!isXmlSafe(xml))
    throw new AmtSoapParseError('xml', 'document holds a character XML 1.0 does not allow');
  try {
    return new Reader(xml).document();
  } catch (err) {
    if (err instanceof AmtSoapError) throw err;
    // Nothing else is expected; should anything slip through, it is still this package's error.
    throw new AmtSoapParseError('xml', 'document could not be read', { cause: err });
  }
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
