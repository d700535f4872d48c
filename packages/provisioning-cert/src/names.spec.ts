import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProvisioningCertError } from './errors.js';
import { matchServerName } from './names.js';

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));

describe('matchServerName', () => {
  it.each([
    ['ps.corp.example.com', 'corp.example.com', '2.0', 'exact'],
    ['corp.example.com', 'corp.example.com', '2.0', 'exact'],
    ['*.corp.example.com', 'corp.example.com', '2.0', 'wildcard'],
    ['*.example.com', 'corp.example.com', '2.6', 'shared-domain'],
    ['ps.example.net', 'a.b.example.net', '2.6', 'shared-domain'],
    ['ps.example.co.uk', 'sales.example.co.uk', '4.1', 'shared-domain'],
    ['ps.example.de', 'it.example.de', '6.0', 'shared-domain'],
  ])('%s fits %s on %s (%s)', (name, suffix, fw, rule) => {
    expect(matchServerName(name, suffix, fw)).toEqual({ fits: true, name, rule });
  });

  it.each([
    ['ps.evil-example.com', 'example.com', '16', 'outside-suffix'],
    ['evilexample.com', 'example.com', '16', 'outside-suffix'],
    ['ps.example.com', 'sales.example.com', '2.5', 'outside-suffix'],
    ['ps.example.co.uk', 'sales.example.co.uk', '5.0', 'outside-suffix'],
    ['*.com', 'example.com', '16', 'wildcard-invalid'],
    ['*', 'example.com', '16', 'wildcard-invalid'],
    ['*.co.uk', 'example.co.uk', '16', 'wildcard-invalid'],
    ['f*.example.com', 'example.com', '16', 'wildcard-invalid'],
    ['a.*.example.com', 'example.com', '16', 'wildcard-invalid'],
    ['ps..example.com', 'example.com', '16', 'malformed'],
    ['ps.exam ple.com', 'example.com', '16', 'malformed'],
    ['', 'example.com', '16', 'malformed'],
  ])('%s does not fit %s on %s (%s)', (name, suffix, fw, reason) => {
    expect(matchServerName(name, suffix, fw)).toEqual({ fits: false, name, reason });
  });

  it('compares ASCII case-insensitively but never folds non-ASCII look-alikes', () => {
    expect(matchServerName('PS.EXAMPLE.COM', 'Example.Com.', '2.0').fits).toBe(true);
    // U+212A KELVIN SIGN lower-cases to "k" with String#toLowerCase.
    expect(matchServerName('ps.\u212Aorp.com', 'korp.com', '2.0').fits).toBe(false);
  });

  it('refuses a DNS suffix that is not a name', () => {
    for (const bad of ['', '.', 'a..b', 'exa mple.com', '*.example.com']) {
      expect(() => matchServerName('ps.example.com', bad, '16')).toThrowError(
        expect.objectContaining({ code: 'PCERT_OPTION_INVALID' }),
      );
    }
  });

  it('always fits a name made of any host labels followed by the suffix', () => {
    fc.assert(
      fc.property(
        fc.array(label, { maxLength: 3 }),
        domain,
        fc.constantFrom('2.0', '5.0', '16.1'),
        (hosts, suffix, fw) => {
          const name = [...hosts, suffix].join('.');
          const upper = name.toUpperCase();
          expect(matchServerName(upper, suffix, fw)).toMatchObject({ fits: true, rule: 'exact' });
        },
      ),
    );
  });

  it('never fits when the suffix is glued to another label (raw string suffix)', () => {
    fc.assert(
      fc.property(label, label, domain, (prefix, host, suffix) => {
        const name = `${host}.${prefix}${suffix}`;
        // Old firmware: only the exact rule; the glued label differs from the suffix's first label.
        expect(matchServerName(name, suffix, '2.0').fits).toBe(false);
      }),
    );
  });

  it('throws nothing but ProvisioningCertError on random names and suffixes', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (name, suffix) => {
        try {
          const r = matchServerName(name, suffix, '16');
          expect(typeof r.fits).toBe('boolean');
        } catch (err) {
          expect(err).toBeInstanceOf(ProvisioningCertError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('TLDs that are Object.prototype member names', () => {
  it('does not let `*.constructor` or `*.__proto__` cover a whole TLD', () => {
    for (const tld of ['constructor', '__proto__']) {
      for (const fw of ['16.1', '11.8', '2.6']) {
        expect(matchServerName(`*.${tld}`, tld, fw)).toEqual({
          fits: false,
          name: `*.${tld}`,
          reason: 'wildcard-invalid',
        });
      }
      // With tldDepth the table has no entry: no shared-domain match at any depth.
      expect(matchServerName(`x.a.${tld}`, `y.a.${tld}`, '16.1')).toMatchObject({ fits: false });
    }
  });
});
