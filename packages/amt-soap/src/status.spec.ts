import { describe, expect, it } from 'vitest';
import { PT_STATUS, ptStatusName } from './status.js';

describe('PT_STATUS', () => {
  // amt-protocol.md §6, written out here so a typo in the table shows up.
  const doc: [number, string][] = [
    [0x0, 'SUCCESS'],
    [0x1, 'INTERNAL_ERROR'],
    [0x2, 'NOT_READY'],
    [0x3, 'INVALID_PT_MODE'],
    [0x4, 'INVALID_MESSAGE_LENGTH'],
    [0x10, 'NOT_PERMITTED'],
    [0x17, 'MAX_LIMIT_REACHED'],
    [0x19, 'AUTHENTICATION_FAILED'],
    [0x1c, 'INVALID_DOMAIN_NAME'],
    [0x1d, 'UNSUPPORTED_VERSION'],
    [0x20, 'INVALID_PROVISIONING_STATE'],
    [0x22, 'INVALID_TIME'],
    [0x23, 'INVALID_INDEX'],
    [0x24, 'INVALID_PARAMETER'],
    [0x2a, 'INVALID_PID_FORMAT'],
    [0x2b, 'INVALID_PPS_FORMAT'],
    [0x31, 'CERTIFICATE_NOT_READY'],
    [0x805, 'INVALID_HANDLE'],
    [0x806, 'INVALID_PASSWORD'],
    [0x807, 'INVALID_REALM'],
    [0x809, 'DATA_MISSING'],
    [0x80a, 'DUPLICATE'],
    [0x80c, 'PKI_MISSING_KEYS'],
    [0x80d, 'PKI_GENERATING_KEYS'],
    [0x80e, 'INVALID_KEY'],
    [0x80f, 'INVALID_CERT'],
    [0x810, 'CERT_KEY_NOT_MATCH'],
    [0x811, 'MAX_KERB_DOMAIN_REACHED'],
    [0x812, 'UNSUPPORTED'],
    [0x814, 'NOT_FOUND'],
    [0x815, 'INVALID_CREDENTIALS'],
    [0x816, 'INVALID_PASSPHRASE'],
  ];

  it('holds every code of amt-protocol.md §6 under its name', () => {
    for (const [code, name] of doc) expect(ptStatusName(code), `0x${code.toString(16)}`).toBe(name);
  });

  it('names are unique, upper snake case, and the table is frozen', () => {
    const names = Object.values(PT_STATUS);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[A-Z][A-Z0-9_]*$/);
    expect(Object.isFrozen(PT_STATUS)).toBe(true);
  });

  it('answers UNKNOWN for codes outside the table, including inherited keys', () => {
    expect(ptStatusName(0x7fff)).toBe('UNKNOWN');
    expect(ptStatusName(-1)).toBe('UNKNOWN');
    expect(ptStatusName(Number.NaN)).toBe('UNKNOWN');
  });
});
