/**
 * Differential test of parseXmlDocument against saxes (a conforming, namespace-aware XML 1.0
 * parser) on mutated AMT SOAP documents:
 *
 * (a) whatever we accept, saxes accepts as one root element, and reads the same tree;
 * (b) whatever saxes accepts we accept too (with the same tree), except for our documented
 *     limits: a DOCTYPE (we refuse any DTD), nesting deeper than 64, the element names
 *     `__proto__`/`constructor`/`prototype`, and lone surrogates (saxes folds a lone high
 *     surrogate into the next character; we refuse it).
 *
 * saxes reads every document as XML 1.0 (forceXMLVersion), as we do: we read any `1.x`
 * declaration as 1.0, saxes would switch to XML 1.1 rules. The documents hold no character that
 * JavaScript's trim() removes beyond XML white space (saxes trims namespace names with it, we
 * trim XML white space only).
 */
import fc from 'fast-check';
import { SaxesParser } from 'saxes';
import { describe, expect, it } from 'vitest';
import { buildSoapFault, buildSoapRequest, buildSoapResponse } from './codec.js';
import { AmtSoapError } from './errors.js';
import { parseXmlDocument, type XmlElement } from './xml.js';

const NUM_RUNS = 1000;
const MAX_DEPTH = 64;
const PROTO_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const LONE_SURROGATE = /\p{Cs}/u;

interface Tree {
  ns: string;
  local: string;
  attrs: { ns: string; local: string; value: string }[];
  children: Tree[];
  text: string;
}

type SaxesResult =
  | { ok: true; root: Tree; doctype: boolean; depth: number; protoName: boolean }
  | { ok: false; doctype: boolean };

function readWithSaxes(doc: string): SaxesResult {
  const parser = new SaxesParser({ xmlns: true, forceXMLVersion: true, defaultXMLVersion: '1.0' });
  let failed = false;
  let doctype = false;
  let depth = 0;
  let protoName = false;
  let root: Tree | undefined;
  let roots = 0;
  const stack: Tree[] = [];
  parser.on('error', () => {
    failed = true;
  });
  parser.on('doctype', () => {
    doctype = true;
  });
  parser.on('opentag', (tag) => {
    const el: Tree = {
      ns: tag.uri,
      local: tag.local,
      attrs: Object.values(tag.attributes)
        .filter((a) => a.prefix !== 'xmlns' && a.name !== 'xmlns')
        .map((a) => ({ ns: a.uri, local: a.local, value: a.value })),
      children: [],
      text: '',
    };
    if (PROTO_NAMES.has(tag.local)) protoName = true;
    const parent = stack[stack.length - 1];
    if (parent === undefined) {
      root = el;
      roots++;
    } else {
      parent.children.push(el);
    }
    stack.push(el);
    depth = Math.max(depth, stack.length);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  const onText = (t: string) => {
    const top = stack[stack.length - 1];
    if (top !== undefined) top.text += t;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  try {
    parser.write(doc).close();
  } catch {
    failed = true;
  }
  if (failed || root === undefined || roots !== 1) return { ok: false, doctype };
  return { ok: true, root, doctype, depth, protoName };
}

function ours(doc: string): XmlElement | AmtSoapError {
  try {
    return parseXmlDocument(doc);
  } catch (e) {
    if (e instanceof AmtSoapError) return e;
    throw e;
  }
}

// Realistic answers and requests, from the package's own builders. Values carry characters that
// need escaping (and CR, which the builders write as &#13;).
const TRICKY = 'a&b<c>"d\'e\r\nf\tg ]]> é 😀';
const BASE_DOCS: string[] = [
  buildSoapResponse({ service: 'NetworkAdministration', method: 'GetInterfaceSettings' }, 0, {
    InterfaceDescriptor: {
      HardwareAddressDescription: 'Intel(R) 82566DM Gigabit Network Connection',
      MACAddress: '00-15-5d-01-02-03',
      InterfaceMode: 'SHARED_MAC_ADDRESS',
      LinkPolicy: 31,
      DhcpEnabled: true,
      IPv4Parameters: {
        LocalAddress: 0xc0a80117,
        SubnetMask: 0xffffff00,
        DefaultGatewayAddress: 0xc0a80101,
        PrimaryDnsAddress: 0xc0a80102,
        SecondaryDnsAddress: 0,
      },
    },
  }),
  buildSoapResponse({ service: 'SecurityAdministration', method: 'EnumerateUserAclEntries' }, 0, {
    TotalCount: 3,
    HandlesCount: 3,
    Handles: [1, 2, 7],
  }),
  buildSoapResponse({ service: 'GeneralInfo', method: 'GetCodeVersions' }, 0, {
    BiosVersion: TRICKY,
    CodeVersions: [
      { Description: 'AMT', Version: '6.2.10' },
      { Description: 'Flash', Version: '6.2.10-1040' },
    ],
  }),
  buildSoapResponse({ service: 'SecurityAdministration', method: 'SetMEBxPassword' }, 0x806),
  buildSoapRequest('NetworkAdministration', 'SetHostName', { HostName: TRICKY }),
  buildSoapRequest('SecurityAdministration', 'AddUserAclEntryEx', {
    DigestUsername: 'admin2',
    DigestPassword: 'AAEC/f7/',
    AccessPermission: 2,
    Realms: [3, 5],
  }),
  buildSoapFault('Client', 'bad <input> & more', 'detail\r\nline 2'),
  // The same request as SOAP::Lite writes it: attributes on the envelope and values, CRLF line
  // ends, a comment and a CDATA section.
  buildSoapRequest('NetworkAdministration', 'SetDomainName', { DomainName: 'corp.test' })
    .replace(
      '<SOAP-ENV:Envelope ',
      '<SOAP-ENV:Envelope SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" ',
    )
    .replace('<DomainName>', "\r\n<!-- set it -->\r\n<DomainName xsi:type='xsd:string'>")
    .replace('corp.test', 'corp<![CDATA[.te]]>st'),
];

// What a mutation inserts between markup: well-formed pieces (most of the time, so that enough
// mutants stay well-formed to compare trees), and the usual ways to break a document.
const PIECES = [
  '<x/>',
  '<x>t</x>',
  '<SOAP-ENV:Header/>',
  '<p:x xmlns:p="urn:p">t<p:y/></p:x>',
  '<y a="1" b=\'2\'>&lt;</y>',
  '<z xmlns="urn:z"><w xmlns=""/></z>',
  '<!-- c -->',
  '<![CDATA[ <in> & ]]>',
  '<?pi data?>',
  '&amp;',
  '&#65;',
  '&#x1F600;',
  '&#13;',
  'text',
  ' ',
  '\r\n',
  '\r',
  '\t',
];
const BREAKERS = [
  '<x>',
  '</x>',
  '</SOAP-ENV:Body>',
  '<!--',
  '-->',
  '--',
  '<![CDATA[',
  ']]>',
  '<?xml version="1.0"?>',
  '<!DOCTYPE x>',
  '&bogus;',
  '&',
  '<',
  '>',
  '/',
  '"',
  "'",
  '=',
  ':',
];
// What goes into a start tag, before its `>` or `/>`.
const ATTRIBUTES = [
  ' a="1"',
  " b='&amp;&#x9;'",
  ' xmlns="urn:d"',
  ' xmlns=""',
  ' xmlns:q="urn:q"',
  ' xmlns:q="urn:q2"',
  ' xmlns:q=""',
  ' xmlns:xml="urn:x"',
  ' xmlns:xml="http://www.w3.org/XML/1998/namespace"',
  ' xmlns:xmlns="urn:x"',
  ' xmlns:r="http://www.w3.org/2000/xmlns/"',
  ' q:a="1"',
  ' SOAP-ENV:a="2"',
  ' xml:lang="en"',
  ' xsi:nil="true"',
  ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
  ' a="<"',
  ' a=1',
  ' a',
  'a="1"',
  ' :a="1"',
  ' a:="1"',
];

interface Mutation {
  kind: 'truncate' | 'delete' | 'insert' | 'duplicate' | 'attribute';
  /**
   * Where cuts fall: around whole elements (a delete or duplicate takes a start tag through its
   * end tag), at markup boundaries (tags, text runs, comments, CDATA, PIs), or anywhere.
   */
  unit: 'element' | 'token' | 'char';
  /** Positions are fractions, so one mutation fits any document. */
  at: number;
  from: number;
  count: number;
  token: string;
  attribute: string;
}

// Unbiased: fast-check's default bias would crowd every position at the document's edges.
const fraction = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((n) => n / 1_000_000);
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom(
    'truncate',
    'delete',
    'delete',
    'insert',
    'insert',
    'duplicate',
    'duplicate',
    'attribute',
  ),
  unit: fc.constantFrom('element', 'element', 'token', 'char'),
  at: fraction,
  from: fraction,
  count: fc.integer({ min: 1, max: 12 }),
  token: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...PIECES) },
    { weight: 1, arbitrary: fc.constantFrom(...BREAKERS) },
  ),
  attribute: fc.constantFrom(...ATTRIBUTES),
});

// Every string splits into these: any `<` starts a token, so the tokens cover the whole string.
const MARKUP = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<[^<>]*>?|[^<]+/g;
const START_TAG = /^<[^/!?<>][^<>]*>$/;

/** Cut offsets (`cuts[i]` is where token i starts; the last one is the length). */
function tokenize(s: string): { cuts: number[]; tokens: string[] } {
  const tokens = [...s.matchAll(MARKUP)].map((m) => m[0]);
  const cuts = [0];
  for (const t of tokens) cuts.push((cuts[cuts.length - 1] as number) + t.length);
  return { cuts, tokens };
}

/** The token run from `i`: one element whole (or `count` tokens, or `count` characters). */
function run(s: string, unit: Mutation['unit'], f: number, count: number): [number, number] {
  if (unit === 'char') {
    const a = Math.floor(f * (s.length + 1));
    return [a, Math.min(a + count, s.length)];
  }
  const { cuts, tokens } = tokenize(s);
  const i = Math.floor(f * tokens.length);
  let j = Math.min(i + count, tokens.length);
  if (unit === 'element') {
    j = i + 1;
    const first = tokens[i] ?? '';
    if (START_TAG.test(first) && !first.endsWith('/>')) {
      let depth = 1;
      for (; j < tokens.length && depth > 0; j++) {
        const t = tokens[j] as string;
        if (t.startsWith('</')) depth--;
        else if (START_TAG.test(t) && !t.endsWith('/>')) depth++;
      }
    }
  }
  return [cuts[i] as number, cuts[Math.min(j, tokens.length)] as number];
}

function cut(s: string, unit: Mutation['unit'], f: number): number {
  if (unit === 'char') return Math.floor(f * (s.length + 1));
  const { cuts } = tokenize(s);
  return cuts[Math.floor(f * cuts.length)] as number;
}

function mutate(doc: string, ms: readonly Mutation[]): string {
  let s = doc;
  for (const m of ms) {
    switch (m.kind) {
      case 'truncate':
        s = s.slice(0, cut(s, m.unit, m.at));
        break;
      case 'delete': {
        const [a, b] = run(s, m.unit, m.at, m.count);
        s = s.slice(0, a) + s.slice(b);
        break;
      }
      case 'insert': {
        const at = cut(s, m.unit, m.at);
        s = s.slice(0, at) + m.token + s.slice(at);
        break;
      }
      case 'duplicate': {
        const [a, b] = run(s, m.unit, m.from, m.count);
        const at = cut(s, m.unit, m.at);
        s = s.slice(0, at) + s.slice(a, b) + s.slice(at);
        break;
      }
      case 'attribute': {
        const { cuts, tokens } = tokenize(s);
        const starts = tokens.flatMap((t, i) => (START_TAG.test(t) ? [i] : []));
        const i = starts[Math.floor(m.at * starts.length)];
        if (i === undefined) break;
        const t = tokens[i] as string;
        const end = (cuts[i] as number) + t.length - (t.endsWith('/>') ? 2 : 1);
        s = s.slice(0, end) + m.attribute + s.slice(end);
        break;
      }
    }
  }
  return s;
}

const mutatedDoc = fc
  .tuple(fc.constantFrom(...BASE_DOCS), fc.array(mutation, { minLength: 1, maxLength: 3 }))
  .map(([doc, ms]) => mutate(doc, ms));

function asTree(el: XmlElement): Tree {
  return {
    ns: el.ns,
    local: el.local,
    attrs: el.attrs.map((a) => ({ ns: a.ns, local: a.local, value: a.value })),
    children: el.children.map(asTree),
    text: el.text,
  };
}

function checkAgainstSaxes(doc: string): 'both' | 'neither' | 'excluded' {
  const mine = ours(doc);
  const theirs = readWithSaxes(doc);
  if (!(mine instanceof AmtSoapError)) {
    // (a)
    expect(theirs.ok, 'saxes refuses a document we accept').toBe(true);
    if (theirs.ok) expect(asTree(mine)).toEqual(theirs.root);
    return 'both';
  }
  if (!theirs.ok) return 'neither';
  if (theirs.doctype || theirs.depth > MAX_DEPTH || theirs.protoName || LONE_SURROGATE.test(doc)) {
    return 'excluded';
  }
  // (b)
  expect.unreachable(`we refuse a document saxes accepts: ${mine.message}`);
}

describe('parseXmlDocument against saxes', () => {
  it('agrees with saxes on the unmutated documents', () => {
    for (const doc of BASE_DOCS) expect(checkAgainstSaxes(doc)).toBe('both');
  });

  it('agrees on the unit-test documents of both kinds', () => {
    // Documents saxes reads differently by design (DTD, depth, prototype names) are not here.
    const docs = [
      '<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>\n<!-- c -->\n<?pi x?><a/><?pi?>\n<!---->\n',
      '<a> x <b>in b</b>y<![CDATA[ <z> ]]><!-- c --><?p q?>&amp; </a>',
      '<a x=\'1"2\' y="3\'4" z="&lt;&#65;&amp;" w="a\tb\r\nc\nd&#9;&#10;&#13;" e=""/>',
      '<a xmlns="urn:d" xmlns:p="urn:p" x="1" p:y="2" xml:lang="en"><b xmlns=""/><c xmlns="urn:c"/></a>',
      '<p:a p:x="1" xmlns:p=" urn:p\n"/>',
      '<!-- <!DOCTYPE a> --><a><![CDATA[<!DOCTYPE a>]]></a>',
      '<a>]]&gt;]]]<!---->></a>',
      '<é·-.9 _x="1"/>',
      '<a:1 xmlns:a="u"/>',
      '<a xmlns:p="urn:x" xmlns:q="urn:x" p:y="1" q:y="2"/>',
      '<a xmlns:p=""/>',
      '<a xmlns:xml="urn:x"/>',
      '<xmlns:a/>',
      '<a/><?xml version="1.0"?>',
      ' <?xml version="1.0"?><a/>',
      '<?XML version="1.0"?><a/>',
      '<!-- a -- b --><a/>',
      '<a><!-----></a>',
      '<a><?p:t x?></a>',
      '<a>&#X41;</a>',
      '<a></a >',
      '<a></ a>',
      '<a/ >',
      '<a b="1"c="2"/>',
      '<a>x]]>y</a>',
      '<a:b:c xmlns:a="u"/>',
    ];
    const outcomes = docs.map(checkAgainstSaxes);
    expect(outcomes.filter((o) => o === 'excluded')).toEqual([]);
    expect(outcomes.filter((o) => o === 'both').length).toBeGreaterThan(5);
  });

  it('accepts what saxes accepts and nothing else, on mutated AMT SOAP documents', () => {
    const seen = { both: 0, neither: 0, excluded: 0 };
    fc.assert(
      fc.property(mutatedDoc, (doc) => {
        seen[checkAgainstSaxes(doc)]++;
      }),
      { numRuns: NUM_RUNS },
    );
    // The mutations must leave enough well-formed documents for (a) and (b) to say something.
    expect(seen.both).toBeGreaterThan(NUM_RUNS / 20);
  });
});
