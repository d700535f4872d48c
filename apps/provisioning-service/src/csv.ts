import { CsvError, StoreInputError } from './store/errors.js';
import type { ImportedComputer } from './store/types.js';
import { MAX_IMPORT_COMPUTERS, validateComputer } from './store/validate.js';

export interface CsvRecord {
  fields: string[];
  /** 1-based line where the record starts. */
  line: number;
}

/**
 * A small strict RFC 4180 reader: `,` separates fields, CRLF or LF ends a record, a field that
 * starts with `"` is quoted (`""` is a quote; separators and line breaks are literal inside). A
 * quote inside an unquoted field, text after a closing quote, a lone CR or an unterminated quote
 * is a `CsvError('CSV_SYNTAX')` with its line and column. A leading UTF-8 BOM is skipped; a final
 * line break does not start a record.
 */
export function parseCsvRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let lineStart = i;
  const n = text.length;
  if (i >= n) return records;
  let fields: string[] = [];
  let recordLine = line;
  const col = (at: number) => at - lineStart + 1;
  for (;;) {
    // One field starts at i.
    let value = '';
    if (text[i] === '"') {
      const openLine = line;
      const openCol = col(i);
      i++;
      for (;;) {
        if (i >= n) throw new CsvError('CSV_SYNTAX', 'a quoted field is not closed', openLine, openCol);
        const c = text[i] as string;
        if (c === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (c === '\n') {
          line++;
          lineStart = i + 1;
        }
        value += c;
        i++;
      }
      const after = text[i];
      if (after !== undefined && after !== ',' && after !== '\n' && after !== '\r') {
        throw new CsvError('CSV_SYNTAX', 'unexpected text after a closing quote', line, col(i));
      }
    } else {
      const start = i;
      while (i < n) {
        const c = text[i];
        if (c === ',' || c === '\n' || c === '\r') break;
        if (c === '"') {
          // `a, "b,c"` (a space after the comma) is a common slip: say so rather than "inside".
          const spaces = text.slice(start, i).trim() === '';
          throw new CsvError(
            'CSV_SYNTAX',
            spaces
              ? 'a quoted field must start right after the comma: remove the spaces before the quote'
              : 'a quote inside an unquoted field',
            line,
            col(i),
          );
        }
        i++;
      }
      value = text.slice(start, i);
    }
    fields.push(value);
    const sep = text[i];
    if (sep === ',') {
      i++;
      continue;
    }
    if (sep === '\r') {
      if (text[i + 1] !== '\n')
        throw new CsvError('CSV_SYNTAX', 'a carriage return without a line feed', line, col(i));
      i++;
    }
    // End of record: a line break or the end of the text.
    records.push({ fields, line: recordLine });
    if (i >= n) return records;
    i++; // the \n
    line++;
    lineStart = i;
    if (i >= n) return records;
    fields = [];
    recordLine = line;
  }
}

export function parseCsv(text: string): string[][] {
  return parseCsvRecords(text).map((r) => r.fields);
}

/** Writes records so that `parseCsv` reads them back unchanged. */
export function stringifyCsv(rows: readonly (readonly string[])[], eol: '\n' | '\r\n' = '\n'): string {
  return rows
    .map((r) =>
      r
        .map((f) => (/[",\r\n]/.test(f) || (r.length === 1 && f === '') ? `"${f.replaceAll('"', '""')}"` : f))
        .join(','),
    )
    .map((l) => l + eol)
    .join('');
}

const COLUMNS = { uuid: 'uuid', hostname: 'hostName', domainname: 'domainName', ou: 'ou' } as const;
type Column = (typeof COLUMNS)[keyof typeof COLUMNS];

/**
 * Reads an import file: a header naming `uuid`, `hostName`, `domainName` and optionally `ou`
 * (any order, any case), then one computer per line. Blank lines are skipped and values are
 * trimmed. Every problem is a `CsvError` with the line: `CSV_HEADER` for the header, `CSV_ROW`
 * for a row (wrong field count, invalid value, repeated UUID).
 */
export function parseComputersCsv(text: string): Omit<ImportedComputer, 'importedAt'>[] {
  const records = parseCsvRecords(text).filter((r) => !(r.fields.length === 1 && r.fields[0]?.trim() === ''));
  const header = records.shift();
  if (!header)
    throw new CsvError('CSV_HEADER', 'the file is empty; expected the header uuid,hostName,domainName,ou', 1);
  const columns: Column[] = header.fields.map((f, i) => {
    const c = COLUMNS[f.trim().toLowerCase() as keyof typeof COLUMNS];
    if (!c)
      throw new CsvError(
        'CSV_HEADER',
        `unknown column "${f.trim()}" (expected uuid, hostName, domainName, ou)`,
        header.line,
        i + 1,
      );
    return c;
  });
  for (const required of ['uuid', 'hostName', 'domainName'] as const) {
    if (!columns.includes(required))
      throw new CsvError('CSV_HEADER', `the header lacks the ${required} column`, header.line);
  }
  if (new Set(columns).size !== columns.length)
    throw new CsvError('CSV_HEADER', 'the header repeats a column', header.line);
  const extra = records[MAX_IMPORT_COMPUTERS];
  if (extra) {
    throw new CsvError(
      'CSV_ROW',
      `one import takes at most ${MAX_IMPORT_COMPUTERS} computers: split the file before this line`,
      extra.line,
    );
  }
  const seen = new Map<string, number>();
  return records.map((r) => {
    if (r.fields.length !== columns.length) {
      throw new CsvError('CSV_ROW', `expected ${columns.length} fields, found ${r.fields.length}`, r.line);
    }
    const raw: Record<string, string> = { source: 'import' };
    columns.forEach((c, i) => {
      raw[c] = (r.fields[i] as string).trim();
    });
    let computer: Omit<ImportedComputer, 'importedAt'>;
    try {
      computer = validateComputer(raw);
    } catch (err) {
      if (err instanceof StoreInputError) {
        throw new CsvError('CSV_ROW', err.message.replace(/^computer\./, ''), r.line);
      }
      throw err;
    }
    const first = seen.get(computer.uuid);
    if (first !== undefined) throw new CsvError('CSV_ROW', `uuid repeats line ${first}`, r.line);
    seen.set(computer.uuid, r.line);
    return computer;
  });
}
