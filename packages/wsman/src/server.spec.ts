import { describe, expect, it } from 'vitest';
import { WsmanInvalidArgumentError } from './errors.js';
import { ACTIONS, resourceUriFor, WSMAN_NS } from './namespaces.js';
import { parseWsmanResponse } from './parse.js';
import { buildGetRequest, buildInvokeRequest } from './requests.js';
import {
  buildCreateResponse,
  buildDeleteResponse,
  buildEnumerateResponse,
  buildFault,
  buildGetResponse,
  buildIdentifyResponse,
  buildInvokeResponse,
  buildPullResponse,
  buildPutResponse,
  buildReleaseResponse,
  faultHttpStatus,
  parseWsmanRequest,
} from './server.js';
import { endpointReference } from './values.js';

const GS = resourceUriFor('AMT_GeneralSettings');
const req = parseWsmanRequest(buildGetRequest(GS).xml);

describe('response builders', () => {
  it('answer with other prefixes than the client (a:, b:, c:, g:) and RelatesTo = MessageID', () => {
    const xml = buildGetResponse(req, { className: 'AMT_GeneralSettings', properties: { HostName: 'h' } });
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><a:Envelope /);
    expect(xml).toContain('<a:Header><b:To>');
    expect(xml).toContain(`<b:RelatesTo>${req.messageId}</b:RelatesTo>`);
    expect(xml).toContain(`<g:AMT_GeneralSettings xmlns:g="${GS}"><g:HostName>h</g:HostName>`);
    expect(xml).not.toMatch(/<(s|wsa|wsman|h):/);
    const r = parseWsmanResponse(xml);
    expect(r.header).toMatchObject({
      action: ACTIONS.GET_RESPONSE,
      relatesTo: req.messageId,
      resourceUri: GS,
    });
    expect(r.header.messageId).toMatch(/^uuid:/);
    expect(r.header.messageId).not.toBe(req.messageId);
  });

  it('Put, Create, Delete, Enumerate, Release carry their …Response actions', () => {
    const put = parseWsmanResponse(
      buildPutResponse(req, { className: 'AMT_GeneralSettings', properties: { A: 1 } }),
    );
    expect(put.header.action).toBe(ACTIONS.PUT_RESPONSE);
    expect(put.body).toEqual({ A: '1' });
    const epr = endpointReference(
      resourceUriFor('AMT_TLSCredentialContext'),
      { InstanceID: 'x&y' },
      'default',
    );
    const created = parseWsmanResponse(buildCreateResponse(req, { epr }));
    expect(created.header.action).toBe(ACTIONS.CREATE_RESPONSE);
    expect(created.bodyName).toBe('ResourceCreated');
    expect(created.body).toEqual(epr);
    const del = parseWsmanResponse(buildDeleteResponse(req));
    expect(del.header.action).toBe(ACTIONS.DELETE_RESPONSE);
    expect(del.bodyName).toBeUndefined();
    const en = parseWsmanResponse(buildEnumerateResponse(req, { context: 'ctx&1' }));
    expect(en.header.action).toBe(ACTIONS.ENUMERATE_RESPONSE);
    expect(en.body).toEqual({ EnumerationContext: 'ctx&1' });
    expect(parseWsmanResponse(buildReleaseResponse(req)).header.action).toBe(ACTIONS.RELEASE_RESPONSE);
  });

  it('Pull: items as h:<class>, context only when not at the end', () => {
    const mid = buildPullResponse(req, {
      items: [
        { className: 'CIM_SoftwareIdentity', properties: { InstanceID: 'AMT', VersionString: '16.1.25' } },
      ],
      endOfSequence: false,
      context: 'next',
    });
    expect(mid).toContain(`<h:CIM_SoftwareIdentity xmlns:h="${resourceUriFor('CIM_SoftwareIdentity')}">`);
    expect(parseWsmanResponse(mid, { pull: true }).pull).toEqual({
      items: [
        { className: 'CIM_SoftwareIdentity', properties: { InstanceID: 'AMT', VersionString: '16.1.25' } },
      ],
      context: 'next',
      endOfSequence: false,
    });
    const end = buildPullResponse(req, { items: [], endOfSequence: true, context: 'ignored' });
    expect(end).not.toContain('ignored');
    expect(parseWsmanResponse(end, { pull: true }).pull).toEqual({ items: [], endOfSequence: true });
  });

  it('Invoke: Method_OUTPUT with outputs, then ReturnValue; action <uri>/<method>Response', () => {
    const ireq = parseWsmanRequest(
      buildInvokeRequest(resourceUriFor('AMT_AuthorizationService'), 'EnumerateUserAclEntries', {
        StartIndex: 1,
      }).xml,
    );
    const xml = buildInvokeResponse(ireq, {
      method: 'EnumerateUserAclEntries',
      returnValue: 0,
      output: { TotalCount: 2, HandlesCount: 2, Handles: [1, 5], ReturnValue: 99 },
    });
    expect(xml).toMatch(
      /<g:Handles>5<\/g:Handles><g:ReturnValue>0<\/g:ReturnValue><\/g:EnumerateUserAclEntries_OUTPUT>/,
    );
    const r = parseWsmanResponse(xml);
    expect(r.header.action).toBe(`${ireq.resourceUri}/EnumerateUserAclEntriesResponse`);
    expect(r.body).toEqual({ TotalCount: '2', HandlesCount: '2', Handles: ['1', '5'], ReturnValue: '0' });
    expect(() => buildInvokeResponse(ireq, { method: 'X', returnValue: -1 })).toThrow(
      WsmanInvalidArgumentError,
    );
  });

  it('faults: subcode prefixes by namespace, reason escaped, detail as FaultDetail, status by code', () => {
    const cases = [
      ['wsman:InvalidSelectors', 'c:InvalidSelectors', ACTIONS.WSMAN_FAULT],
      ['InvalidEnumerationContext', 'e:InvalidEnumerationContext', ACTIONS.WSMAN_FAULT],
      ['DestinationUnreachable', 'b:DestinationUnreachable', ACTIONS.WSA_FAULT],
      ['wxf:InvalidRepresentation', 'd:InvalidRepresentation', ACTIONS.WSMAN_FAULT],
      ['TimedOut', 'c:TimedOut', ACTIONS.WSMAN_FAULT],
    ] as const;
    for (const [sub, written, action] of cases) {
      const xml = buildFault(req, { code: 'Receiver', subcode: sub, reason: 'a <b> & c', detail: 'urn:d&e' });
      expect(xml).toContain(`<a:Subcode><a:Value>${written}</a:Value></a:Subcode>`);
      const r = parseWsmanResponse(xml);
      expect(r.header.action).toBe(action);
      expect(r.header.relatesTo).toBe(req.messageId);
      expect(r.fault).toEqual({
        code: 'Receiver',
        subcode: written.slice(2),
        reason: 'a <b> & c',
        detail: 'urn:d&e',
      });
    }
    const noReq = parseWsmanResponse(
      buildFault(undefined, { code: 'Sender', subcode: 'AccessDenied', reason: 'no' }),
    );
    expect(noReq.header.relatesTo).toBeUndefined();
    expect(noReq.fault).toEqual({ code: 'Sender', subcode: 'AccessDenied', reason: 'no' });
    expect(() => buildFault(req, { code: 'Sender', subcode: 'foo:Bar', reason: 'x' })).toThrow(
      WsmanInvalidArgumentError,
    );
    expect([faultHttpStatus('Sender'), faultHttpStatus('Receiver')]).toEqual([400, 500]);
  });

  it('Identify: vendor, versions, security profiles', () => {
    const xml = buildIdentifyResponse(undefined, {
      productVersion: 'AMT 16.1',
      dashVersion: '1.0.0',
      securityProfiles: ['http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/digest'],
    });
    const r = parseWsmanResponse(xml);
    expect(r.bodyName).toBe('IdentifyResponse');
    expect(r.body).toEqual({
      ProtocolVersion: WSMAN_NS,
      ProductVendor: 'Intel Corporation',
      ProductVersion: 'AMT 16.1',
      DASHVersion: '1.0.0',
      SecurityProfiles: {
        SecurityProfileName: 'http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/digest',
      },
    });
  });

  it('uses the class resource URI when the request names another class', () => {
    const xml = buildGetResponse(req, { className: 'CIM_WiFiPort', properties: {} });
    expect(xml).toContain(`xmlns:g="${resourceUriFor('CIM_WiFiPort')}"`);
    expect(() => buildGetResponse({ messageId: 'm' }, { className: 'Vendor_X', properties: {} })).toThrow(
      WsmanInvalidArgumentError,
    );
    expect(
      buildGetResponse({ messageId: 'm' }, { className: 'Vendor_X', resourceUri: 'urn:v', properties: {} }),
    ).toContain('xmlns:g="urn:v"');
  });
});

describe('parseWsmanRequest: peer-chosen names', () => {
  it('gives kind `unknown` to an Action that names an Object.prototype member', () => {
    for (const action of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const xml = buildGetRequest(GS).xml.replace(ACTIONS.GET, action);
      const r = parseWsmanRequest(xml);
      expect(r.kind).toBe('unknown');
      expect(r.action).toBe(action);
    }
  });
});
