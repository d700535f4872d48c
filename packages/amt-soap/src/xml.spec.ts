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

describe('parseXmlDocument: input', () => {
  it('reads strings and UTF-8 bytes alike, dropping one leading BOM', () => {
    const bytes = new TextEncoder().encode('\ufeff<a>é😀</a>');
    expect(bytes.subarray(0, 3)).toEqual(new Uint8Array([0xef, 0xbb, 0xbf]));
    expect(parseXmlDocument(bytes).text).toBe('é😀');
    expect(parseXmlDocument('\ufeff<a>x</a>').text).toBe('x');
    // A second BOM is a character before the root, not a BOM.
    expect(reason(() => parseXmlDocument('\ufeff\ufeff<a/>'))).toBe('xml');
    // Truncated multi-byte sequence: fatal decoding.
    expect(
      reason(() => parseXmlDocument(new Uint8Array([0x3c, 0x61, 0x3e, 0xc3, 0x3c, 0x2f, 0x61, 0x3e]))),
    ).toBe('xml');
  });

  it('refuses characters XML 1.0 does not allow, anywhere, even in comments and CDATA', () => {
    for (const bad of ['\u0001', '\u000b', '\u001f', '\ufffe', '\uffff', '\ud800', '\udc00', 'x\ud83dy']) {
      for (const doc of [
        `<a>${bad}</a>`,
        `<a b="${bad}"/>`,
        `<a><!--${bad}--></a>`,
        `<a><![CDATA[${bad}]]></a>`,
      ]) {
        expect(
          reason(() => parseXmlDocument(doc)),
          JSON.stringify(doc),
        ).toBe('xml');
      }
    }
    expect(parseXmlDocument('<a>\t\u{10FFFF}\ufffd\ue000</a>').text).toBe('\t\u{10FFFF}\ufffd\ue000');
  });
});

describe('parseXmlDocument: prolog and epilog', () => {
  it('allows white space, comments and PIs around the root, and the declaration only first', () => {
    const doc =
      '<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>\n<!-- c -->\n<?pi x?><a/><?pi?>\n<!---->\n';
    expect(parseXmlDocument(doc).local).toBe('a');
    for (const decl of [
      '<?xml version="1.0"?>',
      "<?xml version='1.1' encoding='iso-8859-1'?>",
      '<?xml\tversion = "1.0"\nstandalone="no"?>',
    ]) {
      expect(parseXmlDocument(`${decl}<a/>`).local, decl).toBe('a');
    }
  });

  it('refuses a misplaced, reserved or broken XML declaration', () => {
    for (const doc of [
      ' <?xml version="1.0"?><a/>',
      '<!-- c --><?xml version="1.0"?><a/>',
      '<a><?xml version="1.0"?></a>',
      '<a/><?xml version="1.0"?>',
      '<?XML version="1.0"?><a/>',
      '<a><?Xml x?></a>',
      '<?xml?><a/>',
      '<?xml encoding="UTF-8"?><a/>',
      '<?xml version="2.0"?><a/>',
      '<?xml version="1.0"encoding="UTF-8"?><a/>',
      '<?xml version="1.0" standalone="yes" encoding="UTF-8"?><a/>',
      '<?xml version="1.0" standalone="maybe"?><a/>',
      '<?xml version="1.0" foo="bar"?><a/>',
      '<?xml version="1.0"',
    ]) {
      expect(
        reason(() => parseXmlDocument(doc)),
        doc,
      ).toBe('xml');
    }
  });

  it('needs exactly one root and nothing but markup and white space around it', () => {
    for (const doc of [
      '',
      '  \n',
      '<!-- only a comment -->',
      '<a/><b/>',
      'x<a/>',
      '<a/>x',
      '<a/>&amp;',
      '<![CDATA[x]]><a/>',
      '<a/><![CDATA[x]]>',
      '<!ELEMENT a ANY><a/>',
      '<a>',
    ]) {
      expect(
        reason(() => parseXmlDocument(doc)),
        doc,
      ).toBe('xml');
    }
  });
});

describe('parseXmlDocument: no DTD', () => {
  it('refuses a DOCTYPE where it stands as markup', () => {
    for (const doc of [
      '<!DOCTYPE a><a/>',
      '<?xml version="1.0"?>\n<!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>',
      '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>',
      '<a><!DOCTYPE a></a>',
      '<a/><!DOCTYPE a>',
    ]) {
      expect(
        reason(() => parseXmlDocument(doc)),
        doc,
      ).toBe('xml');
    }
    expect(() => parseXmlDocument('<!DOCTYPE a><a/>')).toThrow(/DTD/);
  });

  it('reads `<!DOCTYPE` inside a comment or CDATA as the text it is', () => {
    expect(parseXmlDocument('<!-- <!DOCTYPE a> --><a/>').local).toBe('a');
    expect(parseXmlDocument('<a><!-- <!DOCTYPE a [ ]> --></a>').text).toBe('');
    expect(parseXmlDocument('<a><![CDATA[<!DOCTYPE a>]]></a>').text).toBe('<!DOCTYPE a>');
    expect(parseXmlDocument('<a>&lt;!DOCTYPE a></a>').text).toBe('<!DOCTYPE a>');
  });
});

describe('parseXmlDocument: character data', () => {
  it('concatenates direct text and CDATA, untrimmed, around children and markup', () => {
    const el = parseXmlDocument('<a> x <b>in b</b>y<![CDATA[ <z> ]]><!-- c --><?p q?>&amp; </a>');
    expect(el.text).toBe(' x y <z> & ');
    expect(el.children.map((c) => [c.local, c.text])).toEqual([['b', 'in b']]);
  });

  it('reads CR LF and lone CR as LF in text and CDATA; &#13; stays CR', () => {
    expect(parseXmlDocument('<a>1\r\n2\r3\n\r4</a>').text).toBe('1\n2\n3\n\n4');
    expect(parseXmlDocument('<a><![CDATA[x\r\ny\rz]]></a>').text).toBe('x\ny\nz');
    expect(parseXmlDocument('<a>&#13;&#xD;&#10;</a>').text).toBe('\r\r\n');
  });

  it('decodes exactly the five entities and references to XML characters', () => {
    expect(parseXmlDocument('<a>&#0000065;&#x00041;&#x10FFFF;&#9;</a>').text).toBe('AA\u{10FFFF}\t');
    for (const bad of [
      '&LT;',
      '&nbsp;',
      '&amp',
      '& amp;',
      '&;',
      '&#;',
      '&#x;',
      '&#X41;',
      '&#+65;',
      '&#-1;',
      '&#x41 ;',
      '&#xD800;',
      '&#xFFFE;',
      '&#1114112;',
      '&#99999999999999999999;',
      '&#8;',
    ]) {
      expect(
        reason(() => parseXmlDocument(`<a>${bad}</a>`)),
        bad,
      ).toBe('xml');
      expect(
        reason(() => parseXmlDocument(`<a b="${bad}"/>`)),
        bad,
      ).toBe('xml');
    }
  });

  it('refuses `]]>` in text but not its escaped forms', () => {
    expect(reason(() => parseXmlDocument('<a>x]]>y</a>'))).toBe('xml');
    expect(parseXmlDocument('<a>]]&gt;]]]<!---->></a>').text).toBe(']]>]]]>');
  });

  it('keeps CDATA raw and refuses an unterminated one', () => {
    expect(parseXmlDocument('<a><![CDATA[&amp;<b>]]]]></a>').text).toBe('&amp;<b>]]');
    expect(reason(() => parseXmlDocument('<a><![CDATA[x</a>'))).toBe('xml');
    expect(reason(() => parseXmlDocument('<a><![CDATA x]]></a>'))).toBe('xml');
  });
});

describe('parseXmlDocument: comments and processing instructions', () => {
  it('refuses `--` inside a comment and `--->`; allows single dashes', () => {
    expect(parseXmlDocument('<a><!----><!-- - --><!---x- --></a>').text).toBe('');
    for (const c of ['<!-- a -- b -->', '<!-- a --->', '<!----->', '<!-- open', '<!- x ->']) {
      expect(
        reason(() => parseXmlDocument(`<a>${c}</a>`)),
        c,
      ).toBe('xml');
    }
  });

  it('needs a PI target (a name without colons), then white space or the end', () => {
    expect(parseXmlDocument('<a><?t?><?t data ??><?xml-stylesheet x?></a>').local).toBe('a');
    for (const pi of ['<??>', '<? t?>', '<?1t?>', '<?p:t x?>', '<?t"x"?>', '<?t x', '<?t x?']) {
      expect(
        reason(() => parseXmlDocument(`<a>${pi}</a>`)),
        pi,
      ).toBe('xml');
    }
  });
});

describe('parseXmlDocument: tags', () => {
  it('matches end tags to start tags by qualified name, exactly', () => {
    expect(parseXmlDocument('<a ><b\n/><c></c\t\n></a >').children).toHaveLength(2);
    for (const doc of [
      '<a></b>',
      '<a></ab>',
      '<ab></a>',
      '<a></A>',
      '<a></ a>',
      '<a></a',
      '<a><b></a></b>',
      '<p:a xmlns:p="urn:x" xmlns:q="urn:x"></q:a>',
      '<a></a/>',
      '<a></>',
    ]) {
      expect(
        reason(() => parseXmlDocument(doc)),
        doc,
      ).toBe('xml');
    }
  });

  it('checks names against the XML name characters', () => {
    expect(parseXmlDocument('<é·-.9 _x="1"/>').local).toBe('é·-.9');
    expect(parseXmlDocument('<𐀀/>').local).toBe('𐀀');
    expect(parseXmlDocument('<a:b.c xmlns:a="urn:a"/>')).toMatchObject({ ns: 'urn:a', local: 'b.c' });
    for (const doc of [
      '<1a/>',
      '<-a/>',
      '<a b!="1"/>',
      '<a\u00d7/>',
      '< a/>',
      '<a/ >',
      '<a$/>',
      '<\u{F0000}/>',
    ]) {
      expect(
        reason(() => parseXmlDocument(doc)),
        doc,
      ).toBe('xml');
    }
  });

  it('refuses malformed qualified names', () => {
    for (const doc of [
      '<a:/>',
      '<:a/>',
      '<a:b:c xmlns:a="u"/>',
      '<a x:="1"/>',
      '<a :x="1"/>',
      '<a xmlns:="u"/>',
    ]) {
      expect(
        reason(() => parseXmlDocument(doc)),
        doc,
      ).toBe('xml');
    }
  });

  it('refuses prototype element names, prefixed or not; keeps other names as sent', () => {
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      expect(
        reason(() => parseXmlDocument(`<${name}/>`)),
        name,
      ).toBe('xml');
      expect(
        reason(() => parseXmlDocument(`<a><p:${name} xmlns:p="urn:p">1</p:${name}></a>`)),
        name,
      ).toBe('xml');
    }
    const el = parseXmlDocument('<toString __proto__="1"><hasOwnProperty/></toString>');
    expect(el.local).toBe('toString');
    expect(el.attrs).toEqual([{ ns: '', local: '__proto__', value: '1' }]);
    expect(el.children[0]?.local).toBe('hasOwnProperty');
  });

  it('caps nesting at 64 levels with a typed error, never a stack overflow', () => {
    const deep = (n: number) => `${'<d>'.repeat(n)}x${'</d>'.repeat(n)}`;
    let el = parseXmlDocument(deep(64));
    for (let i = 1; i < 64; i++) el = el.children[0] as typeof el;
    expect(el.text).toBe('x');
    expect(() => parseXmlDocument(deep(65))).toThrow(/nested deeper than 64/);
    expect(reason(() => parseXmlDocument(deep(65)))).toBe('xml');
    expect(reason(() => parseXmlDocument(`${'<d>'.repeat(64)}<e/>${'</d>'.repeat(64)}`))).toBe('xml');
    expect(reason(() => parseXmlDocument('<d>'.repeat(500_000)))).toBe('xml');
  });
});

describe('parseXmlDocument: attributes', () => {
  it('reads either quote, decodes entities, normalizes literal white space to spaces', () => {
    const el = parseXmlDocument(
      `<a x='1"2' y="3'4" z="&lt;&#65;&amp;" w="a\tb\r\nc\nd&#9;&#10;&#13;" e=""/>`,
    );
    expect(el.attrs).toEqual([
      { ns: '', local: 'x', value: '1"2' },
      { ns: '', local: 'y', value: "3'4" },
      { ns: '', local: 'z', value: '<A&' },
      { ns: '', local: 'w', value: 'a b c d\t\n\r' },
      { ns: '', local: 'e', value: '' },
    ]);
  });

  it('refuses broken attributes', () => {
    for (const attrs of [
      'x=1',
      'x="1"y="2"',
      'x="1" x="2"',
      'x=\'1\' x="1"',
      'x="a<b"',
      'x="1',
      'x',
      'x =',
      '="1"',
      'x="&bogus;"',
      'x="a&b"',
    ]) {
      expect(
        reason(() => parseXmlDocument(`<a ${attrs}/>`)),
        attrs,
      ).toBe('xml');
    }
  });

  it('treats xmlns attributes as declarations and puts unprefixed attributes in no namespace', () => {
    const el = parseXmlDocument(
      '<a xmlns="urn:d" xmlns:p="urn:p" x="1" p:y="2" xml:lang="en"><b xmlns=""/><c xmlns="urn:c"/></a>',
    );
    expect(el.ns).toBe('urn:d');
    expect(el.attrs).toEqual([
      { ns: '', local: 'x', value: '1' },
      { ns: 'urn:p', local: 'y', value: '2' },
      { ns: 'http://www.w3.org/XML/1998/namespace', local: 'lang', value: 'en' },
    ]);
    expect(el.children.map((c) => c.ns)).toEqual(['', 'urn:c']);
    // A declaration may follow its use in the same tag; its white-space edges are not part of it.
    expect(parseXmlDocument('<p:a p:x="1" xmlns:p=" urn:p\n"/>')).toMatchObject({
      ns: 'urn:p',
      attrs: [{ ns: 'urn:p', local: 'x', value: '1' }],
    });
  });

  it('refuses one attribute twice under two prefixes of the same namespace', () => {
    expect(reason(() => parseXmlDocument('<a xmlns:p="urn:x" xmlns:q="urn:x" p:y="1" q:y="2"/>'))).toBe(
      'namespace',
    );
    // Same local name, different namespaces (or none): different attributes.
    expect(parseXmlDocument('<a xmlns:p="urn:x" xmlns:q="urn:y" y="0" p:y="1" q:y="2"/>').attrs).toHaveLength(
      3,
    );
  });

  it('refuses what Namespaces in XML forbids', () => {
    for (const doc of [
      '<a xmlns:p=""/>',
      '<a xmlns:p=" "/>',
      '<a xmlns:xml="urn:x"/>',
      '<a xmlns:p="http://www.w3.org/XML/1998/namespace"/>',
      '<a xmlns="http://www.w3.org/XML/1998/namespace"/>',
      '<a xmlns:xmlns="http://www.w3.org/2000/xmlns/"/>',
      '<a xmlns:p="http://www.w3.org/2000/xmlns/"/>',
      '<xmlns:a/>',
      '<a><p:b/></a>',
      '<a><b xmlns:p="urn:p"/><p:c/></a>',
      '<a p:x="1"/>',
    ]) {
      expect(
        reason(() => parseXmlDocument(doc)),
        doc,
      ).toBe('namespace');
    }
    expect(parseXmlDocument('<a xmlns:xml="http://www.w3.org/XML/1998/namespace"/>').local).toBe('a');
  });
});
