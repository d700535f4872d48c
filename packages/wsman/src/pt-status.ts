/**
 * AMT PT_STATUS codes (also the `ReturnValue` of AMT_/IPS_ methods). From the AMT SDK status
 * table as collected in amt-protocol.md §6, plus the codes §10 names for specific methods.
 */
export const PT_STATUS: Readonly<Record<number, string>> = Object.freeze({
  0: 'SUCCESS',
  1: 'INTERNAL_ERROR',
  2: 'NOT_READY',
  3: 'INVALID_PT_MODE',
  4: 'INVALID_MESSAGE_LENGTH',
  16: 'NOT_PERMITTED',
  23: 'MAX_LIMIT_REACHED',
  25: 'AUTHENTICATION_FAILED',
  28: 'INVALID_DOMAIN_NAME',
  29: 'UNSUPPORTED_VERSION',
  32: 'INVALID_PROVISIONING_STATE',
  34: 'INVALID_TIME',
  35: 'INVALID_INDEX',
  36: 'INVALID_PARAMETER',
  // CommitChanges: 38 = flash write limit (§10).
  38: 'FLASH_WRITE_LIMIT_EXCEEDED',
  42: 'INVALID_PID_FORMAT',
  43: 'INVALID_PPS_FORMAT',
  49: 'CERTIFICATE_NOT_READY',
  2053: 'INVALID_HANDLE',
  2054: 'INVALID_PASSWORD',
  2055: 'INVALID_REALM',
  2057: 'DATA_MISSING',
  2058: 'DUPLICATE',
  2060: 'PKI_MISSING_KEYS',
  2061: 'PKI_GENERATING_KEYS',
  2062: 'INVALID_KEY',
  2063: 'INVALID_CERT',
  2064: 'CERT_KEY_NOT_MATCH',
  2065: 'MAX_KERB_DOMAIN_REACHED',
  2066: 'UNSUPPORTED',
  // Wi-Fi profile with a priority already in use (§10).
  2067: 'INVALID_PRIORITY',
  2068: 'NOT_FOUND',
  2069: 'INVALID_CREDENTIALS',
  2070: 'INVALID_PASSPHRASE',
  // Unprovision refused by a blocking component (§10).
  2076: 'BLOCKING_COMPONENT',
});

/** The PT_STATUS name of a code, `UNKNOWN` when the table has none. */
export function ptStatusName(code: number): string {
  return Object.hasOwn(PT_STATUS, code) ? (PT_STATUS[code] as string) : 'UNKNOWN';
}

/** `RequestStateChange` return codes (CIM_EnabledLogicalElement), not PT_STATUS. */
export const REQUEST_STATE_CHANGE_RETURN_VALUES: Readonly<Record<number, string>> = Object.freeze({
  0: 'COMPLETED',
  1: 'NOT_SUPPORTED',
  2: 'UNKNOWN_ERROR',
  3: 'TIMEOUT',
  4: 'FAILED',
  5: 'INVALID_PARAMETER',
  6: 'IN_USE',
  4096: 'JOB_STARTED',
  4097: 'INVALID_STATE_TRANSITION',
  4098: 'TIMEOUT_PARAMETER_NOT_SUPPORTED',
  4099: 'BUSY',
});

/** `AddWiFiSettings` return codes (§10); PT_STATUS codes such as 0x813 may also come back. */
export const ADD_WIFI_SETTINGS_RETURN_VALUES: Readonly<Record<number, string>> = Object.freeze({
  0: 'COMPLETED',
  1: 'NOT_SUPPORTED',
  2: 'FAILED',
  3: 'INVALID_PARAMETER',
  4: 'INVALID_REFERENCE',
});

/** A method's own name for a return code if it has one, else the PT_STATUS name. */
export function returnValueName(code: number, names?: Readonly<Record<number, string>>): string {
  if (names && Object.hasOwn(names, code)) return names[code] as string;
  return ptStatusName(code);
}
