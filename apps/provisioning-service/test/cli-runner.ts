import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (`tsup` builds it; the workspace test task builds before testing). */
export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `oobkit --data-dir <dataDir> ...args` asynchronously (a server in this process may have to
 * answer it), with no `OOBKIT_*` variable of the test's environment but those of `env`, and
 * `input` on stdin. With `dataDir` undefined, no `--data-dir` is given: the default, `.oobkit`
 * in `cwd`.
 */
export function runOobkit(
  dataDir: string | undefined,
  args: string[],
  opts: { cwd?: string; input?: string; env?: Record<string, string> } = {},
): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('OOBKIT_')) delete env[k];
  Object.assign(env, opts.env);
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...(dataDir === undefined ? [] : ['--data-dir', dataDir]), ...args],
      { env, ...(opts.cwd ? { cwd: opts.cwd } : {}) },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}
