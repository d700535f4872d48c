import fc from 'fast-check';
import type { SoapField, SoapValueType } from '../src/index.js';
import { isXmlSafe } from '../src/xml.js';

const tricky = fc.constantFrom(
  '&',
  '<',
  '>',
  '"',
  "'",
  '\r',
  '\n',
  '\r\n',
  '\t',
  ' ',
  ']]>',
  '&amp;',
  '\u00e9',
  '\u{1F600}',
);

/** Strings XML can carry, biased toward characters that need escaping. */
export const xmlString: fc.Arbitrary<string> = fc
  .array(fc.oneof(tricky, fc.string({ unit: 'binary', maxLength: 6 })), { maxLength: 6 })
  .map((parts) => parts.join(''))
  .filter(isXmlSafe);

const ranges: Record<string, [number, number]> = {
  int: [-0x80000000, 0x7fffffff],
  unsignedInt: [0, 0xffffffff],
  unsignedShort: [0, 0xffff],
  unsignedByte: [0, 0xff],
};

/** Values of a schema type, in the form the decoder gives back (base64 as canonical text). */
export function valueArb(type: SoapValueType): fc.Arbitrary<unknown> {
  if (typeof type !== 'string') return recordOf(type.fields);
  switch (type) {
    case 'string':
      return xmlString;
    case 'boolean':
      return fc.boolean();
    case 'base64Binary':
      return fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('base64'));
    default: {
      const [min, max] = ranges[type] as [number, number];
      return fc.integer({ min, max });
    }
  }
}

/** A params/outputs record for a field list: optional fields sometimes absent, arrays always present. */
export function recordOf(fields: readonly SoapField[]): fc.Arbitrary<Record<string, unknown>> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  const required: string[] = [];
  for (const f of fields) {
    if (f.repeated) {
      model[f.name] = fc.array(valueArb(f.type), { minLength: f.optional ? 0 : 1, maxLength: 3 });
      required.push(f.name);
    } else {
      model[f.name] = valueArb(f.type);
      if (!f.optional) required.push(f.name);
    }
  }
  return fc.record(model, { requiredKeys: required });
}
