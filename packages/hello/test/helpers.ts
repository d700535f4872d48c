import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import {
  createHelloListener,
  type HelloAcceptedEvent,
  type HelloDroppedEvent,
  type HelloListener,
  type HelloListenerOptions,
  type HelloRejectedEvent,
  type PkiHello,
} from '../src/index.js';

/** A PKI hello like AMT 11+ sends (23 SHA-256 hashes, 807 bytes), its UUID derived from `n`. */
export function pkiHello(n: number, retryCount = 0): PkiHello {
  return {
    kind: 'pki',
    version: 3,
    adminCredentialsSet: false,
    retryCount,
    uuid: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
    hashes: Array.from({ length: 23 }, (_, i) => ({
      algorithm: 'sha256' as const,
      hash: Buffer.alloc(32, i),
    })),
  };
}

const started: HelloListener[] = [];

/** Starts a listener on 127.0.0.1 and an ephemeral port; `closeAll()` stops every one. */
export async function startListener(
  options: HelloListenerOptions = {},
): Promise<{ listener: HelloListener; port: number }> {
  const listener = createHelloListener({ host: '127.0.0.1', port: 0, ...options });
  started.push(listener);
  const { port } = await listener.listen();
  return { listener, port };
}

export async function closeAll(): Promise<void> {
  await Promise.all(started.splice(0).map((l) => l.close({ drainTimeoutMs: 0 })));
}

export type Outcome = HelloAcceptedEvent | HelloRejectedEvent | HelloDroppedEvent;

/** Resolves with the next `n` accepted, rejected or dropped events, in order. */
export function outcomes(listener: HelloListener, n: number): Promise<Outcome[]> {
  return new Promise((resolve) => {
    const seen: Outcome[] = [];
    const on = (ev: Outcome) => {
      seen.push(ev);
      if (seen.length === n) {
        listener.off('hello', on);
        listener.off('rejected', on);
        listener.off('dropped', on);
        resolve(seen);
      }
    };
    listener.on('hello', on);
    listener.on('rejected', on);
    listener.on('dropped', on);
  });
}

/** A raw client socket, connected; errors (resets from a listener that cut it) are ignored. */
export async function rawConnect(port: number, localAddress?: string): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

export function write(socket: Socket, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => socket.write(bytes, () => resolve()));
}

export const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
