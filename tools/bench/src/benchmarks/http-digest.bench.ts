import { hash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  amtDigestPassword,
  answerChallenge,
  createDigestVerifier,
  type DigestVerifier,
  digestInterceptor,
  parseWwwAuthenticate,
} from '@oobkit/http-digest';
import { Agent, type Dispatcher } from 'undici';
import { type Comparison, concurrentBatch } from '../harness.js';

// Verifier throughput against the floor (the two MD5s any verifier must compute per request),
// and the per-request cost of an authenticated undici request against a plain one to the same
// loopback server, measured in the same run.

const REALM = 'Digest:A4070000000000000000000000000000';
const PASSWORD = 'P@ssw0rd';
const HA1 = amtDigestPassword('admin', REALM, PASSWORD).hex;
const SOAP =
  '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">' +
  '<s:Header/><s:Body><h:Get xmlns:h="http://intel.com/wbem/wscim/1/amt-schema/1/AMT_GeneralSettings"/>' +
  '</s:Body></s:Envelope>';

const VERIFY_BATCH = 2_000;
// Warm-up + 5 rounds use 6 batches; keep headroom so no batch builds headers while timed.
const PREBUILT = VERIFY_BATCH * 8;
const REQUEST_BATCH = 500;
const CONCURRENCY = 4;
// Each HTTP batch stops issuing requests after this long, whatever its count.
const BATCH_DEADLINE_MS = 5_000;

let server: Server | undefined;
const agents: Dispatcher[] = [];

function serverVerifier(): DigestVerifier {
  return createDigestVerifier({ realm: REALM, lookup: () => ({ ha1: HA1 }), nonceTtl: 3_600_000 });
}

/** Authorization headers with growing nc on one nonce, built before timing starts. */
function prebuiltHeaders(verifier: DigestVerifier, count: number): string[] {
  const [challenge] = parseWwwAuthenticate(verifier.challenge());
  if (challenge === undefined) throw new Error('no challenge');
  const creds = { username: 'admin', password: PASSWORD };
  return Array.from({ length: count }, (_, i) =>
    answerChallenge(challenge, creds, { method: 'POST', uri: '/wsman' }, { nc: i + 1 }),
  );
}

function verifierComparison(): Comparison {
  const verifier = serverVerifier();
  let pool = prebuiltHeaders(verifier, PREBUILT);
  let next = 0;
  let nc = 0;
  const nonce = 'wlbEK1EtAAAAAAAAWW5aUHFp+mQQ1j63';
  return {
    title: 'digest server: verify() of an MD5 qop=auth Authorization vs the bare MD5 floor',
    unit: 'verification',
    baseline: {
      name: 'floor: HA2 + response MD5',
      fn: () => {
        nc++;
        const ha2 = hash('md5', 'POST:/wsman', 'hex');
        return hash('md5', `${HA1}:${nonce}:${nc.toString(16).padStart(8, '0')}:0a4f113b:auth:${ha2}`, 'hex');
      },
    },
    subject: {
      name: 'createDigestVerifier().verify',
      batch: async () => {
        if (next + VERIFY_BATCH > pool.length) {
          pool = prebuiltHeaders(verifier, PREBUILT);
          next = 0;
        }
        for (let i = 0; i < VERIFY_BATCH; i++) {
          const r = await verifier.verify('POST', '/wsman', pool[next++]);
          if (!r.ok) throw new Error(`verification failed: ${r.reason}`);
        }
        return VERIFY_BATCH;
      },
    },
  };
}

async function startServer(verifier: DigestVerifier): Promise<string> {
  const challengeOnly = serverVerifier().challenge();
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const auth = req.headers.authorization;
      const reply = (status: number, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'text/plain', ...headers });
        res.end(status === 200 ? 'ok' : 'unauthorized');
      };
      if (req.url === '/open') return reply(200);
      if (req.url === '/present') {
        // Client cost only: any Digest header is accepted without verifying it.
        return auth?.startsWith('Digest ') ? reply(200) : reply(401, { 'www-authenticate': challengeOnly });
      }
      void verifier.verify(req.method ?? 'POST', req.url ?? '', auth, Buffer.concat(chunks)).then((r) => {
        if (r.ok) reply(200);
        else reply(401, { 'www-authenticate': verifier.challenge({ stale: r.stale === true }) });
      });
    });
  });
  const s = server;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** `REQUEST_BATCH` POSTs with `CONCURRENCY` in flight, cut short at the deadline; all must be 200. */
function requestBatch(dispatcher: Dispatcher, origin: string, path: string): () => Promise<number> {
  return concurrentBatch(
    async () => {
      const res = await dispatcher.request({
        origin,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/soap+xml;charset=UTF-8' },
        body: SOAP,
        headersTimeout: BATCH_DEADLINE_MS,
        bodyTimeout: BATCH_DEADLINE_MS,
      });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode} on ${path}`);
    },
    { count: REQUEST_BATCH, concurrency: CONCURRENCY, deadlineMs: BATCH_DEADLINE_MS },
  );
}

export async function comparisons(): Promise<Comparison[]> {
  const origin = await startServer(serverVerifier());
  const plain = new Agent({ connections: CONCURRENCY });
  const digestAgent = new Agent({ connections: CONCURRENCY });
  agents.push(plain, digestAgent);
  const digest = digestAgent.compose(
    digestInterceptor({ credentials: { username: 'admin', password: PASSWORD } }),
  );
  return [
    verifierComparison(),
    {
      title: 'digest client: authenticated POST (nonce cached, header not verified) vs plain undici POST',
      unit: 'request',
      baseline: { name: 'plain undici', batch: requestBatch(plain, origin, '/open') },
      subject: { name: 'digestInterceptor', batch: requestBatch(digest, origin, '/present') },
    },
    {
      title: 'digest end to end: authenticated POST verified by createDigestVerifier vs plain undici POST',
      unit: 'request',
      baseline: { name: 'plain undici', batch: requestBatch(plain, origin, '/open') },
      subject: { name: 'interceptor + verifier', batch: requestBatch(digest, origin, '/wsman') },
    },
  ];
}

export async function teardown(): Promise<void> {
  await Promise.all(agents.splice(0).map((a) => a.close()));
  const s = server;
  server = undefined;
  if (s) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
