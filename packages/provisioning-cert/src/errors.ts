/** Base error of @oobkit/provisioning-cert: every error has a stable `code` to switch on. */
export class ProvisioningCertError extends Error {
  override readonly name: string = 'ProvisioningCertError';
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
