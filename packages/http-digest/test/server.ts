import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DigestVerifier } from '../src/index.js';

/** What the test server saw and answered, one entry per HTTP exchange. */
export interface Exchange {
  method: string;
  url: string;
  authorization?: string;
  contentType?: string;
  body: string;
  status: number;
  reason?: string;
}

export type Handler = (
  req: IncomingMessage,
  body: Buffer,
) => Promise<{ status: number; headers?: Record<string, string>; body?: string; reason?: string }>;

/** An AMT-like 401: challenge, `Connection: close` (amt-protocol.md §4). */
export function verifierHandler(
  verifier: DigestVerifier,
  options: { staleFlag?: boolean; withBody?: boolean } = {},
): Handler {
  return async (req, body) => {
    const result = await verifier.verify(
      req.method ?? 'GET',
      req.url ?? '/',
      req.headers.authorization,
      options.withBody === false ? undefined : body,
    );
    if (result.ok) {
      return {
        status: 200,
        body: JSON.stringify({ user: result.username, qop: result.qop, body: body.toString() }),
      };
    }
    const stale = options.staleFlag === false ? false : result.stale === true;
    return {
      status: 401,
      headers: { 'www-authenticate': verifier.challenge({ stale }), connection: 'close' },
      body: 'unauthorized',
      reason: result.reason,
    };
  };
}

/** A `node:http` server on 127.0.0.1 that records every exchange. */
export async function startServer(handler: Handler) {
  const exchanges: Exchange[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      handler(req, body).then(
        (out) => {
          const ex: Exchange = {
            method: req.method ?? '',
            url: req.url ?? '',
            body: body.toString(),
            status: out.status,
          };
          if (req.headers.authorization !== undefined) ex.authorization = req.headers.authorization;
          if (req.headers['content-type'] !== undefined) ex.contentType = req.headers['content-type'];
          if (out.reason !== undefined) ex.reason = out.reason;
          exchanges.push(ex);
          res.writeHead(out.status, out.headers ?? {});
          res.end(out.body ?? '');
        },
        (err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    exchanges,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
