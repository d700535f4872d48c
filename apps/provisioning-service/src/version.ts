import { readFileSync } from 'node:fs';

let cached: string | undefined;

/**
 * This oobkit's version, from its package.json (one level up from `src/` and from `dist/`, as
 * built); `0.0.0-unknown` if that file cannot be read.
 */
export function oobkitVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
        version?: unknown;
      };
      cached = typeof pkg.version === 'string' ? pkg.version : '0.0.0-unknown';
    } catch {
      cached = '0.0.0-unknown';
    }
  }
  return cached;
}
