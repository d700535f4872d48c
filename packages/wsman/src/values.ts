/**
 * A WS-Addressing endpoint reference: how WS-Management points at one instance (a property such as
 * `ElementInContext`, the answer to Create, an output such as `KeyPair`).
 */
export interface EndpointReference {
  /** `wsa:Address`; AMT writes `default` or `/wsman`, the anonymous role is also common. */
  address: string;
  resourceUri: string;
  /** Selectors with text values (the usual case: `InstanceID`, `Name`…). */
  selectors: Record<string, string>;
  /** Selectors whose value is itself an endpoint reference (association keys). */
  referenceSelectors?: Record<string, EndpointReference>;
}

/** A parsed value: element text, a nested instance, an endpoint reference, or repeated elements. */
export type WsmanValue = string | EndpointReference | WsmanItem | WsmanValue[];

/** A parsed instance: one key per child element (local name), arrays for repeated elements. */
export interface WsmanItem {
  [property: string]: WsmanValue;
}

/** Selector values for a header `SelectorSet` or an endpoint reference. */
export type Selectors = Record<string, string | EndpointReference>;

/**
 * An embedded instance written in its own class namespace, e.g. the `WiFiEndpointSettingsInput`
 * of `AddWiFiSettings` (`CIM_WiFiEndpointSettings`). Reading one back gives its plain properties.
 */
export interface EmbeddedInstance {
  resourceUri: string;
  properties: Record<string, unknown>;
}

/**
 * What the writers accept as a property value: strings (escaped), finite numbers, bigints,
 * booleans, endpoint references, embedded instances, nested objects (child elements in the same
 * namespace) and arrays of those (repeated elements). `undefined` and `null` omit the element.
 */
export type PropertyValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | EndpointReference
  | EmbeddedInstance
  | { [property: string]: PropertyValue }
  | readonly PropertyValue[];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True for `{ address?, resourceUri, selectors }` (the shape parsers return and writers accept). */
export function isEndpointReference(v: unknown): v is EndpointReference {
  return isObject(v) && typeof v.resourceUri === 'string' && isObject(v.selectors);
}

/** True for `{ resourceUri, properties }`. */
export function isEmbeddedInstance(v: unknown): v is EmbeddedInstance {
  return isObject(v) && typeof v.resourceUri === 'string' && isObject(v.properties) && !('selectors' in v);
}

/** True for a nested instance (not a string, array or endpoint reference). */
export function isWsmanItem(v: unknown): v is WsmanItem {
  return isObject(v) && !isEndpointReference(v);
}

/** Builds an endpoint reference (address defaults to `/wsman`, as AMT clients send it). */
export function endpointReference(
  resourceUri: string,
  selectors: Selectors = {},
  address = '/wsman',
): EndpointReference {
  const plain: Record<string, string> = {};
  let refs: Record<string, EndpointReference> | undefined;
  for (const [k, v] of Object.entries(selectors)) {
    if (typeof v === 'string') plain[k] = v;
    else {
      refs ??= {};
      refs[k] = v;
    }
  }
  return refs
    ? { address, resourceUri, selectors: plain, referenceSelectors: refs }
    : { address, resourceUri, selectors: plain };
}

/** Builds an embedded instance value. */
export function embeddedInstance(resourceUri: string, properties: Record<string, unknown>): EmbeddedInstance {
  return { resourceUri, properties };
}

/** The text of a parsed value, or undefined when it is not text (first element if repeated). */
export function textOf(v: WsmanValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return textOf(v[0]);
  return undefined;
}
