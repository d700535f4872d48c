import { createHash } from 'node:crypto';
import type { PkiHello, PskHello } from '@oobkit/hello';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEventSink } from '../flow/events.js';
import { staticKeyProvider } from '../secrets/index.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { SiteStore, StoredProvisioningCertificate } from '../store/types.js';
import {
  type AcceptedHello,
  createHelloIntake,
  HELLO_ACCEPTED_EVENT,
  type HelloIntake,
  matchHelloHashes,
  normalizeAddress,
} from './intake.js';

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

/** `store` with some methods replaced (the rest bound to it). */
function storeWith(store: SiteStore, replaced: Partial<SiteStore>): SiteStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (Object.hasOwn(replaced, prop)) return replaced[prop as keyof SiteStore];
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function hello(hashes: PkiHello['hashes'], retryCount = 0): PkiHello {
  return { kind: 'pki', version: 3, adminCredentialsSet: false, retryCount, uuid: UUID, hashes };
}

function pskHello(): PskHello {
  return { kind: 'psk', version: 2, adminCredentialsSet: false, retryCount: 0, uuid: UUID, pid: 'ABCD1234' };
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
    expect((await store.getDevice(UUID))?.lastHello).toBeUndefined();
    expect(await store.listJobs()).toEqual([]);
  });

  it('drops PSK hellos', async () => {
    const psk = pskHello();
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
    // Kept on the device as well, for a worker that did not see the hello.
    const { uuid: _u, ...kept } = intake.lastAccepted(UUID) ?? ({} as AcceptedHello);
    expect((await store.getDevice(UUID))?.lastHello).toEqual(kept);
  });

  it('matches a hello without opening any private key (the key-less listing only)', async () => {
    await addChain();
    await store.importComputers([{ uuid: UUID, hostName: 'pc-1', domainName: 'x.test', source: 'import' }]);
    const opened: string[] = [];
    const refuse = (name: string) => () => {
      opened.push(name);
      throw new Error(`${name} opens private keys`);
    };
    const guarded = storeWith(store, {
      listProvisioningCertificates: refuse('listProvisioningCertificates'),
      getDeviceCa: refuse('getDeviceCa'),
    });
    const keyless = createHelloIntake({ store: guarded, events: createEventSink(guarded, undefined) });
    expect(await keyless.handle({ hello: hello([ourHash]), remoteAddress: '127.0.0.5' })).toMatchObject({
      action: 'queued',
      created: true,
    });
    expect(opened).toEqual([]);
  });

  it('leaves a provisioned device provisioned when a (late) hello queues a job', async () => {
    await addChain();
    await store.importComputers([{ uuid: UUID, hostName: 'pc-1', domainName: 'x.test', source: 'import' }]);
    await store.upsertDevice(UUID, { status: 'provisioned' });
    const out = await intake.handle({ hello: hello([ourHash]), remoteAddress: '127.0.0.6' });
    expect(out).toMatchObject({ action: 'queued', created: true });
    expect((await store.getDevice(UUID))?.status).toBe('provisioned');
  });

  it('never moves the address of a provisioned device on a hello, nor of any device on a dropped one', async () => {
    await addChain();
    await store.importComputers([{ uuid: UUID, hostName: 'pc-1', domainName: 'x.test', source: 'import' }]);
    await store.upsertDevice(UUID, { status: 'provisioned', address: '127.0.0.2' });
    // Anyone can send a hello with a UUID AMT broadcasts: a dropped one changes no address ...
    await intake.handle({
      hello: hello([{ algorithm: 'sha256', hash: new Uint8Array(32) }]),
      remoteAddress: '127.0.0.66',
    });
    expect((await store.getDevice(UUID))?.address).toBe('127.0.0.2');
    // ... and an accepted one for a provisioned device is kept apart, for a job an operator starts.
    await intake.handle({ hello: hello([ourHash]), remoteAddress: '127.0.0.77' });
    const d = await store.getDevice(UUID);
    expect(d).toMatchObject({ status: 'provisioned', address: '127.0.0.2' });
    expect(d?.lastHello?.address).toBe('127.0.0.77');
    // A device not provisioned follows its accepted hellos (DHCP moves machines).
    const other = '8f3a1c2e-0000-4000-8000-0000000000ff';
    await store.importComputers([{ uuid: other, hostName: 'pc-2', domainName: 'x.test', source: 'import' }]);
    await intake.handle({ hello: { ...hello([ourHash]), uuid: other }, remoteAddress: '127.0.0.8' });
    await intake.handle({ hello: { ...hello([ourHash]), uuid: other }, remoteAddress: '127.0.0.9' });
    expect((await store.getDevice(other))?.address).toBe('127.0.0.9');
  });

  it('does not mark queued a device whose running job finished while its late hello was screened', async () => {
    await addChain();
    await store.importComputers([{ uuid: UUID, hostName: 'pc-1', domainName: 'x.test', source: 'import' }]);
    const running = (await store.enqueueJob(UUID, 'hello')).job;
    const lease = await store.claimJob('w1', 60_000);
    await store.upsertDevice(UUID, { status: 'provisioning' });
    // The job ends (device provisioned) after the intake read the device, before it queues.
    const racing = storeWith(store, {
      enqueueJob: async (uuid, reason) => {
        await store.upsertDevice(uuid, { status: 'provisioned' });
        await store.finishJob(running.id, lease?.fencingToken ?? 0, { state: 'succeeded' });
        return store.enqueueJob(uuid, reason);
      },
    });
    const late = createHelloIntake({ store: racing, events: createEventSink(store, undefined) });
    expect(await late.handle({ hello: hello([ourHash]), remoteAddress: '127.0.0.7' })).toMatchObject({
      action: 'queued',
      created: true,
    });
    // Still provisioned: the new job finds AMT provisioned and skips (see flow tests).
    expect((await store.getDevice(UUID))?.status).toBe('provisioned');
  });

  describe('repeated hellos', () => {
    const MINUTE = 60_000;
    const HOUR = 3_600_000;
    let clock: number;
    let throttled: HelloIntake;
    beforeEach(() => {
      clock = Date.UTC(2026, 0, 1);
      throttled = createHelloIntake({
        store,
        events: createEventSink(store, undefined),
        onQueued: (job) => queued.push(job.id),
        dropLog: { now: () => clock },
      });
    });
    // AMT's retry schedule for its first hour: every minute for 5 min, then every 5 min.
    const firstHour = [0, 1, 2, 3, 4, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55].map((m) => m * MINUTE);
    const start = Date.UTC(2026, 0, 1);
    const typesOf = async (type: string) => store.listEvents({ type });

    it('stores one unknown-UUID drop per device and hour, the next one counting the hellos between', async () => {
      const helloAt = async (at: number) => {
        clock = start + at;
        expect(await throttled.handle({ hello: hello([ourHash]), remoteAddress: '127.0.0.2' })).toEqual({
          action: 'dropped',
          reason: 'unknown-uuid',
        });
      };
      for (const at of firstHour) await helloAt(at);
      const first = await typesOf('hello.dropped.unknown-uuid');
      expect(first).toHaveLength(1);
      expect(first[0]?.data).not.toHaveProperty('repeats');
      expect(first[0]?.message).toBe('hello dropped: this UUID was not imported for out-of-band management');

      await helloAt(HOUR);
      const events = await typesOf('hello.dropped.unknown-uuid');
      expect(events).toHaveLength(2);
      expect(events.find((e) => e.id !== first[0]?.id)).toMatchObject({
        uuid: UUID,
        level: 'warn',
        data: { address: '127.0.0.2', repeats: firstHour.length - 1 },
        message: `hello dropped: this UUID was not imported for out-of-band management (${firstHour.length - 1} more from this device since the last one logged)`,
      });
      expect(await store.getDevice(UUID)).toBeUndefined();
    });

    it('throttles each UUID and drop reason apart', async () => {
      const other = '4c4c4544-0046-4810-8047-b7c04f4e5932';
      await addChain();
      await throttled.handle({ hello: hello([ourHash]), remoteAddress: '127.0.0.2' });
      await throttled.handle({ hello: { ...hello([ourHash]), uuid: other }, remoteAddress: '127.0.0.2' });
      await store.importComputers([{ uuid: UUID, hostName: 'pc-1', domainName: 'x.test', source: 'import' }]);
      const noMatch = hello([{ algorithm: 'sha256', hash: new Uint8Array(32) }]);
      clock += MINUTE;
      expect(await throttled.handle({ hello: noMatch, remoteAddress: '127.0.0.3' })).toEqual({
        action: 'dropped',
        reason: 'no-root-match',
      });
      clock += MINUTE;
      expect(
        await throttled.handle({ hello: noMatch, remoteAddress: '127.0.0.7', receivedAt: clock }),
      ).toEqual({
        action: 'dropped',
        reason: 'no-root-match',
      });
      expect((await store.listEvents()).map((e) => [e.type, e.uuid])).toEqual([
        ['hello.dropped.unknown-uuid', UUID],
        ['hello.dropped.unknown-uuid', other],
        ['hello.dropped.no-root-match', UUID],
      ]);
      // The held-back hello still recorded when the device was last heard from; a dropped hello
      // never moves its address (its first sighting's stays).
      expect(await store.getDevice(UUID)).toMatchObject({
        address: '127.0.0.3',
        lastHelloAt: new Date(clock).toISOString(),
      });
    });

    it('stores one PSK drop per device and window', async () => {
      const psk = pskHello();
      for (let i = 0; i < 3; i++)
        expect(await throttled.handle({ hello: psk, remoteAddress: '127.0.0.4' })).toEqual({
          action: 'dropped',
          reason: 'psk',
        });
      expect(await typesOf('hello.dropped.psk')).toHaveLength(1);
    });

    it('caps drop events per minute over all devices and reports the ones held back', async () => {
      const flood = createHelloIntake({
        store,
        events: createEventSink(store, undefined),
        dropLog: { perMinute: 3, now: () => clock },
      });
      const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      for (let i = 0; i < 10; i++)
        expect(
          await flood.handle({ hello: { ...hello([ourHash]), uuid: uuid(i) }, remoteAddress: '127.0.0.9' }),
        ).toEqual({ action: 'dropped', reason: 'unknown-uuid' });
      expect(await typesOf('hello.dropped.unknown-uuid')).toHaveLength(3);
      clock += MINUTE;
      // A device held back by the cap is not inside its own window: its next hello is logged.
      await flood.handle({ hello: { ...hello([ourHash]), uuid: uuid(9) }, remoteAddress: '127.0.0.9' });
      const events = await typesOf('hello.dropped.unknown-uuid');
      expect(events).toHaveLength(4);
      expect(events.find((e) => e.uuid === uuid(9))).toMatchObject({
        data: { rateLimited: 7 },
        message: expect.stringMatching(/\(7 not logged over the per-minute limit\)$/),
      });
      expect(events.find((e) => e.uuid === uuid(9))?.data).not.toHaveProperty('repeats');
    });

    it('stores every drop with windowMs 0', async () => {
      const every = createHelloIntake({
        store,
        events: createEventSink(store, undefined),
        dropLog: { windowMs: 0, now: () => clock },
      });
      for (let i = 0; i < 3; i++) await every.handle({ hello: hello([ourHash]), remoteAddress: '127.0.0.2' });
      expect(await typesOf('hello.dropped.unknown-uuid')).toHaveLength(3);
    });

    it('stores one "already has a job" event per job and window, the queueing unchanged', async () => {
      await addChain();
      await store.importComputers([{ uuid: UUID, hostName: 'pc-1', domainName: 'x.test', source: 'import' }]);
      const outcomes = [];
      for (const [i, at] of firstHour.entries()) {
        clock = start + at;
        outcomes.push(await throttled.handle({ hello: hello([ourHash], i), remoteAddress: '127.0.0.5' }));
      }
      expect(outcomes[0]).toMatchObject({ action: 'queued', created: true });
      const jobId = outcomes[0]?.action === 'queued' ? outcomes[0].job.id : -1;
      for (const out of outcomes.slice(1))
        expect(out).toMatchObject({ action: 'queued', created: false, job: { id: jobId } });
      expect(queued).toEqual(firstHour.map(() => jobId));
      expect(await store.listJobs()).toHaveLength(1);
      expect(throttled.lastAccepted(UUID)?.retryCount).toBe(firstHour.length - 1);

      const accepted = await typesOf(HELLO_ACCEPTED_EVENT);
      expect(accepted.map((e) => [e.level, e.data?.jobCreated, e.data?.retryCount])).toEqual([
        ['info', true, 0],
        ['debug', false, 1],
      ]);

      clock = start + MINUTE + HOUR;
      const late = await throttled.handle({ hello: hello([ourHash], 99), remoteAddress: '127.0.0.5' });
      expect(late).toMatchObject({ action: 'queued', created: false, job: { id: jobId } });
      const after = await typesOf(HELLO_ACCEPTED_EVENT);
      expect(after).toHaveLength(3);
      expect(after.find((e) => e.data?.retryCount === 99)).toMatchObject({
        level: 'debug',
        jobId,
        data: { jobCreated: false, repeats: firstHour.length - 2 },
        message: `hello accepted: the device already has a job (${firstHour.length - 2} more from this device since the last one logged)`,
      });
    });

    it("logs a new job's hellos even when the last job's repeat was logged just before", async () => {
      await addChain();
      await store.importComputers([{ uuid: UUID, hostName: 'pc-1', domainName: 'x.test', source: 'import' }]);
      await throttled.handle({ hello: hello([ourHash]), remoteAddress: '127.0.0.5' });
      await throttled.handle({ hello: hello([ourHash], 1), remoteAddress: '127.0.0.5' });
      const lease = await store.claimJob('test', 60_000);
      if (!lease) throw new Error('no job to claim');
      await store.finishJob(lease.job.id, lease.fencingToken, { state: 'failed' });
      clock += MINUTE;
      const created = await throttled.handle({ hello: hello([ourHash], 2), remoteAddress: '127.0.0.5' });
      const repeat = await throttled.handle({ hello: hello([ourHash], 3), remoteAddress: '127.0.0.5' });
      expect(created).toMatchObject({ action: 'queued', created: true });
      expect(repeat).toMatchObject({ action: 'queued', created: false });
      expect(
        (await typesOf(HELLO_ACCEPTED_EVENT)).map((e) => [e.data?.jobCreated, e.data?.retryCount]),
      ).toEqual([
        [true, 0],
        [false, 1],
        [true, 2],
        [false, 3],
      ]);
    });
  });
});
