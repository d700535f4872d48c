/**
 * Class schemas: which properties of a class (or method input/output) are numbers, booleans,
 * endpoint references or arrays. Parsed values stay strings unless a schema types them.
 */
import { WsmanParseError } from './errors.js';
import { type EndpointReference, isEndpointReference, type WsmanItem, type WsmanValue } from './values.js';

export type ScalarKind = 'string' | 'number' | 'boolean' | 'epr' | 'item';
export type PropertyKind = ScalarKind | `${ScalarKind}[]`;
export type PropertyKinds = Readonly<Record<string, PropertyKind>>;

type ScalarType<K> = K extends 'string'
  ? string
  : K extends 'number'
    ? number
    : K extends 'boolean'
      ? boolean
      : K extends 'epr'
        ? EndpointReference
        : K extends 'item'
          ? WsmanItem
          : never;

/** The TypeScript type of a property kind. */
export type KindType<K extends PropertyKind> = K extends `${infer S}[]` ? ScalarType<S>[] : ScalarType<K>;

/** The typed object a set of property kinds describes (every property optional). */
export type TypedProperties<S extends PropertyKinds> = { -readonly [P in keyof S]?: KindType<S[P]> };

export interface MethodSchema {
  /** Input parameters, in the order they are written. */
  readonly input: PropertyKinds;
  /** Output parameters (ReturnValue is always a number). */
  readonly output: PropertyKinds;
  /** Names of the method's own return codes, when they are not PT_STATUS. */
  readonly returnValueNames?: Readonly<Record<number, string>>;
}

export interface ClassSchema {
  readonly className: string;
  readonly resourceUri: string;
  readonly properties: PropertyKinds;
  /** Key properties (what selectors name). */
  readonly keys: readonly string[];
  readonly methods: Readonly<Record<string, MethodSchema>>;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

// A plain `out[key] = v` with key `__proto__` replaces the prototype instead of adding a key.
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    out[key] = value;
  }
}

function fail(where: string, name: string, expected: string): never {
  throw new WsmanParseError(`${where}.${name}: expected ${expected}`);
}

function scalar(kind: ScalarKind, v: WsmanValue, where: string, name: string): unknown {
  switch (kind) {
    case 'string':
      if (typeof v === 'string') return v;
      return fail(where, name, 'text');
    case 'number': {
      if (typeof v !== 'string') return fail(where, name, 'a number');
      const t = v.trim();
      if (t === '') return undefined;
      const n = NUMBER.test(t) ? Number(t) : Number.NaN;
      // `1e400` is Infinity: no CIM number is, and no writer could send it back.
      if (!Number.isFinite(n)) return fail(where, name, 'a number');
      return n;
    }
    case 'boolean': {
      if (typeof v !== 'string') return fail(where, name, 'a boolean');
      const t = v.trim().toLowerCase();
      if (t === 'true' || t === '1') return true;
      if (t === 'false' || t === '0') return false;
      if (t === '') return undefined;
      return fail(where, name, 'a boolean');
    }
    case 'epr':
      if (isEndpointReference(v)) return v;
      if (v === '') return undefined;
      return fail(where, name, 'an endpoint reference');
    case 'item':
      if (typeof v === 'object' && !Array.isArray(v) && !isEndpointReference(v)) return v;
      if (v === '') return {};
      return fail(where, name, 'a nested instance');
  }
}

/**
 * Types the properties of a parsed item by their kinds. Properties the schema does not know are
 * kept as parsed (so a Get → change → Put round trip loses nothing).
 */
export function decodeProperties<T>(kinds: PropertyKinds, item: WsmanItem, where = 'instance'): T {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(item)) {
    const v = item[name] as WsmanValue;
    const kind = Object.hasOwn(kinds, name) ? kinds[name] : undefined;
    if (kind === undefined) {
      setOwn(out, name, v);
      continue;
    }
    if (kind.endsWith('[]')) {
      const k = kind.slice(0, -2) as ScalarKind;
      const list = Array.isArray(v) ? v : [v];
      const typed: unknown[] = [];
      for (const x of list) {
        const t = scalar(k, x, where, name);
        if (t !== undefined) typed.push(t);
      }
      setOwn(out, name, typed);
    } else {
      if (Array.isArray(v)) fail(where, name, 'a single value');
      const t = scalar(kind as ScalarKind, v, where, name);
      if (t !== undefined) setOwn(out, name, t);
    }
  }
  return out as T;
}

/** Orders `value`'s properties as `kinds` lists them, then any others in their own order. */
export function orderProperties(kinds: PropertyKinds, value: object): Record<string, unknown> {
  const v = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(kinds)) if (v[k] !== undefined && Object.hasOwn(v, k)) setOwn(out, k, v[k]);
  for (const k of Object.keys(v)) if (!Object.hasOwn(out, k) && v[k] !== undefined) setOwn(out, k, v[k]);
  return out;
}
