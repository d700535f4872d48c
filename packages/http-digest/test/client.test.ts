import { Readable } from 'node:stream';
import { Agent, type Dispatcher, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  computeDigestResponse,
  createDigestVerifier,
  type DigestAlgorithm,
  DigestError,
  type DigestQop,
  type DigestRequestOptions,
  type DigestVerifierOptions,
  digestInterceptor,
  parseAuthorization,
} from '../src/index.js';
import { type Handler, startServer, verifierHandler } from './server.js';

// amt-protocol.md §4: a real AMT 11.8 challenge.
const REALM = 'Digest:A4070000000000000000000000000000';
const AMT_NONCE = 'wlbEK1EtAAAAAAAAWW5aUHFp+mQQ1j63';
const AMT_CHALLENGE = `Digest realm="${REALM}", nonce="${AMT_NONCE}",stale="false",qop="auth"`;
const PASSWORD = 'P@ssw0rd';
const SOAP =
  '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">' +
  '<s:Body>é &amp; ü</s:Body></s:Envelope>';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(handler: Handler) {
  const s = await startServer(handler);
  cleanups.push(s.close);
  return s;
}

function clock() {
  let t = 1_700_000_000_000;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

async function verifierServer(
  options: Partial<DigestVerifierOptions> = {},
  handlerOptions: { staleFlag?: boolean } = {},
) {
  const c = clock();
  const verifier = createDigestVerifier({
    realm: REALM,
    lookup: (u) => (u === 'admin' ? { password: PASSWORD } : undefined),
    now: c.now,
    ...options,
  });
  const s = await server(verifierHandler(verifier, handlerOptions));
  return { ...s, verifier, advance: c.advance };
}

function client(options: Parameters<typeof digestInterceptor>[0] = {}): Dispatcher {
  const agent = new Agent();
  cleanups.push(() => agent.close());
  return agent.compose(digestInterceptor(options));
}

async function post(dispatcher: Dispatcher, origin: string, extra: Partial<DigestRequestOptions> = {}) {
  const opts: DigestRequestOptions = {
    origin,
    path: '/wsman',
    method: 'POST',
    headers: { 'content-type': 'application/soap+xml;charset=UTF-8' },
    body: SOAP,
    ...extra,
  };
  const res = await dispatcher.request(opts);
  return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
}

async function rejection(p: Promise<unknown>): Promise<DigestError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DigestError);
    return err as DigestError;
  }
  throw new Error('expected a rejection');
}

const fields = (authorization: string | undefined) => parseAuthorization(authorization ?? '');

describe('digestInterceptor against the real AMT challenge', () => {
  /** Answers exactly like the captured AMT: fixed challenge, Connection: close on 401. */
  const amtHandler: Handler = async (req, body) => {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const a = parseAuthorization(header);
      const expected = computeDigestResponse({
        username: 'admin',
        realm: REALM,
        password: PASSWORD,
        nonce: AMT_NONCE,
        method: req.method ?? '',
        uri: req.url ?? '',
        qop: 'auth',
        nc: a.nc ?? '',
        cnonce: a.cnonce ?? '',
      });
      if (a.realm === REALM && a.nonce === AMT_NONCE && a.uri === req.url && a.response === expected) {
        return { status: 200, body: `ok ${body.length}` };
      }
    }
    return { status: 401, headers: { 'www-authenticate': AMT_CHALLENGE, connection: 'close' }, body: 'no' };
  };

  it('resends the same request and body, then authenticates later requests up front', async () => {
    const s = await server(amtHandler);
    const d = client({ credentials: { username: 'admin', password: PASSWORD } });

    const first = await post(d, s.origin);
    expect(first.status).toBe(200);
    expect(first.text).toBe(`ok ${Buffer.byteLength(SOAP)}`);
    expect(s.exchanges.map((e) => e.status)).toEqual([401, 200]);
    expect(s.exchanges.map((e) => e.body)).toEqual([SOAP, SOAP]);
    expect(s.exchanges.map((e) => e.contentType)).toEqual([
      'application/soap+xml;charset=UTF-8',
      'application/soap+xml;charset=UTF-8',
    ]);
    expect(s.exchanges[0]?.authorization).toBeUndefined();
    const a1 = fields(s.exchanges[1]?.authorization);
    expect(a1).toMatchObject({
      username: 'admin',
      realm: REALM,
      nonce: AMT_NONCE,
      uri: '/wsman',
      qop: 'auth',
    });
    expect(a1.nc).toBe('00000001');
    expect(a1.algorithm).toBeUndefined();
    expect(s.exchanges[1]?.authorization).not.toMatch(/algorithm/);

    const second = await post(d, s.origin);
    expect(second.status).toBe(200);
    expect(s.exchanges).toHaveLength(3);
    const a2 = fields(s.exchanges[2]?.authorization);
    expect(a2.nonce).toBe(AMT_NONCE);
    expect(a2.nc).toBe('00000002');
    expect(a2.cnonce).not.toBe(a1.cnonce);
  });

  it('also resends a Buffer body', async () => {
    const s = await server(amtHandler);
    const d = client({ credentials: { username: 'admin', password: PASSWORD } });
    const body = Buffer.from(SOAP);
    expect((await post(d, s.origin, { body })).text).toBe(`ok ${body.length}`);
    expect(s.exchanges.map((e) => e.body)).toEqual([SOAP, SOAP]);
  });
});

describe('digestInterceptor against createDigestVerifier over loopback', () => {
  it('tries a list of credentials one after another: wrong, then right', async () => {
    const s = await verifierServer();
    const d = client();
    const wrong = await rejection(
      post(d, s.origin, { digest: { username: 'admin', password: 'Wr0ng!pass' } }),
    );
    expect(wrong.code).toBe('DIGEST_WRONG_CREDENTIALS');
    expect([wrong.status, wrong.refusals, wrong.username, wrong.realm]).toEqual([401, 1, 'admin', REALM]);
    expect(`${wrong.message} ${JSON.stringify(wrong)}`).not.toContain('Wr0ng!pass');

    const unknown = await rejection(post(d, s.origin, { digest: { username: 'root', password: PASSWORD } }));
    expect(unknown.code).toBe('DIGEST_WRONG_CREDENTIALS');

    // `request(url, { dispatcher, digest })` passes the option through as well.
    const res = await request(`${s.origin}/wsman`, {
      dispatcher: d,
      method: 'POST',
      body: SOAP,
      digest: { username: 'admin', password: PASSWORD },
    });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(await res.body.text())).toEqual({ user: 'admin', qop: 'auth', body: SOAP });
    // Each refusal's 401 carries a fresh challenge, which the next credentials answer at once:
    // one refused answer per wrong entry, and no bare try after the first.
    expect(s.exchanges.map((e) => e.reason)).toEqual([
      'missing',
      'wrong-response',
      'unknown-user',
      undefined,
    ]);

    // Accepted credentials now go up front: one exchange.
    expect((await post(d, s.origin, { digest: { username: 'admin', password: PASSWORD } })).status).toBe(200);
    expect(s.exchanges).toHaveLength(5);
  });

  it('answers the challenge of a 401 to a request without credentials at once (e.g. a probe)', async () => {
    const s = await verifierServer();
    const d = client();
    expect((await post(d, s.origin)).status).toBe(401);
    expect((await post(d, s.origin, { digest: { username: 'admin', password: PASSWORD } })).status).toBe(200);
    expect(s.exchanges.map((e) => [e.status, e.reason])).toEqual([
      [401, 'missing'],
      [200, undefined],
    ]);
    // The probe's nonce, answered once with nc 1.
    expect(fields(s.exchanges[1]?.authorization).nc).toBe('00000001');
  });

  it("a refused answer to a probe's challenge counts: one wrong try, then the typed error", async () => {
    const s = await verifierServer();
    const d = client();
    expect((await post(d, s.origin)).status).toBe(401);
    const wrong = await rejection(
      post(d, s.origin, { digest: { username: 'admin', password: 'Wr0ng!pass' } }),
    );
    expect([wrong.code, wrong.refusals]).toEqual(['DIGEST_WRONG_CREDENTIALS', 1]);
    expect(s.exchanges.map((e) => e.reason)).toEqual(['missing', 'wrong-response']);
  });

  it('an unanswered challenge older than unansweredTtlMs is not used; nor with preemptive off', async () => {
    let t = 0;
    const s = await verifierServer();
    const d = client({ unansweredTtlMs: 1_000, now: () => t });
    expect((await post(d, s.origin)).status).toBe(401);
    t = 1_001;
    expect((await post(d, s.origin, { digest: { username: 'admin', password: PASSWORD } })).status).toBe(200);
    expect(s.exchanges.map((e) => e.reason)).toEqual(['missing', 'missing', undefined]);

    const s2 = await verifierServer();
    const off = client({ preemptive: false });
    expect((await post(off, s2.origin)).status).toBe(401);
    expect((await post(off, s2.origin, { digest: { username: 'admin', password: PASSWORD } })).status).toBe(
      200,
    );
    expect(s2.exchanges.map((e) => e.reason)).toEqual(['missing', 'missing', undefined]);
  });

  it('two requests racing for one unanswered challenge: one answers it, the other goes bare', async () => {
    const s = await verifierServer();
    const d = client();
    expect((await post(d, s.origin)).status).toBe(401);
    const creds = { digest: { username: 'admin', password: PASSWORD } };
    const both = await Promise.all([post(d, s.origin, creds), post(d, s.origin, creds)]);
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    // One took the probe's challenge; the other found it taken and went bare, then answered.
    expect(s.exchanges.map((e) => e.reason).sort()).toEqual(
      ['missing', 'missing', undefined, undefined].sort(),
    );
    expect(s.exchanges.filter((e) => e.reason === 'nc-replay')).toHaveLength(0);
  });

  it('gives a 401 back untouched when a request has no credentials', async () => {
    const s = await verifierServer();
    const res = await post(client(), s.origin);
    expect(res.status).toBe(401);
    expect(res.text).toBe('unauthorized');
    expect(res.headers['www-authenticate']).toMatch(/^Digest realm=/);
  });

  it('per-request credentials override the interceptor default', async () => {
    const s = await verifierServer();
    const d = client({ credentials: { username: 'admin', password: 'Wr0ng!pass' } });
    expect((await post(d, s.origin, { digest: { username: 'admin', password: PASSWORD } })).status).toBe(200);
    expect((await rejection(post(d, s.origin))).code).toBe('DIGEST_WRONG_CREDENTIALS');
  });

  it('answers a stale nonce (expired) with a fresh one, without counting a refusal', async () => {
    const s = await verifierServer({ nonceTtl: 60_000 });
    const d = client({ credentials: { username: 'admin', password: PASSWORD } });
    expect((await post(d, s.origin)).status).toBe(200);
    s.advance(60_001);
    expect((await post(d, s.origin)).status).toBe(200);
    expect(s.exchanges.map((e) => e.reason)).toEqual(['missing', undefined, 'stale-nonce', undefined]);
    expect(fields(s.exchanges[3]?.authorization).nonce).not.toBe(fields(s.exchanges[2]?.authorization).nonce);
    expect(fields(s.exchanges[3]?.authorization).nc).toBe('00000001');
  });

  it('recovers when the server resets its nonces', async () => {
    const s = await verifierServer();
    const d = client({ credentials: { username: 'admin', password: PASSWORD } });
    expect((await post(d, s.origin)).status).toBe(200);
    s.verifier.resetNonces();
    expect((await post(d, s.origin)).status).toBe(200);
    expect(s.exchanges.map((e) => e.reason)).toEqual(['missing', undefined, 'stale-nonce', undefined]);
  });

  it('recovers even when the server drops a nonce without saying stale', async () => {
    const s = await verifierServer({}, { staleFlag: false });
    const d = client({ credentials: { username: 'admin', password: PASSWORD } });
    expect((await post(d, s.origin)).status).toBe(200);
    s.verifier.resetNonces();
    expect((await post(d, s.origin)).status).toBe(200);
    expect(s.exchanges.map((e) => e.status)).toEqual([401, 200, 401, 200]);
  });

  it('the server refuses a replayed nc', async () => {
    const s = await verifierServer();
    const d = client({ credentials: { username: 'admin', password: PASSWORD } });
    expect((await post(d, s.origin)).status).toBe(200);
    const captured = s.exchanges[1]?.authorization ?? '';
    const plain = new Agent();
    cleanups.push(() => plain.close());
    const res = await plain.request({
      origin: s.origin,
      path: '/wsman',
      method: 'POST',
      body: SOAP,
      headers: { authorization: captured },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(401);
    expect(s.exchanges.at(-1)?.reason).toBe('nc-replay');
    // The client itself moves on with nc 2.
    expect((await post(d, s.origin)).status).toBe(200);
    expect(fields(s.exchanges.at(-1)?.authorization).nc).toBe('00000002');
  });

  it.each<[DigestAlgorithm[], DigestQop[], string | undefined, DigestQop]>([
    [['SHA-256', 'MD5'], ['auth'], 'SHA-256', 'auth'],
    [['MD5-sess'], ['auth'], 'MD5-sess', 'auth'],
    [['SHA-512-256-sess'], ['auth'], 'SHA-512-256-sess', 'auth'],
    [['MD5'], ['auth-int', 'auth'], undefined, 'auth'],
    [['SHA-256'], ['auth-int'], 'SHA-256', 'auth-int'],
  ])('server offers %j with qop %j: client answers %s / %s', async (algorithms, qop, algorithm, chosen) => {
    const s = await verifierServer({ algorithms, qop });
    const d = client({ credentials: { username: 'admin', password: PASSWORD } });
    const body = Buffer.from(SOAP);
    const res = await post(d, s.origin, { body });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ qop: chosen, body: SOAP });
    const a = fields(s.exchanges[1]?.authorization);
    expect(a.algorithm).toBe(algorithm);
    expect(a.qop).toBe(chosen);
    // And up front on the next request.
    expect((await post(d, s.origin, { body })).status).toBe(200);
    expect(s.exchanges).toHaveLength(3);
  });

  it('gives up after maxRefusals refusals', async () => {
    const s = await verifierServer();
    const d = client({ credentials: { username: 'admin', password: 'Wr0ng!pass' }, maxRefusals: 2 });
    const err = await rejection(post(d, s.origin));
    expect([err.code, err.refusals]).toEqual(['DIGEST_WRONG_CREDENTIALS', 2]);
    expect(s.exchanges.map((e) => e.reason)).toEqual(['missing', 'wrong-response', 'wrong-response']);
  });

  it('answers several concurrent requests', async () => {
    const s = await verifierServer();
    const d = client({ credentials: { username: 'admin', password: PASSWORD } });
    const results = await Promise.all(Array.from({ length: 8 }, () => post(d, s.origin)));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    const more = await Promise.all(Array.from({ length: 8 }, () => post(d, s.origin)));
    expect(more.map((r) => r.status)).toEqual(Array(8).fill(200));
  });

  it('signs the path with its query, and replaces a caller Authorization header', async () => {
    const s = await verifierServer();
    const d = client({ credentials: { username: 'admin', password: PASSWORD } });
    const res = await post(d, s.origin, {
      method: 'GET',
      body: null,
      path: '/wsman',
      query: { a: 'b c', d: 'é' },
      headers: ['Authorization', 'Basic eDp4', 'x-extra', '1'],
    });
    expect(res.status).toBe(200);
    expect(s.exchanges[1]?.url).toBe('/wsman?a=b%20c&d=%C3%A9');
    expect(fields(s.exchanges[1]?.authorization).uri).toBe('/wsman?a=b%20c&d=%C3%A9');
  });
});

describe('digestInterceptor failures', () => {
  const fixed =
    (challenge: string): Handler =>
    async () => ({ status: 401, headers: { 'www-authenticate': challenge, connection: 'close' }, body: 'x' });
  const creds = { username: 'admin', password: PASSWORD };

  it('a malformed Digest challenge → DIGEST_MALFORMED_CHALLENGE', async () => {
    const s = await server(fixed('Digest realm="broken, nonce="n'));
    const err = await rejection(post(client({ credentials: creds }), s.origin));
    expect(err.code).toBe('DIGEST_MALFORMED_CHALLENGE');
    expect(err.challenge).toContain('realm="broken');
  });

  it('only unknown algorithms → DIGEST_UNSUPPORTED_ALGORITHM', async () => {
    const s = await server(fixed('Digest realm="r", nonce="n", qop="auth", algorithm=SHA-1024'));
    const err = await rejection(post(client({ credentials: creds }), s.origin));
    expect([err.code, err.algorithm]).toEqual(['DIGEST_UNSUPPORTED_ALGORITHM', 'SHA-1024']);
  });

  it('a 401 without a Digest challenge is passed through', async () => {
    const s = await server(fixed('Basic realm="x"'));
    expect((await post(client({ credentials: creds }), s.origin)).status).toBe(401);
  });

  it('a stream body cannot be resent → DIGEST_BODY_NOT_REPLAYABLE', async () => {
    const s = await verifierServer();
    const err = await rejection(
      post(client({ credentials: creds }), s.origin, { body: Readable.from([SOAP]) }),
    );
    expect(err.code).toBe('DIGEST_BODY_NOT_REPLAYABLE');
  });

  it('a server that never stops sending stale challenges → DIGEST_TOO_MANY_CHALLENGES', async () => {
    let n = 0;
    const s = await server(async () => ({
      status: 401,
      headers: { 'www-authenticate': `Digest realm="r", nonce="n${n++}", stale=true, qop="auth"` },
    }));
    const err = await rejection(post(client({ credentials: creds }), s.origin));
    expect(err.code).toBe('DIGEST_TOO_MANY_CHALLENGES');
    expect(s.exchanges).toHaveLength(5);
  });

  it('bad credentials objects and options are refused with DIGEST_INVALID_ARGUMENT', async () => {
    expect(() => digestInterceptor({ maxRefusals: 0 })).toThrow(DigestError);
    expect(() => digestInterceptor({ credentials: { username: 'a' } as never })).toThrow(DigestError);
    const s = await verifierServer();
    const err = await rejection(post(client(), s.origin, { digest: { username: 1 } as never }));
    expect(err.code).toBe('DIGEST_INVALID_ARGUMENT');
    expect(s.exchanges).toHaveLength(0);
  });
});

describe('per-request credentials through dispatcher.request', () => {
  it('type-checks as an object literal and authenticates', async () => {
    const s = await verifierServer();
    const d = client();
    const res = await d.request({
      origin: s.origin,
      path: '/wsman',
      method: 'POST',
      body: SOAP,
      digest: { username: 'admin', password: PASSWORD },
    });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(await res.body.text())).toMatchObject({ user: 'admin' });
  });
});

describe('Authentication-Info', () => {
  it('switches to the nextnonce the server hands out, restarting nc', async () => {
    let next = 0;
    const s = await server(async (req): ReturnType<Handler> => {
      if (req.headers.authorization === undefined) {
        return { status: 401, headers: { 'www-authenticate': AMT_CHALLENGE, connection: 'close' } };
      }
      next++;
      return {
        status: 200,
        headers: { 'authentication-info': `nextnonce="next-${next}", qop=auth` },
        body: 'ok',
      };
    });
    const d = client({ credentials: { username: 'admin', password: PASSWORD } });
    for (let i = 0; i < 3; i++) expect((await post(d, s.origin)).status).toBe(200);
    const sent = s.exchanges.slice(1).map((e) => fields(e.authorization));
    expect(sent.map((a) => [a.nonce, a.nc])).toEqual([
      [AMT_NONCE, '00000001'],
      ['next-1', '00000001'],
      ['next-2', '00000001'],
    ]);
  });
});
