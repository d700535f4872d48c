import { connect } from 'node:net';
import { encodeHello, type Hello } from './codec.js';
import { HelloError } from './errors.js';
import { HELLO_PORT } from './listener.js';

export interface SendHelloTarget {
  host: string;
  /** Default 9971. */
  port?: number;
  /** Source address to send from, e.g. a simulated device's own 127.x.y.z. */
  localAddress?: string;
  /** Deadline for the whole send, connect to close (default 10 s). */
  timeoutMs?: number;
}

/**
 * The device side: connect, write one hello, half-close, and wait for the server to close.
 * Resolves once the connection closed cleanly; the protocol has no acknowledgement, so this
 * does not prove the server accepted the hello. Encoding errors reject before any connection.
 */
export function sendHello(target: SendHelloTarget, hello: Hello | Uint8Array): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = hello instanceof Uint8Array ? hello : encodeHello(hello);
  } catch (error) {
    return Promise.reject(error);
  }
  const port = target.port ?? HELLO_PORT;
  const timeoutMs = target.timeoutMs ?? 10_000;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return Promise.reject(new HelloError('HELLO_BAD_OPTIONS', 'port must be an integer from 1 to 65535'));
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    return Promise.reject(new HelloError('HELLO_BAD_OPTIONS', 'timeoutMs must be a finite number > 0'));
  }
  const where = `${target.host}:${port}`;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const socket = connect({
      host: target.host,
      port,
      ...(target.localAddress !== undefined ? { localAddress: target.localAddress } : {}),
    });
    const settle = (error?: HelloError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        resolve();
      }
    };
    const timer = setTimeout(
      () =>
        settle(new HelloError('HELLO_SEND_TIMEOUT', `sending a hello to ${where} took over ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('connect', () => socket.end(bytes));
    // The server sends nothing; reading lets its FIN through so the socket can close.
    socket.resume();
    socket.on('error', (cause: NodeJS.ErrnoException) => {
      settle(
        new HelloError(
          'HELLO_SEND_FAILED',
          `sending a hello to ${where} failed: ${cause.code ?? cause.message}`,
          {
            cause,
          },
        ),
      );
    });
    socket.once('close', () => settle());
  });
}
