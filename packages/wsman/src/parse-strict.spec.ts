import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WsmanParseError } from './errors.js';
import { parseWsmanResponse } from './parse.js';
import { parseWsmanRequest } from './server.js';

const SOAP = 'http://www.w3.org/2003/05/soap-envelope';
const WSMAN = 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd';

const env = (body: string, header = '<a:Header/>') =>
  `<a:Envelope xmlns:a="${SOAP}" xmlns:c="${WSMAN}">${header}<a:Body>${body}</a:Body></a:Envelope>`;

describe('parseWsmanResponse: well-formedness', () => {
  it('refuses a mismatched end tag anywhere, wrappers included', () => {
    const docs = [
      env('<g:X><g:A>1</g:A></g:Y>'),
      env('<g:X><g:A>1</g:B></g:X>'),
      env('<g:X><g:A>1</g:A></g:X>').replace('</a:Body>', '</a:Bod>'),
      env('<g:X><g:A>1</g:A></g:X>').replace('</a:Envelope>', '</b:Envelope>'),
      env('<g:X><g:A>1</g:A></g:X>', '<a:Header><b:To>x</b:To></a:Headers>'),
      env('<g:X><g:A>1</g:AB></g:X>'),
    ];
    for (const d of docs) expect(() => parseWsmanResponse(d), d).toThrow(WsmanParseError);
    expect(parseWsmanResponse(env('<g:X><g:A >1</g:A ></g:X >')).body).toEqual({ A: '1' });
  });

  it('refuses broken attributes and keeps good ones out of values', () => {
    for (const attrs of ['a=1', 'a="1"b="2"', 'a="1" a="2"', 'a="x<y"', 'a="1', 'a', '="1"', 'a="&bogus;"']) {
      expect(() => parseWsmanResponse(env(`<g:X ${attrs}><g:A>1</g:A></g:X>`)), attrs).toThrow(
        WsmanParseError,
      );
    }
    const ok = env(`<g:X a='1' b = "2"\n c="&amp;&#65;"><g:A xsi:nil="true"/><g:B Name="n">v</g:B></g:X>`);
    expect(parseWsmanResponse(ok).body).toEqual({ A: '', B: 'v' });
  });

  it('refuses text, a second element or a declaration outside the root; allows comments and PIs', () => {
    const good = env('<g:X><g:A>1</g:A></g:X>');
    for (const d of [
      `x${good}`,
      `${good}x`,
      `${good}<b/>`,
      `<!ELEMENT x ANY>${good}`,
      `${good}<![CDATA[x]]>`,
    ]) {
      expect(() => parseWsmanResponse(d), d.slice(0, 20)).toThrow(WsmanParseError);
    }
    const wrapped = `<?xml version="1.0"?>\n<!-- a -->\n<?pi x?>${good}<?pi y?>\n<!-- b -->\n`;
    expect(parseWsmanResponse(wrapped).body).toEqual({ A: '1' });
  });

  it('refuses markup declarations inside elements, skips comments and PIs in values', () => {
    expect(() => parseWsmanResponse(env('<g:X><g:A><!ENTITY e "x"></g:A></g:X>'))).toThrow(WsmanParseError);
    expect(parseWsmanResponse(env('<g:X><g:A>a<?pi?>b<!---->c</g:A></g:X>')).body).toEqual({ A: 'abc' });
  });

  it('reads line ends as LF everywhere, CDATA included', () => {
    const doc = env('<g:X><g:A>1\r\n2\r3</g:A><g:B><![CDATA[x\r\ny]]></g:B></g:X>');
    expect(parseWsmanResponse(doc).body).toEqual({ A: '1\n2\n3', B: 'x\ny' });
  });

  it('refuses elements nested deeper than 64 levels, without exhausting the stack', () => {
    const deep = (n: number) => `${'<g:D>'.repeat(n)}x${'</g:D>'.repeat(n)}`;
    expect(() => parseWsmanResponse(env(deep(70)))).toThrow(/nested too deeply/);
    expect(() => parseWsmanResponse(env(deep(200_000)))).toThrow(WsmanParseError);
    expect(parseWsmanResponse(env(deep(40))).bodyName).toBe('D');
  });

  it('refuses more than 256 attributes on an element, namespace declarations included (WSMAN_PARSE)', () => {
    const attrs = (n: number, name = (i: number) => `a${i}`) =>
      Array.from({ length: n }, (_, i) => ` ${name(i)}="v"`).join('');
    const xmlns = (i: number) => `xmlns:p${i}`;
    const refused = (doc: string) => {
      try {
        parseWsmanResponse(doc);
      } catch (err) {
        return err;
      }
      return undefined;
    };
    for (const doc of [
      env(`<g:X${attrs(257)}><g:A>1</g:A></g:X>`),
      env(`<g:X${attrs(20_000)}><g:A>1</g:A></g:X>`),
      env(`<g:X${attrs(20_000, xmlns)}><g:A>1</g:A></g:X>`),
      env(`<g:X><g:A${attrs(257)}/></g:X>`),
      env('<g:X/>', `<a:Header${attrs(257, xmlns)}/>`),
      env('<g:X/>').replace('<a:Envelope ', `<a:Envelope${attrs(255, xmlns)} `),
    ]) {
      const err = refused(doc);
      expect(err).toBeInstanceOf(WsmanParseError);
      expect(err).toMatchObject({
        code: 'WSMAN_PARSE',
        message: expect.stringMatching(/too many attributes/),
      });
    }
    expect(() => parseWsmanRequest(env('<g:X/>', `<a:Header${attrs(20_000)}/>`))).toThrow(
      /too many attributes/,
    );
    // At the cap it still reads, the Selector's Name among the others included.
    expect(parseWsmanResponse(env(`<g:X${attrs(256)}><g:A${attrs(256, xmlns)}>1</g:A></g:X>`)).body).toEqual({
      A: '1',
    });
    const sel = `<c:SelectorSet><c:Selector${attrs(255)} Name="N">v</c:Selector></c:SelectorSet>`;
    const header = `<a:Header><c:Action>urn:get</c:Action><c:MessageID>uuid:1</c:MessageID>${sel}</a:Header>`;
    expect(parseWsmanRequest(env('<g:X/>', header)).selectors).toEqual({ N: 'v' });
  });

  it('still refuses a repeated attribute among many: the first or last repeated, among xmlns declarations', () => {
    const names = (n: number, name = (i: number) => `a${i}`) => Array.from({ length: n }, (_, i) => name(i));
    const tag = (list: string[]) => env(`<g:X${list.map((a) => ` ${a}="v"`).join('')}><g:A>1</g:A></g:X>`);
    const xmlns = (i: number) => `xmlns:p${i}`;
    const many = names(250);
    const ns = names(250, xmlns);
    for (const list of [
      [...many, 'a0'],
      [...many, 'a249'],
      ['a0', ...many.slice(1), 'a0'],
      [...many.slice(0, 9), 'a8'],
      [...many.slice(0, 9), 'a9', 'a9'],
      ['a0', 'a0'],
      [...ns, 'xmlns:p0'],
      [...ns, 'xmlns:p249'],
      ['xmlns', ...ns, 'xmlns'],
    ]) {
      expect(() => parseWsmanResponse(tag(list)), `${list.length}: ${list.at(-1)}`).toThrow(
        /repeated attribute/,
      );
    }
    expect(parseWsmanResponse(tag([...many, ...ns.slice(0, 6)])).body).toEqual({ A: '1' });
  });

  it('attribute lists: distinct names up to 256 read, a repeat or a 257th is refused (property)', () => {
    const attrName = fc.stringMatching(/^(xmlns:)?[A-Za-z_][A-Za-z0-9_.-]{0,5}$/);
    const write = (names: string[]) =>
      env(`<g:X><g:A${names.map((a, i) => ` ${a}="${i}"`).join('')}>1</g:A></g:X>`);
    fc.assert(
      // A count (not a long random list) sizes the element, so a failure shrinks in a few steps.
      fc.property(
        fc.uniqueArray(attrName, { maxLength: 8 }),
        fc.integer({ min: 0, max: 300 }),
        fc.constantFrom('a', 'xmlns:p', 'x.'),
        fc.nat(),
        fc.nat(),
        (random, count, prefix, from, to) => {
          const list = [...new Set([...random, ...Array.from({ length: count }, (_, i) => `${prefix}${i}`)])];
          if (list.length === 0) return;
          if (list.length <= 256) expect(parseWsmanResponse(write(list)).body).toEqual({ A: '1' });
          else expect(() => parseWsmanResponse(write(list))).toThrow(/too many attributes/);
          const repeated = [...list];
          repeated.splice(to % (list.length + 1), 0, list[from % list.length] as string);
          expect(() => parseWsmanResponse(write(repeated))).toThrow(
            repeated.length <= 256 ? /repeated attribute/ : WsmanParseError,
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses prototype names as leaf elements and as Pull item classes', () => {
    for (const n of ['__proto__', 'constructor', 'prototype']) {
      expect(() => parseWsmanResponse(env(`<g:X><g:${n}>1</g:${n}></g:X>`))).toThrow(WsmanParseError);
      expect(() => parseWsmanResponse(env(`<g:${n}/>`))).toThrow(WsmanParseError);
    }
  });

  it('reads Selector names with either quote and entities, ignoring other attributes', () => {
    const doc = env(
      '<g:X><g:R><b:Address xmlns:b="urn:b">default</b:Address><b:ReferenceParameters xmlns:b="urn:b"><c:ResourceURI>urn:r</c:ResourceURI>' +
        `<c:SelectorSet><c:Selector Name='A&amp;B' x="1">1</c:Selector><c:Selector Name="__proto__">2</c:Selector><c:Selector>3</c:Selector><c:Other Name="O">4</c:Other></c:SelectorSet>` +
        '</b:ReferenceParameters></g:R></g:X>',
    );
    expect(parseWsmanResponse(doc).body.R).toEqual({
      address: 'default',
      resourceUri: 'urn:r',
      selectors: { 'A&B': '1' },
    });
  });

  it('a request parses with the same reader: header selectors, body instance, a Pull body', () => {
    const req =
      `<a:Envelope xmlns:a="${SOAP}" xmlns:b="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:c="${WSMAN}" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration">` +
      '<a:Header><b:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull</b:Action><b:MessageID>uuid:7</b:MessageID>' +
      '<c:ResourceURI>urn:r</c:ResourceURI><c:SelectorSet><c:Selector Name="InstanceID">i 1</c:Selector></c:SelectorSet></a:Header>' +
      '<a:Body><n:Pull><n:EnumerationContext> 42 </n:EnumerationContext><n:MaxElements>5</n:MaxElements></n:Pull></a:Body></a:Envelope>';
    const r = parseWsmanRequest(req);
    expect(r).toMatchObject({
      kind: 'pull',
      messageId: 'uuid:7',
      selectors: { InstanceID: 'i 1' },
      enumerationContext: '42',
      maxElements: 5,
    });
  });
});
