import { describe, expect, it } from 'vitest';
import { WSMAN_NS, WsmanError } from './index.js';

describe('@oobkit/wsman public API', () => {
  it('exports its base error with a stable code and the cause kept', () => {
    const cause = new Error('inner');
    const err = new WsmanError('WSMAN_EXAMPLE', 'example', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('WsmanError');
    expect(err.code).toBe('WSMAN_EXAMPLE');
    expect(err.cause).toBe(cause);
  });

  it('exports its protocol constant', () => {
    expect(WSMAN_NS).toBe('http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd');
  });
});
