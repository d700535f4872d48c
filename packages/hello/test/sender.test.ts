import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeHello, type HelloError, type PskHello, sendHello } from '../src/index.js';
import { pkiHello } from './helpers.js';

const servers: Server[] = [];
const sockets = new Set<Socket>();

/** A plain TCP server standing in for the provisioning service: records what each peer sent. */
async function recorder(closeOnEnd = true) {
  const received: { from: string | undefined; bytes: Buffer }[] = [];
  // Half-open: a server that never closes unless it decides to.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('end', () => {
      received.push({ from: socket.remoteAddress, bytes: Buffer.concat(chunks) });
      if (closeOnEnd) socket.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return { received, port: (server.address() as { port: number }).port };
}

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('sendHello', () => {
  it('writes exactly the encoded hello, from the given local address, and resolves on close', async () => {
    const { received, port } = await recorder();
    const hello = pkiHello(1, 7);
    await sendHello({ host: '127.0.0.1', port, localAddress: '127.0.0.42' }, hello);
    expect(received).toHaveLength(1);
    expect(received[0]?.from).toBe('127.0.0.42');
    expect(received[0]?.bytes.equals(encodeHello(hello))).toBe(true);
  });

  it('sends raw bytes as they are (for fault injection)', async () => {
    const { received, port } = await recorder();
    await sendHello({ host: '127.0.0.1', port }, Uint8Array.of(9, 9, 9));
    expect(received[0]?.bytes).toEqual(Buffer.from([9, 9, 9]));
  });

  it('refuses to send an invalid hello, before connecting', async () => {
    const { received, port } = await recorder();
    const bad = {
      kind: 'psk',
      version: 2,
      adminCredentialsSet: true,
      retryCount: 0,
      uuid: pkiHello(1).uuid,
      pid: 'x',
    };
    await expect(sendHello({ host: '127.0.0.1', port }, bad as PskHello)).rejects.toMatchObject({
      code: 'HELLO_BAD_PID',
      offset: 24,
    });
    expect(received).toHaveLength(0);
  });

  it('gives HELLO_SEND_FAILED with the socket error as cause when nobody listens', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    await new Promise((r) => server.close(r));
    const err = (await sendHello({ host: '127.0.0.1', port }, pkiHello(2)).catch((e) => e)) as HelloError;
    expect(err.code).toBe('HELLO_SEND_FAILED');
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('gives HELLO_SEND_TIMEOUT when the server never closes', async () => {
    const { received, port } = await recorder(false);
    await expect(sendHello({ host: '127.0.0.1', port, timeoutMs: 200 }, pkiHello(3))).rejects.toMatchObject({
      code: 'HELLO_SEND_TIMEOUT',
    });
    expect(received).toHaveLength(1); // the bytes did arrive; only the close never came
  });

  it('checks its options', async () => {
    for (const target of [
      { host: '127.0.0.1', port: 0 },
      { host: '127.0.0.1', port: 65_536 },
      { host: '127.0.0.1', timeoutMs: 0 },
      { host: '127.0.0.1', timeoutMs: Number.NaN },
    ]) {
      await expect(sendHello(target, pkiHello(4))).rejects.toMatchObject({ code: 'HELLO_BAD_OPTIONS' });
    }
  });
});
