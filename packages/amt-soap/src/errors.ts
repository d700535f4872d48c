/** Base error of @oobkit/amt-soap: every error has a stable `code` to switch on. */
export class AmtSoapError extends Error {
  override readonly name: string = 'AmtSoapError';
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
