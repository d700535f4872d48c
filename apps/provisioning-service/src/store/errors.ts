/**
 * The app's one base error: every error the store, the secret keys, the CSV parser, the
 * configuration, the admin API and the provisioning flow raise is a `ServiceError` with a stable
 * `code` to switch on. Messages never carry a secret.
 */
export type ServiceErrorCode =
  | 'STORE_STALE_LEASE'
  | 'STORE_INVALID_INPUT'
  | 'STORE_NOT_FOUND'
  | 'STORE_CONFLICT'
  | 'STORE_MIGRATION'
  | 'STORE_CLOSED'
  | 'STORE_UNAVAILABLE'
  | 'SECRET_KEY_INVALID'
  | 'SECRET_KEY_MISMATCH'
  | 'SECRET_KEY_ROTATED'
  | 'SECRET_DECRYPT_FAILED'
  | 'CSV_SYNTAX'
  | 'CSV_HEADER'
  | 'CSV_ROW'
  | 'CONFIG_INVALID'
  | 'API_UNAUTHORIZED'
  | 'API_VALIDATION_FAILED'
  | 'API_INVALID_JSON'
  | 'API_UNSUPPORTED_MEDIA_TYPE'
  | 'API_BODY_TOO_LARGE'
  | 'API_NOT_FOUND'
  | 'API_JOB_CONFLICT'
  | 'API_INVALID_CERTIFICATE'
  | 'API_UNAVAILABLE'
  | 'API_INTERNAL'
  | 'API_BAD_REQUEST' // malformed HTTP (request line, headers, framing, timeout) refused before any route
  | 'API_LISTEN_FAILED' // the admin API cannot bind its address (in use, no permission)
  // The provisioning flow (`ProvisioningError`, src/flow/errors.ts):
  | 'FLOW_NO_COMPUTER' // the job's UUID is not (or no longer) imported
  | 'FLOW_NO_ADDRESS' // no hello told us where the device is
  | 'FLOW_NO_CERTIFICATE' // no enabled provisioning chain matches the device's root hashes
  | 'FLOW_TLS_REFUSED' // the device refused the TLS handshake (chain, CN, OID/OU, root hash)
  | 'FLOW_UNREACHABLE' // connection refused, reset or timed out
  | 'FLOW_LOGIN_FAILED' // every configured credential and stored secret was refused
  | 'FLOW_DEVICE_ERROR' // AMT answered a step with an error status or a fault
  | 'FLOW_DIRECTORY_FAILED'
  | 'FLOW_CA_FAILED'
  | 'FLOW_NEEDS_APPROVAL' // a hello from a device on record as provisioned that says it is not: an operator decides
  | 'FLOW_LEASE_LOST' // another worker owns the job now
  | 'FLOW_CANCELLED'
  | 'FLOW_INTERNAL'; // the runner itself failed with an error that has no code (a bug: see the log)

export class ServiceError extends Error {
  override readonly name: string = 'ServiceError';
  readonly code: ServiceErrorCode;

  constructor(code: ServiceErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** Bad input to a store method; nothing was changed. `field` names the offending value. */
export class StoreInputError extends ServiceError {
  override readonly name = 'StoreInputError';
  constructor(
    message: string,
    readonly field?: string,
    /** Index of the offending item in a list input (e.g. an import). */
    readonly index?: number,
  ) {
    super('STORE_INVALID_INPUT', message);
  }
}

export class StoreNotFoundError extends ServiceError {
  override readonly name = 'StoreNotFoundError';
  constructor(
    readonly entity: string,
    readonly id: string | number,
  ) {
    super('STORE_NOT_FOUND', `${entity} ${id} not found`);
  }
}

/** The operation does not fit the record's state (e.g. confirming a retired secret). */
export class StoreConflictError extends ServiceError {
  override readonly name = 'StoreConflictError';
  constructor(message: string) {
    super('STORE_CONFLICT', message);
  }
}

/** The site store's server cannot be reached or refuses this client (PostgreSQL). */
export class StoreUnavailableError extends ServiceError {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_UNAVAILABLE', message, options);
  }
}

export class MigrationError extends ServiceError {
  override readonly name = 'MigrationError';
  constructor(
    message: string,
    readonly version?: number,
    options?: { cause?: unknown },
  ) {
    super('STORE_MIGRATION', message, options);
  }
}

/**
 * The secret key is unusable (`SECRET_KEY_INVALID`: wrong length, unreadable file), is not the
 * key this store was created with (`SECRET_KEY_MISMATCH`), kept being rotated by another process
 * through every try of one write (`SECRET_KEY_ROTATED`: nothing was written; retry),
 * or a record failed to decrypt (`SECRET_DECRYPT_FAILED`: tampered or moved ciphertext).
 * `record` names the record, never its contents.
 */
export class SecretKeyError extends ServiceError {
  override readonly name = 'SecretKeyError';
  constructor(
    code: 'SECRET_KEY_INVALID' | 'SECRET_KEY_MISMATCH' | 'SECRET_KEY_ROTATED' | 'SECRET_DECRYPT_FAILED',
    message: string,
    readonly record?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** Malformed CSV (`CSV_SYNTAX`), a bad header (`CSV_HEADER`) or a bad row (`CSV_ROW`). */
export class CsvError extends ServiceError {
  override readonly name = 'CsvError';
  constructor(
    code: 'CSV_SYNTAX' | 'CSV_HEADER' | 'CSV_ROW',
    message: string,
    /** 1-based line of the input where the problem is. */
    readonly line: number,
    /** 1-based column (characters) where known. */
    readonly column?: number,
  ) {
    super(code, `line ${line}${column === undefined ? '' : `, column ${column}`}: ${message}`);
  }
}

/** A configuration value (override or `OOBKIT_*` variable) is invalid; `setting` names it. */
export class ConfigError extends ServiceError {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly setting: string,
  ) {
    super('CONFIG_INVALID', message);
  }
}

/** An admin API refusal: `status` is the HTTP status, `code` goes in the JSON error body. */
export class ApiError extends ServiceError {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    code: ServiceErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
