import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { xmlString } from '../test/arbitraries.js';
import { AmtSoapError, AmtSoapParseError } from './errors.js';
import { escapeXml, isNil, isXmlSafe, parseXmlDocument } from './xml.js';

function reason(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof AmtSoapParseError) return e.reason;
    throw e;
  }
  return undefined;
}

describe('escapeXml', () => {
  it('escapes markup characters and CR', () => {
    expect(escapeXml(`a&b<c>d"e'f\rg`)).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f&#13;g');
    expect(escapeXml('plain text')).toBe('plain text');
    expect(escapeXml('&&')).toBe('&amp;&amp;');
  });

  it('round-trips any XML-safe string through element content', () => {
    fc.assert(
      fc.property(xmlString, (s) => {
        expect(parseXmlDocument(`<a>${escapeXml(s)}</a>`).text).toBe(s);
      }),
    );
  });
});

describe('isXmlSafe', () => {
  it('refuses control characters, lone surrogates and U+FFFE', () => {
    expect(isXmlSafe('ok \t\n\r é 😀')).toBe(true);
    expect(isXmlSafe('a\u0000b')).toBe(false);
    expect(isXmlSafe('a\u001bb')).toBe(false);
    expect(isXmlSafe('a\ud800b')).toBe(false);
    expect(isXmlSafe('\ufffe')).toBe(false);
  });
});

describe('parseXmlDocument', () => {
  it('resolves namespaces by scope, never by prefix', () => {
    const root = parseXmlDocument(
      '<x:a xmlns:x="urn:one" xmlns="urn:default"><b/><x:c xmlns:x="urn:two"/><d xmlns=""/></x:a>',
    );
    expect([root.ns, root.local]).toEqual(['urn:one', 'a']);
    expect(root.children.map((c) => [c.ns, c.local])).toEqual([
      ['urn:default', 'b'],
      ['urn:two', 'c'],
      ['', 'd'],
    ]);
  });

  it('decodes the five entities and character references, keeps CDATA raw, normalizes CRLF', () => {
    const el = parseXmlDocument('<a>&lt;&gt;&amp;&quot;&apos;&#65;&#x1F600;&#13;<![CDATA[&lt;]]>x\r\ny</a>');
    expect(el.text).toBe('<>&"\'A😀\r&lt;x\ny');
  });

  it('reads xsi:nil through any prefix', () => {
    const el = parseXmlDocument('<a xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:nil="true"/>');
    expect(isNil(el)).toBe(true);
    expect(isNil(parseXmlDocument('<a nil="true"/>'))).toBe(false);
  });

  it('refuses broken documents with typed reasons', () => {
    expect(reason(() => parseXmlDocument('<a><b>x</b>'))).toBe('xml');
    expect(reason(() => parseXmlDocument('<a>&bogus;</a>'))).toBe('xml');
    expect(reason(() => parseXmlDocument('<a>AT&T</a>'))).toBe('xml');
    expect(reason(() => parseXmlDocument('<a>&#0;</a>'))).toBe('xml');
    expect(reason(() => parseXmlDocument('<a>x</a><b/>'))).toBe('xml');
    expect(reason(() => parseXmlDocument('<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'))).toBe('xml');
    expect(
      reason(() => parseXmlDocument(new Uint8Array([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e]))),
    ).toBe('xml');
    expect(reason(() => parseXmlDocument('<p:a/>'))).toBe('namespace');
    expect(reason(() => parseXmlDocument('<a p:x="1"/>'))).toBe('namespace');
    expect(reason(() => parseXmlDocument(''))).toBe('xml');
  });

  it('throws nothing but AmtSoapError on random or mutated input', () => {
    const doc = '<s:E xmlns:s="urn:s"><s:B a="1">t&amp;<c><![CDATA[x]]></c></s:B></s:E>';
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 80 }),
          fc
            .tuple(fc.nat(doc.length), fc.nat(doc.length), fc.string({ maxLength: 4 }))
            .map(([i, j, ins]) => doc.slice(0, Math.min(i, j)) + ins + doc.slice(Math.max(i, j))),
        ),
        (input) => {
          try {
            parseXmlDocument(input);
          } catch (e) {
            expect(e).toBeInstanceOf(AmtSoapError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('parseXmlDocument: many namespace declarations', () => {
  it('resolves 20,000 sibling declarations under 20,000 inherited ones (once quadratic: minutes)', () => {
    const n = 20_000;
    const inherited = Array.from({ length: n }, (_, i) => ` xmlns:p${i}="urn:p${i}"`).join('');
    const kids = Array.from({ length: n }, (_, i) => `<p${i}:k xmlns:q="urn:q${i}" q:a="1"/>`).join('');
    const root = parseXmlDocument(`<r${inherited}>${kids}</r>`);
    expect(root.children).toHaveLength(n);
    expect(root.children[n - 1]).toMatchObject({ ns: `urn:p${n - 1}`, local: 'k' });
    expect(root.children[n - 1]?.attrs).toEqual([{ ns: `urn:q${n - 1}`, local: 'a', value: '1' }]);
  });
});
