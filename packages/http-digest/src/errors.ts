/** Base error of @oobkit/http-digest: every error has a stable `code` to switch on. */
export class DigestError extends Error {
  override readonly name: string = 'DigestError';
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
