import type { WsmanClient } from '../client.js';
import { WsmanInvalidArgumentError } from '../errors.js';
import { resourceUriFor } from '../namespaces.js';
import { REQUEST_STATE_CHANGE_RETURN_VALUES } from '../pt-status.js';
import {
  type ClassSchema,
  decodeProperties,
  type MethodSchema,
  orderProperties,
  type PropertyKinds,
  type TypedProperties,
} from '../schema.js';
import type { Selectors, WsmanItem } from '../values.js';

/** Properties every CIM service instance has (AMT's services are singletons). */
/** CIM's RequestStateChange(RequestedState), as AMT's services and ports implement it. */
export const REQUEST_STATE_CHANGE = {
  input: { RequestedState: 'number' },
  output: {},
  returnValueNames: REQUEST_STATE_CHANGE_RETURN_VALUES,
} as const;

export const SERVICE_PROPERTIES = {
  CreationClassName: 'string',
  ElementName: 'string',
  EnabledState: 'number',
  Name: 'string',
  RequestedState: 'number',
  SystemCreationClassName: 'string',
  SystemName: 'string',
} as const;

/** A class schema with literal property and method types kept for typing. */
export interface DefinedClass<P extends PropertyKinds, M extends Record<string, MethodSchema>>
  extends ClassSchema {
  readonly properties: P;
  readonly methods: M;
}

export function defineClass<
  const P extends PropertyKinds,
  const M extends Record<string, MethodSchema> = Record<never, MethodSchema>,
>(
  className: string,
  properties: P,
  opts: { keys?: readonly string[]; methods?: M } = {},
): DefinedClass<P, M> {
  return Object.freeze({
    className,
    resourceUri: resourceUriFor(className),
    properties,
    keys: opts.keys ?? [],
    // No prototype: a method name from a request (`toString`) must look up nothing.
    methods: Object.assign(Object.create(null), opts.methods) as M,
  });
}

/** Typed output of a method: its declared outputs plus ReturnValue. */
export type MethodOutput<S extends MethodSchema> = TypedProperties<S['output']> & { ReturnValue?: number };

/** Instance operations every class binding offers. */
export interface InstanceOps<T> {
  readonly schema: ClassSchema;
  readonly className: string;
  readonly resourceUri: string;
  /** Types a parsed instance (unknown properties are kept as parsed). */
  decode(item: WsmanItem): T;
  get(client: WsmanClient, selectors?: Selectors): Promise<T>;
  /** Puts the whole instance (its properties in their order) and returns what AMT answers. */
  put(client: WsmanClient, value: T, selectors?: Selectors): Promise<T>;
  /** Every instance (Enumerate + Pull). */
  enumerate(client: WsmanClient): Promise<T[]>;
  delete(client: WsmanClient, selectors: Selectors): Promise<void>;
}

export function instanceOps<T>(schema: ClassSchema): InstanceOps<T> {
  const decode = (item: WsmanItem): T => decodeProperties<T>(schema.properties, item, schema.className);
  const sel = (s: Selectors | undefined) => (s ? { selectors: s } : {});
  return {
    schema,
    className: schema.className,
    resourceUri: schema.resourceUri,
    decode,
    async get(client, selectors) {
      return decode(await client.get(schema.resourceUri, sel(selectors)));
    },
    async put(client, value, selectors) {
      if (typeof value !== 'object' || value === null)
        throw new WsmanInvalidArgumentError('put needs an instance');
      const item = await client.put(schema.resourceUri, value, {
        ...sel(selectors),
        className: schema.className,
      });
      return decode(item);
    },
    async enumerate(client) {
      const out: T[] = [];
      for await (const it of client.enumerate(schema.resourceUri)) out.push(decode(it));
      return out;
    },
    async delete(client, selectors) {
      await client.delete(schema.resourceUri, { selectors });
    },
  };
}

/** Invokes a method of `schema` with its input written in schema order; types the output. */
export async function invokeMethod<S extends MethodSchema>(
  client: WsmanClient,
  schema: ClassSchema,
  method: string,
  input: object,
  opts: { selectors?: Selectors; allowReturnValues?: readonly number[] } = {},
): Promise<MethodOutput<S>> {
  const m = Object.hasOwn(schema.methods, method) ? schema.methods[method] : undefined;
  if (m === undefined) throw new WsmanInvalidArgumentError(`${schema.className} has no method ${method}`);
  const out = await client.invoke(schema.resourceUri, method, orderProperties(m.input, input), {
    ...opts,
    ...(m.returnValueNames ? { returnValueNames: m.returnValueNames } : {}),
  });
  return decodeProperties<MethodOutput<S>>(
    { ...m.output, ReturnValue: 'number' },
    out,
    `${schema.className}.${method}`,
  );
}
