import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, destination };
}

const SECRETS = [
  'pw-111111',
  'pass-222222',
  'secret-333333',
  'otp-444444',
  'master-555555',
  'key-666666',
  'keypem-777777',
  'psk-888888',
  'Bearer tok-999999',
  'tok-000000',
  'mebx-121212',
  'admin-131313',
  'digest-141414',
  'cause-151515',
];

describe('createLogger', () => {
  it('redacts every secret-named key at any depth, in bindings and in errors', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'debug', destination });
    const child = log.child({ jobId: 7, apiToken: 'tok-000000' });
    const err = Object.assign(new Error('login failed'), {
      code: 'DIGEST_UNAUTHORIZED',
      password: 'pw-111111',
      cause: { secret: 'cause-151515' },
    });
    const cyclic: Record<string, unknown> = { otp: 'otp-444444' };
    cyclic.self = cyclic;
    child.info(
      {
        password: 'pw-111111',
        credential: { username: 'admin', pass: 'pass-222222', Secret: 'secret-333333' },
        otp: 'otp-444444',
        kerberos: { masterKey: 'master-555555' },
        cert: { key: 'key-666666', keyPem: 'keypem-777777' },
        wifi: [{ ssid: 'office', pskPassphrase: 'psk-888888' }],
        headers: { authorization: 'Bearer tok-999999' },
        settings: { mebxPassword: 'mebx-121212', adminPassword: 'admin-131313' },
        acl: { DigestPassword: 'digest-141414' },
        cyclic,
        uuid: '8f3a1c2e-0000-4000-8000-000000000001',
      },
      'step done',
    );
    child.error({ err }, 'failed');
    const out = lines.join('');
    for (const s of SECRETS) expect(out).not.toContain(s);
    const first = JSON.parse(lines[0] ?? '{}');
    expect(first).toMatchObject({
      msg: 'step done',
      jobId: 7,
      apiToken: '[redacted]',
      password: '[redacted]',
      credential: { username: 'admin', pass: '[redacted]' },
      wifi: [{ ssid: 'office', pskPassphrase: '[redacted]' }],
      uuid: '8f3a1c2e-0000-4000-8000-000000000001',
      cyclic: { otp: '[redacted]', self: '[circular]' },
    });
    const second = JSON.parse(lines[1] ?? '{}');
    expect(second.err).toMatchObject({
      type: 'Error',
      message: 'login failed',
      code: 'DIGEST_UNAUTHORIZED',
      password: '[redacted]',
    });
  });

  it('logs the status of a fastify request in its access line', async () => {
    const { default: Fastify } = await import('fastify');
    const { lines, destination } = capture();
    const app = Fastify({ loggerInstance: createLogger({ destination }) });
    app.get('/teapot', async (_req, reply) => reply.code(418).send({ ok: false }));
    await app.inject({ method: 'GET', url: '/teapot', headers: { authorization: 'Bearer tok-000000' } });
    await app.inject({ method: 'GET', url: '/nowhere' });
    await app.close();
    const completed = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request completed');
    expect(completed.map((l) => l.res)).toEqual([{ statusCode: 418 }, { statusCode: 404 }]);
    expect(lines.join('')).not.toContain('tok-000000');
  });

  it("never writes the bytes an error carries (Node's rawPacket holds the raw request, token included)", () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'debug', destination });
    const err = Object.assign(new Error('Parse Error'), {
      code: 'HPE_INVALID_HEADER_TOKEN',
      rawPacket: Buffer.from('GET / HTTP/1.1\r\nAuthorization: Bearer tok-000000\r\n'),
      bytes: new Uint8Array([1, 2, 3]),
    });
    log.debug({ err }, 'client error');
    const line = JSON.parse(lines[0] as string);
    expect(line.err).toMatchObject({
      code: 'HPE_INVALID_HEADER_TOKEN',
      rawPacket: expect.stringMatching(/^\[\d+ bytes\]$/),
    });
    expect(line.err.bytes).toBe('[3 bytes]');
    expect(lines.join('')).not.toContain('tok-000000');
  });

  it('honours the level', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'warn', destination });
    log.info('hidden');
    log.warn('shown');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['shown']);
  });
});
