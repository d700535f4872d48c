/**
 * @oobkit/provisioning-service as a library: the service (startService), the demo, the flow's
 * extension points (SiteStore, SecretKeyProvider, Directory, CertificateAuthority) and the
 * default implementations. The CLI (`oobkit`) is src/cli.ts.
 */

// Admin API
export { type AdminApiOptions, buildAdminApi } from './api/index.js';
// Extension points of the flow
export {
  type BuiltInCaOptions,
  builtInCertificateAuthority,
  type CertificateAuthority,
  type IssuedTlsCertificate,
  type TlsCertificateRequest,
} from './ca/index.js';

// Configuration, logging
export {
  API_TOKEN_FILE,
  CONFIG_DEFAULTS,
  CONFIG_ENV,
  type DeepPartial,
  type LogLevelSetting,
  resolveConfig,
  type ServiceConfig,
} from './config.js';
export { parseComputersCsv } from './csv.js';
export { type DemoOptions, type DemoSummary, runDemo, testPkiCertificate } from './demo.js';
export {
  type Directory,
  type DirectoryAccount,
  type DirectoryAccountRequest,
  type KerberosKey,
  noDirectory,
} from './directory/index.js';
// The flow, for integrators who compose their own service
export { createAmtDevice } from './flow/amt.js';
export type {
  AmtDevice,
  PowerSchemeInfo,
  Stage1Driver,
  Stage2Driver,
  UserAclEntryInput,
} from './flow/device.js';
export { ProvisioningError, type ProvisioningErrorCode, SimulatedCrash } from './flow/errors.js';
export {
  createEventSink,
  createJobEventSink,
  type EventSink,
  type JobEventSink,
  Redactor,
} from './flow/events.js';
export { createWorkerPool, type JobFinished, type JobRunner, type WorkerPool } from './flow/pool.js';
export {
  CONFIGMGR_POWER_SCHEMES,
  findPowerScheme,
  type MeState,
  type PowerProfile,
  parsePowerDescription,
  SP1_POWER_SCHEME,
} from './flow/power.js';
export { AMT_FACTORY_PASSWORD, createJobRunner, type FlowCheckpoint, type FlowOptions } from './flow/run.js';
export {
  type FirmwareInfo,
  firmwareFromServerHeader,
  newTransportStats,
  type TlsProfile,
  type TransportStats,
} from './flow/session.js';
export { verifyDeviceLogin } from './flow/verify.js';
export {
  type AcceptedHello,
  createEventThrottle,
  createHelloIntake,
  type EventThrottle,
  type EventThrottleOptions,
  HELLO_ACCEPTED_EVENT,
  type HelloIntake,
  type HelloMatch,
  type IntakeOutcome,
  matchHelloHashes,
  type ReceivedHello,
  type ThrottleDecision,
} from './intake/index.js';
export { type JobRequestOutcome, requestProvisioning, requestUnprovision } from './jobs.js';
export { type CreateLoggerOptions, createLogger, type Logger, type LogLevel } from './log.js';
export {
  type BackupOptions,
  type BackupResult,
  backupSiteDatabase,
  pruneEventLog,
  type RotateKeyOptions,
  type RotateKeyResult,
  rotateSecretKey,
} from './maintenance.js';
export {
  createServiceMetrics,
  METRICS_CONTENT_TYPE,
  type MetricsSnapshot,
  type ServiceMetrics,
} from './metrics.js';
export { type Readiness, readinessReport, readinessWarnings } from './readiness.js';
export {
  fileKeyProvider,
  SECRET_KEY_BYTES,
  type SecretKeyProvider,
  secretKeysOf,
  staticKeyProvider,
  writeKeyFile,
} from './secrets/index.js';
// Composition
export { type HelloScreened, type RunningService, type ServiceDeps, startService } from './service.js';
export {
  ApiError,
  ConfigError,
  CsvError,
  MigrationError,
  SecretKeyError,
  ServiceError,
  type ServiceErrorCode,
  StoreConflictError,
  StoreInputError,
  StoreNotFoundError,
  StoreUnavailableError,
} from './store/errors.js';
export { describeStoreLocation, openConfiguredStore } from './store/open.js';
export { openPostgresStore, type PostgresStoreOptions } from './store/postgres.js';
export { openSqliteStore, type SqliteStoreOptions } from './store/sqlite.js';
// Site store and secrets
export * from './store/types.js';

/** Defaults the reference server runs on when nothing is configured (see `resolveConfig`). */
export const DEFAULTS = {
  helloPort: 9971,
  adminPort: 8080,
  dataDir: '.oobkit',
} as const;
