/** Every code a {@link SimulatorError} can carry. */
export type SimulatorErrorCode =
  | 'SIM_INVALID_OPTION'
  | 'SIM_ADDRESS_IN_USE'
  | 'SIM_LISTEN_FAILED'
  | 'SIM_STOPPED'
  | 'SIM_HELLO_UNSUPPORTED'
  | 'SIM_HELLO_NOT_CONFIGURED'
  | 'SIM_KEY_GENERATION_FAILED';

/** Base error of @oobkit/amt-simulator: switch on `code`, never on the message. */
export class SimulatorError extends Error {
  override readonly name: string = 'SimulatorError';
  readonly code: SimulatorErrorCode;
  /** The option or address the error is about, when there is one. */
  readonly detail: string | undefined;

  constructor(code: SimulatorErrorCode, message: string, options?: { cause?: unknown; detail?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = options?.detail;
  }
}

export function invalidOption(option: string, message: string): SimulatorError {
  return new SimulatorError('SIM_INVALID_OPTION', `${option}: ${message}`, { detail: option });
}
