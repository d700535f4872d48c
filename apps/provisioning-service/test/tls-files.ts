import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * A self-signed certificate and its key (P-256, valid 2 days) written by openssl into `dir` as
 * `<name>.crt` and `<name>.key`, for `subjectAltName` (e.g. `IP:127.0.0.1`, `DNS:x.test`).
 */
export function selfSignedTlsFiles(
  dir: string,
  opts: { name: string; commonName: string; subjectAltName: string },
): { certFile: string; keyFile: string } {
  const certFile = join(dir, `${opts.name}.crt`);
  const keyFile = join(dir, `${opts.name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      `/CN=${opts.commonName}`,
      '-addext',
      `subjectAltName=${opts.subjectAltName}`,
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile };
}
