import { ServiceError, type ServiceErrorCode } from '../store/errors.js';

/** Stable codes of the provisioning flow (the `FLOW_*` part of `ServiceErrorCode`). */
export type ProvisioningErrorCode = Extract<ServiceErrorCode, `FLOW_${string}`>;

/** A failure of the provisioning flow: a `ServiceError` with a `FLOW_*` code and the step. */
export class ProvisioningError extends ServiceError {
  override readonly name: string = 'ProvisioningError';
  declare readonly code: ProvisioningErrorCode;
  /** The step the error happened in, when known. */
  step?: string;
  /** Code of the underlying package error (e.g. `AMT_RETURN_VALUE`, `DIGEST_WRONG_CREDENTIALS`). */
  readonly causeCode?: string;

  constructor(
    code: ProvisioningErrorCode,
    message: string,
    options?: { cause?: unknown; step?: string; causeCode?: string },
  ) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
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

/** Searches an error and its causes for a package error code. */
export function hasCode(err: unknown, code: string): boolean {
  for (let e: unknown = err, i = 0; e !== undefined && e !== null && i < 8; i++) {
    if (codeOf(e) === code) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
