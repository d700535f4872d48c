/** Stable codes of the provisioning flow; switch on `code`, never on the message. */
export type ProvisioningErrorCode =
  | 'FLOW_NO_COMPUTER' // the job's UUID is not (or no longer) imported
  | 'FLOW_NO_ADDRESS' // no hello told us where the device is
  | 'FLOW_NO_CERTIFICATE' // no enabled provisioning chain matches the device's root hashes
  | 'FLOW_TLS_REFUSED' // the device refused the TLS handshake (chain, CN, OID/OU, root hash)
  | 'FLOW_UNREACHABLE' // connection refused, reset or timed out
  | 'FLOW_LOGIN_FAILED' // every configured credential and stored secret was refused
  | 'FLOW_UNSUPPORTED_FIRMWARE' // firmware version unknown or outside what the flow supports
  | 'FLOW_DEVICE_ERROR' // AMT answered a step with an error status or a fault
  | 'FLOW_DIRECTORY_FAILED'
  | 'FLOW_CA_FAILED'
  | 'FLOW_LEASE_LOST' // another worker owns the job now
  | 'FLOW_CANCELLED';

/** Base error of the provisioning service's flow. */
export class ProvisioningError extends Error {
  override readonly name: string = 'ProvisioningError';
  readonly code: ProvisioningErrorCode;
  /** The step the error happened in, when known. */
  step?: string;
  /** Code of the underlying package error (e.g. `AMT_RETURN_VALUE`, `DIGEST_WRONG_CREDENTIALS`). */
  readonly causeCode?: string;

  constructor(
    code: ProvisioningErrorCode,
    message: string,
    options?: { cause?: unknown; step?: string; causeCode?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options?.step !== undefined) this.step = options.step;
    const causeCode = options?.causeCode ?? codeOf(options?.cause);
    if (causeCode !== undefined) this.causeCode = causeCode;
  }
}

/**
 * Thrown by a fault hook to simulate a crash of the service process: the worker drops the job on
 * the floor (no journal write, no finish, no lease release), exactly as if the process died.
 */
export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
  constructor(readonly point: string) {
    super(`simulated crash at ${point}`);
  }
}

/** The `code` of a package error (or any error carrying one), if it has one. */
export function codeOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const c = (err as { code: unknown }).code;
    if (typeof c === 'string') return c;
  }
  return undefined;
}
