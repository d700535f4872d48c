/**
 * The SQLite site store on a job's write path, against its floor measured in the same run:
 * - subject: `openSqliteStore` taking a job's writes through the `SiteStore` calls;
 * - floor: bare better-sqlite3 with the same schema (the store's own DDL) and pragmas, writing
 *   the same rows (an UPDATE of the job row + the same event INSERTs per step) with prepared
 *   statements, one immediate transaction per store call, every JSON text and sealed secret made
 *   up front.
 * Both in memory, as the fleet benchmark runs the store (its CPU profile is what this follows),
 * so no file I/O noise. The steps are the ones an AMT 16 device's job records (journal entries
 * and events captured from a run of the flow), so the journal grows as in production. Besides
 * the ratios, the µs of each call (timed one by one) are printed at the end.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type NewSiteEvent,
  openSqliteStore,
  type SiteStore,
  staticKeyProvider,
} from '@oobkit/provisioning-service';
import type { BenchCase, Comparison } from '../harness.js';

// better-sqlite3 is the service's dependency, not the bench's: load the very copy the store uses.
const requireFromService = createRequire(import.meta.resolve('@oobkit/provisioning-service'));

/** The few better-sqlite3 calls the floor makes. */
interface Statement {
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
interface Db {
  prepare(sql: string): Statement;
  pragma(sql: string): unknown;
  transaction<F extends (...args: never[]) => unknown>(fn: F): F & { immediate: F };
  close(): void;
}
const Database = requireFromService('better-sqlite3') as new (path: string) => Db;

type StepEvent = Omit<NewSiteEvent, 'uuid' | 'jobId' | 'at'>;
interface StepTemplate {
  step?: string;
  journal: Record<string, unknown>;
  events: StepEvent[];
  /** Before this step: store a pending secret of this kind (flow `pendingSecret()`). */
  pending?: 'admin' | 'mebx';
  /** Before this step: list the pending secrets and confirm them (flow stage1.confirm). */
  confirm?: boolean;
}

const done = (step: string, out: Record<string, unknown>, durationMs: number): StepEvent => ({
  level: 'info',
  type: 'step.done',
  step,
  durationMs,
  message: `${step} done`,
  data: out,
});
const entry = (step: string, out: Record<string, unknown>, durationMs: number, extra: StepEvent[] = []) => ({
  step,
  journal: { [step]: out },
  events: [...extra, done(step, out, durationMs)],
});

/** One job of the flow, as `recordStep` sees it (19 calls, 24 events). */
const STEPS: StepTemplate[] = [
  entry('chain', { certificateId: 1, name: 'test PKI', algorithm: 'sha256' }, 18.1, [
    {
      level: 'info',
      type: 'job.started',
      message: 'job started',
      data: { reason: 'hello', attempt: 1, journaled: [] },
    },
  ]),
  entry(
    'connect',
    {
      tls: 'modern',
      stage1: 'wsman',
      firmware: '16.1.25.3425',
      realm: 'Digest:635C05BE7FF50FFE5B7150FF333D9EE6',
    },
    36.6,
  ),
  entry('login', { source: 'credential', id: 1, label: 'factory default', factoryDefault: true }, 29.7, [
    {
      level: 'info',
      type: 'login.ok',
      step: 'login',
      message: 'logged in with factory default',
      data: { source: 'credential', id: 1, label: 'factory default', refused: 0 },
    },
  ]),
  entry('directory', { skipped: 'no-directory' }, 0.3, [
    {
      level: 'info',
      type: 'step.note',
      step: 'directory',
      message: 'no directory configured: no account, no SPN, no Kerberos key',
    },
  ]),
  entry('stage1.clock', { protocol: 'wsman' }, 6.4),
  entry('stage1.network', { hostName: 'pc-1', domainName: 'oobkit.test' }, 5.7),
  entry(
    'stage1.tls',
    { certificateId: 'Intel(r) AMT Certificate: Handle: 2', deviceGeneratedKey: true, ca: 'built-in' },
    60.9,
  ),
  {
    pending: 'admin',
    journal: { 'stage1.admin-password': { secretId: 1, pending: true } },
    events: [
      {
        level: 'info',
        type: 'secret.pending',
        step: 'stage1.admin-password',
        message: 'admin secret #1 stored (pending) before it is written',
        data: { kind: 'admin', secretId: 1 },
      },
    ],
  },
  entry('stage1.admin-password', { secretId: 1, username: 'admin' }, 12.3),
  {
    pending: 'mebx',
    journal: { 'stage1.mebx-password': { secretId: 2, pending: true } },
    events: [
      {
        level: 'info',
        type: 'secret.pending',
        step: 'stage1.mebx-password',
        message: 'mebx secret #2 stored (pending) before it is written',
        data: { kind: 'mebx', secretId: 2 },
      },
    ],
  },
  entry('stage1.mebx-password', { secretId: 2 }, 3.4),
  entry('stage1.commit', {}, 2.2),
  {
    ...entry('stage1.confirm', { admin: 1, mebx: 2 }, 11, [
      {
        level: 'info',
        type: 'secret.confirmed',
        message: 'admin secret #1 confirmed by the device',
        data: { kind: 'admin', secretId: 1 },
      },
      {
        level: 'info',
        type: 'secret.confirmed',
        message: 'MEBx secret #2 confirmed',
        data: { kind: 'mebx', secretId: 2 },
      },
    ]),
    confirm: true,
  },
  entry('stage2.acl', { removed: 0, added: 2 }, 5.5),
  entry('stage2.features', { ping: true, webUi: true, sol: true, ider: false }, 6.8),
  entry('stage2.kerberos', { skipped: 'no-directory-key' }, 0.1, [
    {
      level: 'info',
      type: 'step.note',
      step: 'stage2.kerberos',
      message: 'Kerberos not turned on: no directory gave a key (configure a directory to enable it)',
    },
  ]),
  entry('stage2.power', { behaviour: 'SP1', scheme: 5, instanceId: 'Intel(r) AMT Power Scheme 4' }, 12.9),
  entry(
    'stage2.wireless',
    { removedProfiles: 0, removedCertificates: 0, wireless: true, profiles: 1, wired8021x: true },
    14.2,
  ),
  entry('report', { provisionedAt: '2026-11-28T14:30:45.730Z', amtVersion: '16.1.25.3425' }, 0.2),
];
const FINISH_EVENT: StepEvent = {
  level: 'info',
  type: 'job.succeeded',
  message: 'device provisioned',
  durationMs: 239,
};
const SECRET_VALUE = { admin: 'Adm!n-Bench-Pass-0001', mebx: 'Mebx!Bench-Pass-0002' };

/** The journal text after each step, as the store keeps it (the floor writes it as is). */
const JOURNAL_TEXT: string[] = [];
{
  const journal: Record<string, unknown> = {};
  for (const s of STEPS) {
    Object.assign(journal, s.journal);
    JOURNAL_TEXT.push(JSON.stringify(journal));
  }
}
const EVENT_DATA_TEXT = STEPS.map((s) => s.events.map((e) => (e.data ? JSON.stringify(e.data) : null)));
const LEASE_MS = 3_600_000;
const KEY = Buffer.alloc(32, 5);

const cleanups: Array<() => Promise<void> | void> = [];
/** Per batch, µs per call of each timed call (`tally`), for the notes printed at the end. */
const perCall = new Map<string, number[]>();
const spent = new Map<string, { ns: bigint; calls: number }>();

export async function teardown(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  if (perCall.size === 0) return;
  console.log('\nstore: µs per call (median of the timed batches; calls timed one by one)');
  for (const [name, us] of perCall) {
    const sorted = [...us].sort((x, y) => x - y);
    console.log(`  ${name}: ${(sorted[sorted.length >> 1] ?? 0).toFixed(1)} µs`);
  }
}

/** Runs `fn` (sync or async) and adds its time to `name`'s tally. */
async function tally<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const t0 = process.hrtime.bigint();
  const out = await fn();
  const t = spent.get(name) ?? { ns: 0n, calls: 0 };
  t.ns += process.hrtime.bigint() - t0;
  t.calls++;
  spent.set(name, t);
  return out;
}

/** A batch case of `count` runs of `once`, each worth `units` ops; closes the batch's tallies. */
function batch(name: string, units: number, once: () => Promise<void>, count: number): BenchCase {
  return {
    name,
    batch: async () => {
      spent.clear();
      for (let i = 0; i < count; i++) await once();
      for (const [call, t] of spent) {
        const list = perCall.get(call) ?? [];
        list.push(Number(t.ns) / 1e3 / t.calls);
        perCall.set(call, list);
      }
      spent.clear();
      return count * units;
    },
  };
}

/** How many `once` calls last about `ms` (calibrated on the subject, used by both sides). */
async function calibrate(once: () => Promise<void> | void, ms = 150): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 40) {
    await once();
    n++;
  }
  return Math.max(1, Math.round((n * ms) / 40));
}

/**
 * An in-memory database with exactly the store's schema (tables, indexes), for the floor: the
 * store makes it in a throw-away file, and its DDL is replayed here with the store's pragmas.
 */
async function floorDb(): Promise<Db> {
  const dir = mkdtempSync(join(tmpdir(), 'oobkit-store-bench-'));
  try {
    const path = join(dir, 'schema.db');
    await (await openSqliteStore({ path, keyProvider: staticKeyProvider(KEY) })).close();
    const file = new Database(path);
    const ddl = file
      .prepare(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
      )
      .all() as { sql: string }[];
    file.close();
    const db = new Database(':memory:');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    for (const { sql } of ddl) db.prepare(sql).run();
    cleanups.push(() => db.close());
    return db;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function withJob(e: StepEvent, uuid: string, jobId: number, at: string): NewSiteEvent {
  return { ...e, uuid, jobId, at };
}

export async function comparisons(): Promise<Comparison[]> {
  // In memory, as the fleet benchmark (and its CPU profile) runs the store: no file I/O noise.
  const store: SiteStore = await openSqliteStore({ path: ':memory:', keyProvider: staticKeyProvider(KEY) });
  cleanups.push(() => store.close());
  const db = await floorDb();
  // Calibration runs must not leave tallies in the first timed batch.
  const calibrated = async (once: () => Promise<void>) => {
    const n = await calibrate(once);
    spent.clear();
    return n;
  };

  // ---- the floor's statements
  const fJobStep = db.prepare('UPDATE jobs SET journal = ?, step = ?, updated_at = ? WHERE id = ?');
  const fJobJournal = db.prepare('UPDATE jobs SET journal = ?, updated_at = ? WHERE id = ?');
  const fEvent = db.prepare(
    `INSERT INTO events (at, level, type, uuid, job_id, step, message, duration_ms, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const fQueue = db.prepare(
    `INSERT INTO jobs (uuid, reason, state, journal, attempts, fencing_token, created_at, updated_at)
       VALUES (?, 'hello', 'queued', '{}', 0, 0, ?, ?)`,
  );
  const fClaim = db.prepare(
    `UPDATE jobs SET state = 'running', lease_owner = ?, lease_expires_at = ?,
         fencing_token = fencing_token + 1, attempts = attempts + 1, updated_at = ?
       WHERE id = ?`,
  );
  const fDevice = db.prepare(
    `INSERT INTO devices (uuid, status, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (uuid) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
  );
  const fSecret = db.prepare(
    `INSERT INTO device_secrets (uuid, kind, state, value_enc, created_at) VALUES (?, ?, 'pending', ?, ?)`,
  );
  const fListSecrets = db.prepare(
    `SELECT * FROM device_secrets WHERE uuid = ? AND state IN ('pending') ORDER BY id DESC`,
  );
  const fRetire = db.prepare(
    `UPDATE device_secrets SET state = 'retired', retired_at = ?
       WHERE uuid = ? AND kind = ? AND (state = 'current' OR (state = 'pending' AND id < ?))`,
  );
  const fCurrent = db.prepare(`UPDATE device_secrets SET state = 'current', confirmed_at = ? WHERE id = ?`);
  const fFinish = db.prepare(
    `UPDATE jobs SET state = 'succeeded', last_error = NULL, lease_owner = NULL, lease_expires_at = NULL,
         updated_at = ? WHERE id = ?`,
  );
  const sealed = Buffer.alloc(1 + 12 + 16 + 21, 1);

  const fStep = db.transaction((jobId: number, uuid: string, i: number) => {
    const s = STEPS[i] as StepTemplate;
    const at = new Date().toISOString();
    if (s.step === undefined) fJobJournal.run(JOURNAL_TEXT[i], at, jobId);
    else fJobStep.run(JOURNAL_TEXT[i], s.step, at, jobId);
    const data = EVENT_DATA_TEXT[i] as (string | null)[];
    s.events.forEach((e, k) => {
      fEvent.run(at, e.level, e.type, uuid, jobId, e.step ?? null, e.message, e.durationMs ?? null, data[k]);
    });
  });
  const fEnqueue = db.transaction((uuid: string) => {
    const at = new Date().toISOString();
    return Number(fQueue.run(uuid, at, at).lastInsertRowid);
  });
  const fClaimTx = db.transaction((id: number) => {
    const nowMs = Date.now();
    fClaim.run('bench', new Date(nowMs + LEASE_MS).toISOString(), new Date(nowMs).toISOString(), id);
  });
  const fDeviceTx = db.transaction((uuid: string, status: string) =>
    fDevice.run(uuid, status, new Date().toISOString()),
  );
  const fSecretTx = db.transaction((uuid: string, kind: string) =>
    Number(fSecret.run(uuid, kind, sealed, new Date().toISOString()).lastInsertRowid),
  );
  const fConfirmTx = db.transaction((id: number, uuid: string, kind: string) => {
    const at = new Date().toISOString();
    fRetire.run(at, uuid, kind, id);
    fCurrent.run(at, id);
  });
  const fFinishJobTx = db.transaction((id: number) => fFinish.run(new Date().toISOString(), id));
  const fFinishTx = db.transaction((id: number, uuid: string) => {
    const at = new Date().toISOString();
    fFinish.run(at, id);
    const e = FINISH_EVENT;
    fEvent.run(at, e.level, e.type, uuid, id, null, e.message, e.durationMs ?? null, null);
  });

  const update = (i: number, uuid: string, jobId: number) => {
    const s = STEPS[i] as StepTemplate;
    const at = new Date().toISOString();
    return {
      ...(s.step !== undefined ? { step: s.step } : {}),
      journal: s.journal,
      events: s.events.map((e) => withJob(e, uuid, jobId, at)),
    };
  };
  const claim = async (uuid: string) => {
    await store.enqueueJob(uuid, 'hello');
    const lease = await store.claimJob('bench', LEASE_MS);
    if (!lease) throw new Error('bench: nothing to claim');
    return lease;
  };

  // ---- 1: a job's recordStep calls (plus its enqueue and claim, the same on the floor)
  const stepsSubject = async () => {
    const uuid = randomUUID();
    const { job, fencingToken } = await claim(uuid);
    for (let i = 0; i < STEPS.length; i++) {
      const u = update(i, uuid, job.id);
      await tally('recordStep', () => store.recordStep(job.id, fencingToken, u));
    }
    // Finished, as in production: a pile of running jobs would slow every later claim.
    await store.finishJob(job.id, fencingToken, { state: 'succeeded' });
  };
  const stepsFloor = async () => {
    const uuid = randomUUID();
    const id = fEnqueue.immediate(uuid);
    fClaimTx.immediate(id);
    for (let i = 0; i < STEPS.length; i++)
      await tally('floor: recordStep', () => fStep.immediate(id, uuid, i));
    fFinishJobTx.immediate(id);
  };
  const jobs = await calibrated(stepsSubject);

  // ---- 2: a provisioned device's write path through the store
  const deviceSubject = async () => {
    const uuid = randomUUID();
    const { job, fencingToken } = await tally('enqueueJob + claimJob', () => claim(uuid));
    const ref = { jobId: job.id, fencingToken };
    await tally('upsertDevice', () => store.upsertDevice(uuid, { status: 'provisioning' }));
    for (let i = 0; i < STEPS.length; i++) {
      const s = STEPS[i] as StepTemplate;
      const pending = s.pending;
      if (pending) {
        await tally('addPendingSecret', () =>
          store.addPendingSecret(uuid, pending, SECRET_VALUE[pending], ref),
        );
      }
      if (s.confirm) {
        const list = await tally('listSecrets (2 pending)', () =>
          store.listSecrets(uuid, { states: ['pending'] }),
        );
        for (const p of list.reverse()) await tally('confirmSecret', () => store.confirmSecret(p.id, ref));
      }
      const u = update(i, uuid, job.id);
      await store.recordStep(job.id, fencingToken, u);
    }
    await tally('upsertDevice', () =>
      store.upsertDevice(uuid, { status: 'provisioned', lastError: undefined }),
    );
    const finish = withJob(FINISH_EVENT, uuid, job.id, new Date().toISOString());
    await tally('finishJob', () =>
      store.finishJob(job.id, fencingToken, { state: 'succeeded', events: [finish] }),
    );
  };
  const deviceFloor = async () => {
    const uuid = randomUUID();
    const id = fEnqueue.immediate(uuid);
    fClaimTx.immediate(id);
    fDeviceTx.immediate(uuid, 'provisioning');
    for (let i = 0; i < STEPS.length; i++) {
      const s = STEPS[i] as StepTemplate;
      if (s.pending) fSecretTx.immediate(uuid, s.pending);
      if (s.confirm) {
        const list = fListSecrets.all(uuid) as { id: number; kind: string }[];
        for (const p of list.reverse()) fConfirmTx.immediate(p.id, uuid, p.kind);
      }
      fStep.immediate(id, uuid, i);
    }
    fDeviceTx.immediate(uuid, 'provisioned');
    fFinishTx.immediate(id, uuid);
  };
  const devices = await calibrated(deviceSubject);

  return [
    {
      title:
        `store: recordStep, a job's ${STEPS.length} steps (journal entry + 1–3 events each, the journal ` +
        'growing; the job’s enqueue, claim and finish included on both sides)',
      baseline: batch('bare better-sqlite3 UPDATE + INSERTs', STEPS.length, stepsFloor, jobs),
      subject: batch('SqliteSiteStore.recordStep', STEPS.length, stepsSubject, jobs),
      unit: 'step',
    },
    {
      title:
        'store: one device’s write path (enqueue, claim, 2 device upserts, 2 pending secrets, ' +
        `listSecrets, 2 confirms, ${STEPS.length} recordStep, finishJob)`,
      baseline: batch('bare better-sqlite3, same rows', 1, deviceFloor, devices),
      subject: batch('SqliteSiteStore', 1, deviceSubject, devices),
      unit: 'device',
    },
  ];
}
