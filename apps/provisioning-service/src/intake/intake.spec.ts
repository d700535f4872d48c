import { createHash } from 'node:crypto';
import type { PkiHello } from '@oobkit/hello';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEventSink } from '../flow/events.js';
import { staticKeyProvider } from '../secrets/index.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { SiteStore, StoredProvisioningCertificate } from '../store/types.js';
import { createHelloIntake, type HelloIntake, matchHelloHashes, normalizeAddress } from './intake.js';

const ROOT = Buffer.from('a test root certificate');
const hashOf = (alg: 'sha1' | 'sha256' | 'sha384', data: Buffer) => createHash(alg).update(data).digest();
const UUID = '4c4c4544-0046-4810-8047-b7c04f4e5931';

function cert(id: number, enabled = true): StoredProvisioningCertificate {
  return {
    id,
    name: `chain ${id}`,
    certPem: '',
    keyPem: '',
    enabled,
    createdAt: '2026-01-01T00:00:00.000Z',
    rootHashes: {
      sha1: hashOf('sha1', ROOT).toString('hex'),
      sha256: hashOf('sha256', ROOT).toString('hex'),
      sha384: hashOf('sha384', ROOT).toString('hex'),
    },
  };
}

function hello(hashes: PkiHello['hashes'], retryCount = 0): PkiHello {
  return { kind: 'pki', version: 3, adminCredentialsSet: false, retryCount, uuid: UUID, hashes };
}

describe('matchHelloHashes', () => {
  it('matches a hello hash against the stored root thumbprints, per algorithm', () => {
    const built = { algorithm: 'sha256' as const, hash: new Uint8Array(32).fill(9) };
    const ours = { algorithm: 'sha1' as const, hash: new Uint8Array(hashOf('sha1', ROOT)) };
    expect(matchHelloHashes([built, ours], [cert(1), cert(2, false)])).toEqual([
      { certificateId: 1, algorithm: 'sha1', hash: hashOf('sha1', ROOT).toString('hex') },
    ]);
    expect(matchHelloHashes([built], [cert(1)])).toEqual([]);
    // The right bytes under the wrong algorithm are not a match.
    expect(
      matchHelloHashes([{ algorithm: 'sha256', hash: new Uint8Array(hashOf('sha1', ROOT)) }], [cert(1)]),
    ).toEqual([]);
  });

  it('normalises IPv4-mapped addresses', () => {
    expect(normalizeAddress('::ffff:127.16.0.9')).toBe('127.16.0.9');
    expect(normalizeAddress('::1')).toBe('::1');
  });
});

describe('hello intake', () => {
  let store: SiteStore;
  let intake: HelloIntake;
  let queued: number[];
  beforeEach(async () => {
    store = await openSqliteStore({ path: ':memory:', keyProvider: staticKeyProvider(Buffer.alloc(32, 3)) });
    queued = [];
    intake = createHelloIntake({
      store,
      events: createEventSink(store, undefined),
      onQueued: (job) => queued.push(job.id),
    });
  });
  afterEach(async () => {
    await store.close();
  });
  const addChain = () =>
    store.addProvisioningCertificate({
      ...cert(0),
      name: 'site chain',
      // The intake compares stored thumbprints only; the PEM bodies are never parsed here.
      certPem: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n',
      keyPem: '-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n',
    });
  const ourHash = { algorithm: 'sha256' as const, hash: new Uint8Array(hashOf('sha256', ROOT)) };

  it('drops an unknown UUID and records nothing else', async () => {
    await addChain();
    expect(await intake.handle({ hello: hello([ourHash]), remoteAddress: '127.0.0.2' })).toEqual({
      action: 'dropped',
      reason: 'unknown-uuid',
    });
    expect((await store.listEvents()).map((e) => e.type)).toEqual(['hello.dropped.unknown-uuid']);
    expect(await store.getDevice(UUID)).toBeUndefined();
  });

  it('drops a hello without our root, keeping where the device is', async () => {
    await addChain();
    await store.importComputers([{ uuid: UUID, hostName: 'pc-1', domainName: 'x.test', source: 'import' }]);
    const out = await intake.handle({
      hello: hello([{ algorithm: 'sha256', hash: new Uint8Array(32) }]),
      remoteAddress: '::ffff:127.0.0.3',
    });
    expect(out).toEqual({ action: 'dropped', reason: 'no-root-match' });
    expect(await store.getDevice(UUID)).toMatchObject({ status: 'discovered', address: '127.0.0.3' });
    expect(await store.listJobs()).toEqual([]);
  });

  it('drops PSK hellos', async () => {
    const psk = {
      kind: 'psk' as const,
      version: 2 as const,
      adminCredentialsSet: false,
      retryCount: 0,
      uuid: UUID,
      pid: 'ABCD1234',
    };
    expect(await intake.handle({ hello: psk, remoteAddress: '127.0.0.4' })).toEqual({
      action: 'dropped',
      reason: 'psk',
    });
  });

  it('queues one job per device, remembers the hello, and wakes a worker', async () => {
    await addChain();
    await store.importComputers([{ uuid: UUID, hostName: 'pc-1', domainName: 'x.test', source: 'import' }]);
    const first = await intake.handle({ hello: hello([ourHash]), remoteAddress: '127.0.0.5' });
    const second = await intake.handle({ hello: hello([ourHash], 1), remoteAddress: '127.0.0.5' });
    expect(first).toMatchObject({ action: 'queued', created: true });
    expect(second).toMatchObject({ action: 'queued', created: false });
    if (first.action !== 'queued' || second.action !== 'queued') throw new Error('not queued');
    expect(second.job.id).toBe(first.job.id);
    expect(queued).toEqual([first.job.id, first.job.id]);
    expect(await store.getDevice(UUID)).toMatchObject({ status: 'queued', address: '127.0.0.5' });
    expect(intake.lastAccepted(UUID)).toMatchObject({
      retryCount: 1,
      algorithms: ['sha256'],
      matches: [{ algorithm: 'sha256' }],
    });
  });

  it('leaves a provisioned device provisioned when a (late) hello queues a job', async () => {
    await addChain();
    await store.importComputers([{ uuid: UUID, hostName: 'pc-1', domainName: 'x.test', source: 'import' }]);
    await store.upsertDevice(UUID, { status: 'provisioned' });
    const out = await intake.handle({ hello: hello([ourHash]), remoteAddress: '127.0.0.6' });
    expect(out).toMatchObject({ action: 'queued', created: true });
    expect((await store.getDevice(UUID))?.status).toBe('provisioned');
  });
});
