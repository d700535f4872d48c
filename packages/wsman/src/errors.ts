/** Base error of @oobkit/wsman: every error has a stable `code` to switch on. */
export class WsmanError extends Error {
  override readonly name: string = 'WsmanError';
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
