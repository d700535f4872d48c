import { describe, expect, expectTypeOf, it } from 'vitest';
import { ConfigError, ServiceError, type ServiceErrorCode, StoreInputError } from '../store/errors.js';
import { StaleLeaseError } from '../store/types.js';
import { codeOf, ProvisioningError, type ProvisioningErrorCode } from './errors.js';

describe('one error family', () => {
  it('a ProvisioningError is a ServiceError with a FLOW_* code, its step and the cause’s code', () => {
    const cause = Object.assign(new Error('refused'), { code: 'DIGEST_WRONG_CREDENTIALS' });
    const e = new ProvisioningError('FLOW_LOGIN_FAILED', 'every credential was refused', {
      cause,
      step: 'login',
    });
    expect(e).toBeInstanceOf(ServiceError);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({
      name: 'ProvisioningError',
      code: 'FLOW_LOGIN_FAILED',
      step: 'login',
      causeCode: 'DIGEST_WRONG_CREDENTIALS',
      message: 'every credential was refused',
    });
    expect(e.cause).toBe(cause);
    expect(codeOf(e)).toBe('FLOW_LOGIN_FAILED');
    // An explicit causeCode wins; no cause means no `cause` property at all.
    const plain = new ProvisioningError('FLOW_CANCELLED', 'closing', { causeCode: 'X' });
    expect(plain.causeCode).toBe('X');
    expect('cause' in plain).toBe(false);
    expect(plain.step).toBeUndefined();
  });

  it('store, configuration and flow errors share the base class and keep their codes', () => {
    const errors: ServiceError[] = [
      new StoreInputError('bad', 'field'),
      new StaleLeaseError(7),
      new ConfigError('bad port', 'OOBKIT_API_PORT'),
      new ProvisioningError('FLOW_UNREACHABLE', 'no route'),
    ];
    expect(errors.map((e) => [e.name, e.code])).toEqual([
      ['StoreInputError', 'STORE_INVALID_INPUT'],
      ['StaleLeaseError', 'STORE_STALE_LEASE'],
      ['ConfigError', 'CONFIG_INVALID'],
      ['ProvisioningError', 'FLOW_UNREACHABLE'],
    ]);
    for (const e of errors) expect(e).toBeInstanceOf(ServiceError);
    expectTypeOf<ProvisioningErrorCode>().toExtend<ServiceErrorCode>();
    expectTypeOf<'FLOW_CA_FAILED'>().toExtend<ProvisioningErrorCode>();
    expectTypeOf<'STORE_CLOSED'>().not.toExtend<ProvisioningErrorCode>();
  });
});
