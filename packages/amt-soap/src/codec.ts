import { AmtSoapFaultError, AmtSoapInputError, AmtSoapParseError, AmtSoapStatusError } from './errors.js';
import {
  type SoapField,
  type SoapMethodShape,
  type SoapScalarType,
  type SoapServiceName,
  type SoapValueType,
  soapMethodShape,
  soapNamespace,
  soapServiceShape,
} from './schema.js';
import { ptStatusName } from './status.js';
import { escapeXml, isNil, isXmlSafe, parseXmlDocument, SOAP_ENVELOPE_NS, type XmlElement } from './xml.js';

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>';
const ENV_OPEN = `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${SOAP_ENVELOPE_NS}"`;
const NS_PATTERN = /^http:\/\/schemas\.intel\.com\/platform\/client\/([A-Za-z][A-Za-z0-9]*)\/\d{4}\/\d{2}$/;
const PATH_PATTERN = /^\/([A-Za-z][A-Za-z0-9]*)Service\/?(?:[?#].*)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const INTEGER = /^[+-]?[0-9]+$/;

const RANGES: Readonly<Record<string, readonly [number, number]>> = {
  int: [-0x80000000, 0x7fffffff],
  unsignedInt: [0, 0xffffffff],
  unsignedShort: [0, 0xffff],
  unsignedByte: [0, 0xff],
};

/** `SOAPAction` value (unquoted) for a method: `<namespace>#<Method>`. */
export function soapAction(service: SoapServiceName, method: string): string {
  return `${soapServiceShape(service)?.namespace ?? soapNamespace(service)}#${method}`;
}

// ---------------------------------------------------------------------------------------------
// encoding (values → XML)

type Fail = (message: string, field: string) => never;

function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty keeps a `__proto__` element name an ordinary own key.
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function encodeScalar(type: SoapScalarType, v: unknown, path: string, fail: Fail): string {
  switch (type) {
    case 'string':
      if (typeof v !== 'string') return fail('expected a string', path);
      if (!isXmlSafe(v)) return fail('holds a character XML cannot carry', path);
      return escapeXml(v);
    case 'boolean':
      if (typeof v !== 'boolean') return fail('expected a boolean', path);
      return v ? 'true' : 'false';
    case 'base64Binary':
      if (v instanceof Uint8Array)
        return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
      if (typeof v !== 'string' || !BASE64.test(v)) return fail('expected base64 text or bytes', path);
      return v;
    default: {
      const [lo, hi] = RANGES[type] as readonly [number, number];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
        return fail(`expected an integer in [${lo}, ${hi}] (${type})`, path);
      }
      return String(v);
    }
  }
}

function encodeValue(
  type: SoapValueType,
  v: unknown,
  name: string,
  path: string,
  p: string,
  fail: Fail,
): string {
  if (typeof type === 'string') return `<${p}${name}>${encodeScalar(type, v, path, fail)}</${p}${name}>`;
  if (!isRecord(v)) return fail(`expected an object (${type.name})`, path);
  return `<${p}${name}>${encodeFields(type.fields, v, path, p, true, fail)}</${p}${name}>`;
}

function encodeFields(
  fields: readonly SoapField[],
  values: Record<string, unknown>,
  base: string,
  p: string,
  requireAll: boolean,
  fail: Fail,
): string {
  for (const k of Object.keys(values)) {
    if (values[k] !== undefined && !fields.some((fd) => fd.name === k)) {
      fail('is not a parameter of this shape', base ? `${base}.${k}` : k);
    }
  }
  let out = '';
  for (const fd of fields) {
    const path = base ? `${base}.${fd.name}` : fd.name;
    const v = Object.hasOwn(values, fd.name) ? values[fd.name] : undefined;
    if (v === undefined || v === null) {
      if (requireAll && !fd.optional) fail('is required', path);
      continue;
    }
    if (fd.repeated) {
      if (!Array.isArray(v)) fail('expected an array', path);
      const items = v as unknown[];
      if (items.length === 0 && requireAll && !fd.optional) fail('needs at least one item', path);
      items.forEach((item, i) => {
        out += encodeValue(fd.type, item, fd.name, `${path}[${i}]`, p, fail);
      });
    } else {
      out += encodeValue(fd.type, v, fd.name, path, p, fail);
    }
  }
  return out;
}

// Generic outputs nest as deep as the caller's objects: a cycle must not overflow the stack.
const MAX_GENERIC_DEPTH = 32;

function encodeGeneric(
  values: Record<string, unknown>,
  p: string,
  base: string,
  fail: Fail,
  depth = 0,
): string {
  let out = '';
  for (const [name, v] of Object.entries(values)) {
    const path = base ? `${base}.${name}` : name;
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) fail('is not a valid element name', path);
    if (depth >= MAX_GENERIC_DEPTH) fail(`nests deeper than ${MAX_GENERIC_DEPTH} levels`, path);
    for (const item of Array.isArray(v) ? v : [v]) {
      if (item === undefined || item === null) continue;
      if (isRecord(item)) {
        out += `<${p}${name}>${encodeGeneric(item, p, path, fail, depth + 1)}</${p}${name}>`;
      } else if (item instanceof Uint8Array) {
        out += `<${p}${name}>${encodeScalar('base64Binary', item, path, fail)}</${p}${name}>`;
      } else if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') {
        const s = String(item);
        if (!isXmlSafe(s)) fail('holds a character XML cannot carry', path);
        out += `<${p}${name}>${escapeXml(s)}</${p}${name}>`;
      } else {
        fail('has an unsupported value type', path);
      }
    }
  }
  return out;
}

function inputFailer(code: 'SOAP_INVALID_PARAMS', service: string, method: string): Fail {
  // Field names only, never values: params can be passwords and keys.
  return (message, field) => {
    throw new AmtSoapInputError(code, service, method, `${service}.${method}: ${field} ${message}`, field);
  };
}

function requireShape(service: string, method: string): SoapMethodShape {
  const shape = soapMethodShape(service, method);
  if (shape === undefined) {
    throw new AmtSoapInputError(
      'SOAP_UNKNOWN_METHOD',
      service,
      method,
      `${service}.${method} is not in SOAP_SCHEMA`,
    );
  }
  return shape;
}

/**
 * Builds a request envelope the way amttool (SOAP::Lite) and Intel's tools shape it: the method
 * element declares the service namespace as default, so its children are qualified by it.
 * Bad params throw AmtSoapInputError before anything is built.
 */
export function buildSoapRequest(
  service: SoapServiceName,
  method: string,
  params: Record<string, unknown> = {},
): string {
  const shape = requireShape(service, method);
  const ns = (soapServiceShape(service) as { namespace: string }).namespace;
  const body = encodeFields(
    shape.input,
    params,
    '',
    '',
    true,
    inputFailer('SOAP_INVALID_PARAMS', service, method),
  );
  return `${XML_DECL}${ENV_OPEN}><SOAP-ENV:Body><${method} xmlns="${escapeXml(ns)}">${body}</${method}></SOAP-ENV:Body></SOAP-ENV:Envelope>`;
}

/** What `buildSoapResponse` needs to know about the request it answers. */
export interface SoapRequestRef {
  service: string;
  method: string;
  /** The request's namespace; defaults to the schema's (or the derived) namespace of `service`. */
  namespace?: string;
}

/**
 * Builds an answer: `<MethodResponse>` with `StatusCode` first (SOAP::Lite clients such as
 * amttool read it as the result and the rest as output params), then `output` in schema order.
 * With StatusCode 0 every required output must be given; with an error status, none need be.
 */
export function buildSoapResponse(
  req: SoapRequestRef,
  statusCode: number,
  output: Record<string, unknown> = {},
): string {
  const fail = inputFailer('SOAP_INVALID_PARAMS', req.service, req.method);
  if (!Number.isInteger(statusCode) || statusCode < 0 || statusCode > 0xffffffff) {
    fail('must be an integer in [0, 2^32-1]', 'StatusCode');
  }
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(req.method)) fail('is not a valid element name', 'method');
  const svc = soapServiceShape(req.service);
  const ns = req.namespace ?? svc?.namespace ?? soapNamespace(req.service);
  const p = `${svc?.prefix ?? 'amt'}:`;
  const shape = soapMethodShape(req.service, req.method);
  const body =
    shape === undefined
      ? encodeGeneric(output, p, '', fail)
      : encodeFields(shape.output, output, '', p, statusCode === 0, fail);
  const tag = `${p}${req.method}Response`;
  return `${XML_DECL}${ENV_OPEN} xmlns:${p.slice(0, -1)}="${escapeXml(ns)}"><SOAP-ENV:Body><${tag}><${p}StatusCode>${statusCode}</${p}StatusCode>${body}</${tag}></SOAP-ENV:Body></SOAP-ENV:Envelope>`;
}

/**
 * Builds a SOAP 1.1 fault. A bare `faultCode` (`Client`, `Server`, `VersionMismatch`,
 * `MustUnderstand`) gets the envelope prefix; a prefixed one is written as given.
 */
export function buildSoapFault(faultCode: string, faultString: string, detail?: string): string {
  const code = faultCode.includes(':') ? faultCode : `SOAP-ENV:${faultCode}`;
  const safe = (s: string) =>
    escapeXml(
      isXmlSafe(s) ? s : s.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD'),
    );
  const det = detail === undefined ? '' : `<detail>${safe(detail)}</detail>`;
  return `${XML_DECL}${ENV_OPEN}><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>${safe(code)}</faultcode><faultstring>${safe(faultString)}</faultstring>${det}</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>`;
}

// ---------------------------------------------------------------------------------------------
// decoding (XML → values)

function parseFail(reason: 'value' | 'params' | 'namespace'): Fail {
  return (message, path) => {
    throw new AmtSoapParseError(reason, `${path} ${message}`, { path });
  };
}

function decodeScalar(type: SoapScalarType, text: string, path: string): unknown {
  switch (type) {
    case 'string':
      return text;
    case 'boolean': {
      const t = text.trim();
      if (t === 'true' || t === '1') return true;
      if (t === 'false' || t === '0') return false;
      return parseFail('value')('is not an xsd:boolean', path);
    }
    case 'base64Binary': {
      const t = text.replace(/[\t\n\r ]+/g, '');
      if (!BASE64.test(t)) return parseFail('value')('is not base64', path);
      return t;
    }
    default: {
      const t = text.trim();
      const [lo, hi] = RANGES[type] as readonly [number, number];
      const n = INTEGER.test(t) ? Number(t) : Number.NaN;
      if (!(n >= lo && n <= hi)) return parseFail('value')(`is not an xsd:${type}`, path);
      return n === 0 ? 0 : n; // never -0
    }
  }
}

function decodeValue(
  type: SoapValueType,
  el: XmlElement,
  path: string,
  nsOk: (ns: string) => boolean,
): unknown {
  if (typeof type === 'string') return decodeScalar(type, el.text, path);
  return decodeFields(type.fields, el, path, nsOk, true);
}

function decodeFields(
  fields: readonly SoapField[],
  el: XmlElement,
  base: string,
  nsOk: (ns: string) => boolean,
  strict: boolean,
): Record<string, unknown> {
  const groups = new Map<string, XmlElement[]>();
  for (const c of el.children) {
    const path = base ? `${base}.${c.local}` : c.local;
    if (!nsOk(c.ns)) parseFail('namespace')('is in an unexpected namespace', path);
    if (isNil(c)) continue;
    const g = groups.get(c.local);
    if (g) g.push(c);
    else groups.set(c.local, [c]);
  }
  const out: Record<string, unknown> = {};
  for (const fd of fields) {
    const path = base ? `${base}.${fd.name}` : fd.name;
    const els = groups.get(fd.name) ?? [];
    groups.delete(fd.name);
    if (fd.repeated) {
      const items: unknown[] = [];
      for (const e of els) {
        if (typeof fd.type === 'string' && e.children.length > 0) {
          // A SOAP-encoded array (`<Realms><item>2</item>…</Realms>`): take the items.
          for (const item of e.children) items.push(decodeScalar(fd.type, item.text, path));
        } else {
          items.push(decodeValue(fd.type, e, path, nsOk));
        }
      }
      if (items.length === 0 && strict && !fd.optional) parseFail('params')('is required', path);
      setOwn(out, fd.name, items);
    } else if (els.length === 0) {
      if (strict && !fd.optional) parseFail('params')('is required', path);
    } else if (els.length > 1) {
      parseFail('params')('appears more than once', path);
    } else {
      setOwn(out, fd.name, decodeValue(fd.type, els[0] as XmlElement, path, nsOk));
    }
  }
  // Elements the table does not know are kept, untyped, so newer firmware answers still decode.
  for (const [name, els] of groups) {
    const vals = els.map(decodeGeneric);
    setOwn(out, name, vals.length === 1 ? vals[0] : vals);
  }
  return out;
}

function decodeGeneric(el: XmlElement): unknown {
  if (el.children.length === 0) return el.text;
  const out: Record<string, unknown> = {};
  for (const c of el.children) {
    if (isNil(c)) continue;
    const v = decodeGeneric(c);
    if (Object.hasOwn(out, c.local)) {
      const prev = out[c.local];
      // decodeGeneric never returns an array, so an array here is ours: append in place (a copy
      // per repeat made thousands of repeated elements quadratic).
      if (Array.isArray(prev)) prev.push(v);
      else setOwn(out, c.local, [prev, v]);
    } else {
      setOwn(out, c.local, v);
    }
  }
  return out;
}

function envelopeBody(root: XmlElement): XmlElement {
  if (root.local !== 'Envelope')
    throw new AmtSoapParseError('envelope', 'root element is not a SOAP Envelope');
  if (root.ns !== SOAP_ENVELOPE_NS) {
    throw new AmtSoapParseError('envelope', 'Envelope is not in the SOAP 1.1 namespace');
  }
  const body = root.children.find((c) => c.local === 'Body' && c.ns === SOAP_ENVELOPE_NS);
  if (body === undefined) throw new AmtSoapParseError('envelope', 'Envelope has no SOAP 1.1 Body');
  return body;
}

/** What `parseSoapRequest` found. */
export interface ParsedSoapRequest {
  /** Interface name, e.g. `SecurityAdministration` (from the namespace, the path or SOAPAction). */
  service: string;
  method: string;
  /** Typed per SOAP_SCHEMA where the method is known; strings (and nested records) otherwise. */
  params: Record<string, unknown>;
  /** The namespace the request used (the derived one when the client sent none). */
  namespace: string;
}

export interface ParseSoapRequestOptions {
  /** The HTTP request path, e.g. `/SecurityAdministrationService`. */
  path?: string;
  /** The `SOAPAction` header, quoted or not. */
  soapAction?: string;
}

function serviceFromNamespace(ns: string): string | undefined {
  return NS_PATTERN.exec(ns)?.[1];
}

/**
 * Server side: parses a request from any SOAP 1.1 client (prefix-independent; tolerant of
 * SOAP::Lite's style: `xsi:type` and `xsi:nil` attributes, `encodingStyle`, the namespace
 * declared as default on the method element, unqualified children). The service comes from the
 * method element's namespace, else the path, else SOAPAction; a namespace that disagrees with
 * the path is refused. Throws only AmtSoapParseError.
 */
export function parseSoapRequest(
  xml: string | Uint8Array,
  opts: ParseSoapRequestOptions = {},
): ParsedSoapRequest {
  const body = envelopeBody(parseXmlDocument(xml));
  const el = body.children[0];
  if (el === undefined) throw new AmtSoapParseError('element', 'Body holds no request element');
  const fromPath = opts.path === undefined ? undefined : PATH_PATTERN.exec(opts.path)?.[1];
  const action = opts.soapAction?.trim().replace(/^"(.*)"$/, '$1');
  const fromAction = action === undefined ? undefined : serviceFromNamespace(action.split('#')[0] ?? '');
  let service: string | undefined;
  if (el.ns !== '') {
    service = serviceFromNamespace(el.ns);
    if (service === undefined) {
      throw new AmtSoapParseError('namespace', 'request element is not in an AMT interface namespace', {
        path: el.local,
      });
    }
    if (fromPath !== undefined && fromPath !== service) {
      throw new AmtSoapParseError('namespace', `namespace of ${service} posted to the ${fromPath} service`, {
        path: el.local,
      });
    }
  } else {
    service = fromPath ?? fromAction;
    if (service === undefined) {
      throw new AmtSoapParseError('namespace', 'cannot tell the service: no namespace, path or SOAPAction');
    }
  }
  const namespace = el.ns !== '' ? el.ns : (soapServiceShape(service)?.namespace ?? soapNamespace(service));
  const nsOk = (ns: string) => ns === '' || ns === namespace;
  const shape = soapMethodShape(service, el.local);
  let params: Record<string, unknown>;
  if (shape !== undefined) {
    params = decodeFields(shape.input, el, '', nsOk, true);
  } else {
    const g = decodeGeneric(el);
    params = typeof g === 'string' ? {} : (g as Record<string, unknown>);
  }
  return { service, method: el.local, params, namespace };
}

/**
 * Client side: decodes an answer to `service.method`. A Fault throws AmtSoapFaultError; a
 * non-zero StatusCode throws AmtSoapStatusError; anything malformed throws AmtSoapParseError.
 * Returns the outputs (without StatusCode), typed per SOAP_SCHEMA.
 */
export function parseSoapResponse(
  xml: string | Uint8Array,
  service: SoapServiceName,
  method: string,
  httpStatus?: number,
): Record<string, unknown> {
  const shape = requireShape(service, method);
  const ns = (soapServiceShape(service) as { namespace: string }).namespace;
  const body = envelopeBody(parseXmlDocument(xml));
  const el = body.children[0];
  if (el === undefined) throw new AmtSoapParseError('element', 'Body holds no answer element');
  if (el.local === 'Fault' && el.ns === SOAP_ENVELOPE_NS) throw faultFrom(el, httpStatus);
  if (el.local !== `${method}Response`) {
    throw new AmtSoapParseError('element', `expected ${method}Response in the Body`, { path: el.local });
  }
  if (el.ns !== ns) {
    throw new AmtSoapParseError('namespace', `${method}Response is not in the ${service} namespace`, {
      path: el.local,
    });
  }
  const nsOk = (n: string) => n === '' || n === ns;
  const statusEls = el.children.filter((c) => c.local === 'StatusCode');
  const statusEl = statusEls[0];
  if (statusEl === undefined || statusEls.length > 1) {
    throw new AmtSoapParseError('status', `${method}Response has no single StatusCode`, {
      path: 'StatusCode',
    });
  }
  if (!nsOk(statusEl.ns)) {
    throw new AmtSoapParseError('namespace', 'StatusCode is in an unexpected namespace', {
      path: 'StatusCode',
    });
  }
  const t = statusEl.text.trim();
  const status = INTEGER.test(t) ? Number(t) : Number.NaN;
  if (!(status >= 0 && status <= 0xffffffff)) {
    throw new AmtSoapParseError('status', 'StatusCode is not an unsigned integer', { path: 'StatusCode' });
  }
  if (status !== 0) throw new AmtSoapStatusError(service, method, status, ptStatusName(status));
  const rest: XmlElement = { ...el, children: el.children.filter((c) => c !== statusEl) };
  return decodeFields(shape.output, rest, '', nsOk, true);
}

function faultFrom(fault: XmlElement, httpStatus: number | undefined): AmtSoapFaultError {
  // SOAP 1.1 fault children are unqualified; some stacks qualify them, so match by local name.
  const child = (name: string) => fault.children.find((c) => c.local === name);
  const code = child('faultcode')?.text.trim();
  const str = child('faultstring')?.text;
  if (code === undefined || str === undefined) {
    return new AmtSoapFaultError(code ?? '', str ?? '', undefined, httpStatus);
  }
  const detailEl = child('detail');
  return new AmtSoapFaultError(code, str, detailEl === undefined ? undefined : allText(detailEl), httpStatus);
}

function allText(el: XmlElement): string {
  return el.text + el.children.map(allText).join('');
}
