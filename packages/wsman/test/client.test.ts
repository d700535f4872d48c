import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ACTIONS,
  AmtReturnValueError,
  buildFault,
  buildGetResponse,
  buildPullResponse,
  endpointReference,
  resourceUriFor,
  WsmanBodyTooLargeError,
  WsmanClient,
  WsmanFaultError,
  WsmanHttpError,
  WsmanInvalidArgumentError,
  WsmanParseError,
  WsmanTransportError,
  WsmanUnexpectedResponseError,
} from '../src/index.js';
import { type MiniAmt, startMiniAmt } from './mini-amt.js';

const GS = resourceUriFor('AMT_GeneralSettings');
const PKC = resourceUriFor('AMT_PublicKeyCertificate');
const SCS = resourceUriFor('AMT_SetupAndConfigurationService');

let amt: MiniAmt;
let agent: Agent;
let client: WsmanClient;

beforeAll(async () => {
  amt = await startMiniAmt();
  agent = new Agent();
  client = new WsmanClient({ dispatcher: agent, origin: amt.origin });
});
afterAll(async () => {
  await agent.close();
  await amt.close();
});
beforeEach(() => {
  amt.instances.clear();
  amt.methods.clear();
  amt.requests.length = 0;
  amt.contexts.clear();
  amt.override = undefined;
  amt.chunked = true;
});

const certs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    ElementName: 'Intel(r) AMT Certificate',
    InstanceID: `Intel(r) AMT Certificate: Handle: ${i}`,
    X509Certificate: Buffer.alloc(64, i).toString('base64'),
  }));

describe('WsmanClient over HTTP on loopback', () => {
  it('get: sends a Get for the resource with selectors, returns the properties', async () => {
    amt.instances.set('AMT_GeneralSettings', [
      { InstanceID: 'Intel(r) AMT: General Settings', HostName: 'a&b<c>', PingResponseEnabled: true },
    ]);
    const item = await client.get(GS, { selectors: { InstanceID: 'Intel(r) AMT: General Settings' } });
    expect(item).toEqual({
      InstanceID: 'Intel(r) AMT: General Settings',
      HostName: 'a&b<c>',
      PingResponseEnabled: 'true',
    });
    const req = amt.requests[0];
    expect(req).toMatchObject({ kind: 'get', resourceUri: GS, to: '/wsman', operationTimeout: 'PT60S' });
    expect(req?.messageId).toMatch(/^uuid:/);
  });

  it('put: writes the whole instance, returns what the server answers', async () => {
    amt.instances.set('AMT_GeneralSettings', [{ InstanceID: 'x', HostName: 'old' }]);
    const out = await client.put(GS, { InstanceID: 'x', HostName: 'new&<>', PingResponseEnabled: false });
    expect(out).toEqual({ InstanceID: 'x', HostName: 'new&<>', PingResponseEnabled: 'false' });
    expect(amt.instances.get('AMT_GeneralSettings')?.[0]).toEqual(out);
  });

  it('create: returns the endpoint reference of ResourceCreated', async () => {
    const tcc = resourceUriFor('AMT_TLSCredentialContext');
    const { epr } = await client.create(tcc, {
      ElementInContext: endpointReference(PKC, { InstanceID: 'Intel(r) AMT Certificate: Handle: 1' }),
    });
    expect(epr).toEqual({
      address: 'default',
      resourceUri: tcc,
      selectors: { InstanceID: 'AMT_TLSCredentialContext 0' },
    });
    expect(amt.requests[0]?.body.ElementInContext).toEqual(
      endpointReference(PKC, { InstanceID: 'Intel(r) AMT Certificate: Handle: 1' }),
    );
  });

  it('delete: sends the selectors; refuses to delete without them', async () => {
    amt.instances.set('AMT_PublicKeyCertificate', certs(2));
    await client.delete(PKC, { selectors: { InstanceID: 'Intel(r) AMT Certificate: Handle: 0' } });
    expect(amt.instances.get('AMT_PublicKeyCertificate')?.map((c) => c.InstanceID)).toEqual([
      'Intel(r) AMT Certificate: Handle: 1',
    ]);
    await expect(client.delete(PKC, { selectors: {} })).rejects.toBeInstanceOf(WsmanInvalidArgumentError);
    expect(amt.requests).toHaveLength(1);
  });

  it('enumerate: pages through several Pulls until EndOfSequence, following each new context', async () => {
    amt.instances.set('AMT_PublicKeyCertificate', certs(7));
    const got = [];
    for await (const it of client.enumerate(PKC, { maxElements: 3 })) got.push(it);
    expect(got.map((c) => c.InstanceID)).toEqual(certs(7).map((c) => c.InstanceID));
    expect(amt.requests.map((r) => r.kind)).toEqual(['enumerate', 'pull', 'pull', 'pull']);
    expect(amt.requests.filter((r) => r.kind === 'pull').map((r) => r.maxElements)).toEqual([3, 3, 3]);
    expect(amt.contexts.size).toBe(0);
  });

  it('enumerate: an empty class yields nothing', async () => {
    expect(await client.enumerateAll(PKC)).toEqual([]);
  });

  it('enumerate: stopping early releases the context', async () => {
    amt.instances.set('AMT_PublicKeyCertificate', certs(5));
    for await (const it of client.enumerate(PKC, { maxElements: 2 })) {
      expect(it.InstanceID).toBe('Intel(r) AMT Certificate: Handle: 0');
      break;
    }
    expect(amt.requests.map((r) => r.kind)).toEqual(['enumerate', 'pull', 'release']);
    expect(amt.contexts.size).toBe(0);
  });

  it('low-level enumerateContext / pull / release', async () => {
    amt.instances.set('AMT_PublicKeyCertificate', certs(3));
    const ctx = await client.enumerateContext(PKC);
    const page = await client.pull(PKC, ctx, { maxElements: 2, maxCharacters: 99999 });
    expect(page.items.map((i) => i.className)).toEqual([
      'AMT_PublicKeyCertificate',
      'AMT_PublicKeyCertificate',
    ]);
    expect(page.endOfSequence).toBe(false);
    expect(page.context).toMatch(/^[0-9A-F-]{36}$/);
    await client.release(PKC, page.context as string);
    expect(amt.requests.at(-1)).toMatchObject({ kind: 'release', enumerationContext: page.context });
    await expect(client.pull(PKC, page.context as string)).rejects.toMatchObject({
      code: 'WSMAN_FAULT',
      subcode: 'InvalidEnumerationContext',
      status: 400,
    });
  });

  it('invoke: writes Method_INPUT, returns Method_OUTPUT', async () => {
    amt.methods.set('AMT_SetupAndConfigurationService.GetUuid', () => ({
      returnValue: 0,
      output: { UUID: 'AAECAw==' },
    }));
    const out = await client.invoke(SCS, 'GetUuid');
    expect(out).toEqual({ UUID: 'AAECAw==', ReturnValue: '0' });
    expect(amt.requests[0]).toMatchObject({
      kind: 'invoke',
      method: 'GetUuid',
      bodyName: 'GetUuid_INPUT',
      action: `${SCS}/GetUuid`,
    });
  });

  it('invoke: a non-zero ReturnValue in HTTP 200 is AmtReturnValueError with its PT_STATUS name', async () => {
    amt.methods.set('AMT_SetupAndConfigurationService.SetMEBxPassword', () => ({ returnValue: 0x806 }));
    const err = await client
      .invoke(SCS, 'SetMEBxPassword', { Password: 'Secr3t&Pass!' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmtReturnValueError);
    expect(err).toMatchObject({
      code: 'AMT_RETURN_VALUE',
      returnValue: 2054,
      statusName: 'INVALID_PASSWORD',
      method: 'SetMEBxPassword',
      resourceUri: SCS,
    });
    expect((err as Error).message).not.toContain('Secr3t');
    expect(amt.requests[0]?.body).toEqual({ Password: 'Secr3t&Pass!' });
  });

  it('invoke: allowReturnValues and method-specific names', async () => {
    amt.methods.set('AMT_RedirectionService.RequestStateChange', () => ({ returnValue: 4096 }));
    const uri = resourceUriFor('AMT_RedirectionService');
    expect(
      (
        await client.invoke(
          uri,
          'RequestStateChange',
          { RequestedState: 32771 },
          { allowReturnValues: [4096] },
        )
      ).ReturnValue,
    ).toBe('4096');
    amt.methods.set('AMT_RedirectionService.RequestStateChange', () => ({ returnValue: 1 }));
    await expect(
      client.invoke(
        uri,
        'RequestStateChange',
        { RequestedState: 32771 },
        { returnValueNames: { 1: 'NOT_SUPPORTED' } },
      ),
    ).rejects.toMatchObject({ returnValue: 1, statusName: 'NOT_SUPPORTED' });
  });

  it('faults become WsmanFaultError with code, subcode, reason, detail and status', async () => {
    amt.override = (req) => ({
      status: 500,
      body: buildFault(req, {
        code: 'Receiver',
        subcode: 'wsman:TimedOut',
        reason: 'took too long',
        detail: 'urn:detail',
      }),
    });
    const err = await client.get(GS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WsmanFaultError);
    expect(err).toMatchObject({
      code: 'WSMAN_FAULT',
      faultCode: 'Receiver',
      subcode: 'TimedOut',
      reason: 'took too long',
      detail: 'urn:detail',
      status: 500,
      requestAction: ACTIONS.GET,
    });
  });

  it('a fault inside HTTP 200 is still a fault', async () => {
    amt.override = (req) => ({
      status: 200,
      body: buildFault(req, { code: 'Sender', subcode: 'AccessDenied', reason: 'no' }),
    });
    await expect(client.get(GS)).rejects.toMatchObject({
      code: 'WSMAN_FAULT',
      subcode: 'AccessDenied',
      status: 200,
    });
  });

  it('HTTP errors without a fault become WsmanHttpError carrying the status', async () => {
    for (const [status, body, type] of [
      [401, '<html><body>Unauthorized</body></html>', 'text/html'],
      [503, '', 'text/plain'],
      [500, 'Internal error', 'text/plain'],
      [404, '<not-soap/>', 'text/xml'],
    ] as const) {
      amt.override = () => ({ status, body, headers: { 'content-type': type } });
      const err = await client.get(GS).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WsmanHttpError);
      expect((err as WsmanHttpError).status).toBe(status);
    }
  });

  it('reads chunked and Content-Length bodies alike', async () => {
    amt.instances.set('AMT_GeneralSettings', [{ HostName: 'h'.repeat(5000) }]);
    amt.chunked = true;
    expect((await client.get(GS)).HostName).toBe('h'.repeat(5000));
    amt.chunked = false;
    expect((await client.get(GS)).HostName).toBe('h'.repeat(5000));
  });

  it('caps the response body (declared length and chunked)', async () => {
    const small = new WsmanClient({ dispatcher: agent, origin: amt.origin, maxBodyBytes: 2000 });
    amt.instances.set('AMT_GeneralSettings', [{ HostName: 'h'.repeat(5000) }]);
    for (const chunked of [false, true]) {
      amt.chunked = chunked;
      await expect(small.get(GS)).rejects.toBeInstanceOf(WsmanBodyTooLargeError);
    }
    amt.chunked = true;
    expect((await client.get(GS)).HostName).toHaveLength(5000);
  });

  it('a RelatesTo that is not our MessageID is refused', async () => {
    amt.override = () => ({
      status: 200,
      body: buildGetResponse(
        { messageId: 'uuid:someone-else' },
        { className: 'AMT_GeneralSettings', properties: {} },
      ),
    });
    await expect(client.get(GS)).rejects.toBeInstanceOf(WsmanUnexpectedResponseError);
  });

  it('broken XML in a 200 is WsmanParseError', async () => {
    amt.override = (req) => {
      const ok = buildGetResponse(req ?? { messageId: 'x' }, {
        className: 'AMT_GeneralSettings',
        properties: { A: 'b' },
      });
      return { status: 200, body: ok.slice(0, ok.length - 30) };
    };
    await expect(client.get(GS)).rejects.toBeInstanceOf(WsmanParseError);
  });

  it('an unexpected body for the verb is WsmanUnexpectedResponseError', async () => {
    amt.override = (req) => ({
      status: 200,
      body: buildGetResponse(req ?? { messageId: 'x' }, { className: 'AMT_GeneralSettings', properties: {} }),
    });
    await expect(client.invoke(SCS, 'CommitChanges')).rejects.toBeInstanceOf(WsmanUnexpectedResponseError);
    await expect(client.enumerateContext(PKC)).rejects.toBeInstanceOf(WsmanUnexpectedResponseError);
    await expect(client.create(PKC, {})).rejects.toBeInstanceOf(WsmanUnexpectedResponseError);
  });

  it('a Pull that neither ends nor continues is refused, not looped on', async () => {
    amt.instances.set('AMT_PublicKeyCertificate', certs(2));
    amt.override = (req) =>
      req?.kind === 'pull'
        ? { status: 200, body: buildPullResponse(req, { items: [], endOfSequence: false }) }
        : undefined;
    await expect(client.enumerateAll(PKC)).rejects.toBeInstanceOf(WsmanUnexpectedResponseError);
  });

  it('a peer that keeps answering empty pages is given up on, and the context released', async () => {
    amt.instances.set('AMT_PublicKeyCertificate', certs(2));
    amt.override = (req) =>
      req?.kind === 'pull'
        ? { status: 200, body: buildPullResponse(req, { items: [], endOfSequence: false, context: 'again' }) }
        : undefined;
    await expect(client.enumerateAll(PKC)).rejects.toBeInstanceOf(WsmanUnexpectedResponseError);
    expect(amt.requests.map((r) => r.kind)).toEqual(['enumerate', 'pull', 'pull', 'pull', 'pull', 'release']);
    expect(amt.requests.at(-1)?.enumerationContext).toBe('again');
  });

  it('connection failures are WsmanTransportError with the cause kept', async () => {
    const closed = await startMiniAmt();
    const origin = closed.origin;
    await closed.close();
    const c = new WsmanClient({ dispatcher: agent, origin });
    const err = await c.get(GS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WsmanTransportError);
    expect((err as Error).cause).toBeInstanceOf(Error);
  });

  it('a connection dropped in the middle of the answer is WsmanTransportError', async () => {
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/soap+xml', 'content-length': '1000' });
      res.write('<?xml version="1.0"?><a:Envelope');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const c = new WsmanClient({ dispatcher: agent, origin: `http://127.0.0.1:${port}` });
      const err = await c.get(GS).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WsmanTransportError);
      expect((err as Error).message).toMatch(/reading the answer/);
      expect((err as Error).cause).toBeInstanceOf(Error);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('identify: vendor, version, profiles', async () => {
    const id = await client.identify();
    expect(id).toMatchObject({
      productVendor: 'Intel Corporation',
      productVersion: 'AMT 16.1',
      protocolVersion: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
      securityProfiles: ['urn:digest'],
    });
    expect(amt.requests[0]?.kind).toBe('identify');
  });

  it('sends operationTimeout, maxEnvelopeSize, path and extra headers from its options', async () => {
    amt.instances.set('AMT_GeneralSettings', [{ HostName: 'h' }]);
    let seen: string | undefined;
    amt.override = (_req, raw) => {
      seen = raw;
      return undefined;
    };
    const c = new WsmanClient({
      dispatcher: agent,
      origin: amt.origin,
      operationTimeout: 'PT30S',
      maxEnvelopeSize: 153600,
    });
    await c.get(GS);
    expect(amt.requests[0]).toMatchObject({ operationTimeout: 'PT30S', maxEnvelopeSize: 153600 });
    expect(seen).toContain('<wsman:MaxEnvelopeSize s:mustUnderstand="true">153600</wsman:MaxEnvelopeSize>');
    expect(() => new WsmanClient({ dispatcher: agent, origin: 'ftp://x' })).toThrow(
      WsmanInvalidArgumentError,
    );
  });

  it('works through a composed dispatcher (the caller injects auth, TLS…)', async () => {
    amt.instances.set('AMT_GeneralSettings', [{ HostName: 'h' }]);
    amt.override = (_req, _raw, headers) =>
      headers.authorization === 'Digest test'
        ? undefined
        : { status: 401, body: '', headers: { 'www-authenticate': 'Digest realm="x"' } };
    await expect(client.get(GS)).rejects.toMatchObject({ code: 'WSMAN_HTTP', status: 401 });
    const authed = agent.compose(
      (dispatch) => (opts, handler) =>
        dispatch(
          { ...opts, headers: { ...(opts.headers as Record<string, string>), authorization: 'Digest test' } },
          handler,
        ),
    );
    const c = new WsmanClient({ dispatcher: authed, origin: amt.origin, headers: { 'x-extra': '1' } });
    expect(await c.get(GS)).toEqual({ HostName: 'h' });
  });

  it('pulls a 1 MB answer in one page', async () => {
    const blob = Buffer.alloc(1500, 3).toString('base64');
    amt.instances.set(
      'AMT_PublicKeyCertificate',
      Array.from({ length: 520 }, (_, i) => ({ InstanceID: `Handle ${i}`, X509Certificate: blob })),
    );
    let size = 0;
    amt.override = (req) => {
      if (req?.kind !== 'pull') return undefined;
      const items = (amt.instances.get('AMT_PublicKeyCertificate') ?? []).map((properties) => ({
        className: 'AMT_PublicKeyCertificate',
        properties,
      }));
      const body = buildPullResponse(req, { items, endOfSequence: true });
      size = body.length;
      return { status: 200, body };
    };
    const all = await client.enumerateAll(PKC, { maxElements: 1000 });
    expect(size).toBeGreaterThan(1_000_000);
    expect(all).toHaveLength(520);
    expect(all[519]).toEqual({ InstanceID: 'Handle 519', X509Certificate: blob });
  });
});
