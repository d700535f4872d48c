import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSoapFault, buildSoapResponse, type ParsedSoapRequest, parseSoapRequest } from '../src/index.js';

/** What a test handler answers: a status + outputs, a fault, or raw bytes. */
export type Answer =
  | { status?: number; output?: Record<string, unknown> }
  | { fault: { code: string; string: string; detail?: string } }
  | { raw: string; httpStatus?: number };

export interface SeenRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  parsed?: ParsedSoapRequest;
}

/**
 * A loopback SOAP server built from the server toolkit, as the simulator builds its own:
 * parseSoapRequest → handler → buildSoapResponse / buildSoapFault.
 */
export async function startSoapServer(handler: (req: ParsedSoapRequest) => Answer) {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const entry: SeenRequest = { path: req.url ?? '', headers: req.headers, body: body.toString('utf8') };
      seen.push(entry);
      let xml: string;
      let status = 200;
      try {
        const parsed = parseSoapRequest(body, {
          path: req.url ?? '',
          soapAction: req.headers.soapaction as string | undefined,
        });
        entry.parsed = parsed;
        const a = handler(parsed);
        if ('raw' in a) {
          xml = a.raw;
          status = a.httpStatus ?? 200;
        } else if ('fault' in a) {
          xml = buildSoapFault(a.fault.code, a.fault.string, a.fault.detail);
          status = 500;
        } else {
          xml = buildSoapResponse(parsed, a.status ?? 0, a.output);
        }
      } catch (e) {
        xml = buildSoapFault('Client', e instanceof Error ? e.message : 'bad request');
        status = 500;
      }
      res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' });
      res.end(xml);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
