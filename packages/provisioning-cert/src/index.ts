export { ProvisioningCertError } from './errors.js';

/** The EKU OID that marks an AMT provisioning certificate. */
export const AMT_PROVISIONING_OID = '2.16.840.1.113741.1.2.3';
