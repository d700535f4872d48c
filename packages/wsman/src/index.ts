export { WsmanError } from './errors.js';

/** The WS-Management namespace. */
export const WSMAN_NS = 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd';
