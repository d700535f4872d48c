/**
 * A tiny DER (X.690) writer and element reader: just what the CA's per-device certificate needs.
 * Values are trees of `DerNode`s over byte arrays; `encode` sizes the tree and writes it into one
 * buffer, so each byte is copied once however deep the nesting. Only the low-tag-number form
 * (tags below 31, one identifier octet) is supported, which covers every universal type used here
 * and context tags [0]..[30].
 */

/** X.690 §8.1.2 identifier octets of the types used here. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** A complete encoding (a finished TLV, or several back to back) or a node still to be encoded. */
export type Der = Uint8Array | DerNode;

/** Octets taken by a definite-form length (X.690 §8.1.3: short form below 128). */
function lengthOctets(n: number): number {
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1000000 ? 4 : 5;
}

function sizeOf(d: Der): number {
  return d instanceof Uint8Array ? d.length : d.size;
}

export class DerNode {
  /** Content length. */
  readonly length: number;
  /** Whole encoding: identifier, length, content. */
  readonly size: number;

  constructor(
    readonly tag: number,
    readonly content: readonly Der[],
  ) {
    if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) {
      throw new RangeError(`DER tag ${tag} is not a low-tag-number identifier octet`);
    }
    let length = 0;
    for (const c of content) length += sizeOf(c);
    // 2^32 - 1 is the longest length this writer emits (four length octets).
    if (length > 0xffffffff) throw new RangeError('DER content longer than 4 GiB');
    this.length = length;
    this.size = 1 + lengthOctets(length) + length;
  }
}

/** Identifier `tag`, then the concatenated `content`. */
export function tlv(tag: number, ...content: Der[]): DerNode {
  return new DerNode(tag, content);
}

export function sequence(...content: Der[]): DerNode {
  return new DerNode(TAG.SEQUENCE, content);
}

export function set(...content: Der[]): DerNode {
  return new DerNode(TAG.SET, content);
}

/** `[n] EXPLICIT`: constructed context tag around complete encodings. */
export function explicit(n: number, ...content: Der[]): DerNode {
  return new DerNode(0xa0 | n, content);
}

/** `[n] IMPLICIT` of a primitive type: the context tag replaces the type's, content unchanged. */
export function implicit(n: number, content: Uint8Array): DerNode {
  return new DerNode(0x80 | n, [content]);
}

export function octetString(...content: Der[]): DerNode {
  return new DerNode(TAG.OCTET_STRING, content);
}

const ZERO_OCTET = new Uint8Array([0]);

/** BIT STRING of whole octets (unused-bits octet 0). */
export function bitString(...content: Der[]): DerNode {
  return new DerNode(TAG.BIT_STRING, [ZERO_OCTET, ...content]);
}

const TRUE = new Uint8Array([TAG.BOOLEAN, 1, 0xff]);
const FALSE = new Uint8Array([TAG.BOOLEAN, 1, 0x00]);

/** X.690 §11.1: TRUE is 0xFF in DER. */
export function boolean(value: boolean): Uint8Array {
  return value ? TRUE : FALSE;
}

/**
 * INTEGER holding the unsigned big-endian `magnitude`: redundant leading zero octets dropped, one
 * zero octet put back when the top bit is set so the value stays positive (X.690 §8.3.2).
 */
export function integer(magnitude: Uint8Array): DerNode {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const body = magnitude.subarray(start);
  if (body.length === 0) return new DerNode(TAG.INTEGER, [ZERO_OCTET]);
  return (body[0] as number) & 0x80
    ? new DerNode(TAG.INTEGER, [ZERO_OCTET, body])
    : new DerNode(TAG.INTEGER, [body]);
}

const ARC = /^(?:0|[1-9][0-9]*)$/;

/** OBJECT IDENTIFIER from dotted decimal (X.690 §8.19); throws on a malformed one. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.');
  if (arcs.length < 2 || !arcs.every((a) => ARC.test(a))) throw new TypeError(`not an OID: ${dotted}`);
  const values = arcs.map((a) => BigInt(a));
  const [first, second] = values as [bigint, bigint];
  if (first > 2n || (first < 2n && second > 39n)) throw new TypeError(`not an OID: ${dotted}`);
  const out: number[] = [];
  for (const v of [first * 40n + second, ...values.slice(2)]) {
    const septets: number[] = [];
    let rest = v;
    do {
      septets.unshift(Number(rest & 0x7fn));
      rest >>= 7n;
    } while (rest > 0n);
    for (let i = 0; i < septets.length - 1; i++) out.push((septets[i] as number) | 0x80);
    out.push(septets[septets.length - 1] as number);
  }
  return encode(tlv(TAG.OID, new Uint8Array(out)));
}

function digits(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * RFC 5280 §4.1.2.5 Time: UTCTime (YYMMDDHHMMSSZ) for 1950 through 2049, GeneralizedTime
 * (YYYYMMDDHHMMSSZ) from 2050 through 9999; whole seconds (milliseconds dropped). Other dates have
 * no such encoding: RangeError.
 */
export function time(date: Date): DerNode {
  const ms = date.getTime();
  const year = date.getUTCFullYear();
  if (!Number.isFinite(ms) || year < 1950 || year > 9999) {
    throw new RangeError('a certificate time must fall in the years 1950 to 9999');
  }
  const rest =
    digits(date.getUTCMonth() + 1, 2) +
    digits(date.getUTCDate(), 2) +
    digits(date.getUTCHours(), 2) +
    digits(date.getUTCMinutes(), 2) +
    digits(date.getUTCSeconds(), 2) +
    'Z';
  return year < 2050
    ? new DerNode(TAG.UTC_TIME, [Buffer.from(digits(year % 100, 2) + rest, 'latin1')])
    : new DerNode(TAG.GENERALIZED_TIME, [Buffer.from(digits(year, 4) + rest, 'latin1')]);
}

function write(d: Der, out: Buffer, at: number): number {
  if (d instanceof Uint8Array) {
    out.set(d, at);
    return at + d.length;
  }
  let pos = at;
  out[pos++] = d.tag;
  const n = d.length;
  if (n < 0x80) {
    out[pos++] = n;
  } else {
    const octets = lengthOctets(n) - 1;
    out[pos++] = 0x80 | octets;
    for (let shift = (octets - 1) * 8; shift >= 0; shift -= 8) out[pos++] = Math.floor(n / 2 ** shift) & 0xff;
  }
  for (const c of d.content) pos = write(c, out, pos);
  return pos;
}

/** The DER bytes of `d`, in a buffer of their own (not a slice of Node's shared pool). */
export function encode(d: Der): Buffer {
  const out = Buffer.allocUnsafeSlow(sizeOf(d));
  const end = write(d, out, 0);
  // Every byte of the unzeroed buffer must have been written.
  if (end !== out.length) throw new Error(`DER writer wrote ${end} of ${out.length} bytes`);
  return out;
}

/** One element located in a buffer: `bytes.subarray(contentStart, end)` is its content. */
export interface DerElement {
  tag: number;
  /** Offset of the identifier octet. */
  start: number;
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

/**
 * Reads the element at `offset`, which must end by `limit`. Strict DER: low-tag-number form,
 * definite minimal lengths of at most four octets. Anything else is a RangeError, never a read
 * past `limit`.
 */
export function readElement(bytes: Uint8Array, offset: number, limit: number = bytes.length): DerElement {
  if (limit > bytes.length || offset < 0 || offset + 2 > limit) {
    throw new RangeError(`DER element truncated at ${offset}`);
  }
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new RangeError(`DER high-tag-number form at ${offset}`);
  const first = bytes[offset + 1] as number;
  let length = first;
  let contentStart = offset + 2;
  if (first & 0x80) {
    const octets = first & 0x7f;
    // 0x80 is BER's indefinite form; more than four octets is more than any buffer here.
    if (octets === 0 || octets > 4)
      throw new RangeError(`DER length form 0x${first.toString(16)} at ${offset}`);
    if (contentStart + octets > limit) throw new RangeError(`DER length truncated at ${offset}`);
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (bytes[contentStart + i] as number);
    // Minimal encoding: no leading zero octet, and the long form only from 128 on.
    if (bytes[contentStart] === 0 || length < 0x80)
      throw new RangeError(`DER length not minimal at ${offset}`);
    contentStart += octets;
  }
  const end = contentStart + length;
  if (end > limit) throw new RangeError(`DER element at ${offset} runs past its container`);
  return { tag, start: offset, contentStart, end };
}
