import { WsmanInvalidArgumentError } from './errors.js';

/** SOAP 1.2 envelope namespace. */
export const SOAP_NS = 'http://www.w3.org/2003/05/soap-envelope';
/** WS-Addressing (2004/08, the version WS-Management 1.x and AMT use). */
export const WSA_NS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing';
/** The WS-Management namespace. */
export const WSMAN_NS = 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd';
/** WS-Enumeration. */
export const WSEN_NS = 'http://schemas.xmlsoap.org/ws/2004/09/enumeration';
/** WS-Transfer. */
export const WXF_NS = 'http://schemas.xmlsoap.org/ws/2004/09/transfer';
/** WS-Management identity (WS-Identify). */
export const WSMID_NS = 'http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd';
/** XML Schema instance. */
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** The anonymous reply-to address. */
export const WSA_ANONYMOUS = `${WSA_NS}/role/anonymous`;

export const AMT_URI_BASE = 'http://intel.com/wbem/wscim/1/amt-schema/1/';
export const IPS_URI_BASE = 'http://intel.com/wbem/wscim/1/ips-schema/1/';
export const CIM_URI_BASE = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/';

/** WS-Transfer and WS-Enumeration actions, requests and responses. */
export const ACTIONS = {
  GET: `${WXF_NS}/Get`,
  GET_RESPONSE: `${WXF_NS}/GetResponse`,
  PUT: `${WXF_NS}/Put`,
  PUT_RESPONSE: `${WXF_NS}/PutResponse`,
  CREATE: `${WXF_NS}/Create`,
  CREATE_RESPONSE: `${WXF_NS}/CreateResponse`,
  DELETE: `${WXF_NS}/Delete`,
  DELETE_RESPONSE: `${WXF_NS}/DeleteResponse`,
  ENUMERATE: `${WSEN_NS}/Enumerate`,
  ENUMERATE_RESPONSE: `${WSEN_NS}/EnumerateResponse`,
  PULL: `${WSEN_NS}/Pull`,
  PULL_RESPONSE: `${WSEN_NS}/PullResponse`,
  RELEASE: `${WSEN_NS}/Release`,
  RELEASE_RESPONSE: `${WSEN_NS}/ReleaseResponse`,
  /** Fault actions (WS-Man, WS-Addressing). */
  WSMAN_FAULT: 'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault',
  WSA_FAULT: `${WSA_NS}/fault`,
} as const;

const CLASS_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The resource URI of a class, from its schema prefix: `AMT_` and `IPS_` classes live under
 * Intel's bases, `CIM_` under the DMTF base.
 */
export function resourceUriFor(className: string): string {
  if (!CLASS_NAME.test(className)) {
    throw new WsmanInvalidArgumentError(`not a class name: ${JSON.stringify(className.slice(0, 64))}`);
  }
  if (className.startsWith('AMT_')) return AMT_URI_BASE + className;
  if (className.startsWith('IPS_')) return IPS_URI_BASE + className;
  if (className.startsWith('CIM_')) return CIM_URI_BASE + className;
  throw new WsmanInvalidArgumentError(`class ${className} has no known schema prefix (AMT_, IPS_, CIM_)`);
}

/** The class name a resource URI names (its last path segment). */
export function classNameOf(resourceUri: string): string {
  const cut = resourceUri.lastIndexOf('/');
  const name = cut === -1 ? resourceUri : resourceUri.slice(cut + 1);
  if (!CLASS_NAME.test(name)) {
    throw new WsmanInvalidArgumentError(
      `resource URI does not end in a class name: ${JSON.stringify(resourceUri.slice(0, 128))}`,
    );
  }
  return name;
}
