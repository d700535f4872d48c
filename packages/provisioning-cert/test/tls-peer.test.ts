import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChainValidation,
  chainFromPeerCertificate,
  createRsaKeyCache,
  createSelfSignedCertificate,
  createTestPki,
  type ProvisioningChain,
  type TestPki,
  validateProvisioningChain,
} from '../src/index.js';

// The device side as the simulator runs it: a TLS server on loopback that asks for a client
// certificate and checks the chain it receives, exactly as AMT firmware would.
const keys = createRsaKeyCache();
let pki: TestPki;
let server: Server;
let port: number;
const verdicts: Array<(v: { ders: Buffer[]; result: ChainValidation }) => void> = [];

beforeAll(async () => {
  pki = await createTestPki({ serverFqdn: 'ps.corp.example.com', keys });
  const device = await createSelfSignedCertificate({
    commonName: 'Intel(R) AMT simulated device',
    keys,
    keyBits: 1024,
  });
  server = createServer(
    { key: device.keyPem, cert: device.certPem, requestCert: true, rejectUnauthorized: false },
    (socket: TLSSocket) => {
      const ders = chainFromPeerCertificate(socket.getPeerCertificate(true));
      socket.end();
      void validateProvisioningChain(ders, {
        dnsSuffix: 'corp.example.com',
        trustedHashes: pki.trustedHashes,
        firmware: '16.1',
      }).then((result) => verdicts.shift()?.({ ders, result }));
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

async function present(chain: ProvisioningChain): Promise<{ ders: Buffer[]; result: ChainValidation }> {
  const verdict = new Promise<{ ders: Buffer[]; result: ChainValidation }>((resolve) =>
    verdicts.push(resolve),
  );
  const client = connect({
    host: '127.0.0.1',
    port,
    cert: chain.certPem,
    key: chain.keyPem,
    rejectUnauthorized: false,
  });
  client.on('error', () => {});
  client.resume();
  const v = await verdict;
  client.destroy();
  return v;
}

describe('chain received as a TLS client certificate', () => {
  it('arrives leaf → root through getPeerCertificate(true) and validates', async () => {
    const { ders, result } = await present(pki.chain);
    expect(ders.map((d) => d.toString('base64'))).toEqual(
      pki.chain.certificates.map((c) => Buffer.from(c.rawData).toString('base64')),
    );
    expect(result).toMatchObject({ ok: true, failures: [] });
  });

  it('without its root: the device refuses it', async () => {
    const rootless = await pki.broken('missing-root');
    const { ders, result } = await present(rootless);
    expect(ders).toHaveLength(2);
    expect(result.failures.map((f) => f.code)).toEqual(['CHAIN_NO_ROOT', 'ROOT_NOT_TRUSTED']);
  });

  it('unmarked: the device refuses it', async () => {
    const { result } = await present(await pki.broken('no-marker'));
    expect(result.failures.map((f) => f.code)).toEqual(['LEAF_NO_AMT_MARKER']);
  });
});
