import { createPrivateKey } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { amtDigestPassword, type DigestCredentials, generateAmtPassword } from '@oobkit/http-digest';
import type { Logger } from 'pino';
import type { CertificateAuthority } from '../ca/index.js';
import type { Directory, DirectoryAccount } from '../directory/index.js';
import { type AcceptedHello, HELLO_ACCEPTED_EVENT } from '../intake/intake.js';
import type {
  DeviceSecret,
  ImportedComputer,
  JobLease,
  ProvisioningSettings,
  SecretKind,
  SiteStore,
} from '../store/types.js';
import { type ChainChoice, type ChooseChain, chooseProvisioningChain } from './chain.js';
import type { AmtDevice } from './device.js';
import { hasCode, ProvisioningError, SimulatedCrash } from './errors.js';
import { createJobEventSink, Redactor } from './events.js';
import type { JobRunner } from './pool.js';
import { findPowerScheme, SP1_POWER_SCHEME } from './power.js';
import {
  causeChain,
  type DeviceConnection,
  type FirmwareInfo,
  isTlsVersionError,
  isTransient,
  openDeviceConnection,
  probeDevice,
  type TlsProfile,
  type TransportStats,
  transportError,
} from './session.js';

/** The factory MEBx password; before provisioning it is also the admin account's digest password. */
export const AMT_FACTORY_PASSWORD = 'admin';

/** Where a fault hook may fire: before a step, after its effect (before the journal), after it. */
export interface FlowCheckpoint {
  jobId: number;
  uuid: string;
  step: string;
  phase: 'before' | 'effect' | 'done' | 'pending-stored';
}

export interface FlowOptions {
  store: SiteStore;
  directory: Directory;
  ca: CertificateAuthority;
  /** AMT's TLS port (16993; the simulator may use another). */
  tlsPort: number;
  /** Builds the AmtDevice over a connection (default: the @oobkit/wsman + @oobkit/amt-soap one). */
  createDevice: (
    conn: DeviceConnection,
    info: { stage1: 'soap' | 'wsman'; firmware: FirmwareInfo },
  ) => AmtDevice;
  /** Last accepted hello per device seen by this instance (else read from the event log). */
  lastAccepted?: (uuid: string) => AcceptedHello | undefined;
  /** Test seam: picks the chain to present (default `chooseProvisioningChain`). */
  chooseChain?: ChooseChain;
  logger?: Logger;
  /** Test hook: throw `SimulatedCrash` to simulate a crash at that point. */
  checkpoint?: (p: FlowCheckpoint) => void | Promise<void>;
  stats?: TransportStats;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  now?: () => Date;
}

type Journal = Record<string, unknown>;

interface LoginCandidate {
  source: 'credential' | 'secret';
  id: number;
  label: string;
  credentials: DigestCredentials;
  secretKind?: SecretKind;
}

const PT_NOT_PERMITTED = 0x10;

/** The AMT status (WS-Man ReturnValue or SOAP StatusCode) an error carries, if any. */
export function amtStatusOf(err: unknown): number | undefined {
  for (let e: unknown = err, i = 0; e !== undefined && e !== null && i < 8; i++) {
    const o = e as { returnValue?: unknown; statusCode?: unknown };
    if (typeof o.returnValue === 'number') return o.returnValue;
    if (typeof o.statusCode === 'number') return o.statusCode;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Turns anything thrown by a step into a ProvisioningError with the step name. */
export function toFlowError(err: unknown, step: string | undefined): ProvisioningError {
  if (err instanceof ProvisioningError) {
    if (err.step === undefined && step !== undefined) err.step = step;
    return err;
  }
  if (hasCode(err, 'DIGEST_WRONG_CREDENTIALS')) {
    return new ProvisioningError('FLOW_LOGIN_FAILED', 'the device refused the credentials', {
      cause: err,
      causeCode: 'DIGEST_WRONG_CREDENTIALS',
      ...(step !== undefined ? { step } : {}),
    });
  }
  return transportError(err, step);
}

function stage1Protocol(firmware: FirmwareInfo, hello: AcceptedHello | undefined): 'soap' | 'wsman' {
  if (firmware.major !== undefined) return firmware.major <= 8 ? 'soap' : 'wsman';
  return helloLooksLegacy(hello) ? 'soap' : 'wsman';
}

/** AMT before 11 sends SHA-1 root hashes only; that is the hint to use the legacy TLS options. */
function helloLooksLegacy(hello: AcceptedHello | undefined): boolean {
  return hello !== undefined && hello.algorithms.length > 0 && hello.algorithms.every((a) => a === 'sha1');
}

export function createJobRunner(opts: FlowOptions): JobRunner {
  const { store } = opts;
  const now = opts.now ?? (() => new Date());

  return async function runJob(lease: JobLease, signal: AbortSignal): Promise<void> {
    const { job, fencingToken } = lease;
    const uuid = job.uuid;
    const leaseRef = { jobId: job.id, fencingToken };
    const redactor = new Redactor();
    // Not a child logger bound to uuid and jobId: every event carries both already, and a line
    // naming a field twice is refused by log shippers.
    const events = createJobEventSink(store, opts.logger, redactor, now);
    const journal: Journal = { ...job.journal };
    const started = performance.now();
    const resumed = Object.keys(journal).length > 0 || job.attempts > 1;
    let currentStep: string | undefined;
    let conn: DeviceConnection | undefined;
    /** The address the job's connections go to. */
    let connectedTo: string | undefined;
    let wasProvisioned = false;
    // A hello job for a device the site has provisioned: most likely a late hello (AMT stops
    // saying hello once provisioned). Its status is left alone until AMT says it needs work.
    let maybeLateHello = false;

    const emit = (e: Parameters<typeof events.emit>[0]) => events.emit({ uuid, jobId: job.id, ...e });

    function checkAbort(): void {
      if (signal.aborted) {
        throw signal.reason instanceof Error
          ? signal.reason
          : new ProvisioningError('FLOW_CANCELLED', 'job aborted');
      }
    }

    async function checkpoint(step: string, phase: FlowCheckpoint['phase']): Promise<void> {
      await opts.checkpoint?.({ jobId: job.id, uuid, step, phase });
    }

    /**
     * Runs a step unless the journal says it is done (`redo` forces it again). Journals its output
     * (never a secret) and emits `step.done` with its duration.
     */
    async function step<T extends Journal>(
      name: string,
      fn: () => Promise<T | undefined>,
      o: { redo?: boolean; retries?: number } = {},
    ): Promise<T> {
      checkAbort();
      const done = journal[name];
      // Journaled by an earlier run of this job: skip (job.resumed lists what was journaled).
      if (done !== undefined && done !== null && !o.redo) return done as T;
      currentStep = name;
      await checkpoint(name, 'before');
      const t0 = performance.now();
      let out: T | undefined;
      for (let attempt = 0; ; attempt++) {
        try {
          out = await fn();
          break;
        } catch (err) {
          checkAbort();
          if (err instanceof SimulatedCrash || attempt >= (o.retries ?? 2)) throw err;
          if (hasCode(err, 'DIGEST_WRONG_CREDENTIALS') && conn) {
            // The device changed which password it accepts (e.g. after a commit): log in again.
            await emit({
              level: 'info',
              type: 'step.relogin',
              step: name,
              message: `${name}: credentials refused, logging in again`,
            });
            await login(true);
            continue;
          }
          if (hasCode(err, 'STORE_UNAVAILABLE') || !isTransient(err)) throw err;
          await emit({
            level: 'warn',
            type: 'step.retry',
            step: name,
            message: `${name}: ${(err as Error).message}; retrying`,
          });
          await delay(50 * (attempt + 1), undefined, { signal });
        }
      }
      await checkpoint(name, 'effect');
      const output = (out ?? {}) as T;
      const durationMs = Math.round((performance.now() - t0) * 10) / 10;
      await emit({ type: 'step.done', step: name, durationMs, message: `${name} done`, data: output });
      // The journal entry and the step's events (step.done last) in one store write.
      await store.recordStep(job.id, fencingToken, {
        step: name,
        journal: { [name]: output },
        events: events.take(),
      });
      journal[name] = output;
      await checkpoint(name, 'done');
      return output;
    }

    // ---- facts the job needs
    let computer: ImportedComputer | undefined;
    let settings: ProvisioningSettings;
    let device: AmtDevice | undefined;
    let firmware: FirmwareInfo = {};
    let realm: string | undefined;
    let chain: ChainChoice | undefined;
    let hello: AcceptedHello | undefined;

    /**
     * The digest HA1 (base64) AMT stores for a user's password in the device's realm. It opens the
     * device as well as the password does: registered with the redactor, never in an event or log.
     */
    function digestOf(username: string, password: string): string {
      const d = amtDigestPassword(username, realm!, password);
      redactor.add(d.base64, d.hex);
      return d.base64;
    }

    async function secretsOf(kind?: SecretKind): Promise<DeviceSecret[]> {
      const list = await store.listSecrets(uuid, kind ? { kind } : undefined);
      for (const s of list) redactor.add(s.value);
      return list;
    }

    async function latestHello(): Promise<AcceptedHello | undefined> {
      const mem = opts.lastAccepted?.(uuid);
      if (mem) return mem;
      // Another instance took the hello, or this one restarted: the device record keeps it.
      const device = await store.getDevice(uuid);
      if (device?.lastHello) return { uuid, address: device.address ?? '', ...device.lastHello };
      // A device last seen by an oobkit that did not keep it there: its newest accepted-hello event.
      const list = await store.listEvents({ uuid, type: HELLO_ACCEPTED_EVENT });
      let best: (typeof list)[number] | undefined;
      for (const e of list) if (!best || e.id > best.id) best = e;
      return best?.data as AcceptedHello | undefined;
    }

    /** Flow A.4/A.5: each configured credential, then every current/pending secret of the device. */
    async function login(relogin = false): Promise<LoginCandidate> {
      if (!conn || !device) throw new ProvisioningError('FLOW_UNREACHABLE', 'no connection');
      const credentials = await store.listCredentials();
      const secrets = await secretsOf();
      for (const c of credentials) redactor.add(c.password);
      const fromCredentials: LoginCandidate[] = credentials.map((c) => ({
        source: 'credential',
        id: c.id,
        label: c.label,
        credentials: { username: c.username, password: c.password },
      }));
      const adminUser = settings.adminUsername || 'admin';
      // Admin secrets first (newest first: a pending one is newer than the current one), then
      // MEBx ones (the admin password of an unprovisioned device whose MEBx password we set).
      const rank = (k: SecretKind) => (k === 'admin' ? 0 : 1);
      const fromSecrets: LoginCandidate[] = secrets
        .filter((s) => s.kind === 'admin' || s.kind === 'mebx')
        .sort((a, b) => rank(a.kind) - rank(b.kind) || b.id - a.id)
        .map((s) => ({
          source: 'secret',
          id: s.id,
          label: `${s.state} ${s.kind} secret #${s.id}`,
          credentials: { username: adminUser, password: s.value },
          secretKind: s.kind,
        }));
      // Once this job has written an admin password, the device most likely wants it: try the
      // stored secrets first then (fewer refusals on AMT's anti-hammering counter).
      const secretsFirst =
        relogin ||
        wasProvisioned ||
        journal['stage1.admin-password'] !== undefined ||
        journal['stage1.commit'] !== undefined;
      const ordered = secretsFirst
        ? [...fromSecrets, ...fromCredentials]
        : [...fromCredentials, ...fromSecrets];
      const seen = new Set<string>();
      const candidates = ordered.filter((c) => {
        const key = `${c.credentials.username}\u0000${c.credentials.password}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      let refused = 0;
      for (const c of candidates) {
        checkAbort();
        conn.credentials = c.credentials;
        try {
          await device.checkLogin();
        } catch (err) {
          if (hasCode(err, 'DIGEST_WRONG_CREDENTIALS')) {
            refused++;
            await emit({
              type: 'login.refused',
              step: 'login',
              message: `login refused: ${c.label}`,
              data: { source: c.source, id: c.id, label: c.label },
            });
            continue;
          }
          throw err;
        }
        await emit({
          type: 'login.ok',
          step: 'login',
          message: `logged in with ${c.label}`,
          data: { source: c.source, id: c.id, label: c.label, refused },
        });
        return c;
      }
      conn.credentials = undefined;
      throw new ProvisioningError(
        'FLOW_LOGIN_FAILED',
        `the device refused all ${candidates.length} credential(s) and stored secret(s)`,
        { step: 'login' },
      );
    }

    /** Stores a new secret as pending (before it goes anywhere), or reuses the job's pending one. */
    async function pendingSecret(
      kind: SecretKind,
      journalKey: string,
      make: () => string,
    ): Promise<{ id: number; value: string }> {
      const prior = (journal[journalKey] as { secretId?: number } | undefined)?.secretId;
      if (prior !== undefined) {
        const found = (await secretsOf(kind)).find((s) => s.id === prior);
        if (found) return { id: found.id, value: found.value };
      }
      const value = make();
      redactor.add(value);
      const secret = await store.addPendingSecret(uuid, kind, value, leaseRef);
      await emit({
        type: 'secret.pending',
        step: journalKey,
        message: `${kind} secret #${secret.id} stored (pending) before it is written`,
        data: { kind, secretId: secret.id },
      });
      // Journal the id at once: a crash after the write must find and reuse this very secret.
      await store.recordStep(job.id, fencingToken, {
        journal: { [journalKey]: { secretId: secret.id, pending: true } },
        events: events.take(),
      });
      journal[journalKey] = { secretId: secret.id, pending: true };
      await checkpoint(journalKey, 'pending-stored');
      return { id: secret.id, value };
    }

    /**
     * AMT checks the provisioning chain in the handshake (flow A.3.5); a device that refuses it
     * answers with an alert, or simply resets the connection (as the simulator does), which the
     * client sees as a reset during the handshake. The connect step tries twice, so a single
     * dropped connection is not mistaken for a refusal.
     */
    function refusedOrUnreachable(err: unknown): ProvisioningError {
      const e = transportError(err, 'connect');
      const duringHandshake = causeChain(err).some((x) =>
        /before secure TLS connection/i.test((x as Error)?.message ?? ''),
      );
      if (e.code === 'FLOW_UNREACHABLE' && (duringHandshake || hasCode(err, 'UND_ERR_SOCKET'))) {
        return new ProvisioningError(
          'FLOW_TLS_REFUSED',
          'the device reset the connection during the TLS handshake: it refused the provisioning chain',
          { cause: err, step: 'connect' },
        );
      }
      return e;
    }

    async function connect(profile: TlsProfile): Promise<void> {
      if (!chain && job.reason !== 'unprovision') {
        throw new ProvisioningError('FLOW_NO_CERTIFICATE', 'no provisioning chain selected');
      }
      const device = await store.getDevice(uuid);
      // The intake does not move a provisioned device's address on a hello (anyone can send
      // one): the hello's address is kept apart. A hello's job goes there, to see what answers
      // (late hello, or FLOW_NEEDS_APPROVAL); so does the re-provisioning an operator approves
      // after that; every other job goes to the address on record.
      const helloAddress = device?.lastHello?.address;
      const toHello =
        device?.status === 'provisioned' &&
        (job.reason === 'hello' ||
          ((job.reason === 'manual' || job.reason === 'retry') &&
            device.lastError?.code === 'FLOW_NEEDS_APPROVAL'));
      const address = toHello && helloAddress ? helloAddress : device?.address;
      if (!address) throw new ProvisioningError('FLOW_NO_ADDRESS', 'no hello told us where this device is');
      connectedTo = address;
      conn = openDeviceConnection({
        host: address,
        port: opts.tlsPort,
        profile,
        signal,
        ...(chain ? { chain: { certPem: chain.certPem, keyPem: chain.keyPem } } : {}),
        ...(opts.stats ? { stats: opts.stats } : {}),
        ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
        ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
      });
    }

    try {
      await emit({
        type: resumed ? 'job.resumed' : 'job.started',
        message: resumed ? `job resumed (attempt ${job.attempts})` : 'job started',
        data: { reason: job.reason, attempt: job.attempts, journaled: Object.keys(journal) },
      });
      wasProvisioned = (await store.getDevice(uuid))?.status === 'provisioned';
      maybeLateHello = job.reason === 'hello' && wasProvisioned && !resumed;
      if (job.reason !== 'unprovision' && !maybeLateHello)
        await store.upsertDevice(uuid, { status: 'provisioning' });
      computer = await store.getComputer(uuid);
      if (!computer) throw new ProvisioningError('FLOW_NO_COMPUTER', 'this UUID is not imported');
      settings = await store.getSettings();
      // Loops, not spreads of fresh `map()` arrays: in the fleet benchmark those two GetIterator
      // sites failed their map check and deoptimised runJob again and again (--trace-deopt), each
      // time costing a 35–60 ms TurboFan recompile of this large function.
      redactor.add(settings.mebxPassword, settings.wired8021x?.password);
      for (const u of settings.userAcls) redactor.add(u.password);
      for (const w of settings.wifiProfiles) redactor.add(w.pskPassphrase);
      const imported = computer;
      const fqdn = `${imported.hostName}.${imported.domainName}`.toLowerCase();

      // ---- A.3: provisioning chain, TLS to 16993 (AMT checks the chain in the handshake)
      hello = await latestHello();
      await step(
        'chain',
        async () => {
          const prior = journal.chain as { certificateId?: number } | undefined;
          try {
            chain = await (opts.chooseChain ?? chooseProvisioningChain)(store, hello, prior?.certificateId);
          } catch (err) {
            // A provisioned device asks for no client certificate: unprovisioning needs none.
            if (job.reason === 'unprovision' && err instanceof ProvisioningError) return { none: true };
            throw err;
          }
          redactor.add(chain.keyPem);
          return { certificateId: chain.certificateId, name: chain.name, algorithm: chain.algorithm };
        },
        { redo: true, retries: 0 },
      );

      await step(
        'connect',
        async () => {
          const prior = journal.connect as { tls?: TlsProfile } | undefined;
          let profile: TlsProfile = prior?.tls ?? (helloLooksLegacy(hello) ? 'legacy' : 'modern');
          await connect(profile);
          let probe: Awaited<ReturnType<typeof probeDevice>>;
          try {
            probe = await probeDevice(conn!).catch(async (err: unknown) => {
              if (hasCode(err, 'STORE_UNAVAILABLE') || !isTransient(err)) throw err;
              await conn?.close();
              await connect(profile);
              return probeDevice(conn!);
            });
          } catch (err) {
            // A device that only speaks old TLS fails the modern handshake on the protocol
            // version: that makes it a legacy device, and only then do we use legacy options.
            if (profile === 'legacy' || !isTlsVersionError(err)) throw refusedOrUnreachable(err);
            await conn?.close();
            profile = 'legacy';
            await connect(profile);
            probe = await probeDevice(conn!).catch((e: unknown) => {
              throw refusedOrUnreachable(e);
            });
          }
          firmware = probe.firmware;
          if (probe.realm) realm = probe.realm;
          const protocol = stage1Protocol(firmware, hello);
          device = opts.createDevice(conn!, { stage1: protocol, firmware });
          return {
            tls: profile,
            stage1: protocol,
            ...(firmware.version ? { firmware: firmware.version } : {}),
            ...(realm ? { realm } : {}),
          };
        },
        { redo: true, retries: 0 },
      );

      // ---- A.4/A.5: digest login
      const used = await step(
        'login',
        async () => {
          const prior = journal.login as { factoryDefault?: boolean } | undefined;
          const c = await login();
          // Sticky: a resumed job may log in with its own new password, but the MEBx password was
          // still the factory one when this job started.
          const factoryDefault =
            c.credentials.password === AMT_FACTORY_PASSWORD || prior?.factoryDefault === true;
          return { source: c.source, id: c.id, label: c.label, factoryDefault };
        },
        { redo: true, retries: 1 },
      );
      const dev = device as unknown as AmtDevice;
      realm ??= await dev.digestRealm();

      const state = await dev.provisioningState();
      if (job.reason === 'unprovision') {
        await step('unprovision', async () => {
          if (state === 'pre') return { skipped: 'not-provisioned' };
          await dev.unprovision();
          return { from: state };
        });
        // A full unprovision sets AMT's admin password back to `admin`: the stored admin
        // passwords open nothing now, so they stop being offered as current (the MEBx password
        // stays in the firmware, and on record). Also after a resume, or when AMT was found
        // unprovisioned already.
        const retired = await store.retireSecrets(uuid, 'admin', leaseRef);
        if (retired > 0) {
          await emit({
            type: 'secret.retired',
            message: `${retired} admin secret(s) retired: the device's admin password is its default again`,
            data: { kind: 'admin', count: retired },
          });
        }
        await store.upsertDevice(uuid, { status: 'unprovisioned' });
        await emit({
          type: 'job.succeeded',
          message: 'device unprovisioned',
          durationMs: Math.round(performance.now() - started),
        });
        await store.finishJob(job.id, fencingToken, { state: 'succeeded', events: events.take() });
        return;
      }
      let committed = journal['stage1.commit'] !== undefined || state === 'post';
      if (state === 'post' && job.reason === 'hello' && !resumed && wasProvisioned) {
        // AMT says hello only before it is provisioned: this hello left the device before its
        // last provisioning finished (and reached us late). Nothing to do.
        await store.upsertDevice(uuid, { status: 'provisioned' });
        await emit({
          type: 'job.skipped',
          message: 'the device is already provisioned; the hello that queued this job predates that',
          durationMs: Math.round(performance.now() - started),
        });
        await store.finishJob(job.id, fencingToken, { state: 'cancelled', events: events.take() });
        return;
      }
      if (maybeLateHello) {
        // Not a late hello: what answers says it is not provisioned. Either the device was
        // unprovisioned locally (MEBx, a re-image), or another machine answers with its UUID —
        // from here the two look alike (before provisioning, AMT proves nothing about itself).
        // Provisioning would hand whatever answered the site's MEBx password and settings and
        // retire the admin password on record, so a hello does not do it: an operator does
        // (`oobkit provision <uuid> --retry`), and the device stays provisioned on record.
        throw new ProvisioningError(
          'FLOW_NEEDS_APPROVAL',
          `the device on record as provisioned says it is not (AMT ${state}, at ${connectedTo}): unprovisioned locally, or another machine using its UUID; if it was unprovisioned on purpose, re-provision it with \`oobkit provision ${uuid} --retry\``,
        );
      }

      // ---- A.6: directory account (its password stored pending before it goes to the directory)
      let account: DirectoryAccount | undefined;
      const directory = opts.directory;
      const needKerberosKey = settings.kerberos.enabled && journal['stage2.kerberos'] === undefined;
      await step(
        'directory',
        async () => {
          if (!directory.createsAccounts) {
            await emit({
              type: 'step.note',
              step: 'directory',
              message: 'no directory configured: no account, no SPN, no Kerberos key',
            });
            return { skipped: 'no-directory' };
          }
          const existing = (await secretsOf('directory'))[0];
          const secret =
            existing ??
            (await pendingSecret('directory', 'directory.password', () => generateAmtPassword(32)));
          account = await directory
            .ensureComputerAccount({
              uuid,
              hostName: imported.hostName,
              domainName: imported.domainName,
              fqdn,
              ...(imported.ou !== undefined ? { ou: imported.ou } : {}),
              password: secret.value,
            })
            .catch((err: unknown) => {
              throw new ProvisioningError(
                'FLOW_DIRECTORY_FAILED',
                `directory ${directory.name}: ${(err as Error).message}`,
                {
                  cause: err,
                  step: 'directory',
                },
              );
            });
          if (!existing || existing.state === 'pending') await store.confirmSecret(secret.id, leaseRef);
          return {
            directory: directory.name,
            distinguishedName: account.distinguishedName,
            servicePrincipalNames: account.servicePrincipalNames,
            secretId: secret.id,
            kerberos: account.kerberos !== undefined,
          };
        },
        // The Kerberos key is never journaled: fetch it again when stage 2 still needs it.
        { redo: needKerberosKey && directory.createsAccounts },
      );

      const runStage1 = async (): Promise<void> => {
        const s1 = dev.stage1;
        const redo = { redo: true, retries: 0 };
        await step(
          'stage1.clock',
          async () => {
            await s1.setClock(now());
            return { protocol: s1.protocol };
          },
          redo,
        );
        await step(
          'stage1.network',
          async () => {
            await s1.setNetworkNames(imported.hostName, imported.domainName);
            return { hostName: imported.hostName, domainName: imported.domainName };
          },
          redo,
        );
        await step(
          'stage1.tls',
          async () => {
            const r = await s1.installTlsCertificate((req) =>
              opts.ca
                .issueTlsCertificate({
                  fqdn,
                  uuid,
                  ...(req.publicKeyPem ? { publicKeyPem: req.publicKeyPem } : {}),
                })
                .then((issued) => {
                  // A key the CA made (legacy devices, which cannot make their own) travels to the
                  // device: in PEM, and as the DER the SOAP call carries in base64.
                  if (issued.keyPem) {
                    redactor.add(
                      issued.keyPem,
                      createPrivateKey(issued.keyPem)
                        .export({ type: 'pkcs8', format: 'der' })
                        .toString('base64'),
                    );
                  }
                  return issued;
                })
                .catch((err: unknown) => {
                  throw new ProvisioningError(
                    'FLOW_CA_FAILED',
                    `CA ${opts.ca.name}: ${(err as Error).message}`,
                    {
                      cause: err,
                      step: 'stage1.tls',
                    },
                  );
                }),
            );
            return {
              certificateId: r.certificateId,
              deviceGeneratedKey: r.deviceGeneratedKey,
              ca: opts.ca.name,
            };
          },
          redo,
        );
        await step(
          'stage1.admin-password',
          async () => {
            const secret = await pendingSecret('admin', 'stage1.admin-password', () =>
              generateAmtPassword(16),
            );
            const user = settings.adminUsername || 'admin';
            await s1.setAdminPassword(user, digestOf(user, secret.value));
            return { secretId: secret.id, username: user };
          },
          redo,
        );
        await step(
          'stage1.mebx-password',
          async () => {
            const prior = (journal['stage1.mebx-password'] as { secretId?: number } | undefined)?.secretId;
            if (prior === undefined && !used.factoryDefault) {
              return { skipped: 'already-changed' };
            }
            const secret = await pendingSecret('mebx', 'stage1.mebx-password', () => settings.mebxPassword);
            try {
              await s1.setMebxPassword(secret.value);
            } catch (err) {
              // AMT refuses a second SetMEBxPassword once the password changed; when this job's own
              // earlier run set it (its secret was pending before), that refusal means "done".
              if (prior === undefined || amtStatusOf(err) !== PT_NOT_PERMITTED) throw err;
              await emit({
                type: 'step.note',
                step: 'stage1.mebx-password',
                message: 'MEBx password already set by an earlier run of this job',
              });
            }
            return { secretId: secret.id };
          },
          redo,
        );
        await step(
          'stage1.commit',
          async () => {
            await s1.commit();
            return {};
          },
          redo,
        );
      };

      // ---- A.7: stage 1. Until CommitChanges, AMT may lose it all (power loss), so a resumed job
      // redoes the uncommitted steps, reusing the secrets it already stored.
      if (!committed) {
        for (let round = 0; ; round++) {
          try {
            await runStage1();
            break;
          } catch (err) {
            if (round >= 2 || !isTransient(err)) throw err;
            await emit({
              level: 'warn',
              type: 'stage1.restart',
              message: `stage 1 interrupted (${(err as Error).message}); restarting it from the clock step`,
            });
            await login(true);
          }
        }
        committed = true;
      }

      // After the commit the device wants the new admin password: prove it, then mark it current.
      await step('stage1.confirm', async () => {
        const adminId = (journal['stage1.admin-password'] as { secretId?: number } | undefined)?.secretId;
        const mebxId = (journal['stage1.mebx-password'] as { secretId?: number } | undefined)?.secretId;
        const pending = await store.listSecrets(uuid, { states: ['pending'] });
        let admin = pending.find((s) => s.id === adminId);
        if (admin) {
          conn!.credentials = { username: settings.adminUsername || 'admin', password: admin.value };
          await dev.checkLogin();
        } else {
          // Not this job's: a pending admin secret that opens the device is the one it holds — an
          // earlier job set it and committed, then stopped before confirming (an outage after
          // the commit). Left pending, `oobkit secret` would not give it out.
          const who = await login(true);
          admin =
            who.source === 'secret' ? pending.find((s) => s.id === who.id && s.kind === 'admin') : undefined;
        }
        if (admin) {
          await store.confirmSecret(admin.id, leaseRef);
          await emit({
            type: 'secret.confirmed',
            message: `admin secret #${admin.id} confirmed by the device`,
            data: { kind: 'admin', secretId: admin.id },
          });
        }
        // Likewise the MEBx password: when AMT was committed before this job logged in, the newest
        // pending MEBx secret is the one the committing job set (it is stored only when AMT still
        // had its factory password, and set before the commit).
        const mebx =
          pending.find((s) => s.id === mebxId) ??
          (mebxId === undefined && state === 'post' ? pending.find((s) => s.kind === 'mebx') : undefined);
        if (mebx) {
          await store.confirmSecret(mebx.id, leaseRef);
          await emit({
            type: 'secret.confirmed',
            message: `MEBx secret #${mebx.id} confirmed`,
            data: { kind: 'mebx', secretId: mebx.id },
          });
        }
        return { admin: admin?.id ?? null, mebx: mebx?.id ?? null };
      });

      // ---- A.8: stage 2 (WS-Man)
      const s2 = dev.stage2;
      await step('stage2.acl', async () => {
        const entries = settings.userAcls.map((u) => ({
          ...(u.username !== undefined ? { username: u.username } : {}),
          ...(u.username !== undefined && u.password !== undefined
            ? { digestPassword: digestOf(u.username, u.password) }
            : {}),
          ...(u.kerberosSid !== undefined ? { kerberosSid: u.kerberosSid } : {}),
          accessPermission: u.accessPermission,
          realms: u.realms,
        }));
        return await s2.replaceUserAcls(entries);
      });
      await step('stage2.features', async () => {
        const f = settings.features;
        await s2.setPing(f.ping);
        await s2.setWebUi(f.webUi);
        await s2.setRedirection({ sol: f.sol, ider: f.ider });
        return { ...f };
      });
      await step('stage2.kerberos', async () => {
        if (!settings.kerberos.enabled) return { skipped: 'disabled' };
        const key = account?.kerberos;
        if (!key) {
          await emit({
            type: 'step.note',
            step: 'stage2.kerberos',
            message: 'Kerberos not turned on: no directory gave a key (configure a directory to enable it)',
          });
          return { skipped: 'no-directory-key' };
        }
        const master = Buffer.from(key.masterKey);
        redactor.add(master.toString('base64'), master.toString('hex'));
        await s2.setKerberos({ ...key, servicePrincipalNames: account?.servicePrincipalNames ?? [] });
        return { realm: key.realm, keyVersion: key.keyVersion, encryptionAlgorithm: key.encryptionAlgorithm };
      });
      await step('stage2.power', async () => {
        const number = settings.powerBehaviour === 'SP1' ? SP1_POWER_SCHEME : settings.powerScheme;
        const schemes = await s2.listPowerSchemes();
        const target = findPowerScheme(schemes, number);
        if (!target) {
          await emit({
            level: 'warn',
            type: 'step.note',
            step: 'stage2.power',
            message: `power scheme ${number} is not offered by this platform; left as it is`,
            data: { offered: schemes.map((s) => s.description) },
          });
          return { behaviour: settings.powerBehaviour, scheme: number, skipped: 'not-offered' };
        }
        if (target.current) return { behaviour: settings.powerBehaviour, scheme: number, unchanged: true };
        await s2.setPowerScheme(target.instanceId);
        return { behaviour: settings.powerBehaviour, scheme: number, instanceId: target.instanceId };
      });
      await step('stage2.wireless', async () => {
        const cleared = await s2.clearWireless();
        const wireless = await s2.hasWireless();
        let written = 0;
        if (wireless) {
          for (const p of [...settings.wifiProfiles].sort((a, b) => a.priority - b.priority)) {
            await s2.addWifiProfile(p);
            written++;
          }
        } else if (settings.wifiProfiles.length > 0) {
          await emit({
            type: 'step.note',
            step: 'stage2.wireless',
            message: `no Wi-Fi port: ${settings.wifiProfiles.length} Wi-Fi profile(s) not written`,
          });
        }
        if (settings.wired8021x) await s2.setWired8021x(settings.wired8021x);
        return {
          removedProfiles: cleared.profiles,
          removedCertificates: cleared.certificates,
          wireless,
          profiles: written,
          wired8021x: settings.wired8021x?.enabled ?? false,
        };
      });

      // ---- A.9: report
      // Always (re)run: a resumed job also set the status to `provisioning` when it started.
      await step(
        'report',
        async () => {
          const at =
            (journal.report as { provisionedAt?: string } | undefined)?.provisionedAt ?? now().toISOString();
          const amtVersion =
            firmware.version ?? (journal.connect as { firmware?: string } | undefined)?.firmware;
          await store.upsertDevice(uuid, {
            status: 'provisioned',
            provisionedAt: at,
            // Where it was provisioned: later jobs connect here. An earlier failure is over.
            ...(connectedTo ? { address: connectedTo } : {}),
            lastError: undefined,
            ...(amtVersion ? { amtVersion } : {}),
          });
          return { provisionedAt: at, ...(amtVersion ? { amtVersion } : {}) };
        },
        { redo: true },
      );
      await emit({
        type: 'job.succeeded',
        message: 'device provisioned',
        durationMs: Math.round(performance.now() - started),
      });
      // The job's end and its last events (job.succeeded included) in one store write.
      await store.finishJob(job.id, fencingToken, { state: 'succeeded', events: events.take() });
    } catch (err) {
      if (err instanceof SimulatedCrash) {
        // A crashed process stores nothing more: the kept events die with it.
        events.take();
        throw err;
      }
      if (
        hasCode(err, 'STORE_STALE_LEASE') ||
        (err instanceof ProvisioningError && err.code === 'FLOW_LEASE_LOST')
      ) {
        opts.logger?.warn({ uuid, jobId: job.id }, 'lease lost: another worker owns this job now');
        throw err;
      }
      if (err instanceof ProvisioningError && err.code === 'FLOW_CANCELLED') throw err;
      // The site store is down (PostgreSQL unreachable): nothing can be recorded, and it is no
      // failure of the device. The job is resumed once the store is back and its lease expired.
      if (hasCode(err, 'STORE_UNAVAILABLE')) throw err;
      // The service is closing: whatever failed meanwhile (a request it cut short, most likely)
      // is no failure of the device. The job is left to be resumed.
      if (signal.aborted) {
        throw new ProvisioningError('FLOW_CANCELLED', 'job aborted: the service is closing', { cause: err });
      }
      const fe = toFlowError(err, currentStep);
      const error = {
        code: fe.code,
        message: redactor.text(fe.message),
        ...(fe.step !== undefined ? { step: fe.step } : {}),
      };
      await emit({
        level: 'error',
        type: 'job.failed',
        ...(fe.step !== undefined ? { step: fe.step } : {}),
        message: `provisioning failed: ${error.message}`,
        durationMs: Math.round(performance.now() - started),
        data: { code: fe.code, ...(fe.causeCode !== undefined ? { causeCode: fe.causeCode } : {}) },
      });
      // A failed unprovision, or a late hello's job failing before AMT said it needs work (an
      // unreachable device, say), leaves a provisioned device provisioned, the error noted.
      const status =
        (job.reason === 'unprovision' || maybeLateHello) && wasProvisioned ? 'provisioned' : 'failed';
      await store.upsertDevice(uuid, { status, lastError: error });
      await store.finishJob(job.id, fencingToken, { state: 'failed', error, events: events.take() });
    } finally {
      // Events of a job that stopped between journal writes (lease lost, service closing).
      await events.flush();
      await conn?.close().catch(() => undefined);
    }
  };
}
