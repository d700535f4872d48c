import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('@oobkit/http-digest public API', () => {
  it('exports its base error with a stable code, its facts and the cause kept', () => {
    const cause = new Error('inner');
    const err = new api.DigestError('DIGEST_WRONG_CREDENTIALS', 'refused', {
      cause,
      status: 401,
      refusals: 1,
      username: 'admin',
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('DigestError');
    expect(err.code).toBe('DIGEST_WRONG_CREDENTIALS');
    expect(err.cause).toBe(cause);
    expect([err.status, err.refusals, err.username]).toEqual([401, 1, 'admin']);
  });

  it('exports the client, the verifier, the codecs and the AMT helpers', () => {
    const fns = [
      api.digestInterceptor,
      api.createDigestVerifier,
      api.parseWwwAuthenticate,
      api.parseAuthorization,
      api.buildAuthorization,
      api.formatChallenge,
      api.answerChallenge,
      api.computeDigestResponse,
      api.amtDigestPassword,
      api.checkAmtPassword,
      api.generateAmtPassword,
      api.amtRealm,
    ];
    for (const fn of fns) expect(typeof fn).toBe('function');
    expect(api.AMT_DEFAULT_USER).toBe('admin');
  });
});
