import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WsmanInvalidArgumentError, WsmanParseError } from './errors.js';
import { ACTIONS, AMT_URI_BASE, CIM_URI_BASE, resourceUriFor } from './namespaces.js';
import {
  buildCreateRequest,
  buildDeleteRequest,
  buildEnumerateRequest,
  buildGetRequest,
  buildIdentifyRequest,
  buildInvokeRequest,
  buildPullRequest,
  buildPutRequest,
  buildReleaseRequest,
} from './requests.js';
import { parseWsmanRequest } from './server.js';
import { type EndpointReference, embeddedInstance, endpointReference } from './values.js';
import { isXmlText } from './xml.js';

const GS = resourceUriFor('AMT_GeneralSettings');
const NASTY = `a&b<c>d"e'f]]>g&amp;h\r\ni\tj`;

describe('request envelopes', () => {
  it('Get: SOAP 1.2, addressing headers, uuid MessageID, PT60S, selectors', () => {
    const r = buildGetRequest(GS, { selectors: { InstanceID: NASTY } });
    expect(r.messageId).toMatch(/^uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(r.xml).toContain('xmlns:s="http://www.w3.org/2003/05/soap-envelope"');
    expect(r.xml).toContain(
      '<wsa:ReplyTo><wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>',
    );
    expect(r.xml).not.toContain('MaxEnvelopeSize');
    const p = parseWsmanRequest(r.xml);
    expect(p).toMatchObject({
      kind: 'get',
      action: ACTIONS.GET,
      resourceUri: GS,
      messageId: r.messageId,
      to: '/wsman',
      operationTimeout: 'PT60S',
      selectors: { InstanceID: NASTY },
      body: {},
    });
    expect(buildGetRequest(GS).messageId).not.toBe(r.messageId);
  });

  it('Put and Create: the instance as h:<class>, every value escaped, order kept', () => {
    const inst = {
      HostName: NASTY,
      DomainName: '<corp>',
      PingResponseEnabled: false,
      IdleWakeTimeout: 1,
      Realms: [2, 3],
    };
    for (const [build, kind] of [
      [buildPutRequest, 'put'],
      [buildCreateRequest, 'create'],
    ] as const) {
      const r = build(GS, inst, {
        maxEnvelopeSize: 153600,
        operationTimeout: 'PT30S',
        messageId: 'uuid:<mine>',
      });
      expect(r.xml).toContain(`<h:AMT_GeneralSettings xmlns:h="${GS}"><h:HostName>`);
      const p = parseWsmanRequest(r.xml);
      expect(p.kind).toBe(kind);
      expect(p.messageId).toBe('uuid:<mine>');
      expect(p.maxEnvelopeSize).toBe(153600);
      expect(p.operationTimeout).toBe('PT30S');
      expect(p.bodyName).toBe('AMT_GeneralSettings');
      expect(p.body).toEqual({
        HostName: NASTY,
        DomainName: '<corp>',
        PingResponseEnabled: 'false',
        IdleWakeTimeout: '1',
        Realms: ['2', '3'],
      });
      expect(Object.keys(p.body)).toEqual(Object.keys(inst));
    }
  });

  it('Create with endpoint references (TLS credential context)', () => {
    const cert = endpointReference(resourceUriFor('AMT_PublicKeyCertificate'), {
      InstanceID: 'Intel(r) AMT Certificate: Handle: 1&2',
    });
    const coll = endpointReference(`${AMT_URI_BASE}AMT_TLSProtocolEndpointCollection`, {
      ElementName: 'TLSProtocolEndpointInstances Collection',
    });
    const r = buildCreateRequest(resourceUriFor('AMT_TLSCredentialContext'), {
      ElementInContext: cert,
      ElementProvidingContext: coll,
    });
    const p = parseWsmanRequest(r.xml);
    expect(p.body).toEqual({ ElementInContext: cert, ElementProvidingContext: coll });
  });

  it('Delete with EPR-valued selectors', () => {
    const a = endpointReference('urn:a', { K: '&' });
    const r = buildDeleteRequest('urn:assoc/CIM_X', { selectors: { Antecedent: a, Name: 'n' } });
    const p = parseWsmanRequest(r.xml);
    expect(p.kind).toBe('delete');
    expect(p.selectors).toEqual({ Name: 'n' });
    expect(p.referenceSelectors).toEqual({ Antecedent: a });
  });

  it('Invoke: Action <uri>/<method>, h:<method>_INPUT, embedded instance in its namespace', () => {
    const uri = resourceUriFor('AMT_WiFiPortConfigurationService');
    const r = buildInvokeRequest(uri, 'AddWiFiSettings', {
      WiFiEndpoint: endpointReference(`${CIM_URI_BASE}CIM_WiFiEndpoint`, { Name: 'WiFi Endpoint 0' }),
      WiFiEndpointSettingsInput: embeddedInstance(`${CIM_URI_BASE}CIM_WiFiEndpointSettings`, {
        ElementName: 'home',
        PSKPassPhrase: NASTY,
        Priority: 1,
      }),
    });
    expect(r.action).toBe(`${uri}/AddWiFiSettings`);
    expect(r.xml).toContain(
      `<h:WiFiEndpointSettingsInput xmlns:q0="${CIM_URI_BASE}CIM_WiFiEndpointSettings"><q0:ElementName>home</q0:ElementName>`,
    );
    expect(r.xml).toContain(
      '<q0:PSKPassPhrase>a&amp;b&lt;c&gt;d&quot;e&apos;f]]&gt;g&amp;amp;h&#13;\ni\tj</q0:PSKPassPhrase>',
    );
    const p = parseWsmanRequest(r.xml);
    expect(p.kind).toBe('invoke');
    expect(p.method).toBe('AddWiFiSettings');
    expect(p.bodyName).toBe('AddWiFiSettings_INPUT');
    expect(p.body.WiFiEndpointSettingsInput).toEqual({
      ElementName: 'home',
      PSKPassPhrase: NASTY,
      Priority: '1',
    });
  });

  it('Enumerate, Pull, Release', () => {
    const e = parseWsmanRequest(buildEnumerateRequest(GS).xml);
    expect(e).toMatchObject({ kind: 'enumerate', bodyName: 'Enumerate' });
    const pl = parseWsmanRequest(
      buildPullRequest(GS, 'ctx&<1>', { maxElements: 5, maxCharacters: 99999 }).xml,
    );
    expect(pl).toMatchObject({
      kind: 'pull',
      enumerationContext: 'ctx&<1>',
      maxElements: 5,
      maxCharacters: 99999,
    });
    const rl = parseWsmanRequest(buildReleaseRequest(GS, 'ctx&<1>').xml);
    expect(rl).toMatchObject({ kind: 'release', enumerationContext: 'ctx&<1>' });
  });

  it('Identify: no addressing headers', () => {
    const xml = buildIdentifyRequest();
    expect(xml).not.toContain('Action');
    expect(parseWsmanRequest(xml)).toMatchObject({
      kind: 'identify',
      action: '',
      messageId: '',
      bodyName: 'Identify',
    });
  });

  it('escapes every special character in every field (property)', () => {
    const s = fc.string({ unit: 'grapheme', maxLength: 16 }).filter(isXmlText);
    const sp = fc.oneof(s, fc.constantFrom('&', '<', '>', '"', "'", '\r', ']]>', '&lt;'));
    const t = fc.array(sp, { maxLength: 4 }).map((a) => a.join(''));
    fc.assert(
      fc.property(t, t, t, t, t, (sel, val, ctx, to, mid) => {
        const uri = `urn:x?a=${val}`;
        const put = parseWsmanRequest(
          buildPutRequest(
            uri,
            { P: val, E: endpointReference(uri, { S: sel }) },
            { className: 'C', selectors: { Q: sel }, to, messageId: `uuid:${mid}` },
          ).xml,
        );
        expect(put.resourceUri).toBe(uri.trim());
        expect(put.selectors).toEqual({ Q: sel });
        expect(put.body).toEqual({
          P: val,
          E: { address: '/wsman', resourceUri: uri, selectors: { S: sel } },
        });
        expect(put.messageId).toBe(`uuid:${mid}`.trim());
        expect(put.to).toBe(to.trim());
        const pull = parseWsmanRequest(buildPullRequest('urn:x', `c${ctx}`).xml);
        expect(pull.enumerationContext).toBe(`c${ctx}`.trim());
      }),
    );
  });

  it('refuses what cannot be written, before anything is built', () => {
    const bad: Array<() => unknown> = [
      () => buildPutRequest(GS, { 'Bad Name': 'x' }),
      () => buildPutRequest(GS, { X: Number.NaN }),
      () => buildPutRequest(GS, { X: () => 1 }),
      () => buildPutRequest(GS, { X: Symbol('s') }),
      () => buildPutRequest(GS, { X: new Date() }),
      () => buildPutRequest(GS, { X: [[1]] }),
      () => buildPutRequest(GS, { X: 'nul\u0000' }),
      () => buildPutRequest('urn:no-class/', {}),
      () => buildPutRequest(GS, {}, { className: '1x' }),
      () => buildInvokeRequest(GS, 'Bad-Method/'),
      () => buildGetRequest(GS, { maxEnvelopeSize: 4096 }),
      () => buildGetRequest(GS, { operationTimeout: '60' }),
      () => buildGetRequest(GS, { selectors: { I: 'x\uDC00' } }),
      () => buildPullRequest(GS, 'c', { maxElements: 0 }),
    ];
    for (const f of bad) expect(f).toThrow(WsmanInvalidArgumentError);
  });

  it('omits undefined and null properties', () => {
    const p = parseWsmanRequest(buildPutRequest(GS, { A: undefined, B: null, C: 'c' }).xml);
    expect(p.body).toEqual({ C: 'c' });
  });
});

describe('parseWsmanRequest refusals', () => {
  it('needs Action and MessageID outside WS-Identify', () => {
    const xml = buildGetRequest(GS).xml;
    expect(() => parseWsmanRequest(xml.replace(/<wsa:Action[\s\S]*?<\/wsa:Action>/, ''))).toThrow(
      WsmanParseError,
    );
    expect(() => parseWsmanRequest(xml.replace(/<wsa:MessageID[\s\S]*?<\/wsa:MessageID>/, ''))).toThrow(
      WsmanParseError,
    );
  });

  it('marks unknown actions as unknown', () => {
    const xml = buildGetRequest(GS).xml.replace(ACTIONS.GET, 'urn:other/Thing');
    expect(parseWsmanRequest(xml).kind).toBe('unknown');
  });
});

describe('hostile caller values', () => {
  it('refuses a cyclic endpoint reference with WsmanInvalidArgumentError, not a stack overflow', () => {
    const epr: EndpointReference = { address: 'a', resourceUri: 'urn:u', selectors: {} };
    (epr.selectors as Record<string, unknown>).Loop = epr;
    const uri = resourceUriFor('AMT_GeneralSettings');
    expect(() => buildGetRequest(uri, { selectors: { Ref: epr } })).toThrow(WsmanInvalidArgumentError);
    expect(() => buildPutRequest(uri, { Ref: epr })).toThrow(WsmanInvalidArgumentError);
  });
});
