import { createServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { createRsaKeyCache, createSelfSignedCertificate, createTestPki } from '@oobkit/provisioning-cert';
const keys = createRsaKeyCache();
const pki = await createTestPki({ serverFqdn: 'a.test', keys });
const ss = await createSelfSignedCertificate({ commonName: 'floor', keys });
const body = Buffer.alloc(2000, 'x');
const server = createServer({ cert: ss.certPem, key: ss.keyPem!, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', noDelay: true }, (req, res) => { req.resume(); req.on('end', () => { res.writeHead(200); res.end(body); }); });
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as any).port;
const secureContext = createSecureContext({ cert: pki.chain.certPem, key: pki.chain.keyPem!, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
for (const withCert of [true, false]) {
  const connector = buildConnector({ ...(withCert ? { secureContext } : {}), rejectUnauthorized: false, maxCachedSessions: 0 });
  const agent = new Agent({ connect: connector, connections: 1 });
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) { const r = await agent.request({ origin: `https://127.0.0.1:${port}`, path: '/', method: 'POST', body: Buffer.alloc(1500, 'y') }); await r.body.dump(); }
  const t1 = performance.now();
  for (let i = 0; i < 10; i++) { const r = await agent.request({ origin: `https://127.0.0.1:${port}`, path: '/', method: 'POST', body: Buffer.alloc(1500, 'y'), reset: true }); await r.body.dump(); }
  const t2 = performance.now();
  console.log('cert', withCert, 'keepalive req ms', ((t1 - t0) / 20).toFixed(2), 'handshake+req ms', ((t2 - t1) / 10).toFixed(2));
  await agent.close();
}
server.close();
