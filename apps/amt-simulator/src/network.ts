import { constants } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createSecureContext, DEFAULT_CIPHERS, type SecureContext } from 'node:tls';
import { encodePem } from '@oobkit/provisioning-cert';
import type { KeyMaterial, TlsIdentity } from './keypool.js';
import type { Personality } from './personality.js';

/** What the shared HTTP server needs to know about a connection it did not accept itself. */
export interface ConnectionInfo {
  handler: (req: IncomingMessage, res: ServerResponse, conn: ConnectionInfo) => void;
  transport: 'http' | 'tls';
  /** A provisioning chain was validated in this TLS session (setup mode). */
  provisioningSession: boolean;
  /** Subject of the validated provisioning certificate, for the log. */
  peer?: string;
}

const connections = new WeakMap<Socket, ConnectionInfo>();
let httpServer: Server | undefined;

/**
 * One HTTP parser for every device in the process: devices accept sockets on their own address
 * and hand them over, so 1,000 devices cost 2,000 listening sockets and no per-device server.
 */
function sharedHttpServer(): Server {
  if (!httpServer) {
    httpServer = createServer({ keepAliveTimeout: 10_000, headersTimeout: 30_000, requestTimeout: 60_000 });
    httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const conn = connections.get(req.socket);
      if (!conn) {
        req.socket.destroy();
        return;
      }
      conn.handler(req, res, conn);
    });
    httpServer.on('clientError', (_err, socket) => socket.destroy());
  }
  return httpServer;
}

export function serveHttp(socket: Socket, info: ConnectionInfo): void {
  connections.set(socket, info);
  sharedHttpServer().emit('connection', socket);
}

/** RSA key-transport suites old firmware speaks, plus the TLS 1.2 ones modern clients prefer. */
const LEGACY_CIPHERS = [
  'AES128-SHA',
  'AES256-SHA',
  'AES128-SHA256',
  'AES256-SHA256',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
  '@SECLEVEL=0',
].join(':');

/**
 * TLS options by personality: legacy accepts TLS 1.0 and RSA key transport, modern is TLS 1.2
 * only. Security level 0 on both so that weak client chains reach the firmware rules (which
 * refuse them by name) instead of failing inside OpenSSL.
 */
export function tlsOptions(personality: Personality): {
  minVersion: 'TLSv1' | 'TLSv1.2';
  maxVersion: 'TLSv1.2';
  ciphers: string;
  secureOptions: number;
  sessionIdContext: string;
  ca: string[];
} {
  // No session tickets: every setup connection must present (and have checked) its chain.
  // No CA store either: Node completes a peer chain that stops short of its root from the
  // context's store (system roots, NODE_EXTRA_CA_CERTS), while AMT judges only the certificates
  // the client sent. `ca: []` leaves the store empty.
  const session = {
    secureOptions: constants.SSL_OP_NO_TICKET,
    sessionIdContext: 'amt-simulator',
    ca: [] as string[],
  };
  return personality === 'legacy'
    ? { minVersion: 'TLSv1', maxVersion: 'TLSv1.2', ciphers: LEGACY_CIPHERS, ...session }
    : { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: `${DEFAULT_CIPHERS}:@SECLEVEL=0`, ...session };
}

const sharedContexts = new Map<Personality, SecureContext>();

/** The context of the shared self-signed identity, one per personality per process. */
export function sharedContext(personality: Personality, identity: TlsIdentity): SecureContext {
  let ctx = sharedContexts.get(personality);
  if (!ctx) {
    ctx = createSecureContext({ cert: identity.certPem, key: identity.keyPem, ...tlsOptions(personality) });
    sharedContexts.set(personality, ctx);
  }
  return ctx;
}

/** A context for a provisioned certificate (made once per certificate and device). */
export function credentialContext(
  personality: Personality,
  certDerB64: string,
  key: KeyMaterial,
): SecureContext {
  return createSecureContext({
    cert: encodePem(Buffer.from(certDerB64, 'base64')),
    key: key.privateKeyPem,
    ...tlsOptions(personality),
  });
}
