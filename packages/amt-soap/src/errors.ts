/** Every `code` an `AmtSoapError` can carry. Published codes never change meaning. */
export type AmtSoapErrorCode =
  | 'SOAP_STATUS'
  | 'SOAP_FAULT'
  | 'SOAP_HTTP'
  | 'SOAP_PARSE'
  | 'SOAP_TOO_LARGE'
  | 'SOAP_TRANSPORT'
  | 'SOAP_UNKNOWN_METHOD'
  | 'SOAP_INVALID_PARAMS';

/** Base error of @oobkit/amt-soap: every error has a stable `code` to switch on. */
export class AmtSoapError extends Error {
  override readonly name: string = 'AmtSoapError';
  readonly code: AmtSoapErrorCode;

  constructor(code: AmtSoapErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** AMT answered, but with a non-zero PT_STATUS `StatusCode` (an application error inside HTTP 200). */
export class AmtSoapStatusError extends AmtSoapError {
  override readonly name = 'AmtSoapStatusError';
  override readonly code = 'SOAP_STATUS' as const;
  readonly service: string;
  readonly method: string;
  readonly statusCode: number;
  /** The PT_STATUS name, e.g. `INVALID_PASSWORD`; `UNKNOWN` for codes not in the table. */
  readonly statusName: string;

  constructor(service: string, method: string, statusCode: number, statusName: string) {
    super(
      'SOAP_STATUS',
      `${service}.${method} answered StatusCode 0x${statusCode.toString(16).toUpperCase()} (${statusName})`,
    );
    this.service = service;
    this.method = method;
    this.statusCode = statusCode;
    this.statusName = statusName;
  }
}

/** The peer answered a SOAP 1.1 Fault. */
export class AmtSoapFaultError extends AmtSoapError {
  override readonly name = 'AmtSoapFaultError';
  override readonly code = 'SOAP_FAULT' as const;
  /** The `faultcode` QName as sent, e.g. `SOAP-ENV:Client`. */
  readonly faultCode: string;
  readonly faultString: string;
  /** Text content of `detail`, if any. */
  readonly detail: string | undefined;
  /** HTTP status of the answer that carried the fault (500 by SOAP 1.1). */
  readonly httpStatus: number | undefined;

  constructor(faultCode: string, faultString: string, detail?: string, httpStatus?: number) {
    super('SOAP_FAULT', `SOAP fault ${faultCode}: ${faultString}`);
    this.faultCode = faultCode;
    this.faultString = faultString;
    this.detail = detail;
    this.httpStatus = httpStatus;
  }
}

/** A non-2xx HTTP answer that carried no SOAP fault (e.g. 401 after digest gave up, 404). */
export class AmtSoapHttpError extends AmtSoapError {
  override readonly name = 'AmtSoapHttpError';
  override readonly code = 'SOAP_HTTP' as const;
  readonly status: number;

  constructor(status: number, options?: { cause?: unknown }) {
    super('SOAP_HTTP', `HTTP ${status} without a SOAP fault`, options);
    this.status = status;
  }
}

/** Why a document was refused. */
export type AmtSoapParseReason =
  /** not well-formed XML, not UTF-8, a DTD, an unknown entity */
  | 'xml'
  /** not a SOAP 1.1 Envelope with a Body */
  | 'envelope'
  /** an element in the wrong namespace, an undeclared prefix, or no way to tell the service */
  | 'namespace'
  /** the Body holds something other than the expected request/response element */
  | 'element'
  /** the response has no usable `StatusCode` */
  | 'status'
  /** a value does not fit its schema type */
  | 'value'
  /** a required parameter is missing or repeated */
  | 'params';

/** A SOAP document (request or answer) that cannot be understood. Never carries values. */
export class AmtSoapParseError extends AmtSoapError {
  override readonly name = 'AmtSoapParseError';
  override readonly code = 'SOAP_PARSE' as const;
  readonly reason: AmtSoapParseReason;
  /** Dotted element path where it went wrong, when known (e.g. `InterfaceDescriptor.LinkPolicy`). */
  readonly path: string | undefined;

  constructor(reason: AmtSoapParseReason, message: string, opts?: { path?: string; cause?: unknown }) {
    super('SOAP_PARSE', message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.reason = reason;
    this.path = opts?.path;
  }
}

/** An answer body larger than `maxBodyBytes`; reading stopped there. */
export class AmtSoapTooLargeError extends AmtSoapError {
  override readonly name = 'AmtSoapTooLargeError';
  override readonly code = 'SOAP_TOO_LARGE' as const;
  readonly limit: number;

  constructor(limit: number) {
    super('SOAP_TOO_LARGE', `answer body exceeds ${limit} bytes`);
    this.limit = limit;
  }
}

/** The dispatcher failed (connection refused, TLS, reset, abort…); the original error is `cause`. */
export class AmtSoapTransportError extends AmtSoapError {
  override readonly name = 'AmtSoapTransportError';
  override readonly code = 'SOAP_TRANSPORT' as const;

  constructor(service: string, method: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super('SOAP_TRANSPORT', `${service}.${method}: transport failed: ${why}`, { cause });
  }
}

/** Bad input from the caller: unknown method, or params that do not fit the schema. Nothing was sent. */
export class AmtSoapInputError extends AmtSoapError {
  override readonly name = 'AmtSoapInputError';
  declare readonly code: 'SOAP_UNKNOWN_METHOD' | 'SOAP_INVALID_PARAMS';
  readonly service: string;
  readonly method: string;
  /** Dotted parameter path at fault, for SOAP_INVALID_PARAMS. */
  readonly field: string | undefined;

  constructor(
    code: 'SOAP_UNKNOWN_METHOD' | 'SOAP_INVALID_PARAMS',
    service: string,
    method: string,
    message: string,
    field?: string,
  ) {
    super(code, message);
    this.service = service;
    this.method = method;
    this.field = field;
  }
}
