import { SoapClient } from '@oobkit/amt-soap';
import { digestInterceptor } from '@oobkit/http-digest';
import {
  createRsaKeyCache,
  createTestPki,
  type ProvisioningChain,
  type TestPki,
} from '@oobkit/provisioning-cert';
import { resourceUriFor, WsmanClient } from '@oobkit/wsman';
import { Agent, type Dispatcher } from 'undici';
import { afterEach } from 'vitest';
import type { DeviceOptions } from '../src/index.js';
import { type SimulatedDevice, startDevice, type TrustedHash } from '../src/index.js';

export const DOMAIN = 'example.test';
export const SERVER_FQDN = `prov.${DOMAIN}`;
export const ADMIN_PASSWORD = 'Adm1n!Passw0rd';
export const uri = resourceUriFor;

const keys = createRsaKeyCache();
let pkiPromise: Promise<TestPki> | undefined;

/** One test PKI per test file (keys cached), leaf for prov.example.test. */
export function testPki(): Promise<TestPki> {
  pkiPromise ??= createTestPki({ serverFqdn: SERVER_FQDN, keys });
  return pkiPromise;
}

export function rootHash(pki: TestPki, algorithm: TrustedHash['algorithm'] = 'sha256'): TrustedHash {
  return { algorithm, hash: new Uint8Array(pki.rootHashes[algorithm]) };
}

const running: SimulatedDevice[] = [];
const agents: Dispatcher[] = [];

/** Starts a device that is stopped after the test. */
export async function device(opts: DeviceOptions = {}): Promise<SimulatedDevice> {
  const d = await startDevice(opts);
  running.push(d);
  return d;
}

/** A factory device ready for PKI setup with the test PKI. */
export async function setupDevice(
  opts: DeviceOptions = {},
): Promise<{ device: SimulatedDevice; pki: TestPki }> {
  const pki = await testPki();
  // AMT before 6 honours SHA-1 root hashes only.
  const alg = opts.personality === 'legacy' ? 'sha1' : 'sha256';
  const d = await device({ dnsSuffix: DOMAIN, customTrustedHashes: [rootHash(pki, alg)], ...opts });
  return { device: d, pki };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

export interface ClientOptions {
  username?: string;
  password: string;
  /** TLS to 16993 presenting this chain (setup); `true`: TLS without a client chain. */
  tls?: ProvisioningChain | true;
  /** Extra TLS options (e.g. TLS 1.0 for legacy). */
  tlsOptions?: Record<string, unknown>;
}

export function dispatcher(opts: ClientOptions): Dispatcher {
  const connect =
    opts.tls === undefined
      ? {}
      : {
          rejectUnauthorized: false,
          ...(opts.tls === true ? {} : { cert: opts.tls.certPem, key: opts.tls.keyPem }),
          ...opts.tlsOptions,
        };
  const agent = new Agent({ connect });
  agents.push(agent);
  return agent.compose(
    digestInterceptor({ credentials: { username: opts.username ?? 'admin', password: opts.password } }),
  );
}

export function origin(d: SimulatedDevice, tls: boolean): string {
  return tls ? `https://${d.address}:${d.ports.tls}` : `http://${d.address}:${d.ports.http}`;
}

export function wsman(d: SimulatedDevice, opts: ClientOptions): WsmanClient {
  return new WsmanClient({
    dispatcher: dispatcher(opts),
    origin: origin(d, opts.tls !== undefined),
    timeoutMs: 20_000,
  });
}

export function soap(d: SimulatedDevice, opts: ClientOptions): SoapClient {
  return new SoapClient({ dispatcher: dispatcher(opts), origin: origin(d, opts.tls !== undefined) });
}

/** Resolves with the next event of a type (await it instead of sleeping). */
export function nextEvent<T extends Parameters<SimulatedDevice['once']>[0]>(
  d: SimulatedDevice,
  type: T,
): Promise<Extract<ReturnType<SimulatedDevice['events']>[number], { type: T }>> {
  return new Promise((resolve) => d.once(type, resolve as never));
}
