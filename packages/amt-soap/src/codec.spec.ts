import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordOf } from '../test/arbitraries.js';
import {
  buildSoapFault,
  buildSoapRequest,
  buildSoapResponse,
  parseSoapRequest,
  parseSoapResponse,
  soapAction,
} from './codec.js';
import {
  AmtSoapError,
  AmtSoapFaultError,
  AmtSoapInputError,
  AmtSoapParseError,
  AmtSoapStatusError,
} from './errors.js';
import { SOAP_SCHEMA, type SoapServiceName } from './schema.js';

const ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
const SAI = 'http://schemas.intel.com/platform/client/SecurityAdministration/2004/01';
const NET = 'http://schemas.intel.com/platform/client/NetworkAdministration/2004/01';

const allMethods = Object.entries(SOAP_SCHEMA).flatMap(([service, svc]) =>
  Object.entries(svc.methods).map(([method, shape]) => ({
    service: service as SoapServiceName,
    method,
    shape,
  })),
);

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/** The envelope SOAP::Lite 1.27 writes (as amttool sends it), with our own values. */
function soapLite(ns: string, method: string, inner?: string): string {
  const m =
    inner === undefined
      ? `<${method} xmlns="${ns}" xsi:nil="true" />`
      : `<${method} xmlns="${ns}">${inner}</${method}>`;
  return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope soap:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soap="${ENV}" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body>${m}</soap:Body></soap:Envelope>`;
}

describe('requests: buildSoapRequest ∘ parseSoapRequest', () => {
  it('is the identity on params for every method in the schema', () => {
    for (const { service, method, shape } of allMethods) {
      fc.assert(
        fc.property(recordOf(shape.input), (params) => {
          const xml = buildSoapRequest(service, method, params);
          const got = parseSoapRequest(xml, { path: SOAP_SCHEMA[service].path });
          expect(got).toEqual({ service, method, params, namespace: SOAP_SCHEMA[service].namespace });
        }),
        { numRuns: 25 },
      );
    }
  });

  it('writes the amttool shape: method element with the service namespace as default', () => {
    const xml = buildSoapRequest('NetworkAdministration', 'SetHostName', { HostName: 'a&b<c' });
    expect(xml).toContain(`<SetHostName xmlns="${NET}"><HostName>a&amp;b&lt;c</HostName></SetHostName>`);
    expect(xml).toContain(`<SOAP-ENV:Envelope xmlns:SOAP-ENV="${ENV}">`);
    expect(soapAction('NetworkAdministration', 'SetHostName')).toBe(`${NET}#SetHostName`);
  });

  it('accepts bytes for base64Binary params', () => {
    const xml = buildSoapRequest('SecurityAdministration', 'SetAdminAclEntryEx', {
      Username: 'admin',
      DigestPassword: new Uint8Array([0, 1, 2, 253, 254, 255]),
    });
    expect(parseSoapRequest(xml).params.DigestPassword).toBe('AAEC/f7/');
  });

  it('refuses bad params before building anything, naming the field but never the value', () => {
    const cases: [SoapServiceName, string, Record<string, unknown>, string][] = [
      ['NetworkAdministration', 'SetHostName', {}, 'HostName'],
      ['NetworkAdministration', 'SetHostName', { HostName: 7 }, 'HostName'],
      ['NetworkAdministration', 'SetHostName', { HostName: 'x', Extra: 1 }, 'Extra'],
      ['NetworkAdministration', 'SetHostName', { HostName: 'bad\u0000' }, 'HostName'],
      ['NetworkTime', 'SetHighAccuracyTimeSynch', { Ta0: -1, Tm1: 0, Tm2: 0 }, 'Ta0'],
      ['NetworkTime', 'SetHighAccuracyTimeSynch', { Ta0: 1.5, Tm1: 0, Tm2: 0 }, 'Ta0'],
      ['SecurityAdministration', 'SetTlsEnabled', { Enabled: 'true' }, 'Enabled'],
      ['SecurityAdministration', 'SetMEBxPassword', { Password: 'P@ss\u0001word' }, 'Password'],
      ['SecurityAdministration', 'SetTLSCertificate', { CertificateChain: [] }, 'CertificateChain'],
      [
        'SecurityAdministration',
        'SetTLSCertificate',
        { CertificateChain: ['not base64!'] },
        'CertificateChain[0]',
      ],
      [
        'NetworkAdministration',
        'SetInterfaceSettings',
        { InterfaceHandle: 0, InterfaceDescriptor: { InterfaceMode: 'SHARED_MAC_ADDRESS', LinkPolicy: 256 } },
        'InterfaceDescriptor.LinkPolicy',
      ],
    ];
    for (const [service, method, params, field] of cases) {
      const e = caught(() => buildSoapRequest(service, method, params));
      expect(e, `${method} ${field}`).toBeInstanceOf(AmtSoapInputError);
      expect((e as AmtSoapInputError).code).toBe('SOAP_INVALID_PARAMS');
      expect((e as AmtSoapInputError).field).toBe(field);
      expect((e as Error).message).not.toContain('P@ss');
    }
    const unknown = caught(() => buildSoapRequest('NetworkAdministration', 'FormatDisk'));
    expect((unknown as AmtSoapInputError).code).toBe('SOAP_UNKNOWN_METHOD');
  });
});

describe('parseSoapRequest: tolerant of other clients', () => {
  it('reads SOAP::Lite envelopes (amttool), with xsi:nil on an empty method', () => {
    const r = parseSoapRequest(soapLite(SAI, 'GetCoreVersion'), {
      path: '/SecurityAdministrationService',
      soapAction: `"${SAI}#GetCoreVersion"`,
    });
    expect(r).toEqual({
      service: 'SecurityAdministration',
      method: 'GetCoreVersion',
      params: {},
      namespace: SAI,
    });
  });

  it('reads nested structs and xsi:type attributes', () => {
    const inner =
      '<InterfaceHandle xsi:type="xsd:int">1</InterfaceHandle><InterfaceDescriptor><InterfaceMode>SEPARATE_MAC_ADDRESS</InterfaceMode>' +
      '<LinkPolicy>31</LinkPolicy><IPv4Parameters><LocalAddress>167772165</LocalAddress><SubnetMask>4294967040</SubnetMask>' +
      '<DefaultGatewayAddress>167772161</DefaultGatewayAddress><PrimaryDnsAddress>167772161</PrimaryDnsAddress>' +
      '<SecondaryDnsAddress>0</SecondaryDnsAddress></IPv4Parameters></InterfaceDescriptor>';
    const r = parseSoapRequest(soapLite(NET, 'SetInterfaceSettings', inner), {
      path: '/NetworkAdministrationService',
    });
    expect(r.params).toEqual({
      InterfaceHandle: 1,
      InterfaceDescriptor: {
        InterfaceMode: 'SEPARATE_MAC_ADDRESS',
        LinkPolicy: 31,
        IPv4Parameters: {
          LocalAddress: 0x0a000005,
          SubnetMask: 0xffffff00,
          DefaultGatewayAddress: 0x0a000001,
          PrimaryDnsAddress: 0x0a000001,
          SecondaryDnsAddress: 0,
        },
      },
    });
  });

  it('reads an old SOAP::Lite style: prefixed method element, unqualified children', () => {
    const xml = `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${ENV}"><SOAP-ENV:Body><namesp1:SetDomainName xmlns:namesp1="${NET}"><DomainName xsi:type="xsd:string" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">corp.test</DomainName></namesp1:SetDomainName></SOAP-ENV:Body></SOAP-ENV:Envelope>`;
    expect(parseSoapRequest(xml).params).toEqual({ DomainName: 'corp.test' });
  });

  it('takes the service from the path, then SOAPAction, when the method element has no namespace', () => {
    const bare = `<e:Envelope xmlns:e="${ENV}"><e:Body><GetHostName/></e:Body></e:Envelope>`;
    expect(parseSoapRequest(bare, { path: '/NetworkAdministrationService' })).toMatchObject({
      service: 'NetworkAdministration',
      namespace: NET,
    });
    expect(parseSoapRequest(bare, { soapAction: `${NET}#GetHostName` }).service).toBe(
      'NetworkAdministration',
    );
    expect((caught(() => parseSoapRequest(bare)) as AmtSoapParseError).reason).toBe('namespace');
  });

  it('returns strings for methods the schema does not know', () => {
    const hw = 'http://schemas.intel.com/platform/client/HardwareAsset/2004/01';
    const r = parseSoapRequest(
      soapLite(hw, 'GetAssetData', '<AssetType>2</AssetType><X><Y>1</Y><Y>2</Y></X>'),
    );
    expect(r).toEqual({
      service: 'HardwareAsset',
      method: 'GetAssetData',
      params: { AssetType: '2', X: { Y: ['1', '2'] } },
      namespace: hw,
    });
  });

  it('keeps hostile element names from touching prototypes', () => {
    const hw = 'http://schemas.intel.com/platform/client/HardwareAsset/2004/01';
    // The XML reader refuses __proto__/constructor/prototype tags: a typed error, nothing set.
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const e = caught(() =>
        parseSoapRequest(soapLite(hw, 'M', `<${name}><polluted>1</polluted></${name}>`)),
      );
      expect(e, name).toBeInstanceOf(AmtSoapParseError);
    }
    // Other Object.prototype names come back as ordinary own keys, spelled as sent (not renamed
    // to `__toString` as fast-xml-parser does by default), prefixed or not.
    const r = parseSoapRequest(soapLite(hw, 'M', '<toString>y</toString><hasOwnProperty>z</hasOwnProperty>'));
    expect(r.params).toEqual({ toString: 'y', hasOwnProperty: 'z' });
    expect(Object.getPrototypeOf(r.params)).toBe(Object.prototype);
    const prefixed = parseSoapRequest(
      soapLite(hw, 'M', `<h:toString xmlns:h="${hw}">y</h:toString><hasOwnProperty>z</hasOwnProperty>`),
    );
    expect(prefixed.params).toEqual(r.params);
    expect(parseSoapRequest(soapLite(hw, 'valueOf', '')).method).toBe('valueOf');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('collects 100,000 repeated unknown elements in order (once quadratic: minutes)', () => {
    const hw = 'http://schemas.intel.com/platform/client/HardwareAsset/2004/01';
    const n = 100_000;
    const inner = Array.from({ length: n }, (_, i) => `<Item>${i}</Item>`).join('');
    const items = parseSoapRequest(soapLite(hw, 'M', `<List>${inner}</List>`)).params.List as {
      Item: string[];
    };
    expect(items.Item).toHaveLength(n);
    expect(items.Item[0]).toBe('0');
    expect(items.Item[n - 1]).toBe(String(n - 1));
  });

  it('accepts SOAP-encoded arrays for repeated fields', () => {
    const inner =
      '<AccessPermission>2</AccessPermission><Realms soapenc:arrayType="xsd:int[2]"><item>3</item><item>5</item></Realms>';
    expect(parseSoapRequest(soapLite(SAI, 'AddUserAclEntryEx', inner)).params).toEqual({
      AccessPermission: 2,
      Realms: [3, 5],
    });
  });

  it('refuses what a server cannot answer, with typed reasons', () => {
    const cases: [string, string, { path?: string }?][] = [
      [soapLite(NET, 'GetHostName'), 'namespace', { path: '/SecurityAdministrationService' }],
      [soapLite('urn:other', 'GetHostName'), 'namespace'],
      [soapLite(NET, 'SetHostName', ''), 'params'],
      [soapLite(NET, 'SetHostName', '<HostName>a</HostName><HostName>b</HostName>'), 'params'],
      [soapLite(NET, 'GetInterfaceSettings', '<InterfaceHandle>x</InterfaceHandle>'), 'value'],
      [soapLite(NET, 'SetHostName', '<o:HostName xmlns:o="urn:o">a</o:HostName>'), 'namespace'],
      [`<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body/></Envelope>`, 'envelope'],
      [`<e:Envelope xmlns:e="${ENV}"/>`, 'envelope'],
      [`<e:Envelope xmlns:e="${ENV}"><e:Body/></e:Envelope>`, 'element'],
      [soapLite(NET, 'GetHostName').slice(0, 200), 'xml'],
    ];
    for (const [xml, why, opts] of cases) {
      const e = caught(() => parseSoapRequest(xml, opts));
      expect(e, why).toBeInstanceOf(AmtSoapParseError);
      expect((e as AmtSoapParseError).reason, xml).toBe(why);
    }
  });
});

describe('responses: buildSoapResponse ∘ parseSoapResponse', () => {
  it('is the identity on outputs for every method in the schema', () => {
    for (const { service, method, shape } of allMethods) {
      fc.assert(
        fc.property(recordOf(shape.output), (output) => {
          const xml = buildSoapResponse({ service, method }, 0, output);
          expect(parseSoapResponse(xml, service, method)).toEqual(output);
        }),
        { numRuns: 25 },
      );
    }
  });

  it('writes StatusCode first, then outputs in schema order, with a prefix (real AMT style)', () => {
    const xml = buildSoapResponse({ service: 'RemoteControl', method: 'GetRemoteControlCapabilities' }, 0, {
      SystemFirmwareCapabilities: 5,
      IanaOemNumber: 343,
      OemDefinedCapabilities: 3,
      SpecialCommandsSupported: 7936,
      SystemCapabilitiesSupported: 15,
    });
    expect(xml).toMatch(
      /<rci:GetRemoteControlCapabilitiesResponse><rci:StatusCode>0<\/rci:StatusCode><rci:IanaOemNumber>343<\/rci:IanaOemNumber><rci:OemDefinedCapabilities>3<\/rci:OemDefinedCapabilities><rci:SpecialCommandsSupported>7936<\/rci:SpecialCommandsSupported><rci:SystemCapabilitiesSupported>15<\/rci:SystemCapabilitiesSupported><rci:SystemFirmwareCapabilities>5</,
    );
  });

  it('answers an error status without outputs, and the client maps it to its PT_STATUS name', () => {
    const xml = buildSoapResponse({ service: 'SecurityAdministration', method: 'SetMEBxPassword' }, 0x806);
    const e = caught(() => parseSoapResponse(xml, 'SecurityAdministration', 'SetMEBxPassword'));
    expect(e).toBeInstanceOf(AmtSoapStatusError);
    expect(e).toMatchObject({ statusCode: 0x806, statusName: 'INVALID_PASSWORD', method: 'SetMEBxPassword' });
  });

  it('requires every output with StatusCode 0 and refuses foreign keys', () => {
    const ref = { service: 'NetworkAdministration', method: 'GetHostName' };
    expect((caught(() => buildSoapResponse(ref, 0, {})) as AmtSoapInputError).field).toBe('HostName');
    expect(
      (caught(() => buildSoapResponse(ref, 0, { HostName: 'a', X: 1 })) as AmtSoapInputError).field,
    ).toBe('X');
    expect(caught(() => buildSoapResponse(ref, -1))).toBeInstanceOf(AmtSoapInputError);
  });

  it('answers generic outputs for methods outside the schema', () => {
    const xml = buildSoapResponse({ service: 'HardwareAsset', method: 'GetAssetData' }, 0, {
      Count: 2,
      Name: 'a<b',
    });
    const r = parseSoapRequest(
      xml.replace('GetAssetDataResponse', 'GetAssetData').replace('GetAssetDataResponse', 'GetAssetData'),
    );
    expect(r.params).toEqual({ StatusCode: '0', Count: '2', Name: 'a<b' });
  });

  it('refuses a cyclic or very deep generic output with AmtSoapInputError, not a stack overflow', () => {
    const cyclic: Record<string, unknown> = { A: {} };
    (cyclic.A as Record<string, unknown>).B = cyclic;
    let deep: unknown = 'v';
    for (let i = 0; i < 40; i++) deep = { N: deep };
    for (const output of [cyclic, { D: deep }]) {
      expect(() =>
        buildSoapResponse({ service: 'HardwareAsset', method: 'GetAssetData' }, 0, output),
      ).toThrow(AmtSoapInputError);
    }
  });

  it('reads prefix-free, unqualified and chunk-agnostic answers alike', () => {
    const variants = [
      `<Envelope xmlns="${ENV}"><Body><GetHostNameResponse xmlns="${NET}"><StatusCode>0</StatusCode><HostName>h</HostName></GetHostNameResponse></Body></Envelope>`,
      `<a:Envelope xmlns:a="${ENV}" xmlns:g="${NET}"><a:Header/><a:Body><g:GetHostNameResponse><StatusCode> 0 </StatusCode><HostName>h</HostName></g:GetHostNameResponse></a:Body></a:Envelope>`,
    ];
    for (const v of variants)
      expect(parseSoapResponse(v, 'NetworkAdministration', 'GetHostName')).toEqual({ HostName: 'h' });
  });

  it('gives typed errors for malformed answers', () => {
    const ok = buildSoapResponse({ service: 'NetworkAdministration', method: 'GetHostName' }, 0, {
      HostName: 'h',
    });
    const cases: [string, string][] = [
      [ok.replace(/<net:StatusCode>0<\/net:StatusCode>/, ''), 'status'],
      [ok.replace('>0<', '>zero<'), 'status'],
      [ok.replace('>0<', '>-5<'), 'status'],
      [
        ok.replace(
          /<net:StatusCode>0<\/net:StatusCode>/,
          '<net:StatusCode>0</net:StatusCode><net:StatusCode>0</net:StatusCode>',
        ),
        'status',
      ],
      [ok.replace(NET, 'http://schemas.intel.com/platform/client/GeneralInfo/2004/01'), 'namespace'],
      [
        ok
          .replace('GetHostNameResponse', 'GetDomainNameResponse')
          .replace('GetHostNameResponse', 'GetDomainNameResponse'),
        'element',
      ],
      [ok.replace(/<net:HostName>h<\/net:HostName>/, ''), 'params'],
      [ok.slice(0, ok.length - 20), 'xml'],
      ['', 'xml'],
      ['<html><body>404</body></html>', 'envelope'],
    ];
    for (const [xml, why] of cases) {
      const e = caught(() => parseSoapResponse(xml, 'NetworkAdministration', 'GetHostName'));
      expect(e, why).toBeInstanceOf(AmtSoapParseError);
      expect((e as AmtSoapParseError).reason, xml).toBe(why);
    }
  });

  it('keeps answer elements the table does not know, untyped', () => {
    const xml = `<e:Envelope xmlns:e="${ENV}"><e:Body><GetHostNameResponse xmlns="${NET}"><StatusCode>0</StatusCode><HostName>h</HostName><Fqdn>h.x</Fqdn></GetHostNameResponse></e:Body></e:Envelope>`;
    expect(parseSoapResponse(xml, 'NetworkAdministration', 'GetHostName')).toEqual({
      HostName: 'h',
      Fqdn: 'h.x',
    });
  });

  it('throws nothing but AmtSoapError on random or mutated answers', () => {
    const base = buildSoapResponse({ service: 'NetworkAdministration', method: 'GetInterfaceSettings' }, 0, {
      InterfaceDescriptor: {
        HardwareAddressDescription: 'x',
        MACAddress: '00-11',
        InterfaceMode: 'SHARED_MAC_ADDRESS',
        LinkPolicy: 1,
        DhcpEnabled: true,
        IPv4Parameters: {
          LocalAddress: 1,
          SubnetMask: 2,
          DefaultGatewayAddress: 3,
          PrimaryDnsAddress: 4,
          SecondaryDnsAddress: 5,
        },
      },
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 100 }),
          fc.uint8Array({ maxLength: 100 }),
          fc
            .tuple(fc.nat(base.length), fc.nat(40), fc.string({ maxLength: 6 }))
            .map(([i, n, ins]) => base.slice(0, i) + ins + base.slice(i + n)),
        ),
        (input) => {
          try {
            parseSoapResponse(input, 'NetworkAdministration', 'GetInterfaceSettings');
            parseSoapRequest(input);
          } catch (e) {
            expect(e).toBeInstanceOf(AmtSoapError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('faults', () => {
  it('builds a SOAP 1.1 fault the client reads back', () => {
    const xml = buildSoapFault('Client', 'bad <input>', 'detail & more');
    expect(xml).toContain('<faultcode>SOAP-ENV:Client</faultcode>');
    const e = caught(() => parseSoapResponse(xml, 'NetworkAdministration', 'GetHostName', 500));
    expect(e).toBeInstanceOf(AmtSoapFaultError);
    expect(e).toMatchObject({
      faultCode: 'SOAP-ENV:Client',
      faultString: 'bad <input>',
      detail: 'detail & more',
      httpStatus: 500,
    });
    expect(buildSoapFault('SOAP-ENV:Server', 'x')).toContain('<faultcode>SOAP-ENV:Server</faultcode>');
  });

  it('replaces characters XML cannot carry instead of writing a broken fault', () => {
    const xml = buildSoapFault('Server', 'nul\u0000here');
    expect(caught(() => parseSoapResponse(xml, 'NetworkAdministration', 'GetHostName'))).toMatchObject({
      faultString: 'nul\ufffdhere',
    });
  });
});
