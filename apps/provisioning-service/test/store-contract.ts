/**
 * The `SiteStore` contract: every behaviour of the store that the interface alone can show, as a
 * suite any backend runs against itself (`describeSiteStoreContract('postgres', factory)`). A
 * backend is "ready" when the whole suite passes on it; backend-specific checks (what the bytes
 * at rest look like, the schema, the migrations table) stay in the backend's own test file.
 *
 * What the factory must provide:
 *
 * - `createDatabase()` gives a new, isolated, empty database: nothing opened on it before, and
 *   nothing shared with any other database the factory gave (no rows, no settings, no device CA,
 *   its own id sequences). The suite calls it once per test, and a second time where a test needs
 *   a second site (two fresh sites must not share their generated defaults).
 * - `SiteStoreDatabase.open({ now, key })` opens a store on that database, creating and migrating
 *   the schema on the first open. The store takes every timestamp and lease time from `now` (the
 *   suite's virtual clock; it moves only when a test moves it) and seals its secrets with `key`
 *   as its only key (a static key provider): a key of the wrong size is refused with
 *   `SECRET_KEY_INVALID`, and once a database holds secrets, a different key is refused at open
 *   with `SECRET_KEY_MISMATCH`. Each call returns a new store (its own connection or pool) on
 *   the same data, so two stores opened on one database see each other's writes and race as two
 *   service instances would; a store opened after another was closed finds all its data.
 * - `reopenable: false` says that a database can be opened only once (SQLite `:memory:`: a second
 *   connection is a second, empty database). The tests that need two stores on one database, or
 *   a reopen, are then left out (a file-backed run of the same backend covers them), and `open`
 *   should throw if it is called again.
 * - `SiteStoreDatabase.dispose()` drops the database (a temp folder, a schema). The suite calls it
 *   after the test, once it has closed every store it opened on it; `close()` may so be called on
 *   a store a test closed already, and must resolve.
 */

import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { redactSecrets } from '../src/secrets/redact.js';
import { StoreNotFoundError } from '../src/store/errors.js';
import { isStrongAmtPassword } from '../src/store/settings.js';
import { type ProvisioningSettings, type SiteStore, StaleLeaseError } from '../src/store/types.js';

/** What a store is opened with: the clock it stamps and leases by, and its one secret key. */
export interface SiteStoreOpenOptions {
  now: () => number;
  key: Buffer;
}

/** One database of a backend, isolated from every other, that stores can be opened on. */
export interface SiteStoreDatabase {
  open(opts: SiteStoreOpenOptions): Promise<SiteStore>;
  dispose(): Promise<void>;
}

/** How the contract suite gets its databases (see the top of this file for the rules). */
export interface SiteStoreFactory {
  createDatabase(): Promise<SiteStoreDatabase>;
  /** False when a database can be opened only once; the tests needing a second store are skipped. */
  reopenable: boolean;
}

export const U1 = '8f3a1c2e-0000-4000-8000-000000000001';
export const U2 = '8f3a1c2e-0000-4000-8000-000000000002';
/** Where the suites' virtual clocks start. */
export const T0 = Date.parse('2025-03-01T10:00:00.000Z');
export const KEY = randomBytes(32);

/** The device CA the tests store; `DEVICE_CA_KEY_BODY` must never appear at rest. */
export const DEVICE_CA_KEY_BODY = 'ZGV2aWNlLWNhLXNlY3JldC1rZXktbWF0ZXJpYWw=';
export const DEVICE_CA = {
  certPem: '-----BEGIN CERTIFICATE-----\nQ0EgY2VydA==\n-----END CERTIFICATE-----\n',
  keyPem: `-----BEGIN PRIVATE KEY-----\n${DEVICE_CA_KEY_BODY}\n-----END PRIVATE KEY-----\n`,
};

/**
 * A settings document carrying every kind of secret the settings hold (for the backends' checks
 * that no secret is stored in plaintext); `visible-ssid` is the one value that must show.
 */
export function settingsWith(
  base: ProvisioningSettings,
  s: { acl: string; psk: string; dot1x: string; mebx: string },
): ProvisioningSettings {
  return {
    ...base,
    userAcls: [{ username: 'u1', password: s.acl, accessPermission: 2, realms: [3] }],
    wifiProfiles: [
      {
        name: 'w',
        ssid: 'visible-ssid',
        priority: 1,
        authenticationMethod: 6,
        encryptionMethod: 4,
        pskPassphrase: s.psk,
      },
    ],
    wired8021x: { enabled: true, authenticationProtocol: 2, password: s.dot1x },
    mebxPassword: s.mebx,
  };
}

/** Registers the contract suite, named `SiteStore contract: <name>`, against `factory`. */
export function describeSiteStoreContract(name: string, factory: SiteStoreFactory): void {
  describe(`SiteStore contract: ${name}`, () => {
    let t: number;
    const now = () => t;
    let database: SiteStoreDatabase;
    const databases: SiteStoreDatabase[] = [];
    const stores: SiteStore[] = [];
    /** For the tests that open a second store on one database, or reopen it. */
    // Not registered at all on a backend that cannot reopen (they would only ever be skipped).
    const itReopening = (name: string, fn: () => Promise<void>): void => {
      if (factory.reopenable) it(name, fn);
    };

    async function newDatabase(): Promise<SiteStoreDatabase> {
      const db = await factory.createDatabase();
      databases.push(db);
      return db;
    }

    /** Opens a store on this test's database (or `db`), closed after the test. */
    async function open(key = KEY, db = database): Promise<SiteStore> {
      const s = await db.open({ now, key });
      stores.push(s);
      return s;
    }

    beforeEach(async () => {
      t = T0;
      database = await newDatabase();
    });

    afterEach(async () => {
      try {
        for (const s of stores.splice(0)) await s.close();
      } finally {
        for (const db of databases.splice(0)) await db.dispose();
      }
    });

    describe('computers', () => {
      it('imports, counts created vs updated, lists, gets and deletes', async () => {
        const s = await open();
        expect(
          await s.importComputers([
            {
              uuid: U1.toUpperCase(),
              hostName: 'pc-1',
              domainName: 'corp.example.com',
              ou: 'OU=AMT',
              source: 'import',
            },
            // No OU written as null, as JSON exports often do: the same as none.
            {
              uuid: U2,
              hostName: 'pc-2',
              domainName: 'corp.example.com',
              ou: null as never,
              source: 'import',
            },
          ]),
        ).toEqual({ created: 2, updated: 0 });
        expect(await s.getComputer(U2)).not.toHaveProperty('ou');
        t += 1000;
        expect(
          await s.importComputers([
            { uuid: U1, hostName: 'pc-1b', domainName: 'corp.example.com', source: 'import' },
          ]),
        ).toEqual({ created: 0, updated: 1 });
        const c1 = await s.getComputer(U1);
        expect(c1).toEqual({
          uuid: U1,
          hostName: 'pc-1b',
          domainName: 'corp.example.com',
          source: 'import',
          importedAt: new Date(t).toISOString(),
        });
        expect((await s.listComputers()).map((c) => c.hostName)).toEqual(['pc-1b', 'pc-2']);
        expect((await s.listComputers({ limit: 1 })).map((c) => c.hostName)).toEqual(['pc-1b']);
        await expect(s.listComputers({ limit: 0 })).rejects.toMatchObject({ code: 'STORE_INVALID_INPUT' });
        expect(await s.deleteComputer(U2.toUpperCase())).toBe(true);
        expect(await s.deleteComputer(U2)).toBe(false);
        expect(await s.getComputer(U2)).toBeUndefined();
      });

      it('refuses a bad list as a whole and changes nothing', async () => {
        const s = await open();
        await expect(
          s.importComputers([
            { uuid: U1, hostName: 'pc-1', domainName: 'corp.example.com', source: 'import' },
            { uuid: U2, hostName: 'bad host', domainName: 'corp.example.com', source: 'import' },
          ]),
        ).rejects.toMatchObject({ code: 'STORE_INVALID_INPUT', index: 1, field: 'computers[1].hostName' });
        await expect(
          s.importComputers([
            { uuid: U1, hostName: 'pc-1', domainName: 'corp.example.com', source: 'import' },
            { uuid: U1, hostName: 'pc-2', domainName: 'corp.example.com', source: 'import' },
          ]),
        ).rejects.toMatchObject({ code: 'STORE_INVALID_INPUT', index: 1 });
        await expect(
          s.importComputers([{ uuid: 'not-a-uuid', hostName: 'pc', domainName: 'x.y', source: 'import' }]),
        ).rejects.toMatchObject({ code: 'STORE_INVALID_INPUT' });
        // A missing field is named as missing.
        await expect(
          s.importComputers([{ uuid: U1, hostName: 'pc-1', source: 'import' } as never]),
        ).rejects.toMatchObject({
          field: 'computers[0].domainName',
          message: 'computers[0].domainName is required',
        });
        // One import is one transaction: past 100,000 computers it is refused before any is read.
        const many = new Array(100_001).fill({
          uuid: U1,
          hostName: 'pc-1',
          domainName: 'x.y',
          source: 'import',
        });
        await expect(s.importComputers(many)).rejects.toMatchObject({
          code: 'STORE_INVALID_INPUT',
          field: 'computers',
          message: expect.stringContaining('at most 100000'),
        });
        expect(await s.listComputers()).toEqual([]);
      });
    });

    describe('credentials', () => {
      it('adds, lists by priority then id, and deletes', async () => {
        const s = await open();
        const a = await s.addCredential({
          label: 'factory',
          username: 'admin',
          password: 'admin',
          priority: 10,
        });
        const b = await s.addCredential({
          label: 'site',
          username: 'admin',
          password: 'S1te!Pass',
          priority: 1,
        });
        const c = await s.addCredential({
          label: 'site2',
          username: 'admin',
          password: 'S2te!Pass',
          priority: 1,
        });
        expect(a.id).toBeGreaterThan(0);
        expect((await s.listCredentials()).map((x) => [x.id, x.password])).toEqual([
          [b.id, 'S1te!Pass'],
          [c.id, 'S2te!Pass'],
          [a.id, 'admin'],
        ]);
        expect(await s.deleteCredential(b.id)).toBe(true);
        expect(await s.deleteCredential(b.id)).toBe(false);
        expect((await s.listCredentials()).map((x) => x.id)).toEqual([c.id, a.id]);
        await expect(
          s.addCredential({ label: '', username: 'admin', password: 'x', priority: 0 }),
        ).rejects.toMatchObject({
          code: 'STORE_INVALID_INPUT',
          field: 'label',
        });
        await expect(
          s.addCredential({ label: 'l', username: 'admin', password: 'x'.repeat(33), priority: 0 }),
        ).rejects.toMatchObject({ field: 'password' });
        expect(await s.listCredentials()).toHaveLength(2);
      });
    });

    describe('settings', () => {
      it('starts with sane defaults and a strong generated MEBx password', async () => {
        const s = await open();
        const d = await s.getSettings();
        expect(d.features).toEqual({ ping: true, webUi: true, sol: true, ider: true });
        expect(d.powerBehaviour).toBe('SP2');
        expect(d.powerScheme).toBe(5);
        expect(d.adminUsername).toBe('admin');
        expect(d.kerberos.enabled).toBe(true);
        expect(isStrongAmtPassword(d.mebxPassword)).toBe(true);
        const other = await open(KEY, await newDatabase()); // another site
        expect((await other.getSettings()).mebxPassword).not.toBe(d.mebxPassword);
      });

      it('round-trips every field including secrets, and refuses bad settings without a change', async () => {
        const s = await open();
        const next: ProvisioningSettings = {
          features: { ping: false, webUi: true, sol: false, ider: true },
          userAcls: [
            { username: 'helpdesk', password: 'Help!Desk9', accessPermission: 2, realms: [2, 3, 5] },
            { kerberosSid: 'AQUAAAAAAAUVAAAA', accessPermission: 1, realms: [3] },
          ],
          kerberos: { enabled: false },
          powerBehaviour: 'SP1',
          powerScheme: 5,
          wifiProfiles: [
            {
              name: 'office',
              ssid: 'Office',
              priority: 1,
              authenticationMethod: 6,
              encryptionMethod: 4,
              pskPassphrase: 'wifi-psk-secret',
            },
            { name: 'corp', ssid: 'Corp', priority: 2, authenticationMethod: 7, encryptionMethod: 4 },
          ],
          wired8021x: { enabled: true, authenticationProtocol: 2, username: 'amt', password: 'dot1x-secret' },
          mebxPassword: 'Mebx!Pass1',
          adminUsername: 'admin',
        };
        await s.putSettings(next);
        expect(await s.getSettings()).toEqual(next);
        await expect(s.putSettings({ ...next, mebxPassword: 'weak' })).rejects.toMatchObject({
          code: 'STORE_INVALID_INPUT',
          field: 'mebxPassword',
        });
        await expect(
          s.putSettings({ ...next, wifiProfiles: [{ ...next.wifiProfiles[0]!, pskPassphrase: undefined }] }),
        ).rejects.toMatchObject({ field: 'wifiProfiles[0].pskPassphrase' });
        await expect(s.putSettings({ ...next, powerBehaviour: 'SP3' as 'SP1' })).rejects.toMatchObject({
          field: 'powerBehaviour',
        });
        expect(await s.getSettings()).toEqual(next);
      });
    });

    describe('provisioning certificates', () => {
      it('adds and lists with the key decrypted', async () => {
        const s = await open();
        const added = await s.addProvisioningCertificate({
          name: 'acme',
          certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
          keyPem: '-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n',
          rootHashes: { sha1: 'A'.repeat(40), sha256: 'b'.repeat(64), sha384: 'c'.repeat(96) },
          enabled: true,
        });
        expect(added.rootHashes.sha1).toBe('a'.repeat(40));
        expect(await s.listProvisioningCertificates()).toEqual([added]);
        await expect(
          s.addProvisioningCertificate({ ...added, rootHashes: { ...added.rootHashes, sha256: 'zz' } }),
        ).rejects.toMatchObject({ field: 'rootHashes.sha256' });
        expect(await s.listProvisioningCertificates()).toHaveLength(1);

        expect(await s.setProvisioningCertificateEnabled(added.id, false)).toBe(true);
        expect((await s.listProvisioningCertificates()).map((c) => c.enabled)).toEqual([false]);
        expect(await s.setProvisioningCertificateEnabled(added.id, true)).toBe(true);
        expect(await s.setProvisioningCertificateEnabled(added.id + 1, false)).toBe(false);
        await expect(
          s.setProvisioningCertificateEnabled(added.id, 'no' as unknown as boolean),
        ).rejects.toMatchObject({
          code: 'STORE_INVALID_INPUT',
          field: 'enabled',
        });
        await expect(s.deleteProvisioningCertificate(-1)).rejects.toMatchObject({ field: 'id' });
        expect((await s.listProvisioningCertificates()).map((c) => c.enabled)).toEqual([true]);
        expect(await s.deleteProvisioningCertificate(added.id)).toBe(true);
        expect(await s.deleteProvisioningCertificate(added.id)).toBe(false);
        expect(await s.listProvisioningCertificates()).toEqual([]);
      });

      it('lists the same certificates without their keys, whatever they were enabled as', async () => {
        const s = await open();
        const certificate = (n: number, enabled: boolean) => ({
          name: `chain ${n}`,
          certPem: `-----BEGIN CERTIFICATE-----\nQ${n}==\n-----END CERTIFICATE-----\n`,
          keyPem: `-----BEGIN PRIVATE KEY-----\nK${n}==\n-----END PRIVATE KEY-----\n`,
          rootHashes: { sha1: `${n}`.repeat(40), sha256: `${n}`.repeat(64), sha384: `${n}`.repeat(96) },
          enabled,
        });
        expect(await s.listProvisioningCertificateInfo()).toEqual([]);
        await s.addProvisioningCertificate(certificate(1, true));
        await s.addProvisioningCertificate(certificate(2, false));
        const info = await s.listProvisioningCertificateInfo();
        expect(info).toEqual(
          (await s.listProvisioningCertificates()).map(({ keyPem: _key, ...rest }) => rest),
        );
        expect(info.map((c) => [c.name, c.enabled])).toEqual([
          ['chain 1', true],
          ['chain 2', false],
        ]);
        for (const c of info) expect(Object.keys(c)).not.toContain('keyPem');
      });
    });

    describe('the device CA', () => {
      // That its key is sealed at rest is each backend's own test (SQLite: store.test.ts).
      it('is stored once; a second one offered gets the first back', async () => {
        const s = await open();
        expect(await s.getDeviceCa()).toBeUndefined();
        const first = DEVICE_CA;
        expect(await s.putDeviceCaIfAbsent(first)).toEqual(first);
        const second = {
          certPem: first.certPem.replace('Q0Eg', 'T1RI'),
          keyPem: first.keyPem.replace('ZGV2', 'b3Ro'),
        };
        expect(await s.putDeviceCaIfAbsent(second)).toEqual(first);
        expect(await s.getDeviceCa()).toEqual(first);
        await expect(s.putDeviceCaIfAbsent({ certPem: 'nope', keyPem: first.keyPem })).rejects.toMatchObject({
          code: 'STORE_INVALID_INPUT',
          field: 'certPem',
        });
      });
    });

    describe('devices', () => {
      it('upserts with patch semantics, clears a field given as undefined, filters by status', async () => {
        const s = await open();
        const d = await s.upsertDevice(U1, { address: '127.0.0.5', lastHelloAt: new Date(t).toISOString() });
        expect(d).toMatchObject({ uuid: U1, status: 'discovered', address: '127.0.0.5' });
        await s.upsertDevice(U1, {
          status: 'failed',
          lastError: { code: 'X', message: 'boom', step: 'tls' },
        });
        expect(await s.getDevice(U1)).toMatchObject({
          status: 'failed',
          address: '127.0.0.5',
          lastError: { code: 'X' },
        });
        t += 5;
        const p = await s.upsertDevice(U1, {
          status: 'provisioned',
          lastError: undefined,
          amtVersion: '11.8.50',
        });
        expect(p.lastError).toBeUndefined();
        expect(p.updatedAt).toBe(new Date(t).toISOString());
        expect(await s.getDevice(U1)).toEqual(p);
        await s.upsertDevice(U2, { status: 'queued' });
        expect((await s.listDevices()).map((x) => x.uuid)).toEqual([U1, U2]);
        expect((await s.listDevices({ status: 'queued' })).map((x) => x.uuid)).toEqual([U2]);
        await expect(s.upsertDevice(U2, { status: 'nope' as 'queued' })).rejects.toMatchObject({
          field: 'status',
        });
        expect((await s.getDevice(U2))?.status).toBe('queued');
        expect(await s.getDevice('00000000-0000-0000-0000-000000000000')).toBeUndefined();
      });

      itReopening('keeps the last accepted hello, checked, and replaces it whole', async () => {
        const s = await open();
        const hello = {
          retryCount: 2,
          algorithms: ['sha256' as const],
          matches: [{ certificateId: 1, algorithm: 'sha256' as const, hash: 'ab'.repeat(32) }],
          receivedAt: new Date(t).toISOString(),
        };
        await s.upsertDevice(U1, { address: '127.0.0.5', lastHello: hello });
        expect((await s.getDevice(U1))?.lastHello).toEqual(hello);
        const bad: unknown[] = [
          { ...hello, algorithms: ['md5'] },
          { ...hello, matches: [{ certificateId: 1, algorithm: 'sha256', hash: 'NOT HEX' }] },
          { ...hello, receivedAt: 'yesterday' },
          { ...hello, retryCount: -1 },
          'hello',
        ];
        for (const lastHello of bad) {
          await expect(s.upsertDevice(U1, { lastHello } as never)).rejects.toMatchObject({
            code: 'STORE_INVALID_INPUT',
            field: 'lastHello',
          });
        }
        const next = { ...hello, retryCount: 3, matches: [] };
        await s.upsertDevice(U1, { lastHello: next });
        await s.close();
        expect((await (await open()).getDevice(U1))?.lastHello).toEqual(next);
      });
    });

    describe('events', () => {
      it('appends, filters, tails after an id, keeps the newest by default, and scrubs secret keys', async () => {
        const s = await open();
        for (let i = 0; i < 5; i++) {
          await s.appendEvent({
            level: 'info',
            type: i % 2 ? 'step.done' : 'hello',
            uuid: i < 3 ? U1 : U2,
            jobId: i,
            message: `e${i}`,
          });
        }
        const e = await s.appendEvent({
          level: 'warn',
          type: 'login.failed',
          message: 'credential refused',
          durationMs: 12.5,
          data: { credentialId: 3, password: 'hunter2!A', nested: { mebxPassword: 'Mebx!Pass1' } },
        });
        expect(e.data).toEqual({
          credentialId: 3,
          password: '[redacted]',
          nested: { mebxPassword: '[redacted]' },
        });
        expect(e.at).toBe(new Date(t).toISOString());
        expect((await s.listEvents({ uuid: U1 })).map((x) => x.message)).toEqual(['e0', 'e1', 'e2']);
        expect((await s.listEvents({ type: 'step.done' })).map((x) => x.message)).toEqual(['e1', 'e3']);
        expect((await s.listEvents({ jobId: 4 })).map((x) => x.message)).toEqual(['e4']);
        expect((await s.listEvents({ limit: 2 })).map((x) => x.message)).toEqual([
          'e4',
          'credential refused',
        ]);
        const all = await s.listEvents();
        expect(all).toHaveLength(6);
        expect((await s.listEvents({ afterId: all[3]!.id, limit: 1 })).map((x) => x.message)).toEqual(['e4']);
        expect(JSON.stringify(await s.listEvents())).not.toContain('hunter2');
        await expect(
          s.appendEvent({ level: 'loud' as 'info', type: 't', message: 'm' }),
        ).rejects.toMatchObject({
          field: 'level',
        });
      });

      it('prunes the events before a time, oldest first, across several batches', async () => {
        const s = await open();
        const day = 86_400_000;
        // 12,001 old events (more than two delete batches), then 3 recent ones.
        for (let i = 0; i <= 12_000; i++) {
          await s.appendEvent({
            level: 'debug',
            type: 'old',
            message: `o${i}`,
            at: new Date(t - 40 * day + i).toISOString(),
          });
        }
        for (let i = 0; i < 3; i++) {
          await s.appendEvent({
            level: 'info',
            type: 'new',
            message: `n${i}`,
            at: new Date(t - i * day).toISOString(),
          });
        }
        await expect(s.pruneEvents('last month')).rejects.toMatchObject({
          code: 'STORE_INVALID_INPUT',
          field: 'before',
        });
        expect(await s.listEvents({ type: 'old', limit: 1 })).toHaveLength(1); // nothing went
        // The cutoff is exclusive, and a time with an offset is compared as the instant it names.
        const cutoff = new Date(t - day);
        const withOffset = `${new Date(cutoff.getTime() + 2 * 3_600_000).toISOString().slice(0, 19)}+02:00`;
        expect(await s.pruneEvents(withOffset)).toBe(12_001 + 1);
        expect((await s.listEvents({ limit: 100 })).map((e) => e.message)).toEqual(['n0', 'n1']);
        expect(await s.pruneEvents(cutoff.toISOString())).toBe(0);
      });
    });

    describe('jobs, leases and fencing', () => {
      it('counts devices by status and jobs by state, every key present', async () => {
        const s = await open();
        const zeros = await s.countByState();
        expect(zeros.devices).toEqual({
          discovered: 0,
          queued: 0,
          provisioning: 0,
          provisioned: 0,
          failed: 0,
          unprovisioned: 0,
        });
        expect(zeros.jobs).toEqual({ queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 });
        const U3 = U1.replace(/1$/, '3');
        await s.upsertDevice(U1, { status: 'provisioned' });
        await s.upsertDevice(U2, { status: 'provisioned' });
        await s.upsertDevice(U3, { status: 'failed' });
        const done = (await s.enqueueJob(U1, 'hello')).job;
        const lease = await s.claimJob('w1', 30_000);
        expect(lease?.job.id).toBe(done.id);
        await s.finishJob(done.id, lease?.fencingToken ?? 0, { state: 'succeeded' });
        await s.enqueueJob(U2, 'hello');
        await s.claimJob('w1', 30_000);
        await s.enqueueJob(U3, 'retry');
        const counts = await s.countByState();
        expect(counts.devices).toMatchObject({ provisioned: 2, failed: 1, discovered: 0 });
        expect(counts.jobs).toEqual({ queued: 1, running: 1, succeeded: 1, failed: 0, cancelled: 0 });
      });

      it('enqueues one live job per device', async () => {
        const s = await open();
        const a = await s.enqueueJob(U1, 'hello');
        const b = await s.enqueueJob(U1.toUpperCase(), 'manual');
        expect(a.created).toBe(true);
        expect(b).toEqual({ job: a.job, created: false });
        const c = await s.enqueueJob(U2, 'hello');
        expect(c.created).toBe(true);
        expect((await s.listJobs()).map((j) => j.id)).toEqual([c.job.id, a.job.id]);
        expect((await s.listJobs({ uuid: U1 })).map((j) => j.id)).toEqual([a.job.id]);
      });

      it('claims the oldest queued job, and nothing when none is claimable', async () => {
        const s = await open();
        const a = (await s.enqueueJob(U1, 'hello')).job;
        const b = (await s.enqueueJob(U2, 'hello')).job;
        const l1 = await s.claimJob('w1', 30_000);
        const l2 = await s.claimJob('w2', 30_000);
        expect(l1?.job).toMatchObject({
          id: a.id,
          state: 'running',
          leaseOwner: 'w1',
          attempts: 1,
          fencingToken: 1,
        });
        expect(l1?.job.leaseExpiresAt).toBe(new Date(t + 30_000).toISOString());
        expect(l2?.job.id).toBe(b.id);
        expect(await s.claimJob('w3', 30_000)).toBeUndefined();
      });

      itReopening('two owners racing for one job: exactly one wins', async () => {
        const s1 = await open();
        const s2 = await open();
        await s1.enqueueJob(U1, 'hello');
        const [r1, r2] = await Promise.all([s1.claimJob('w1', 60_000), s2.claimJob('w2', 60_000)]);
        const winners = [r1, r2].filter((x) => x !== undefined);
        expect(winners).toHaveLength(1);
        expect(winners[0]?.fencingToken).toBe(1);
      });

      it('reclaims an expired lease with a higher token and refuses the stale owner', async () => {
        const s = await open();
        const job = (await s.enqueueJob(U1, 'hello')).job;
        const old = (await s.claimJob('w1', 10_000))!;
        await s.recordStep(job.id, old.fencingToken, { step: 'tls', journal: { select: { certId: 1 } } });
        t += 9_999;
        expect(await s.claimJob('w2', 10_000)).toBeUndefined(); // still leased
        t += 1;
        const next = (await s.claimJob('w2', 10_000))!;
        expect(next.job.id).toBe(job.id);
        expect(next.fencingToken).toBe(old.fencingToken + 1);
        expect(next.job).toMatchObject({
          leaseOwner: 'w2',
          attempts: 2,
          step: 'tls',
          journal: { select: { certId: 1 } },
        });

        const stale = { jobId: job.id, fencingToken: old.fencingToken };
        await expect(s.recordStep(job.id, old.fencingToken, { step: 'login' })).rejects.toBeInstanceOf(
          StaleLeaseError,
        );
        await expect(s.renewLease(job.id, old.fencingToken, 10_000)).rejects.toMatchObject({
          code: 'STORE_STALE_LEASE',
        });
        await expect(s.finishJob(job.id, old.fencingToken, { state: 'succeeded' })).rejects.toBeInstanceOf(
          StaleLeaseError,
        );
        await expect(s.addPendingSecret(U1, 'admin', 'Adm!nPass1', stale)).rejects.toBeInstanceOf(
          StaleLeaseError,
        );
        // Nothing the stale owner tried got written.
        expect(await s.listSecrets(U1, { states: ['pending', 'current', 'retired'] })).toEqual([]);
        expect(await s.getJob(job.id)).toMatchObject({ state: 'running', step: 'tls', leaseOwner: 'w2' });

        await s.renewLease(job.id, next.fencingToken, 50_000);
        expect((await s.getJob(job.id))?.leaseExpiresAt).toBe(new Date(t + 50_000).toISOString());
        await s.recordStep(job.id, next.fencingToken, {
          step: 'stage1',
          journal: { login: { credentialId: 2 } },
        });
        expect((await s.getJob(job.id))?.journal).toEqual({
          select: { certId: 1 },
          login: { credentialId: 2 },
        });
        const done = await s.finishJob(job.id, next.fencingToken, {
          state: 'failed',
          error: { code: 'AMT_RETURN_VALUE', message: 'refused', step: 'stage1' },
        });
        expect(done).toMatchObject({
          state: 'failed',
          lastError: { code: 'AMT_RETURN_VALUE', step: 'stage1' },
        });
        expect(done.leaseOwner).toBeUndefined();
        // A finished job is not running: its token is stale now, and a new job may be queued.
        await expect(s.recordStep(job.id, next.fencingToken, {})).rejects.toBeInstanceOf(StaleLeaseError);
        expect((await s.enqueueJob(U1, 'retry')).created).toBe(true);
        expect((await s.listJobs({ uuid: U1, state: 'failed' })).map((x) => x.id)).toEqual([job.id]);
        await expect(s.renewLease(9999, 1, 1000)).rejects.toMatchObject({ code: 'STORE_NOT_FOUND' });
      });

      it('releases a running job to the queue, journal kept, for another owner to claim at once and resume', async () => {
        const s = await open();
        const job = (await s.enqueueJob(U1, 'hello')).job;
        const held = (await s.claimJob('w1', 60_000))!;
        await s.recordStep(job.id, held.fencingToken, {
          step: 'login',
          journal: { tls: { certificateId: 1 }, login: { credentialId: 2 } },
        });
        t += 1_000;
        expect(await s.releaseLease(job.id, held.fencingToken)).toBe(true);
        const queued = (await s.getJob(job.id))!;
        expect(queued).toMatchObject({
          state: 'queued',
          step: 'login',
          attempts: 1,
          fencingToken: held.fencingToken,
          journal: { tls: { certificateId: 1 }, login: { credentialId: 2 } },
          updatedAt: new Date(t).toISOString(),
        });
        expect(queued.leaseOwner).toBeUndefined();
        expect(queued.leaseExpiresAt).toBeUndefined();
        expect(Object.keys(queued.journal)).toEqual(['tls', 'login']);
        expect((await s.countByState()).jobs).toMatchObject({ queued: 1, running: 0 });
        // Still the device's one live job.
        expect(await s.enqueueJob(U1, 'manual')).toEqual({ job: queued, created: false });

        // Its lease had 59 s to run: another owner takes the job now, with the next token.
        const next = (await s.claimJob('w2', 60_000))!;
        expect(next.job).toMatchObject({
          id: job.id,
          state: 'running',
          leaseOwner: 'w2',
          attempts: 2,
          step: 'login',
          journal: { tls: { certificateId: 1 }, login: { credentialId: 2 } },
        });
        expect(next.fencingToken).toBe(held.fencingToken + 1);
        expect(next.job.leaseExpiresAt).toBe(new Date(t + 60_000).toISOString());
        // The releasing worker is fenced off; the new one carries on from the journal.
        await expect(s.recordStep(job.id, held.fencingToken, { journal: { x: 1 } })).rejects.toBeInstanceOf(
          StaleLeaseError,
        );
        await s.recordStep(job.id, next.fencingToken, { step: 'report', journal: { report: { ok: true } } });
        expect(Object.keys((await s.getJob(job.id))!.journal)).toEqual(['tls', 'login', 'report']);
        expect((await s.finishJob(job.id, next.fencingToken, { state: 'succeeded' })).attempts).toBe(2);

        // A lease that expired with nobody claiming the job is still its holder's to give back.
        const other = (await s.enqueueJob(U2, 'hello')).job;
        const lapsed = (await s.claimJob('w1', 10_000))!;
        t += 20_000;
        expect(await s.releaseLease(other.id, lapsed.fencingToken)).toBe(true);
        expect(await s.getJob(other.id)).toMatchObject({ state: 'queued', attempts: 1 });
      });

      it('refuses to release under a stale token, a finished job, twice, or an unknown job, and changes nothing', async () => {
        const s = await open();
        const job = (await s.enqueueJob(U1, 'hello')).job;
        const old = (await s.claimJob('w1', 10_000))!;
        await s.recordStep(job.id, old.fencingToken, { step: 'tls', journal: { tls: { id: 1 } } });
        t += 10_000;
        const next = (await s.claimJob('w2', 10_000))!;
        const before = await s.getJob(job.id);
        t += 1;
        await expect(s.releaseLease(job.id, old.fencingToken)).rejects.toBeInstanceOf(StaleLeaseError);
        await expect(s.releaseLease(job.id, next.fencingToken + 1)).rejects.toMatchObject({
          code: 'STORE_STALE_LEASE',
        });
        expect(await s.getJob(job.id)).toEqual(before);
        expect(await s.claimJob('w3', 10_000)).toBeUndefined(); // nothing went back to the queue
        await s.renewLease(job.id, next.fencingToken, 10_000); // the holder still holds it

        // A finished job has no lease to give back.
        const done = await s.finishJob(job.id, next.fencingToken, { state: 'failed' });
        await expect(s.releaseLease(job.id, next.fencingToken)).rejects.toBeInstanceOf(StaleLeaseError);
        expect(await s.getJob(job.id)).toEqual(done);
        expect(await s.claimJob('w3', 10_000)).toBeUndefined();

        // Released once, the job is no longer running: a second release is refused.
        const second = (await s.enqueueJob(U1, 'retry')).job;
        const lease = (await s.claimJob('w1', 10_000))!;
        await s.releaseLease(second.id, lease.fencingToken);
        const released = await s.getJob(second.id);
        t += 1;
        await expect(s.releaseLease(second.id, lease.fencingToken)).rejects.toBeInstanceOf(StaleLeaseError);
        expect(await s.getJob(second.id)).toEqual(released);

        await expect(s.releaseLease(9999, 1)).rejects.toBeInstanceOf(StoreNotFoundError);
      });

      itReopening('a job one store released is claimed at once by a store of another instance', async () => {
        const s1 = await open();
        const s2 = await open();
        const job = (await s1.enqueueJob(U1, 'hello')).job;
        const held = (await s1.claimJob('instance-1', 60_000))!;
        await s1.recordStep(job.id, held.fencingToken, { step: 'tls', journal: { tls: { id: 1 } } });
        expect(await s2.claimJob('instance-2', 60_000)).toBeUndefined();
        await s1.releaseLease(job.id, held.fencingToken);
        await s1.close();
        const next = (await s2.claimJob('instance-2', 60_000))!;
        expect(next.job).toMatchObject({ id: job.id, leaseOwner: 'instance-2', journal: { tls: { id: 1 } } });
        expect(next.fencingToken).toBe(held.fencingToken + 1);
      });

      it('stores a step’s events with its journal entry, in order, or none of them', async () => {
        const s = await open();
        const job = (await s.enqueueJob(U1, 'hello')).job;
        const lease = (await s.claimJob('w1', 10_000))!;
        const ev = (type: string, i: number) => ({
          level: 'info' as const,
          type,
          uuid: U1,
          jobId: job.id,
          message: `${type} ${i}`,
          at: new Date(t - 1000 + i).toISOString(),
        });
        // More than one statement's worth of rows, kept in order.
        const many = Array.from({ length: 20 }, (_, i) => ev('step.note', i));
        await s.recordStep(job.id, lease.fencingToken, {
          step: 'login',
          journal: { login: { id: 1 } },
          events: [...many, { ...ev('step.done', 20), step: 'login', durationMs: 3.5, data: { id: 1 } }],
        });
        const stored = await s.listEvents({ jobId: job.id });
        expect(stored.map((e) => e.message)).toEqual([...many.map((e) => e.message), 'step.done 20']);
        expect(stored.map((e) => e.id)).toEqual([...stored.map((e) => e.id)].sort((a, b) => a - b));
        expect(stored[0]?.at).toBe(new Date(t - 1000).toISOString());
        expect(stored[20]).toMatchObject({ step: 'login', durationMs: 3.5, data: { id: 1 } });

        // A bad event refuses the whole write: no journal entry, no event.
        await expect(
          s.recordStep(job.id, lease.fencingToken, {
            journal: { tls: {} },
            events: [ev('ok', 1), { ...ev('bad', 2), level: 'loud' as 'info' }],
          }),
        ).rejects.toMatchObject({ code: 'STORE_INVALID_INPUT', field: 'level' });
        // A stale token refuses it too.
        await expect(
          s.recordStep(job.id, lease.fencingToken + 1, { journal: { tls: {} }, events: [ev('x', 1)] }),
        ).rejects.toBeInstanceOf(StaleLeaseError);
        expect((await s.getJob(job.id))?.journal).toEqual({ login: { id: 1 } });
        expect(await s.listEvents({ jobId: job.id })).toHaveLength(21);

        const done = await s.finishJob(job.id, lease.fencingToken, {
          state: 'succeeded',
          events: [ev('job.succeeded', 30)],
        });
        expect(done.state).toBe('succeeded');
        expect((await s.listEvents({ jobId: job.id, type: 'job.succeeded' })).map((e) => e.message)).toEqual([
          'job.succeeded 30',
        ]);
      });
    });

    describe('recordStep: the fenced write and the journal merge', () => {
      async function running(s: SiteStore, uuid = U1): Promise<{ jobId: number; token: number }> {
        const job = (await s.enqueueJob(uuid, 'hello')).job;
        const lease = (await s.claimJob('w1', 10_000))!;
        return { jobId: job.id, token: lease.fencingToken };
      }

      /** What recordStep always did: parse the journal, Object.assign the update, stringify. */
      function merged(
        before: Record<string, unknown>,
        update: Record<string, unknown>,
      ): Record<string, unknown> {
        return JSON.parse(JSON.stringify(Object.assign(JSON.parse(JSON.stringify(before)), update)));
      }

      it('refuses a reclaimed, finished or unknown job with the same errors, and writes nothing', async () => {
        const s = await open();
        const { jobId, token } = await running(s);
        await s.recordStep(jobId, token, { step: 'tls', journal: { tls: { id: 1 } } });
        t += 10_000;
        const next = (await s.claimJob('w2', 10_000))!;
        const ev = { level: 'info' as const, type: 'x', jobId, message: 'stale write' };
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;

        for (const update of [
          { step: 'login', journal: { login: { id: 2 } }, events: [ev] },
          { journal: { a: 1, b: 2 } }, // several keys
          { events: [ev] }, // no journal
          { journal: { tls: undefined } }, // a key to drop (read-merge-write path)
          { journal: { bad: cyclic } }, // a value JSON cannot encode: the lost lease still wins
        ]) {
          await expect(s.recordStep(jobId, token, update)).rejects.toBeInstanceOf(StaleLeaseError);
        }
        await expect(s.finishJob(jobId, token, { state: 'failed', events: [ev] })).rejects.toBeInstanceOf(
          StaleLeaseError,
        );
        await expect(s.recordStep(9999, 1, { journal: { a: 1 } })).rejects.toBeInstanceOf(StoreNotFoundError);
        await expect(s.finishJob(9999, 1, { state: 'succeeded' })).rejects.toMatchObject({
          code: 'STORE_NOT_FOUND',
        });
        await expect(s.renewLease(9999, 1, 1000)).rejects.toBeInstanceOf(StoreNotFoundError);

        expect(await s.getJob(jobId)).toMatchObject({
          state: 'running',
          step: 'tls',
          journal: { tls: { id: 1 } },
          leaseOwner: 'w2',
        });
        expect(await s.listEvents({ jobId })).toEqual([]);

        // With the live token the same unencodable value is the caller's error, and changes nothing.
        await expect(
          s.recordStep(jobId, next.fencingToken, { journal: { bad: cyclic } }),
        ).rejects.toBeInstanceOf(TypeError);
        await s.finishJob(jobId, next.fencingToken, { state: 'succeeded' });
        await expect(s.recordStep(jobId, next.fencingToken, { journal: { a: 1 } })).rejects.toBeInstanceOf(
          StaleLeaseError,
        );
        expect((await s.getJob(jobId))?.journal).toEqual({ tls: { id: 1 } });
      });

      it('replaces each key whole (no deep merge), keeps null, drops a key set to undefined', async () => {
        const s = await open();
        const { jobId, token } = await running(s);
        await s.recordStep(jobId, token, {
          step: 'login',
          journal: { login: { id: 1, nested: { a: 1, b: [1, 2] } }, tls: { certificateId: 'c1' } },
        });
        t += 1;
        await s.recordStep(jobId, token, { journal: { login: { nested: { c: 3 } }, gone: null } });
        let job = (await s.getJob(jobId))!;
        expect(job.journal).toEqual({
          login: { nested: { c: 3 } },
          tls: { certificateId: 'c1' },
          gone: null,
        });
        expect(Object.keys(job.journal)).toEqual(['login', 'tls', 'gone']);
        expect(job.step).toBe('login'); // no step given: the current one stays
        expect(job.updatedAt).toBe(new Date(t).toISOString());

        await s.recordStep(jobId, token, { step: 'tls', journal: { tls: undefined, report: { ok: true } } });
        await s.recordStep(jobId, token, { journal: {} });
        job = (await s.getJob(jobId))!;
        expect(job.journal).toEqual({ login: { nested: { c: 3 } }, gone: null, report: { ok: true } });
        expect(job.step).toBe('tls');
      });

      it('matches keys exactly, even where the key’s text appears nested or inside a string', async () => {
        const s = await open();
        const { jobId, token } = await running(s);
        const keys = ['a', 'a.b', 'a"b', 'a\\b', 'é', '', '1', '"a":', 'x\u0001y', '\ud83d\ude00'];
        let model: Record<string, unknown> = {};
        const steps: Record<string, unknown>[] = [
          { outer: { a: 1, 'a.b': 'x' } }, // "a": and "a.b": appear nested first
          { note: 'contains "a": and "é": as text' },
          ...keys.map((k, i) => ({ [k]: { i } })),
          ...keys.map((k, i) => ({ [k]: [i, { [k]: 'nested same key' }] })), // every key again: replaced
          { a: 'last', outer: 0 },
        ];
        for (const update of steps) {
          await s.recordStep(jobId, token, { journal: update });
          model = merged(model, update);
        }
        const journal = (await s.getJob(jobId))!.journal;
        expect(journal).toEqual(model);
        expect(Object.keys(journal)).toEqual(Object.keys(model));
      });

      it('agrees with parse-assign-stringify on random update sequences', async () => {
        const s = await open();
        const key = fc.constantFrom(
          'login',
          'stage1.tls',
          'a',
          'a"b',
          'b\\c',
          'é',
          '',
          '7',
          'secretId',
          'x:y',
        );
        const leaf = fc.oneof(
          fc.constant(null),
          fc.boolean(),
          fc.integer(),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.string(),
        );
        const value = fc.oneof(
          { weight: 4, arbitrary: fc.jsonValue() },
          { weight: 2, arbitrary: fc.dictionary(key, leaf) },
          { weight: 1, arbitrary: fc.constant(undefined) },
        );
        const update = fc.dictionary(key, value, { maxKeys: 3 });
        let n = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(update, { minLength: 1, maxLength: 8 }), async (updates) => {
            const uuid = `8f3a1c2e-0000-4000-8000-${String(++n).padStart(12, '0')}`;
            const { jobId, token } = await running(s, uuid);
            let model: Record<string, unknown> = {};
            for (const u of updates) {
              await s.recordStep(jobId, token, { journal: u });
              model = merged(model, u);
            }
            const journal = (await s.getJob(jobId))!.journal;
            expect(journal).toEqual(model);
            expect(Object.keys(journal)).toEqual(Object.keys(model));
            await s.finishJob(jobId, token, { state: 'succeeded' });
          }),
          { numRuns: 150 },
        );
      });

      it('records values nested deeper than SQLite’s JSON allows', async () => {
        const s = await open();
        const { jobId, token } = await running(s);
        let deep: unknown = 'bottom';
        for (let i = 0; i < 1100; i++) deep = [deep];
        await s.recordStep(jobId, token, { journal: { deep: 1, other: { a: 1 } } });
        await s.recordStep(jobId, token, { journal: { deep } }); // replaces a key: SQLite refuses, JS does it
        await s.recordStep(jobId, token, { journal: { more: deep } }); // a new key
        await s.recordStep(jobId, token, { journal: { other: 2 } }); // a journal SQLite cannot parse now
        const journal = (await s.getJob(jobId))!.journal;
        expect(journal).toEqual({ deep, other: 2, more: deep });
        expect(Object.keys(journal)).toEqual(['deep', 'other', 'more']);
      });

      it('stores 33 events of one step in order, scrubbing secret keys only where there are some', async () => {
        const s = await open();
        const { jobId, token } = await running(s);
        const at = (i: number) => new Date(t - 1000 + i).toISOString();
        const events = Array.from({ length: 33 }, (_, i) => ({
          level: 'info' as const,
          type: 'step.note',
          uuid: U1,
          jobId,
          step: 'login',
          message: `note ${i}`,
          data: { i, list: [{ id: i }], when: at(i) },
          ...(i === 32 ? {} : { at: at(i) }), // the last one takes the store's clock
        }));
        const withSecrets = {
          i: 3,
          list: [{ id: 3, password: 'Adm!nPass1' }],
          when: at(3),
          nested: { adminPassword: 'Mebx!Pass1', publicKey: 'not a secret' },
          blob: Buffer.from('abcd'),
        };
        events[3]!.data = withSecrets as unknown as (typeof events)[number]['data'];
        // Only a secret-named key, nothing else the redaction rewrites.
        events[5]!.data = {
          i: 5,
          wifi: [{ ssid: 'office', pskPassphrase: 'PskPlain!77' }],
        } as unknown as (typeof events)[number]['data'];
        await s.recordStep(jobId, token, { step: 'login', journal: { login: { id: 1 } }, events });
        const stored = await s.listEvents({ jobId, limit: 100 });
        expect(stored.map((e) => e.message)).toEqual(events.map((e) => e.message));
        expect(stored.map((e) => e.id)).toEqual([...stored.map((e) => e.id)].sort((a, b) => a - b));
        expect(stored[0]).toMatchObject({
          at: at(0),
          step: 'login',
          data: { i: 0, list: [{ id: 0 }], when: at(0) },
        });
        expect(stored[32]?.at).toBe(new Date(t).toISOString());
        expect(stored[3]?.data).toEqual({
          i: 3,
          list: [{ id: 3, password: '[redacted]' }],
          when: at(3),
          nested: { adminPassword: '[redacted]', publicKey: 'not a secret' },
          blob: '[4 bytes]',
        });
        expect(stored[5]?.data).toEqual({ i: 5, wifi: [{ ssid: 'office', pskPassphrase: '[redacted]' }] });
        expect(JSON.stringify(stored)).not.toMatch(/Adm!nPass1|Mebx!Pass1|PskPlain!77/);
        // The caller's objects are left as they were.
        expect(withSecrets.list[0]?.password).toBe('Adm!nPass1');
      });
      it('stores step event data exactly as the redaction of it, secret keys or not', async () => {
        const s = await open();
        const { jobId, token } = await running(s);
        const key = fc.constantFrom(
          'id',
          'name',
          'password',
          'apiKey',
          'publicKey',
          'fencingToken',
          'Secret',
          'list',
        );
        const { data } = fc.letrec((tie) => ({
          data: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
          value: fc.oneof(
            { depthSize: 'small', withCrossShrink: true },
            fc.oneof(fc.constant(null), fc.integer(), fc.string(), fc.boolean()),
            fc.array(tie('value'), { maxLength: 3 }),
            tie('data'),
          ),
        }));
        await fc.assert(
          fc.asyncProperty(fc.array(data, { minLength: 1, maxLength: 4 }), async (list) => {
            const before = (await s.listEvents({ jobId, limit: 1 }))[0]?.id ?? 0;
            const events = list.map((d, i) => ({
              level: 'info' as const,
              type: 'step.note',
              jobId,
              message: `m${i}`,
              data: d as Record<string, unknown>,
            }));
            await s.recordStep(jobId, token, { events });
            const stored = await s.listEvents({ jobId, afterId: before, limit: 100 });
            expect(stored.map((e) => e.data)).toEqual(
              list.map((d) => JSON.parse(JSON.stringify(redactSecrets(d)))),
            );
          }),
          { numRuns: 100 },
        );
      });
    });

    describe('device secrets', () => {
      it('pending → current → retired, newest first, idempotent confirm', async () => {
        const s = await open();
        const job = (await s.enqueueJob(U1, 'hello')).job;
        const lease = (await s.claimJob('w1', 60_000))!;
        const l = { jobId: job.id, fencingToken: lease.fencingToken };
        const p1 = await s.addPendingSecret(U1, 'admin', 'Adm!nPass1', l);
        expect(p1).toMatchObject({ uuid: U1, kind: 'admin', state: 'pending', value: 'Adm!nPass1' });
        await s.confirmSecret(p1.id, l);
        await s.confirmSecret(p1.id, l); // repeated after a resume: no-op
        const m = await s.addPendingSecret(U1, 'mebx', 'Mebx!Pass1');
        const p2 = await s.addPendingSecret(U1, 'admin', 'Adm!nPass2', l);
        expect((await s.listSecrets(U1)).map((x) => [x.value, x.state])).toEqual([
          ['Adm!nPass2', 'pending'],
          ['Mebx!Pass1', 'pending'],
          ['Adm!nPass1', 'current'],
        ]);
        t += 1000;
        await s.confirmSecret(p2.id, l);
        const admin = await s.listSecrets(U1, { kind: 'admin', states: ['pending', 'current', 'retired'] });
        expect(admin.map((x) => [x.value, x.state])).toEqual([
          ['Adm!nPass2', 'current'],
          ['Adm!nPass1', 'retired'],
        ]);
        expect(admin[0]?.confirmedAt).toBe(new Date(t).toISOString());
        await expect(s.confirmSecret(p1.id)).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
        await expect(s.confirmSecret(12345)).rejects.toMatchObject({ code: 'STORE_NOT_FOUND' });
        expect((await s.listSecrets(U1, { kind: 'mebx' }))[0]?.id).toBe(m.id);
      });

      it('retires older pending secrets of the same kind when a newer one is confirmed', async () => {
        const s = await open();
        const a = await s.addPendingSecret(U1, 'admin', 'Adm!nPass1');
        const b = await s.addPendingSecret(U1, 'admin', 'Adm!nPass2');
        await s.confirmSecret(b.id);
        expect((await s.listSecrets(U1, { states: ['retired'] })).map((x) => x.id)).toEqual([a.id]);
      });

      it('retires every pending and current secret of one kind, under a lease or not', async () => {
        const s = await open();
        const job = (await s.enqueueJob(U1, 'unprovision')).job;
        const lease = (await s.claimJob('w1', 60_000))!;
        const l = { jobId: job.id, fencingToken: lease.fencingToken };
        const current = await s.addPendingSecret(U1, 'admin', 'Adm!nPass1');
        await s.confirmSecret(current.id);
        const pending = await s.addPendingSecret(U1, 'admin', 'Adm!nPass2');
        const mebx = await s.addPendingSecret(U1, 'mebx', 'Mebx!Pass1');
        await s.confirmSecret(mebx.id);
        const other = await s.addPendingSecret(U2, 'admin', 'Adm!nPass3');
        t += 1000;
        // A stale token changes nothing.
        await expect(
          s.retireSecrets(U1, 'admin', { jobId: job.id, fencingToken: lease.fencingToken + 1 }),
        ).rejects.toMatchObject({ code: 'STORE_STALE_LEASE' });
        await expect(s.retireSecrets(U2, 'admin', l)).rejects.toMatchObject({
          code: 'STORE_INVALID_INPUT',
          field: 'jobId',
        });
        await expect(s.retireSecrets(U1, 'nope' as 'admin')).rejects.toMatchObject({
          code: 'STORE_INVALID_INPUT',
        });
        expect((await s.listSecrets(U1)).map((x) => x.id)).toEqual([mebx.id, pending.id, current.id]);

        expect(await s.retireSecrets(U1.toUpperCase(), 'admin', l)).toBe(2);
        const all = await s.listSecrets(U1, { states: ['pending', 'current', 'retired'] });
        expect(all.map((x) => [x.id, x.state])).toEqual([
          [mebx.id, 'current'],
          [pending.id, 'retired'],
          [current.id, 'retired'],
        ]);
        expect((await s.listSecrets(U2)).map((x) => x.id)).toEqual([other.id]);
        // Again: nothing left to retire.
        expect(await s.retireSecrets(U1, 'admin', l)).toBe(0);
      });

      it('refuses a lease of another device', async () => {
        const s = await open();
        const job = (await s.enqueueJob(U1, 'hello')).job;
        const lease = (await s.claimJob('w1', 60_000))!;
        await expect(
          s.addPendingSecret(U2, 'admin', 'Adm!nPass1', { jobId: job.id, fencingToken: lease.fencingToken }),
        ).rejects.toMatchObject({ code: 'STORE_INVALID_INPUT', field: 'jobId' });
      });
    });

    describe('secret key', () => {
      it('a key of the wrong size is refused at open, before the database is touched', async () => {
        await expect(open(randomBytes(16))).rejects.toMatchObject({
          name: 'SecretKeyError',
          code: 'SECRET_KEY_INVALID',
        });
      });

      itReopening('a wrong key is refused at open with a typed error', async () => {
        const s = await open();
        await s.addCredential({ label: 'a', username: 'admin', password: 'First!Pass1', priority: 0 });
        await s.close();
        await expect(open(randomBytes(32))).rejects.toMatchObject({
          name: 'SecretKeyError',
          code: 'SECRET_KEY_MISMATCH',
        });
        await expect(open(randomBytes(16))).rejects.toMatchObject({ code: 'SECRET_KEY_INVALID' });
        const again = await open();
        expect((await again.listCredentials())[0]?.password).toBe('First!Pass1');
      });
    });

    describe('closing and reopening', () => {
      itReopening('reopening keeps the data and does not seed the defaults again', async () => {
        const s1 = await open();
        await s1.addCredential({ label: 'a', username: 'admin', password: 'First!Pass1', priority: 0 });
        const mebx = (await s1.getSettings()).mebxPassword;
        await s1.close();
        const s2 = await open();
        expect((await s2.listCredentials()).map((c) => c.label)).toEqual(['a']);
        expect((await s2.getSettings()).mebxPassword).toBe(mebx); // defaults are not re-seeded
      });

      it('a closed store refuses calls with STORE_CLOSED', async () => {
        const s = await open();
        await s.close();
        await expect(s.listDevices()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
        await expect(s.releaseLease(1, 1)).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      });
    });
  });
}
