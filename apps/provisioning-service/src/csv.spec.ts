import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseComputersCsv, parseCsv, stringifyCsv } from './csv.js';
import { CsvError } from './store/errors.js';

const U1 = '8f3a1c2e-0000-4000-8000-000000000001';
const U2 = '8f3a1c2e-0000-4000-8000-000000000002';

describe('parseCsv', () => {
  it('reads quoted fields, escaped quotes, embedded separators and line breaks', () => {
    expect(parseCsv('a,"b,c","say ""hi""",\r\n"multi\nline",x\n')).toEqual([
      ['a', 'b,c', 'say "hi"', ''],
      ['multi\nline', 'x'],
    ]);
    expect(parseCsv('\ufeffa,b')).toEqual([['a', 'b']]);
    expect(parseCsv('')).toEqual([]);
    expect(parseCsv('\n')).toEqual([['']]);
  });

  it('reports syntax errors with line and column', () => {
    const at = (text: string) => {
      try {
        parseCsv(text);
      } catch (err) {
        expect(err).toBeInstanceOf(CsvError);
        const e = err as CsvError;
        return [e.code, e.line, e.column];
      }
      throw new Error('no error');
    };
    expect(at('a,b\nc,d"e\n')).toEqual(['CSV_SYNTAX', 2, 4]);
    expect(at('a\n"b\nc')).toEqual(['CSV_SYNTAX', 2, 1]);
    expect(at('"a"b')).toEqual(['CSV_SYNTAX', 1, 4]);
    expect(at('a\rb')).toEqual(['CSV_SYNTAX', 1, 2]);
    expect(at('"x\ny"z')).toEqual(['CSV_SYNTAX', 2, 3]);
    expect(at('a, "b,c"')).toEqual(['CSV_SYNTAX', 1, 4]);
    expect(() => parseCsv('a, "b,c"')).toThrow(/remove the spaces before the quote/);
    expect(() => parseCsv('a,b"c')).toThrow(/a quote inside an unquoted field/);
  });

  it('property: parse ∘ stringify is the identity', () => {
    const table = fc.array(
      fc.array(fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', 'é') }), {
        minLength: 1,
        maxLength: 5,
      }),
      {
        maxLength: 8,
      },
    );
    fc.assert(
      fc.property(table, fc.constantFrom('\n' as const, '\r\n' as const), (rows, eol) => {
        expect(parseCsv(stringifyCsv(rows, eol))).toEqual(rows);
      }),
    );
  });

  it('property: any text parses or throws only CsvError', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r', ' ', '\ufeff') }), (text) => {
        try {
          parseCsv(text);
        } catch (err) {
          expect(err).toBeInstanceOf(CsvError);
        }
      }),
    );
  });
});

describe('parseComputersCsv', () => {
  it('takes at most 100,000 computers per import, naming the first line past it', () => {
    const row = (i: number) =>
      `8f3a1c2e-0000-4000-8000-${i.toString(16).padStart(12, '0')},pc-${i},corp.example.com`;
    const rows = (n: number) =>
      ['uuid,hostName,domainName', ...Array.from({ length: n }, (_, i) => row(i))].join('\n');
    expect(parseComputersCsv(rows(100_000))).toHaveLength(100_000);
    expect(() => parseComputersCsv(rows(100_001))).toThrow(
      expect.objectContaining({
        code: 'CSV_ROW',
        line: 100_002,
        message: expect.stringContaining('at most 100000'),
      }),
    );
  });

  it('reads computers with the header in any order and case, skipping blank lines', () => {
    const text = `hostName,UUID,domainName,ou\r\npc-1,${U1.toUpperCase()},corp.example.com,"OU=AMT,DC=corp"\r\n\r\npc-2, ${U2} ,corp.example.com,\r\n`;
    expect(parseComputersCsv(text)).toEqual([
      { uuid: U1, hostName: 'pc-1', domainName: 'corp.example.com', ou: 'OU=AMT,DC=corp', source: 'import' },
      { uuid: U2, hostName: 'pc-2', domainName: 'corp.example.com', source: 'import' },
    ]);
    expect(parseComputersCsv('uuid,hostName,domainName\n')).toEqual([]);
  });

  it('names the line of a bad header or row', () => {
    const fail = (text: string) => {
      try {
        parseComputersCsv(text);
      } catch (err) {
        const e = err as CsvError;
        return [e.code, e.line];
      }
      return undefined;
    };
    expect(fail('')).toEqual(['CSV_HEADER', 1]);
    expect(fail('uuid,hostName,domain\n')).toEqual(['CSV_HEADER', 1]);
    expect(fail('uuid,hostName\n')).toEqual(['CSV_HEADER', 1]);
    expect(fail('uuid,hostName,domainName,uuid\n')).toEqual(['CSV_HEADER', 1]);
    expect(
      fail(`uuid,hostName,domainName\n${U1},pc-1,corp.example.com\n${U2},pc 2,corp.example.com\n`),
    ).toEqual(['CSV_ROW', 3]);
    expect(fail(`uuid,hostName,domainName\n\n${U1},pc-1\n`)).toEqual(['CSV_ROW', 3]);
    expect(fail(`uuid,hostName,domainName\n${U1},pc-1,a.b\n${U1},pc-2,a.b\n`)).toEqual(['CSV_ROW', 3]);
    expect(fail('uuid,hostName,domainName\nnot-a-uuid,pc,a.b\n')).toEqual(['CSV_ROW', 2]);
  });
});
