/** Base error of @oobkit/hello: every error has a stable `code` to switch on. */
export class HelloError extends Error {
  override readonly name: string = 'HelloError';
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
