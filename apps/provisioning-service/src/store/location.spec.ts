import { describe, expect, it } from 'vitest';
import { maskDatabaseUrl } from './location.js';

describe('maskDatabaseUrl', () => {
  it('masks the password in the user part and in every secret-named query parameter', () => {
    expect(maskDatabaseUrl('postgres://oobkit:S3cret@127.0.0.1:5432/site')).toBe(
      'postgres://oobkit:***@127.0.0.1:5432/site',
    );
    const masked = maskDatabaseUrl(
      'postgresql://oobkit@127.0.0.1/site?password=S3cret&sslpassword=K3y-pass&sslmode=require&application_name=oobkit',
    );
    expect(masked).not.toMatch(/S3cret|K3y-pass/);
    expect(new URL(masked).searchParams.get('password')).toBe('***');
    expect(new URL(masked).searchParams.get('sslpassword')).toBe('***');
    expect(new URL(masked).searchParams.get('sslmode')).toBe('require');
    expect(new URL(masked).searchParams.get('application_name')).toBe('oobkit');
  });

  it('says what it is without echoing a URL it cannot parse', () => {
    expect(maskDatabaseUrl('not a url with S3cret')).toBe('the PostgreSQL database (databaseUrl)');
  });
});
