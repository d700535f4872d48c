import { WsmanInvalidArgumentError, WsmanParseError } from './errors.js';

// Anything that needs a look before it can go into XML as is. Surrogates match here even when
// paired; the strict check below (with the `u` flag) only rejects lone ones.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters to catch
const NEEDS_WORK = /[&<>"'\r\t\n\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
// Characters XML 1.0 cannot carry at all, not even as a character reference.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters to refuse
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|\p{Cs}/u;

function refuse(): never {
  throw new WsmanInvalidArgumentError('value contains a character that XML 1.0 cannot carry');
}

/** True when every character of `value` can be written in XML 1.0 (escaped if need be). */
export function isXmlText(value: string): boolean {
  return !NOT_XML_CHAR.test(value);
}

// One pass with slices: several times faster than String#replace with a callback.
function escapeSlow(value: string, attribute: boolean): string {
  if (NOT_XML_CHAR.test(value)) refuse();
  let out = '';
  let last = 0;
  for (let i = 0; i < value.length; i++) {
    let rep: string;
    switch (value.charCodeAt(i)) {
      case 0x26:
        rep = '&amp;';
        break;
      case 0x3c:
        rep = '&lt;';
        break;
      case 0x3e:
        rep = '&gt;';
        break;
      case 0x22:
        rep = '&quot;';
        break;
      case 0x27:
        rep = '&apos;';
        break;
      // A literal CR would be normalised to LF by the reader; a reference survives.
      case 0x0d:
        rep = '&#13;';
        break;
      // Attribute-value normalisation turns TAB and LF into spaces; references survive it.
      case 0x09:
        if (!attribute) continue;
        rep = '&#9;';
        break;
      case 0x0a:
        if (!attribute) continue;
        rep = '&#10;';
        break;
      default:
        continue;
    }
    out += value.slice(last, i) + rep;
    last = i + 1;
  }
  return last === 0 ? value : out + value.slice(last);
}

/** Escapes a string for element content: `& < > " '` and CR become references. */
export function escapeXml(value: string): string {
  return NEEDS_WORK.test(value) ? escapeSlow(value, false) : value;
}

/** Escapes a string for a double- or single-quoted attribute value (also TAB and LF). */
export function escapeXmlAttribute(value: string): string {
  return NEEDS_WORK.test(value) ? escapeSlow(value, true) : value;
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

const HEX_REF = /^#x[0-9A-Fa-f]{1,6}$/;
const DEC_REF = /^#[0-9]{1,7}$/;

function reference(name: string): string {
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
  if (HEX_REF.test(name)) cp = Number.parseInt(name.slice(2), 16);
  else if (DEC_REF.test(name)) cp = Number.parseInt(name.slice(1), 10);
  else throw new WsmanParseError('reference to an undeclared entity (only the five XML entities exist here)');
  if (!isXmlChar(cp)) throw new WsmanParseError('character reference to a character XML does not allow');
  return String.fromCodePoint(cp);
}

/** Replaces the five predefined entities and character references; anything else is an error. */
export function decodeEntities(text: string): string {
  let amp = text.indexOf('&');
  if (amp === -1) return text;
  let out = '';
  let last = 0;
  while (amp !== -1) {
    const semi = text.indexOf(';', amp + 1);
    // The longest legal reference here is `&#x10FFFF;` / `&#1114111;`.
    if (semi === -1 || semi - amp > 10) throw new WsmanParseError('unterminated entity reference');
    out += text.slice(last, amp) + reference(text.slice(amp + 1, semi));
    last = semi + 1;
    amp = text.indexOf('&', last);
  }
  return out + text.slice(last);
}
