export * from './classes/index.js';
export type { EnumerateOptions, IdentifyResult, InvokeOptions, WsmanClientOptions } from './client.js';
export { WsmanClient } from './client.js';
export type { WsmanErrorCode } from './errors.js';
export {
  AmtReturnValueError,
  WsmanBodyTooLargeError,
  WsmanError,
  WsmanFaultError,
  WsmanHttpError,
  WsmanInvalidArgumentError,
  WsmanParseError,
  WsmanTransportError,
  WsmanUnexpectedResponseError,
} from './errors.js';
export {
  ACTIONS,
  AMT_URI_BASE,
  CIM_URI_BASE,
  classNameOf,
  IPS_URI_BASE,
  resourceUriFor,
  SOAP_NS,
  WSA_ANONYMOUS,
  WSA_NS,
  WSEN_NS,
  WSMAN_NS,
  WSMID_NS,
  WXF_NS,
  XSI_NS,
} from './namespaces.js';
export type {
  ParseOptions,
  PulledItem,
  PullResult,
  ResponseHeader,
  WsmanFault,
  WsmanResponse,
} from './parse.js';
export { DEFAULT_MAX_BYTES, parseWsmanResponse } from './parse.js';
export {
  ADD_WIFI_SETTINGS_RETURN_VALUES,
  PT_STATUS,
  ptStatusName,
  REQUEST_STATE_CHANGE_RETURN_VALUES,
  returnValueName,
} from './pt-status.js';
export type { BuiltRequest, RequestOptions } from './requests.js';
export {
  buildCreateRequest,
  buildDeleteRequest,
  buildEnumerateRequest,
  buildGetRequest,
  buildIdentifyRequest,
  buildInvokeRequest,
  buildPullRequest,
  buildPutRequest,
  buildReleaseRequest,
  newMessageId,
} from './requests.js';
export type {
  ClassSchema,
  KindType,
  MethodSchema,
  PropertyKind,
  PropertyKinds,
  ScalarKind,
  TypedProperties,
} from './schema.js';
export { decodeProperties, orderProperties } from './schema.js';
export type {
  FaultSpec,
  IdentifySpec,
  InstanceSpec,
  RequestRef,
  WsmanRequest,
  WsmanRequestKind,
} from './server.js';
export {
  buildCreateResponse,
  buildDeleteResponse,
  buildEnumerateResponse,
  buildFault,
  buildGetResponse,
  buildIdentifyResponse,
  buildInvokeResponse,
  buildPullResponse,
  buildPutResponse,
  buildReleaseResponse,
  faultHttpStatus,
  parseWsmanRequest,
} from './server.js';
export type { AmtServerHeader } from './server-header.js';
export { AMT_SERVER_PRODUCT, parseAmtServerHeader } from './server-header.js';
export type {
  EmbeddedInstance,
  EndpointReference,
  PropertyValue,
  Selectors,
  WsmanItem,
  WsmanValue,
} from './values.js';
export {
  embeddedInstance,
  endpointReference,
  isEmbeddedInstance,
  isEndpointReference,
  isWsmanItem,
  textOf,
} from './values.js';
export { escapeXml, escapeXmlAttribute } from './xml.js';
