import { describe, expect, it } from 'vitest';
import { HELLO_PORT, HelloError } from './index.js';

describe('@oobkit/hello public API', () => {
  it('exports its base error with a stable code and the cause kept', () => {
    const cause = new Error('inner');
    const err = new HelloError('HELLO_EXAMPLE', 'example', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('HelloError');
    expect(err.code).toBe('HELLO_EXAMPLE');
    expect(err.cause).toBe(cause);
  });

  it('exports its protocol constant', () => {
    expect(HELLO_PORT).toBe(9971);
  });
});
