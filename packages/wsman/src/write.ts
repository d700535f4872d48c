/**
 * The one XML writer, shared by client requests and server responses (which differ only in
 * their namespace prefixes). Every value goes through escapeXml; every name is checked.
 */
import { WsmanInvalidArgumentError } from './errors.js';
import { type EndpointReference, isEmbeddedInstance, isEndpointReference, type Selectors } from './values.js';
import { escapeXml, escapeXmlAttribute } from './xml.js';

/** Prefixes bound to WS-Addressing and WS-Management in the envelope being written. */
export interface Prefixes {
  wsa: string;
  wsman: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const checked = new Set<string>();

/** Throws unless `name` is a valid (prefix-less) XML element name. */
export function checkName(name: string, what = 'property'): void {
  if (checked.has(name)) return;
  if (!NAME.test(name)) {
    throw new WsmanInvalidArgumentError(
      `${what} name is not a valid XML name: ${JSON.stringify(name.slice(0, 64))}`,
    );
  }
  if (checked.size < 4096) checked.add(name);
}

function scalar(v: unknown, name: string): string | undefined {
  switch (typeof v) {
    case 'string':
      return escapeXml(v);
    case 'number':
      if (!Number.isFinite(v)) throw new WsmanInvalidArgumentError(`${name}: number is not finite`);
      return String(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      return undefined;
  }
}

// Selectors can hold endpoint references that hold selectors: a cycle must not overflow the stack.
const MAX_DEPTH = 32;

/** `SelectorSet` element for a header or an endpoint reference. */
export function writeSelectorSet(selectors: Selectors, p: Prefixes, depth = 0): string {
  if (depth > MAX_DEPTH) throw new WsmanInvalidArgumentError('endpoint references nest too deeply');
  let s = `<${p.wsman}:SelectorSet>`;
  for (const name of Object.keys(selectors)) {
    const v = selectors[name];
    if (v === undefined) continue;
    s += `<${p.wsman}:Selector Name="${escapeXmlAttribute(name)}">`;
    if (typeof v === 'string') s += escapeXml(v);
    else if (isEndpointReference(v))
      s += `<${p.wsa}:EndpointReference>${writeEprContent(v, p, depth + 1)}</${p.wsa}:EndpointReference>`;
    else
      throw new WsmanInvalidArgumentError(
        `selector ${name}: value must be a string or an endpoint reference`,
      );
    s += `</${p.wsman}:Selector>`;
  }
  return `${s}</${p.wsman}:SelectorSet>`;
}

/** The children of an endpoint reference element: Address, ReferenceParameters. */
export function writeEprContent(epr: EndpointReference, p: Prefixes, depth = 0): string {
  const address = typeof epr.address === 'string' ? epr.address : '/wsman';
  let s = `<${p.wsa}:Address>${escapeXml(address)}</${p.wsa}:Address><${p.wsa}:ReferenceParameters><${p.wsman}:ResourceURI>${escapeXml(epr.resourceUri)}</${p.wsman}:ResourceURI>`;
  const sel: Selectors = { ...epr.selectors, ...(epr.referenceSelectors ?? {}) };
  if (Object.keys(sel).length > 0) s += writeSelectorSet(sel, p, depth + 1);
  return `${s}</${p.wsa}:ReferenceParameters>`;
}

/**
 * Writes one property as `<prefix:name>value</prefix:name>`; arrays repeat the element,
 * objects nest, endpoint references and embedded instances get their own content.
 */
export function writeProperty(
  prefix: string,
  name: string,
  value: unknown,
  p: Prefixes,
  depth: number,
): string {
  const text = scalar(value, name);
  if (text !== undefined) return `<${prefix}:${name}>${text}</${prefix}:${name}>`;
  if (value === undefined || value === null) return '';
  if (depth > MAX_DEPTH) throw new WsmanInvalidArgumentError(`${name}: nested too deeply`);
  if (Array.isArray(value)) {
    let s = '';
    for (const v of value) {
      if (Array.isArray(v)) throw new WsmanInvalidArgumentError(`${name}: arrays cannot nest`);
      s += writeProperty(prefix, name, v, p, depth + 1);
    }
    return s;
  }
  if (typeof value !== 'object') {
    throw new WsmanInvalidArgumentError(`${name}: a ${typeof value} cannot be written as XML`);
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== null && proto !== Object.prototype) {
    throw new WsmanInvalidArgumentError(`${name}: only plain objects can be written`);
  }
  if (isEndpointReference(value)) {
    return `<${prefix}:${name}>${writeEprContent(value, p, depth)}</${prefix}:${name}>`;
  }
  if (isEmbeddedInstance(value)) {
    const q = `q${depth}`;
    return `<${prefix}:${name} xmlns:${q}="${escapeXmlAttribute(value.resourceUri)}">${writeProperties(q, value.properties, p, depth + 1)}</${prefix}:${name}>`;
  }
  return `<${prefix}:${name}>${writeProperties(prefix, value as Record<string, unknown>, p, depth + 1)}</${prefix}:${name}>`;
}

/** Writes every own property of `props`, in their order. */
export function writeProperties(prefix: string, props: object, p: Prefixes, depth = 0): string {
  let s = '';
  const rec = props as Record<string, unknown>;
  for (const name of Object.keys(rec)) {
    const v = rec[name];
    if (v === undefined || v === null) continue;
    checkName(name);
    // Scalars inline: the common case, and the hot path when building requests.
    const tag = `${prefix}:${name}>`;
    if (typeof v === 'string') s += `<${tag}${escapeXml(v)}</${tag}`;
    else if (typeof v === 'boolean') s += `<${tag}${v ? 'true' : 'false'}</${tag}`;
    else if (typeof v === 'number' && Number.isFinite(v)) s += `<${tag}${v}</${tag}`;
    else s += writeProperty(prefix, name, v, p, depth);
  }
  return s;
}
