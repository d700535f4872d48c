import { describe, expect, it } from 'vitest';
import {
  AMT_URI_BASE,
  AmtReturnValueError,
  CIM_URI_BASE,
  classNameOf,
  IPS_URI_BASE,
  resourceUriFor,
  WSMAN_NS,
  WsmanBodyTooLargeError,
  WsmanError,
  WsmanFaultError,
  WsmanHttpError,
  WsmanInvalidArgumentError,
  WsmanParseError,
  WsmanTransportError,
  WsmanUnexpectedResponseError,
} from './index.js';

describe('@oobkit/wsman public API', () => {
  it('has one base error; every subclass keeps a stable code, its facts and the cause', () => {
    const cause = new Error('inner');
    const cases: Array<[WsmanError, string]> = [
      [
        new WsmanFaultError({
          faultCode: 'Sender',
          subcode: 'InvalidSelectors',
          reason: 'r',
          detail: 'd',
          status: 400,
        }),
        'WSMAN_FAULT',
      ],
      [
        new AmtReturnValueError({
          returnValue: 0x806,
          statusName: 'INVALID_PASSWORD',
          method: 'SetMEBxPassword',
          resourceUri: 'u',
        }),
        'AMT_RETURN_VALUE',
      ],
      [new WsmanHttpError(503), 'WSMAN_HTTP'],
      [new WsmanTransportError('t', { cause }), 'WSMAN_TRANSPORT'],
      [new WsmanParseError('p', { cause }), 'WSMAN_PARSE'],
      [new WsmanBodyTooLargeError(10), 'WSMAN_BODY_TOO_LARGE'],
      [new WsmanUnexpectedResponseError('u'), 'WSMAN_UNEXPECTED_RESPONSE'],
      [new WsmanInvalidArgumentError('i'), 'WSMAN_INVALID_ARGUMENT'],
    ];
    for (const [err, code] of cases) {
      expect(err).toBeInstanceOf(WsmanError);
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe(code);
      expect(err.name).toBe(err.constructor.name);
    }
    expect((cases[3] as [WsmanError, string])[0].cause).toBe(cause);
    const rv = (cases[1] as [WsmanError, string])[0] as AmtReturnValueError;
    expect(rv.message).toBe('SetMEBxPassword returned 2054 (0x806 INVALID_PASSWORD)');
    const f = (cases[0] as [WsmanError, string])[0] as WsmanFaultError;
    expect([f.faultCode, f.subcode, f.reason, f.detail, f.status]).toEqual([
      'Sender',
      'InvalidSelectors',
      'r',
      'd',
      400,
    ]);
  });

  it('maps class names to resource URIs and back', () => {
    expect(WSMAN_NS).toBe('http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd');
    expect(resourceUriFor('AMT_GeneralSettings')).toBe(`${AMT_URI_BASE}AMT_GeneralSettings`);
    expect(resourceUriFor('IPS_HostBasedSetupService')).toBe(`${IPS_URI_BASE}IPS_HostBasedSetupService`);
    expect(resourceUriFor('CIM_WiFiPort')).toBe(`${CIM_URI_BASE}CIM_WiFiPort`);
    expect(classNameOf(`${CIM_URI_BASE}CIM_WiFiPort`)).toBe('CIM_WiFiPort');
    for (const bad of ['Foo_Bar', 'AMT_x y', '', '../AMT_X']) {
      expect(() => resourceUriFor(bad)).toThrow(WsmanInvalidArgumentError);
    }
    expect(() => classNameOf('http://x/')).toThrow(WsmanInvalidArgumentError);
  });
});
