export { DigestError } from './errors.js';

/** The AMT administrator account name. */
export const AMT_DEFAULT_USER = 'admin';
