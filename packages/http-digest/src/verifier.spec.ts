import { describe, expect, it } from 'vitest';
import { amtDigestPassword } from './amt.js';
import { answerChallenge, DIGEST_ALGORITHMS, type DigestAlgorithm, type DigestQop } from './digest.js';
import { DigestError } from './errors.js';
import { parseAuthorization, parseWwwAuthenticate } from './header.js';
import { createDigestVerifier, type DigestUserSecret, type DigestVerifierOptions } from './verifier.js';

const REALM = 'Digest:A4070000000000000000000000000000';
const USERS: Record<string, string> = { admin: 'P@ssw0rd', operator: 'Op3r@tor!' };

function setup(extra: Partial<DigestVerifierOptions> = {}) {
  let clock = 1_700_000_000_000;
  const verifier = createDigestVerifier({
    realm: REALM,
    lookup: (u) => (USERS[u] === undefined ? undefined : { password: USERS[u] }),
    now: () => clock,
    ...extra,
  });
  /** Answers a fresh challenge (or `challenge` if given) as a client would. */
  const answer = (
    opts: {
      user?: string;
      password?: string;
      nc?: number;
      uri?: string;
      body?: string;
      challenge?: string;
      cnonce?: string;
    } = {},
  ) => {
    const [c] = parseWwwAuthenticate(opts.challenge ?? verifier.challenge());
    if (c === undefined) throw new Error('no challenge');
    const user = opts.user ?? 'admin';
    return answerChallenge(
      c,
      { username: user, password: opts.password ?? USERS[user] ?? 'x' },
      { method: 'POST', uri: opts.uri ?? '/wsman', ...(opts.body === undefined ? {} : { body: opts.body }) },
      { nc: opts.nc ?? 1, ...(opts.cnonce === undefined ? {} : { cnonce: opts.cnonce }) },
    );
  };
  return {
    verifier,
    answer,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('createDigestVerifier: challenge()', () => {
  it('is shaped like AMT for MD5: no algorithm, qop="auth", 32-character base64 nonce', () => {
    const { verifier } = setup();
    expect(verifier.challenge()).toMatch(
      /^Digest realm="Digest:A4070000000000000000000000000000", nonce="[A-Za-z0-9+/]{32}",stale="false",qop="auth"$/,
    );
    expect(verifier.challenge({ stale: true })).toContain(',stale="true",');
  });

  it('issues a different nonce each time', () => {
    const { verifier } = setup();
    const nonces = new Set(
      Array.from({ length: 50 }, () => parseWwwAuthenticate(verifier.challenge())[0]?.nonce),
    );
    expect(nonces.size).toBe(50);
  });

  it('offers one challenge per algorithm, in order, naming every non-MD5 one', () => {
    const { verifier } = setup({ algorithms: ['SHA-256', 'MD5'], qop: ['auth-int', 'auth'] });
    const cs = parseWwwAuthenticate(verifier.challenge());
    expect(cs.map((c) => [c.algorithm, c.qop])).toEqual([
      ['SHA-256', ['auth-int', 'auth']],
      [undefined, ['auth-int', 'auth']],
    ]);
    expect(verifier.challenges()).toHaveLength(2);
  });

  it('refuses bad options with DIGEST_INVALID_ARGUMENT', () => {
    const lookup = () => undefined;
    for (const bad of [
      { realm: '', lookup },
      { realm: 'r', lookup, algorithms: [] },
      { realm: 'r', lookup, algorithms: ['SHA-1' as DigestAlgorithm] },
      { realm: 'r', lookup, qop: ['auth-conf' as DigestQop] },
      { realm: 'r', lookup, nonceTtl: 0 },
    ]) {
      expect(() => createDigestVerifier(bad)).toThrow(DigestError);
    }
  });
});

describe('createDigestVerifier: verify()', () => {
  it('accepts a right answer and reports the user', async () => {
    const { verifier, answer } = setup();
    await expect(verifier.verify('POST', '/wsman', answer())).resolves.toEqual({
      ok: true,
      username: 'admin',
      algorithm: 'MD5',
      qop: 'auth',
    });
  });

  it.each(DIGEST_ALGORITHMS.flatMap((a) => (['auth', 'auth-int'] as const).map((q) => [a, q] as const)))(
    'round-trips %s with qop=%s',
    async (algorithm, qop) => {
      const { verifier, answer } = setup({ algorithms: [algorithm], qop: [qop] });
      const body = '<Envelope>é</Envelope>';
      await expect(verifier.verify('POST', '/wsman', answer({ body }), body)).resolves.toMatchObject({
        ok: true,
        algorithm,
        qop,
      });
      if (qop === 'auth-int') {
        await expect(
          verifier.verify('POST', '/wsman', answer({ body }), '<Envelope>e</Envelope>'),
        ).resolves.toMatchObject({ ok: false, reason: 'wrong-response' });
      }
    },
  );

  it('refuses a wrong password as wrong-response, never stale', async () => {
    const { verifier, answer } = setup();
    await expect(verifier.verify('POST', '/wsman', answer({ password: 'nope' }))).resolves.toEqual({
      ok: false,
      reason: 'wrong-response',
      username: 'admin',
    });
  });

  it('refuses an unknown user', async () => {
    const { verifier, answer } = setup();
    await expect(verifier.verify('POST', '/wsman', answer({ user: 'mallory' }))).resolves.toMatchObject({
      ok: false,
      reason: 'unknown-user',
    });
  });

  it('requires nc to grow per nonce: replays and older counts are refused as stale', async () => {
    const { verifier } = setup();
    const [c] = parseWwwAuthenticate(verifier.challenge());
    if (c === undefined) throw new Error('no challenge');
    const at = (nc: number) =>
      answerChallenge(
        c,
        { username: 'admin', password: 'P@ssw0rd' },
        { method: 'POST', uri: '/wsman' },
        { nc },
      );
    const first = at(1);
    expect((await verifier.verify('POST', '/wsman', first)).ok).toBe(true);
    await expect(verifier.verify('POST', '/wsman', first)).resolves.toMatchObject({
      ok: false,
      reason: 'nc-replay',
      stale: true,
    });
    expect((await verifier.verify('POST', '/wsman', at(5))).ok).toBe(true);
    await expect(verifier.verify('POST', '/wsman', at(3))).resolves.toMatchObject({ reason: 'nc-replay' });
    expect((await verifier.verify('POST', '/wsman', at(6))).ok).toBe(true);
  });

  it('expires nonces after nonceTtl: a right answer is then stale, a wrong one is not', async () => {
    const { verifier, answer, advance } = setup({ nonceTtl: 60_000 });
    const challenge = verifier.challenge();
    advance(60_001);
    await expect(verifier.verify('POST', '/wsman', answer({ challenge }))).resolves.toMatchObject({
      ok: false,
      reason: 'stale-nonce',
      stale: true,
    });
    const wrong = await verifier.verify('POST', '/wsman', answer({ challenge, password: 'nope' }));
    expect(wrong).toMatchObject({ ok: false, reason: 'wrong-response' });
    expect(wrong).not.toHaveProperty('stale');
  });

  it('expires a nonce that is already in use, too', async () => {
    const { verifier, answer, advance } = setup({ nonceTtl: 60_000 });
    const challenge = verifier.challenge();
    expect((await verifier.verify('POST', '/wsman', answer({ challenge, nc: 1 }))).ok).toBe(true);
    advance(30_000);
    expect((await verifier.verify('POST', '/wsman', answer({ challenge, nc: 2 }))).ok).toBe(true);
    advance(30_001);
    await expect(verifier.verify('POST', '/wsman', answer({ challenge, nc: 3 }))).resolves.toMatchObject({
      reason: 'stale-nonce',
      stale: true,
    });
  });

  it('accepts a nonce right up to its expiry', async () => {
    const { verifier, answer, advance } = setup({ nonceTtl: 60_000 });
    const challenge = verifier.challenge();
    advance(60_000);
    expect((await verifier.verify('POST', '/wsman', answer({ challenge }))).ok).toBe(true);
  });

  it('refuses nonces it did not issue (forged or altered) as stale', async () => {
    const { verifier, answer } = setup();
    const real = parseWwwAuthenticate(verifier.challenge())[0]?.nonce ?? '';
    const altered = (real[0] === 'A' ? 'B' : 'A') + real.slice(1);
    for (const nonce of [altered, 'wlbEK1EtAAAAAAAAWW5aUHFp+mQQ1j63', 'short']) {
      const challenge = `Digest realm="${REALM}", nonce="${nonce}", qop="auth"`;
      await expect(verifier.verify('POST', '/wsman', answer({ challenge }))).resolves.toMatchObject({
        reason: 'stale-nonce',
        stale: true,
      });
    }
  });

  it('resetNonces() makes every earlier nonce stale, and new ones work', async () => {
    const { verifier, answer } = setup();
    const challenge = verifier.challenge();
    expect((await verifier.verify('POST', '/wsman', answer({ challenge }))).ok).toBe(true);
    verifier.resetNonces();
    await expect(verifier.verify('POST', '/wsman', answer({ challenge, nc: 2 }))).resolves.toMatchObject({
      reason: 'stale-nonce',
      stale: true,
    });
    expect((await verifier.verify('POST', '/wsman', answer())).ok).toBe(true);
  });

  it('a verifier with the same secret and realm accepts the nonces of another (scale-out)', async () => {
    const secret = new Uint8Array(32).fill(7);
    const a = setup({ secret });
    const b = setup({ secret });
    const challenge = a.verifier.challenge();
    expect((await b.verifier.verify('POST', '/wsman', b.answer({ challenge }))).ok).toBe(true);
  });

  it('forgetting a nonce to bound memory never re-opens a replay', async () => {
    const { verifier, answer, advance } = setup({ maxTrackedNonces: 2 });
    const used: string[] = [];
    for (let i = 0; i < 3; i++) {
      const header = answer();
      advance(10);
      expect((await verifier.verify('POST', '/wsman', header)).ok).toBe(true);
      used.push(header);
    }
    for (const header of used) {
      await expect(verifier.verify('POST', '/wsman', header)).resolves.toMatchObject({
        ok: false,
        stale: true,
      });
    }
  });

  it('checks realm, uri, algorithm and qop before anything else', async () => {
    const { verifier, answer } = setup({ algorithms: ['SHA-256'] });
    const good = answer();
    const other = (challenge: string) => answer({ challenge });
    expect(await verifier.verify('POST', '/other', good)).toMatchObject({ reason: 'uri' });
    expect(
      await verifier.verify('POST', '/wsman', other('Digest realm="elsewhere", nonce="n", qop="auth"')),
    ).toMatchObject({ reason: 'realm' });
    expect(
      await verifier.verify('POST', '/wsman', other(`Digest realm="${REALM}", nonce="n", qop="auth"`)),
    ).toMatchObject({ reason: 'algorithm' });
    expect(
      await verifier.verify('POST', '/wsman', other(`Digest realm="${REALM}", nonce="n", algorithm=SHA-256`)),
    ).toMatchObject({ reason: 'qop' });
    expect(await verifier.verify('POST', '/wsman', undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(await verifier.verify('POST', '/wsman', 'Basic YWRtaW46eA==')).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('refuses userhash=true answers as unsupported', async () => {
    const { verifier, answer } = setup();
    const header = `${answer()}, userhash=true`;
    expect(parseAuthorization(header).userhash).toBe(true);
    expect(await verifier.verify('POST', '/wsman', header)).toMatchObject({ reason: 'unsupported' });
  });

  it('verifies against a stored HA1 (as AMT keeps it), from a sync or async lookup', async () => {
    const { hex } = amtDigestPassword('admin', REALM, 'P@ssw0rd');
    const stored: Record<string, DigestUserSecret> = { admin: { ha1: hex.toUpperCase() } };
    for (const lookup of [(u: string) => stored[u], async (u: string) => stored[u]]) {
      const { verifier, answer } = setup({ lookup, algorithms: ['MD5', 'MD5-sess'] });
      expect((await verifier.verify('POST', '/wsman', answer())).ok).toBe(true);
      expect((await verifier.verify('POST', '/wsman', answer({ password: 'P@ssw0rD' }))).ok).toBe(false);
      const sess = answer({ challenge: verifier.challenges()[1] });
      expect(await verifier.verify('POST', '/wsman', sess)).toMatchObject({
        ok: true,
        algorithm: 'MD5-sess',
      });
    }
  });

  it('refuses an answer whose hash does not match the stored HA1', async () => {
    const { hex } = amtDigestPassword('admin', REALM, 'P@ssw0rd');
    const { verifier, answer } = setup({ lookup: () => ({ ha1: hex }), algorithms: ['SHA-256'] });
    expect(await verifier.verify('POST', '/wsman', answer())).toMatchObject({
      ok: false,
      reason: 'algorithm',
    });
  });
});
