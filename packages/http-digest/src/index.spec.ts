import { describe, expect, it } from 'vitest';
import { AMT_DEFAULT_USER, DigestError } from './index.js';

describe('@oobkit/http-digest public API', () => {
  it('exports its base error with a stable code and the cause kept', () => {
    const cause = new Error('inner');
    const err = new DigestError('DIGEST_EXAMPLE', 'example', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('DigestError');
    expect(err.code).toBe('DIGEST_EXAMPLE');
    expect(err.cause).toBe(cause);
  });

  it('exports its protocol constant', () => {
    expect(AMT_DEFAULT_USER).toBe('admin');
  });
});
