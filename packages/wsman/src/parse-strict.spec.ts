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
