import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// Each publishable package, as a user installs it: a throwaway project whose node_modules holds
// only a link to the package folder, loaded once with `import` and once with `require`.
const packagesDir = new URL('../../../packages/', import.meta.url).pathname;
const names = readdirSync(packagesDir).filter((d) => existsSync(join(packagesDir, d, 'package.json')));
const work = mkdtempSync(join(tmpdir(), 'oobkit-consumer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function exportsOf(dir: string, file: string, code: string): string[] {
  writeFileSync(join(dir, file), code);
  return JSON.parse(execFileSync(process.execPath, [join(dir, file)], { cwd: dir, encoding: 'utf8' }));
}

describe.each(names)('built package %s', (dir) => {
  const manifest = JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8'));
  const name: string = manifest.name;

  it('ships ESM, CJS and type declarations as its exports map says', () => {
    const dot = manifest.exports['.'];
    for (const target of [dot.import.default, dot.import.types, dot.require.default, dot.require.types]) {
      expect(existsSync(join(packagesDir, dir, target)), `${name}: ${target}`).toBe(true);
    }
    expect(manifest.sideEffects).toBe(false);
    expect(manifest.publishConfig.access).toBe('public');
  });

  it('loads from an ESM and a CJS consumer with the same exports, base error included', () => {
    const consumer = join(work, dir);
    mkdirSync(join(consumer, 'node_modules', '@oobkit'), { recursive: true });
    symlinkSync(join(packagesDir, dir), join(consumer, 'node_modules', name));
    writeFileSync(join(consumer, 'package.json'), '{"name":"consumer","private":true}');
    const esm = exportsOf(
      consumer,
      'esm.mjs',
      `import * as m from '${name}';\nconsole.log(JSON.stringify(Object.keys(m).sort()));\n`,
    );
    const cjs = exportsOf(
      consumer,
      'cjs.cjs',
      `const m = require('${name}');\nconsole.log(JSON.stringify(Object.keys(m).sort()));\n`,
    );
    expect(esm.length).toBeGreaterThan(0);
    expect(cjs).toEqual(esm);
    expect(esm.some((k) => k.endsWith('Error'))).toBe(true);
  });
});
