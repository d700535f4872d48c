export { deviceAddress, MAX_DEVICES } from './address.js';
export {
  type DeviceEvent,
  type DeviceOptions,
  type HelloTarget,
  type SimulatedDevice,
  startDevice,
} from './device.js';
export { SimulatorError, type SimulatorErrorCode } from './errors.js';
export type { Fault, FaultKind, FaultPlan, FaultStep } from './faults.js';
export { type Fleet, type FleetOptions, startFleet } from './fleet.js';
export { createKeyPool, type KeyMaterial, type KeyPool } from './keypool.js';
export {
  BUILT_IN_ROOTS,
  builtInHashes,
  DEFAULT_FIRMWARE,
  type HashAlgorithm,
  type Personality,
  type TrustedHash,
} from './personality.js';
export type { DeviceSeed, SeedCertificate, SeedWifiProfile } from './seed.js';
export type { FirmwareStateSnapshot } from './snapshot.js';
export {
  type AclEntry,
  type CertificateEntry,
  type Ieee8021xSettings,
  type KerberosSettings,
  type KeyEntry,
  LOCAL_TLS_ID,
  POWER_SCHEMES,
  type PowerScheme,
  type ProvisioningState,
  REMOTE_TLS_ID,
  type TlsSettings,
  type WifiProfile,
  type Wired8021x,
} from './state.js';
