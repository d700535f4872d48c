import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLASS_SCHEMAS, GENERAL_SETTINGS, invokeMethod } from './classes/index.js';
import type { WsmanClient } from './client.js';
import { WsmanInvalidArgumentError, WsmanParseError } from './errors.js';
import { PT_STATUS, ptStatusName, REQUEST_STATE_CHANGE_RETURN_VALUES, returnValueName } from './pt-status.js';
import { decodeProperties, orderProperties } from './schema.js';
import type { WsmanItem } from './values.js';

describe('decodeProperties', () => {
  const kinds = {
    N: 'number',
    B: 'boolean',
    S: 'string',
    L: 'number[]',
    E: 'epr',
    I: 'item',
  } as const;

  it('types values by kind and keeps unknown properties as parsed', () => {
    const epr = { address: 'a', resourceUri: 'u', selectors: {} };
    const out = decodeProperties(kinds, {
      N: ' 42 ',
      B: 'TRUE',
      S: ' keep ',
      L: ['1', '2'],
      E: epr,
      I: { X: 'y' },
      Extra: ['a', 'b'],
    });
    expect(out).toEqual({ N: 42, B: true, S: ' keep ', L: [1, 2], E: epr, I: { X: 'y' }, Extra: ['a', 'b'] });
  });

  it('wraps a single value of an array kind, drops empty scalars', () => {
    expect(decodeProperties(kinds, { L: '7', N: '', B: '', E: '' })).toEqual({ L: [7] });
    expect(decodeProperties(kinds, { B: '0' })).toEqual({ B: false });
  });

  it('refuses values that do not fit their kind, naming the property, not the value', () => {
    const bad: WsmanItem[] = [
      { N: 'twelve' },
      { B: 'yes' },
      { N: ['1', '2'] },
      { E: 'text' },
      { S: { X: 'y' } },
      { L: ['1', 'x'] },
    ];
    for (const item of bad) {
      try {
        decodeProperties(kinds, item, 'AMT_X');
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(WsmanParseError);
        expect((err as Error).message).toMatch(/^AMT_X\.[A-Z]: expected/);
        expect((err as Error).message).not.toMatch(/twelve|yes/);
      }
    }
  });

  it('numbers round-trip through their text', () => {
    fc.assert(
      fc.property(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), (i, d) => {
        expect(decodeProperties<{ N: number }>(kinds, { N: String(i) }).N).toBe(i);
        expect(decodeProperties<{ N: number }>(kinds, { N: String(d) }).N).toBe(d === 0 ? 0 : d);
      }),
    );
  });
});

describe('orderProperties', () => {
  it('puts schema properties first, in schema order, then the rest; drops undefined', () => {
    const out = orderProperties(
      { A: 'string', B: 'string', C: 'string' },
      { Z: 1, C: 3, A: 1, B: undefined },
    );
    expect(Object.keys(out)).toEqual(['A', 'C', 'Z']);
  });
});

describe('class schemas', () => {
  it('cover every class of the §5 table with its resource URI', () => {
    expect(Object.keys(CLASS_SCHEMAS).sort()).toEqual(
      [
        'AMT_GeneralSettings',
        'AMT_TimeSynchronizationService',
        'AMT_PublicKeyManagementService',
        'AMT_PublicKeyCertificate',
        'AMT_PublicPrivateKeyPair',
        'AMT_TLSSettingData',
        'AMT_TLSCredentialContext',
        'AMT_AuthorizationService',
        'AMT_SetupAndConfigurationService',
        'AMT_RedirectionService',
        'AMT_WebUIService',
        'AMT_KerberosSettingData',
        'AMT_SystemPowerScheme',
        'AMT_WiFiPortConfigurationService',
        'CIM_WiFiEndpointSettings',
        'CIM_WiFiPort',
        'AMT_8021XProfile',
        'IPS_IEEE8021xSettings',
        'CIM_SoftwareIdentity',
        'CIM_ElementSettingData',
        'CIM_CredentialContext',
        'IPS_HostBasedSetupService',
      ].sort(),
    );
    for (const s of Object.values(CLASS_SCHEMAS)) {
      const base = s.className.startsWith('CIM_')
        ? 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/'
        : s.className.startsWith('IPS_')
          ? 'http://intel.com/wbem/wscim/1/ips-schema/1/'
          : 'http://intel.com/wbem/wscim/1/amt-schema/1/';
      expect(s.resourceUri).toBe(base + s.className);
      for (const k of s.keys) expect(Object.keys(s.properties)).toContain(k);
    }
  });
});

describe('PT_STATUS', () => {
  it('names the codes of amt-protocol.md §6', () => {
    const expected: Record<number, string> = {
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
      2068: 'NOT_FOUND',
      2069: 'INVALID_CREDENTIALS',
      2070: 'INVALID_PASSPHRASE',
    };
    for (const [code, name] of Object.entries(expected)) {
      expect(PT_STATUS[Number(code)]).toBe(name);
      expect(ptStatusName(Number(code))).toBe(name);
    }
    expect(ptStatusName(38)).toBe('FLASH_WRITE_LIMIT_EXCEEDED');
    expect(ptStatusName(0x813)).toBe('INVALID_PRIORITY');
    expect(ptStatusName(2076)).toBe('BLOCKING_COMPONENT');
    expect(ptStatusName(0xdead)).toBe('UNKNOWN');
    expect(ptStatusName(Number.NaN)).toBe('UNKNOWN');
  });

  it('prefers a method table over PT_STATUS', () => {
    expect(returnValueName(1, REQUEST_STATE_CHANGE_RETURN_VALUES)).toBe('NOT_SUPPORTED');
    expect(returnValueName(1)).toBe('INTERNAL_ERROR');
    expect(returnValueName(0x813, REQUEST_STATE_CHANGE_RETURN_VALUES)).toBe('INVALID_PRIORITY');
  });
});

describe('hostile values and names', () => {
  it('refuses a number too large for a double instead of returning Infinity', () => {
    for (const v of ['1e400', '-1e400']) {
      expect(() => decodeProperties({ N: 'number' }, { N: v })).toThrow(WsmanParseError);
    }
    expect(decodeProperties({ N: 'number' }, { N: '1e308' })).toEqual({ N: 1e308 });
  });

  it('keeps an own `__proto__` key as a key, never as the prototype', () => {
    const item = JSON.parse('{"__proto__": {"Injected": "x"}, "A": "1"}') as WsmanItem;
    for (const out of [
      decodeProperties<Record<string, unknown>>({}, item),
      orderProperties({ A: 'string' }, item),
    ]) {
      expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
      expect(Object.keys(out).sort()).toEqual(['A', '__proto__']);
      expect(out.Injected).toBeUndefined();
    }
  });

  it('finds no class or method for a name that is an Object.prototype member', () => {
    for (const n of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(CLASS_SCHEMAS[n]).toBeUndefined();
      for (const schema of Object.values(CLASS_SCHEMAS)) expect(schema.methods[n]).toBeUndefined();
    }
  });

  it('invokeMethod refuses a method name that is an Object.prototype member before sending', async () => {
    const client = {} as WsmanClient; // never reached: the name is refused first
    await expect(invokeMethod(client, GENERAL_SETTINGS, 'toString', {})).rejects.toThrow(
      WsmanInvalidArgumentError,
    );
  });
});
