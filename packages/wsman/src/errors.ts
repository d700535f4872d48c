/** Every `code` a WsmanError can carry. Codes are stable: switch on them, never on messages. */
export type WsmanErrorCode =
  | 'WSMAN_FAULT'
  | 'AMT_RETURN_VALUE'
  | 'WSMAN_HTTP'
  | 'WSMAN_TRANSPORT'
  | 'WSMAN_PARSE'
  | 'WSMAN_BODY_TOO_LARGE'
  | 'WSMAN_UNEXPECTED_RESPONSE'
  | 'WSMAN_INVALID_ARGUMENT';

/** Base error of @oobkit/wsman: every error has a stable `code` to switch on. */
export class WsmanError extends Error {
  override readonly name: string = 'WsmanError';
  readonly code: string;

  constructor(code: WsmanErrorCode | (string & {}), message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The peer answered with a SOAP fault. */
export class WsmanFaultError extends WsmanError {
  override readonly name = 'WsmanFaultError';
  declare readonly code: 'WSMAN_FAULT';
  /** SOAP 1.2 `Code/Value`, local part: `Sender` or `Receiver` (or what the peer sent). */
  readonly faultCode: string;
  /** `Subcode/Value`, local part, e.g. `InvalidSelectors`, `TimedOut`, `InvalidEnumerationContext`. */
  readonly subcode: string | undefined;
  /** `Reason/Text`. */
  readonly reason: string;
  /** Text content of `Detail` (e.g. a WS-Man FaultDetail URI), if any. */
  readonly detail: string | undefined;
  /** HTTP status of the response that carried the fault. */
  readonly status: number | undefined;
  /** The WS-Management action of the request that failed. */
  readonly requestAction: string | undefined;

  constructor(fault: {
    faultCode: string;
    subcode?: string | undefined;
    reason: string;
    detail?: string | undefined;
    status?: number | undefined;
    requestAction?: string | undefined;
  }) {
    const sub = fault.subcode ? `/${fault.subcode}` : '';
    super('WSMAN_FAULT', `WS-Management fault ${fault.faultCode}${sub}: ${fault.reason || '(no reason)'}`);
    this.faultCode = fault.faultCode;
    this.subcode = fault.subcode;
    this.reason = fault.reason;
    this.detail = fault.detail;
    this.status = fault.status;
    this.requestAction = fault.requestAction;
  }
}

/** A method answered HTTP 200 with a non-zero `ReturnValue` (an application error, not a fault). */
export class AmtReturnValueError extends WsmanError {
  override readonly name = 'AmtReturnValueError';
  declare readonly code: 'AMT_RETURN_VALUE';
  readonly returnValue: number;
  /** PT_STATUS name (or the method's own name for CIM-style return codes), `UNKNOWN` if none. */
  readonly statusName: string;
  readonly method: string;
  readonly resourceUri: string;

  constructor(info: { returnValue: number; statusName: string; method: string; resourceUri: string }) {
    super(
      'AMT_RETURN_VALUE',
      `${info.method} returned ${info.returnValue} (0x${info.returnValue.toString(16)} ${info.statusName})`,
    );
    this.returnValue = info.returnValue;
    this.statusName = info.statusName;
    this.method = info.method;
    this.resourceUri = info.resourceUri;
  }
}

/** The HTTP exchange failed with a status that carried no SOAP fault (401, 404, 503…). */
export class WsmanHttpError extends WsmanError {
  override readonly name = 'WsmanHttpError';
  declare readonly code: 'WSMAN_HTTP';
  readonly status: number;

  constructor(status: number, message?: string) {
    super('WSMAN_HTTP', message ?? `WS-Management request failed with HTTP ${status}`);
    this.status = status;
  }
}

/** The connection failed, timed out or was reset before a complete answer arrived. */
export class WsmanTransportError extends WsmanError {
  override readonly name = 'WsmanTransportError';
  declare readonly code: 'WSMAN_TRANSPORT';

  constructor(message: string, options?: { cause?: unknown }) {
    super('WSMAN_TRANSPORT', message, options);
  }
}

/** A document is not well-formed XML, carries a DOCTYPE, or is not a SOAP envelope. */
export class WsmanParseError extends WsmanError {
  override readonly name = 'WsmanParseError';
  declare readonly code: 'WSMAN_PARSE';

  constructor(message: string, options?: { cause?: unknown }) {
    super('WSMAN_PARSE', message, options);
  }
}

/** A body (request or response) exceeded the configured size cap. */
export class WsmanBodyTooLargeError extends WsmanError {
  override readonly name = 'WsmanBodyTooLargeError';
  declare readonly code: 'WSMAN_BODY_TOO_LARGE';
  readonly limit: number;

  constructor(limit: number) {
    super('WSMAN_BODY_TOO_LARGE', `WS-Management body exceeds ${limit} bytes`);
    this.limit = limit;
  }
}

/** A well-formed envelope that is not the answer to what was asked (wrong RelatesTo, body, typed value). */
export class WsmanUnexpectedResponseError extends WsmanError {
  override readonly name = 'WsmanUnexpectedResponseError';
  declare readonly code: 'WSMAN_UNEXPECTED_RESPONSE';

  constructor(message: string) {
    super('WSMAN_UNEXPECTED_RESPONSE', message);
  }
}

/** The caller passed something that cannot be sent (bad class name, value XML cannot carry…). */
export class WsmanInvalidArgumentError extends WsmanError {
  override readonly name = 'WsmanInvalidArgumentError';
  declare readonly code: 'WSMAN_INVALID_ARGUMENT';

  constructor(message: string) {
    super('WSMAN_INVALID_ARGUMENT', message);
  }
}
