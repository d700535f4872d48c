/** Every `DigestError.code`. Published codes never change meaning; new ones are added. */
export type DigestErrorCode =
  /** The server refused our answer `maxRefusals` times (wrong user name or password). */
  | 'DIGEST_WRONG_CREDENTIALS'
  /** A `WWW-Authenticate` header could not be parsed, or a Digest challenge lacks realm/nonce. */
  | 'DIGEST_MALFORMED_CHALLENGE'
  /** An `Authorization` header could not be parsed, or lacks a required field. */
  | 'DIGEST_MALFORMED_AUTHORIZATION'
  /** No offered challenge uses an algorithm this package implements. */
  | 'DIGEST_UNSUPPORTED_ALGORITHM'
  /** The challenge offers only qop values this package does not implement. */
  | 'DIGEST_UNSUPPORTED_QOP'
  /** A 401 asked for credentials, but the request body was a stream and cannot be sent again. */
  | 'DIGEST_BODY_NOT_REPLAYABLE'
  /** The server kept answering with fresh or stale challenges; we stopped to avoid a loop. */
  | 'DIGEST_TOO_MANY_CHALLENGES'
  /** A caller passed an invalid option (bad length, bad credentials object...). */
  | 'DIGEST_INVALID_ARGUMENT';

/** Facts a caller may need; never a password, a hash of one, or a digest response. */
export interface DigestErrorDetails {
  cause?: unknown;
  /** HTTP status of the last response (401 for refusals). */
  status?: number;
  /** How many answers the server refused in this request. */
  refusals?: number;
  /** The user name whose answer was refused. */
  username?: string;
  /** The realm of the refusing challenge. */
  realm?: string;
  /** The algorithm(s) involved, as offered by the server. */
  algorithm?: string;
  /** The raw `WWW-Authenticate` value (truncated), for malformed or unsupported challenges. */
  challenge?: string;
  /** Character offset where parsing failed. */
  offset?: number;
}

const MAX_ECHO = 300;

/** Base error of @oobkit/http-digest: every error has a stable `code` to switch on. */
export class DigestError extends Error {
  override readonly name: string = 'DigestError';
  readonly code: DigestErrorCode;
  readonly status?: number;
  readonly refusals?: number;
  readonly username?: string;
  readonly realm?: string;
  readonly algorithm?: string;
  readonly challenge?: string;
  readonly offset?: number;

  constructor(code: DigestErrorCode, message: string, details: DigestErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.status !== undefined) this.status = details.status;
    if (details.refusals !== undefined) this.refusals = details.refusals;
    if (details.username !== undefined) this.username = details.username;
    if (details.realm !== undefined) this.realm = details.realm;
    if (details.algorithm !== undefined) this.algorithm = details.algorithm;
    if (details.challenge !== undefined) this.challenge = details.challenge.slice(0, MAX_ECHO);
    if (details.offset !== undefined) this.offset = details.offset;
  }
}
