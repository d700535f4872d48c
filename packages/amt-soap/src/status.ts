/**
 * PT_STATUS codes: the `StatusCode` of every legacy SOAP answer (and the same numbers as WS-Man
 * `ReturnValue`s). Source: amt-protocol.md §6; codes marked (amttool) come from the table in
 * amtterm's amttool, (§10) from the WS-Man return values listed there.
 */
export const PT_STATUS: Readonly<Record<number, string>> = Object.freeze({
  0: 'SUCCESS',
  1: 'INTERNAL_ERROR',
  2: 'NOT_READY',
  3: 'INVALID_PT_MODE',
  4: 'INVALID_MESSAGE_LENGTH',
  12: 'INVALID_NAME', // (amttool)
  15: 'INVALID_BYTE_COUNT', // (amttool)
  16: 'NOT_PERMITTED',
  23: 'MAX_LIMIT_REACHED',
  24: 'INVALID_AUTH_TYPE', // (amttool)
  25: 'AUTHENTICATION_FAILED',
  26: 'INVALID_DHCP_MODE', // (amttool)
  27: 'INVALID_IP_ADDRESS', // (amttool)
  28: 'INVALID_DOMAIN_NAME',
  29: 'UNSUPPORTED_VERSION',
  32: 'INVALID_PROVISIONING_STATE',
  34: 'INVALID_TIME',
  35: 'INVALID_INDEX',
  36: 'INVALID_PARAMETER',
  37: 'INVALID_NETMASK', // (amttool)
  38: 'FLASH_WRITE_LIMIT_EXCEEDED', // (amttool, §10)
  42: 'INVALID_PID_FORMAT',
  43: 'INVALID_PPS_FORMAT',
  49: 'CERTIFICATE_NOT_READY',
  2048: 'NETWORK_IF_ERROR_BASE', // (amttool)
  2049: 'UNSUPPORTED_OEM_NUMBER', // (amttool)
  2050: 'UNSUPPORTED_BOOT_OPTION', // (amttool)
  2051: 'INVALID_COMMAND', // (amttool)
  2052: 'INVALID_SPECIAL_COMMAND', // (amttool)
  2053: 'INVALID_HANDLE',
  2054: 'INVALID_PASSWORD',
  2055: 'INVALID_REALM',
  2056: 'STORAGE_ACL_ENTRY_IN_USE', // (amttool)
  2057: 'DATA_MISSING',
  2058: 'DUPLICATE',
  2059: 'EVENTLOG_FROZEN', // (amttool)
  2060: 'PKI_MISSING_KEYS',
  2061: 'PKI_GENERATING_KEYS',
  2062: 'INVALID_KEY',
  2063: 'INVALID_CERT',
  2064: 'CERT_KEY_NOT_MATCH',
  2065: 'MAX_KERB_DOMAIN_REACHED',
  2066: 'UNSUPPORTED',
  2067: 'INVALID_PRIORITY', // (amttool, §10)
  2068: 'NOT_FOUND',
  2069: 'INVALID_CREDENTIALS',
  2070: 'INVALID_PASSPHRASE',
  2072: 'NO_ASSOCIATION', // (amttool)
  2075: 'AUDIT_FAIL', // 2075
  2076: 'BLOCKING_COMPONENT', // 2076 (§10, Unprovision)
});

/** The PT_STATUS name of a code (`INVALID_PASSWORD` for 0x806), or `UNKNOWN`. */
export function ptStatusName(code: number): string {
  return Object.hasOwn(PT_STATUS, code) ? (PT_STATUS[code] as string) : 'UNKNOWN';
}
