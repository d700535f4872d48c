import { describe, expect, it } from 'vitest';
import {
  AMT_PROVISIONING_OID,
  AMT_SETUP_OU,
  chainFromPeerCertificate,
  createCertificateAuthority,
  createPfx,
  createTestPki,
  loadPemChain,
  loadPfx,
  ProvisioningCertError,
  parseFirmwareVersion,
  selectProvisioningCertificate,
  thumbprint,
  thumbprintHex,
  validateProvisioningChain,
} from './index.js';

describe('@oobkit/provisioning-cert public API', () => {
  it('exports its base error with a stable code, its facts and the cause kept', () => {
    const cause = new Error('inner');
    const err = new ProvisioningCertError('PCERT_PFX_UNSUPPORTED', 'example', {
      cause,
      oid: '1.2.3',
      certificateIndex: 2,
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ProvisioningCertError');
    expect(err.code).toBe('PCERT_PFX_UNSUPPORTED');
    expect(err.cause).toBe(cause);
    expect(err.oid).toBe('1.2.3');
    expect(err.certificateIndex).toBe(2);
  });

  it('exports its protocol constants', () => {
    expect(AMT_PROVISIONING_OID).toBe('2.16.840.1.113741.1.2.3');
    expect(AMT_SETUP_OU).toBe('Intel(R) Client Setup Certificate');
  });

  it('exports the functions the service and the simulator use', () => {
    const fns = {
      loadPemChain,
      loadPfx,
      createPfx,
      thumbprint,
      thumbprintHex,
      parseFirmwareVersion,
      validateProvisioningChain,
      chainFromPeerCertificate,
      selectProvisioningCertificate,
      createTestPki,
      createCertificateAuthority,
    };
    for (const [name, fn] of Object.entries(fns)) expect(fn, name).toBeTypeOf('function');
  });
});
