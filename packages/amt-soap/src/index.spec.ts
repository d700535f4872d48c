import { describe, expect, it } from 'vitest';
import { AmtSoapError, SOAP_ENVELOPE_NS } from './index.js';

describe('@oobkit/amt-soap public API', () => {
  it('exports its base error with a stable code and the cause kept', () => {
    const cause = new Error('inner');
    const err = new AmtSoapError('SOAP_EXAMPLE', 'example', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AmtSoapError');
    expect(err.code).toBe('SOAP_EXAMPLE');
    expect(err.cause).toBe(cause);
  });

  it('exports its protocol constant', () => {
    expect(SOAP_ENVELOPE_NS).toBe('http://schemas.xmlsoap.org/soap/envelope/');
  });
});
