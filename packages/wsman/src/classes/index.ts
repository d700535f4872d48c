import type { ClassSchema } from '../schema.js';
import {
  AUTHORIZATION_SERVICE,
  GENERAL_SETTINGS,
  IEEE8021X_PROFILE,
  KERBEROS_SETTING_DATA,
  PUBLIC_KEY_CERTIFICATE,
  PUBLIC_KEY_MANAGEMENT_SERVICE,
  PUBLIC_PRIVATE_KEY_PAIR,
  REDIRECTION_SERVICE,
  SETUP_AND_CONFIGURATION_SERVICE,
  SYSTEM_POWER_SCHEME,
  TIME_SYNCHRONIZATION_SERVICE,
  TLS_CREDENTIAL_CONTEXT,
  TLS_SETTING_DATA,
  WEB_UI_SERVICE,
  WIFI_PORT_CONFIGURATION_SERVICE,
} from './amt.js';
import {
  CREDENTIAL_CONTEXT,
  ELEMENT_SETTING_DATA,
  SOFTWARE_IDENTITY,
  WIFI_ENDPOINT_SETTINGS,
  WIFI_PORT,
} from './cim.js';
import { HOST_BASED_SETUP_SERVICE, IEEE8021X_SETTINGS } from './ips.js';

export * from './amt.js';
export * from './cim.js';
export type { DefinedClass, InstanceOps, MethodOutput } from './common.js';
export { instanceOps, invokeMethod, SERVICE_PROPERTIES } from './common.js';
export * from './ips.js';

const ALL: readonly ClassSchema[] = [
  GENERAL_SETTINGS,
  TIME_SYNCHRONIZATION_SERVICE,
  PUBLIC_KEY_MANAGEMENT_SERVICE,
  PUBLIC_KEY_CERTIFICATE,
  PUBLIC_PRIVATE_KEY_PAIR,
  TLS_SETTING_DATA,
  TLS_CREDENTIAL_CONTEXT,
  AUTHORIZATION_SERVICE,
  SETUP_AND_CONFIGURATION_SERVICE,
  REDIRECTION_SERVICE,
  WEB_UI_SERVICE,
  KERBEROS_SETTING_DATA,
  SYSTEM_POWER_SCHEME,
  WIFI_PORT_CONFIGURATION_SERVICE,
  WIFI_ENDPOINT_SETTINGS,
  WIFI_PORT,
  IEEE8021X_PROFILE,
  IEEE8021X_SETTINGS,
  SOFTWARE_IDENTITY,
  ELEMENT_SETTING_DATA,
  CREDENTIAL_CONTEXT,
  HOST_BASED_SETUP_SERVICE,
];

/** Every typed class, by class name (for simulators: decode a Put body, a method's input…). */
export const CLASS_SCHEMAS: Readonly<Record<string, ClassSchema>> = Object.freeze(
  // No prototype: a peer's class name such as `constructor` must look up nothing.
  Object.assign(
    Object.create(null) as Record<string, ClassSchema>,
    Object.fromEntries(ALL.map((s) => [s.className, s])),
  ),
);
