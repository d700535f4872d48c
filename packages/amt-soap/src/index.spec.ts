import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('@oobkit/amt-soap public API', () => {
  it('exports the contract names', () => {
    for (const name of [
      'SoapClient',
      'SOAP_SCHEMA',
      'PT_STATUS',
      'ptStatusName',
      'parseSoapRequest',
      'buildSoapResponse',
      'buildSoapFault',
      'buildSoapRequest',
      'parseSoapResponse',
      'AmtSoapError',
      'AmtSoapStatusError',
      'AmtSoapFaultError',
      'AmtSoapHttpError',
      'AmtSoapParseError',
    ]) {
      expect(api, name).toHaveProperty(name);
    }
    expect(api.SOAP_ENVELOPE_NS).toBe('http://schemas.xmlsoap.org/soap/envelope/');
  });

  it('gives every error the base class, a stable code and the cause', () => {
    const cause = new Error('inner');
    const errors: [api.AmtSoapError, api.AmtSoapErrorCode][] = [
      [new api.AmtSoapStatusError('S', 'M', 0x806, 'INVALID_PASSWORD'), 'SOAP_STATUS'],
      [new api.AmtSoapFaultError('SOAP-ENV:Client', 'x'), 'SOAP_FAULT'],
      [new api.AmtSoapHttpError(404, { cause }), 'SOAP_HTTP'],
      [new api.AmtSoapParseError('xml', 'x', { cause }), 'SOAP_PARSE'],
      [new api.AmtSoapTooLargeError(10), 'SOAP_TOO_LARGE'],
      [new api.AmtSoapTransportError('S', 'M', cause), 'SOAP_TRANSPORT'],
      [new api.AmtSoapInputError('SOAP_UNKNOWN_METHOD', 'S', 'M', 'x'), 'SOAP_UNKNOWN_METHOD'],
    ];
    for (const [err, code] of errors) {
      expect(err).toBeInstanceOf(api.AmtSoapError);
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe(code);
      expect(err.name).toMatch(/^AmtSoap/);
    }
    expect(errors[2]?.[0].cause).toBe(cause);
    expect(errors[5]?.[0].cause).toBe(cause);
    expect(errors[0]?.[0].message).toContain('0x806 (INVALID_PASSWORD)');
  });
});
