import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProvisioningError } from './errors.js';
import {
  firmwareFromServerHeader,
  isTlsVersionError,
  isTransient,
  tlsOptions,
  transportError,
} from './session.js';

describe('firmware from the Server header', () => {
  it('reads the version a real AMT 11.8 sends', () => {
    expect(firmwareFromServerHeader('Intel(R) Active Management Technology 11.8.50.3425')).toEqual({
      version: '11.8.50.3425',
      major: 11,
      minor: 8,
    });
    expect(firmwareFromServerHeader(['Intel(R) Active Management Technology 5.2.10.1023'])).toMatchObject({
      major: 5,
    });
  });

  it('gives nothing for other servers or no header', () => {
    expect(firmwareFromServerHeader(undefined)).toEqual({});
    expect(firmwareFromServerHeader('nginx/1.25')).toEqual({});
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const f = firmwareFromServerHeader(`Intel(R) Active Management Technology ${s}`);
        if (f.major !== undefined) expect(Number.isInteger(f.major)).toBe(true);
      }),
    );
  });
});

describe('TLS options', () => {
  it('uses the legacy opt-ins only for the legacy profile, and never TLS 1.3', () => {
    const chain = { certPem: 'C', keyPem: 'K' };
    const modern = tlsOptions('modern', chain);
    const legacy = tlsOptions('legacy', chain);
    expect(modern).toMatchObject({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', cert: 'C', key: 'K' });
    expect(modern.ciphers).toBeUndefined();
    expect(legacy).toMatchObject({ minVersion: 'TLSv1', maxVersion: 'TLSv1.2' });
    expect(legacy.ciphers).toContain('@SECLEVEL=0');
  });
});

describe('transport error classes', () => {
  const err = (code: string, message = code) => Object.assign(new Error(message), { code });

  it('tells a refused handshake from an unreachable device', () => {
    expect(transportError(err('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA')).code).toBe('FLOW_TLS_REFUSED');
    expect(transportError(err('ECONNREFUSED')).code).toBe('FLOW_UNREACHABLE');
    const wrapped = Object.assign(new Error('request failed', { cause: err('UND_ERR_SOCKET') }), {
      code: 'WSMAN_TRANSPORT',
    });
    expect(transportError(wrapped).code).toBe('FLOW_UNREACHABLE');
    expect(isTransient(wrapped)).toBe(true);
    expect(isTransient(err('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'))).toBe(false);
    expect(isTransient(new ProvisioningError('FLOW_LOGIN_FAILED', 'x'))).toBe(false);
  });

  it('recognises a protocol-version failure (the sign of a legacy device)', () => {
    expect(isTlsVersionError(err('ERR_SSL_UNSUPPORTED_PROTOCOL'))).toBe(true);
    expect(isTlsVersionError(new Error('x', { cause: err('X', 'tlsv1 alert protocol version') }))).toBe(true);
    expect(isTlsVersionError(err('ECONNRESET'))).toBe(false);
  });
});
