import { describe, expect, it } from 'vitest';
import { AMT_PROVISIONING_OID, ProvisioningCertError } from './index.js';

describe('@oobkit/provisioning-cert public API', () => {
  it('exports its base error with a stable code and the cause kept', () => {
    const cause = new Error('inner');
    const err = new ProvisioningCertError('PCERT_EXAMPLE', 'example', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ProvisioningCertError');
    expect(err.code).toBe('PCERT_EXAMPLE');
    expect(err.cause).toBe(cause);
  });

  it('exports its protocol constant', () => {
    expect(AMT_PROVISIONING_OID).toBe('2.16.840.1.113741.1.2.3');
  });
});
