import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AMT_SERVER_PRODUCT, parseAmtServerHeader } from './index.js';

describe('parseAmtServerHeader', () => {
  it('reads the header a real AMT 11.8 sends', () => {
    expect(parseAmtServerHeader('Intel(R) Active Management Technology 11.8.50.3425')).toEqual({
      product: 'Intel(R) Active Management Technology',
      version: '11.8.50.3425',
      major: 11,
      minor: 8,
    });
  });

  it('takes the first value of a repeated header, and shorter versions', () => {
    expect(parseAmtServerHeader(['Intel(R) Active Management Technology 5.2.10.1023', 'x'])).toMatchObject({
      version: '5.2.10.1023',
      major: 5,
      minor: 2,
    });
    expect(parseAmtServerHeader('Intel(r) Active Management Technology 16')).toMatchObject({
      version: '16',
      major: 16,
      minor: 0,
    });
    expect(parseAmtServerHeader('Intel(R) Active Management Technology 9.1.2 (comment)')).toMatchObject({
      version: '9.1.2',
      minor: 1,
    });
  });

  it('gives undefined for other servers, no header and malformed versions', () => {
    for (const v of [
      undefined,
      [],
      '',
      'nginx/1.25',
      'Intel(R) Active Management Technology',
      'Intel(R) Active Management Technology ',
      'Intel(R) Active Management Technology v11.8',
      'Intel(R) Active Management Technology 11.8.50.3425abc',
      'Intel(R) Active Management Technology 1.2.3.4.5',
      'Intel(R) Active Management Technology 1234.1',
      'Intel(R) Active Management Technology 11.',
      'Apache Intel(R) Active Management Technology 11.8',
      'Active Management Technology 11.8',
    ]) {
      expect(parseAmtServerHeader(v), String(v)).toBeUndefined();
    }
  });

  it('never throws, and what it returns is consistent', () => {
    const junk = fc.oneof(
      fc.string(),
      fc.string().map((s) => `${AMT_SERVER_PRODUCT} ${s}`),
      fc.stringMatching(/^[0-9. \t]{0,20}$/).map((s) => `${AMT_SERVER_PRODUCT} ${s}`),
    );
    fc.assert(
      fc.property(fc.oneof(junk, fc.array(junk), fc.constant(undefined)), (v) => {
        const r = parseAmtServerHeader(v);
        if (r === undefined) return;
        expect(r.product).toBe(AMT_SERVER_PRODUCT);
        expect(r.version).toMatch(/^\d+(\.\d+){0,3}$/);
        const [major, minor = '0'] = r.version.split('.');
        expect([r.major, r.minor]).toEqual([Number(major), Number(minor)]);
      }),
    );
  });

  it('reads back every well-formed version it is given', () => {
    const part = (max: number) => fc.integer({ min: 0, max });
    fc.assert(
      fc.property(
        part(999),
        fc.option(part(9999), { nil: undefined }),
        fc.array(part(999999), { maxLength: 2 }),
        fc.constantFrom('', ' ', '\t(x)'),
        (major, minor, rest, tail) => {
          const parts = minor === undefined ? [major] : [major, minor, ...rest];
          const version = parts.join('.');
          expect(parseAmtServerHeader(`${AMT_SERVER_PRODUCT} ${version}${tail}`)).toEqual({
            product: AMT_SERVER_PRODUCT,
            version,
            major,
            minor: minor ?? 0,
          });
        },
      ),
    );
  });
});
