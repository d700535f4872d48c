import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WsmanInvalidArgumentError, WsmanParseError } from './errors.js';
import { decodeEntities, escapeXml, escapeXmlAttribute, isXmlText } from './xml.js';

// Strings made only of characters XML 1.0 can carry (no C0 controls but TAB/LF/CR, no lone
// surrogates, no U+FFFE/U+FFFF).
const xmlChar = fc
  .oneof(
    fc.constantFrom('&', '<', '>', '"', "'", '\r', '\n', '\t', ';', '#', ']]>', '&amp;'),
    fc.string({ unit: 'grapheme', maxLength: 4 }),
  )
  .filter(isXmlText);
const xmlText = fc.array(xmlChar, { maxLength: 20 }).map((a) => a.join(''));

describe('escapeXml', () => {
  it('escapes each of & < > " \' and CR', () => {
    expect(escapeXml('a&b<c>d"e\'f\rg')).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f&#13;g');
  });

  it('returns plain text unchanged (same string)', () => {
    const s = 'Intel(r) AMT: General Settings';
    expect(escapeXml(s)).toBe(s);
  });

  it('keeps TAB and LF in text but escapes them in attributes', () => {
    expect(escapeXml('a\tb\nc')).toBe('a\tb\nc');
    expect(escapeXmlAttribute('a\tb\nc"')).toBe('a&#9;b&#10;c&quot;');
  });

  it('refuses characters XML 1.0 cannot carry', () => {
    for (const bad of ['\u0000', 'a\u0001', '\u000B', '\u001F', '\uFFFE', '\uFFFF', '\uD800', 'x\uDC00y']) {
      expect(() => escapeXml(bad)).toThrow(WsmanInvalidArgumentError);
      expect(() => escapeXmlAttribute(bad)).toThrow(WsmanInvalidArgumentError);
    }
  });

  it('accepts astral characters (valid surrogate pairs)', () => {
    expect(escapeXml('Wi-Fi 📶 & co')).toBe('Wi-Fi 📶 &amp; co');
  });

  it('decodeEntities(escapeXml(s)) = s and the escaped text holds no markup', () => {
    fc.assert(
      fc.property(xmlText, (s) => {
        const e = escapeXml(s);
        expect(e).not.toMatch(/[<>"'\r]/);
        expect(decodeEntities(e)).toBe(s);
        expect(decodeEntities(escapeXmlAttribute(s))).toBe(s);
      }),
    );
  });
});

describe('decodeEntities', () => {
  it('decodes the five entities and decimal / hex character references', () => {
    expect(decodeEntities('&lt;&gt;&amp;&quot;&apos;')).toBe('<>&"\'');
    expect(decodeEntities('&#65;&#x42;&#x1F4F6;')).toBe('AB📶');
  });

  it('refuses undeclared entities, bare ampersands and references to forbidden characters', () => {
    for (const bad of ['&nbsp;', 'a & b', '&amp', '&#0;', '&#xFFFE;', '&#x110000;', '&#;', '&#xZZ;']) {
      expect(() => decodeEntities(bad)).toThrow(WsmanParseError);
    }
  });

  it('throws only WsmanParseError on any input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        try {
          decodeEntities(s);
        } catch (err) {
          expect(err).toBeInstanceOf(WsmanParseError);
        }
      }),
    );
  });
});
