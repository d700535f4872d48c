export { AmtSoapError } from './errors.js';

/** The SOAP 1.1 envelope namespace legacy AMT speaks. */
export const SOAP_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
