export { HelloError } from './errors.js';

/** The TCP port AMT sends hello messages to. */
export const HELLO_PORT = 9971;
