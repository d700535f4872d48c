import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HASH_ALGORITHMS } from './constants.js';
import { ProvisioningCertError } from './errors.js';
import { decodePemCertificates } from './pem.js';
import { createTestPki, type TestPkiMarker, type TestPkiOptions } from './test-pki.js';
import { thumbprintHex } from './thumbprint.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const USAGE = `usage:
  oobkit-pki init <dir> [--fqdn <name>] [--marker oid|ou|both] [--bits 2048] [--hash SHA-256]
                        [--intermediates 1] [--password <pfx password>] [--force]
      writes a demo AMT provisioning PKI (test use only) to <dir>
  oobkit-pki hashes <file.pem>
      prints the SHA-1, SHA-256 and SHA-384 thumbprints of the last certificate in the file`;

const DEFAULT_FQDN = 'provisionserver.oobkit.test';

class UsageError extends Error {}

function integer(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,5}$/.test(value)) throw new UsageError(`--${name} must be a number`);
  return Number(value);
}

async function init(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      fqdn: { type: 'string' },
      marker: { type: 'string' },
      bits: { type: 'string' },
      hash: { type: 'string' },
      intermediates: { type: 'string' },
      password: { type: 'string' },
      force: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('init takes exactly one folder');
  const dir = resolve(positionals[0] as string);
  const marker = (values.marker ?? 'oid') as TestPkiMarker;
  if (!['oid', 'ou', 'both'].includes(marker)) throw new UsageError('--marker must be oid, ou or both');
  const opts: TestPkiOptions = {
    serverFqdn: values.fqdn ?? DEFAULT_FQDN,
    marker,
    keyBits: integer(values.bits, 'bits', 2048) as TestPkiOptions['keyBits'],
    hash: (values.hash ?? 'SHA-256') as TestPkiOptions['hash'],
    intermediates: integer(values.intermediates, 'intermediates', 1),
    ...(values.password === undefined ? {} : { pfxPassword: values.password }),
  };
  const names = [
    'root.pem',
    'leaf.pem',
    'leaf.key',
    'chain.pem',
    'provisioning.pfx',
    'provisioning.pfx.password',
    'root-hashes.json',
  ];
  for (let i = 1; i <= (opts.intermediates ?? 0); i++) names.push(`intermediate-${i}.pem`);
  const existing = names.filter((n) => existsSync(join(dir, n)));
  if (existing.length && !values.force) {
    io.err(`refusing to overwrite ${existing.join(', ')} in ${dir} (use --force)`);
    return 1;
  }
  const pki = await createTestPki(opts);
  mkdirSync(dir, { recursive: true });
  // Key material: owner-only, also when --force overwrites an older, wider file.
  const writeSecret = (name: string, data: string | Buffer) => {
    writeFileSync(join(dir, name), data, { mode: 0o600 });
    chmodSync(join(dir, name), 0o600);
  };
  const hashes = Object.fromEntries(HASH_ALGORITHMS.map((a) => [a, pki.rootHashes[a].toString('hex')]));
  writeFileSync(join(dir, 'root.pem'), pki.root.pem);
  for (const [i, c] of pki.intermediates.entries())
    writeFileSync(join(dir, `intermediate-${i + 1}.pem`), c.pem);
  writeFileSync(join(dir, 'leaf.pem'), pki.leaf.pem);
  writeSecret('leaf.key', pki.leaf.keyPem);
  writeFileSync(join(dir, 'chain.pem'), pki.chain.certPem);
  writeSecret('provisioning.pfx', pki.pfx);
  writeSecret('provisioning.pfx.password', `${pki.pfxPassword}\n`);
  writeFileSync(join(dir, 'root-hashes.json'), `${JSON.stringify(hashes, null, 2)}\n`);
  io.out(`wrote a TEST provisioning PKI for ${opts.serverFqdn} to ${dir}`);
  io.out(`  chain.pem + leaf.key, provisioning.pfx (password in provisioning.pfx.password)`);
  for (const a of HASH_ALGORITHMS) io.out(`  root ${a}: ${hashes[a]}`);
  return 0;
}

function hashes(args: string[], io: CliIo): number {
  if (args.length !== 1) throw new UsageError('hashes takes exactly one PEM file');
  const certs = decodePemCertificates(readFileSync(args[0] as string, 'utf8'));
  const last = certs[certs.length - 1] as Buffer;
  for (const a of HASH_ALGORITHMS) io.out(`${a} ${thumbprintHex(last, a)}`);
  return 0;
}

/** The `oobkit-pki` command; returns the exit code. */
export async function runPkiCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'init') return await init(rest, io);
    if (command === 'hashes') return hashes(rest, io);
    if (command === 'help' || command === '--help' || command === '-h') {
      io.out(USAGE);
      return 0;
    }
    throw new UsageError(command ? `unknown command: ${command}` : 'no command');
  } catch (err) {
    if (
      err instanceof UsageError ||
      (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      io.err(`${err.message}\n${USAGE}`);
      return 2;
    }
    if (err instanceof ProvisioningCertError) {
      io.err(`${err.code}: ${err.message}`);
      return 1;
    }
    if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('E')) {
      io.err(err.message);
      return 1;
    }
    throw err;
  }
}
