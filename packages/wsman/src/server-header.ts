/** The product AMT names in its HTTP `Server` header (amt-protocol.md §4). */
export const AMT_SERVER_PRODUCT = 'Intel(R) Active Management Technology';

/** What AMT's `Server` header says about its firmware, readable before login. */
export interface AmtServerHeader {
  readonly product: typeof AMT_SERVER_PRODUCT;
  /** As sent, e.g. `11.8.50.3425`. */
  readonly version: string;
  readonly major: number;
  readonly minor: number;
}

// Product then version: 1–4 dotted parts, major ≤ 3 digits, minor ≤ 4, build parts ≤ 6 (AMT sends
// four, `11.8.50.3425`). After the version only whitespace and further products/comments may
// follow. `Intel(r)` is accepted too: AMT spells it both ways elsewhere.
const SERVER =
  /^[ \t]*Intel\([Rr]\)[ \t]+Active[ \t]+Management[ \t]+Technology[ \t]+((\d{1,3})(?:\.(\d{1,4})(?:\.\d{1,6}){0,2})?)(?=[ \t]|$)/;

/**
 * Reads `Server: Intel(R) Active Management Technology 11.8.50.3425` (amt-protocol.md §4).
 * Takes the header as an HTTP client hands it over (a repeated header: its first value).
 * Anything else — another server, junk, no header — gives `undefined`; it never throws.
 */
export function parseAmtServerHeader(
  value: string | readonly string[] | undefined,
): AmtServerHeader | undefined {
  const v: unknown = Array.isArray(value) ? value[0] : value;
  if (typeof v !== 'string' || v.length > 1024) return undefined;
  const m = SERVER.exec(v);
  const [, version, major, minor] = m ?? [];
  if (version === undefined || major === undefined) return undefined;
  return {
    product: AMT_SERVER_PRODUCT,
    version,
    major: Number(major),
    minor: minor === undefined ? 0 : Number(minor),
  };
}
