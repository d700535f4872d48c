/** Codes `decodeHello` can give (and the listener counts in `rejectedByCode`). */
export type HelloDecodeErrorCode =
  | 'HELLO_TRUNCATED'
  | 'HELLO_UNKNOWN_VERSION'
  | 'HELLO_BAD_ADMIN_FLAG'
  | 'HELLO_UNKNOWN_HASH_ALGORITHM'
  | 'HELLO_BAD_HASH_LENGTH'
  | 'HELLO_HASH_COUNT_MISMATCH'
  | 'HELLO_TRAILING_BYTES'
  | 'HELLO_TOO_LARGE'
  | 'HELLO_BAD_PID';

/** Every code a `HelloError` can carry. Codes are stable: new ones are added, none is changed. */
export type HelloErrorCode =
  | HelloDecodeErrorCode
  /** encodeHello: the UUID is not 8-4-4-4-12 hex digits. */
  | 'HELLO_BAD_UUID'
  /** encodeHello: the retry count is not an integer in 0…2^32−1. */
  | 'HELLO_BAD_RETRY_COUNT'
  /** encodeHello: more than 255 hashes (the count is one byte). */
  | 'HELLO_TOO_MANY_HASHES'
  /** An option, clock factor or schedule offset is out of range. */
  | 'HELLO_BAD_OPTIONS'
  /** The listener could not bind (the OS error is the `cause`), or `listen()` was called twice. */
  | 'HELLO_LISTEN_FAILED'
  /** sendHello: connect or write failed (the socket error is the `cause`). */
  | 'HELLO_SEND_FAILED'
  /** sendHello: the whole send did not finish within `timeoutMs`. */
  | 'HELLO_SEND_TIMEOUT'
  /** A virtual clock's `runAll()` kept finding new timers (a schedule that never ends). */
  | 'HELLO_CLOCK_RUNAWAY';

/** Every decode error code, in layout order; handy for counters and exhaustive switches. */
export const HELLO_DECODE_ERROR_CODES: readonly HelloDecodeErrorCode[] = [
  'HELLO_TOO_LARGE',
  'HELLO_TRUNCATED',
  'HELLO_BAD_ADMIN_FLAG',
  'HELLO_UNKNOWN_VERSION',
  'HELLO_BAD_PID',
  'HELLO_UNKNOWN_HASH_ALGORITHM',
  'HELLO_BAD_HASH_LENGTH',
  'HELLO_HASH_COUNT_MISMATCH',
  'HELLO_TRAILING_BYTES',
];

/** Base error of @oobkit/hello: every error has a stable `code` to switch on. */
export class HelloError extends Error {
  override readonly name: string = 'HelloError';
  readonly code: HelloErrorCode;
  /**
   * Byte offset of the field at fault: in the input for decode errors, in the would-be output
   * for encode errors. Unset for errors that are not about bytes (options, sockets).
   */
  readonly offset: number | undefined;

  constructor(code: HelloErrorCode, message: string, options: { offset?: number; cause?: unknown } = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.offset = options.offset;
  }
}
