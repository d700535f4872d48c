import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import {
  type Hello,
  type HelloClock,
  type HelloScheduleRun,
  helloSchedule,
  sendHello,
  systemClock,
} from '@oobkit/hello';
import {
  amtDigestPassword,
  amtRealm,
  checkAmtPassword,
  createDigestVerifier,
  type DigestVerifier,
} from '@oobkit/http-digest';
import { chainFromPeerCertificate, validateProvisioningChain } from '@oobkit/provisioning-cert';
import { deviceAddress, MAX_DEVICES } from './address.js';
import { invalidOption, SimulatorError } from './errors.js';
import { type Fault, FaultBook, type FaultPlan, type FaultStep } from './faults.js';
import { Firmware, type FirmwareFacts } from './firmware.js';
import { type KeyPool, sharedKeyPool, sharedTlsIdentity } from './keypool.js';
import { type ConnectionInfo, credentialContext, serveHttp, sharedContext } from './network.js';
import {
  builtInHashes,
  HASH_LENGTH,
  type HashAlgorithm,
  type Personality,
  type Profile,
  profileFor,
  type TrustedHash,
} from './personality.js';
import type { CallContext, ParsedCall, Reply } from './protocol.js';
import { applySeed, type DeviceSeed } from './seed.js';
import { type FirmwareStateSnapshot, snapshotOf } from './snapshot.js';
import { parseSoap } from './soap.js';
import { parseWsman } from './wsman.js';

export interface HelloTarget {
  host: string;
  port: number;
  /** Drives the schedule (a virtual clock in tests). Default: the device clock. */
  clock?: HelloClock;
  /** PKI (default) or PSK; PSK hellos exist only before AMT 11. */
  kind?: 'pki' | 'psk';
  /** Start the schedule when the device starts (default true). */
  autoStart?: boolean;
}

export interface DeviceOptions {
  /** Address `deviceAddress(index)` = 127.16.x.y. */
  index?: number;
  /** Or an explicit loopback address. Neither: a free random one in 127.16.0.0/12. */
  address?: string;
  /** Default: random v4, canonical lower case. */
  uuid?: string;
  personality?: Personality;
  /** Default '5.2.10' (legacy) or '16.1.25' (modern). */
  firmwareVersion?: string;
  /** DHCP option 15 / MEBx PKI DNS suffix. Without one no provisioning chain can pass. */
  dnsSuffix?: string;
  /** Root hashes added in MEBx (up to 3), e.g. the test PKI root. */
  customTrustedHashes?: TrustedHash[];
  /** Factory `admin` (unchanged) when absent; any other value = changed in MEBx. */
  mebxPassword?: string;
  /** A known admin password (e.g. a machine whose provisioning data was partly removed). */
  adminPassword?: string;
  /** Start already provisioned (admin control, committed); needs `adminPassword`. */
  provisioned?: boolean;
  /** Has a Wi-Fi port (default false). */
  wireless?: boolean;
  /** Power schemes offered: 'mobile' when wireless, else 'desktop'. */
  platform?: 'desktop' | 'mobile';
  ports?: { http?: number; tls?: number };
  hello?: HelloTarget;
  /** Clock for injected delays and the default hello clock (default: real time). */
  clock?: HelloClock;
  /** Pre-generated RSA keys for GenerateKeyPair (default: a small process-wide pool). */
  keyPool?: KeyPool;
  faults?: FaultPlan;
  /** Settings left by an earlier provisioning (ACLs, certificates, Wi-Fi profiles...). */
  seed?: DeviceSeed;
  /** Bounded history of `events()` (default 200). */
  logLimit?: number;
}

export type DeviceEvent =
  | {
      type: 'tls';
      at: number;
      ok: boolean;
      failures: Array<{ code: string; message: string }>;
      protocol?: string;
    }
  | { type: 'auth'; at: number; ok: boolean; username?: string; reason?: string; path: string }
  | {
      type: 'request';
      at: number;
      protocol: 'wsman' | 'soap' | 'http';
      name: string;
      status: number;
      username?: string;
    }
  | { type: 'fault'; at: number; step: string; fault: Fault['kind'] }
  | { type: 'hello'; at: number; retryCount: number; ok: boolean; error?: string }
  | { type: 'state'; at: number; provisioningState: 'pre' | 'in' | 'post'; reason: string }
  | { type: 'power'; at: number; kind: 'reboot' | 'powerLoss' };

export interface SimulatedDevice {
  readonly address: string;
  readonly uuid: string;
  readonly personality: Personality;
  readonly firmwareVersion: string;
  readonly ports: { http: number; tls: number };
  /** `Digest:` + 32 upper-case hex. */
  readonly realm: string;
  /** Everything the firmware holds, for tests to read back. */
  state(): FirmwareStateSnapshot;
  /** The hashes its hello carries: built-in then custom. */
  helloHashes(): TrustedHash[];
  startHellos(): void;
  stopHellos(): void;
  sendHelloNow(): Promise<void>;
  injectFault(step: FaultStep, fault: Fault): void;
  clearFaults(): void;
  /** Drops connections; everything (even uncommitted changes) is kept. */
  reboot(): Promise<void>;
  /** Drops connections and loses uncommitted changes. */
  powerLoss(): Promise<void>;
  unprovision(kind: 'full' | 'partial'): void;
  /** A technician in MEBx: change the MEBx password, custom hashes or DNS suffix. */
  configureMebx(opts: { password?: string; customTrustedHashes?: TrustedHash[]; dnsSuffix?: string }): void;
  /** The host agent over MEI: set the OTP the provisioning server will read. */
  setProvisioningServerOtp(otp: string): void;
  verifyMebxPassword(password: string): boolean;
  /** Whether `password` is the (committed) password of the admin account. */
  verifyAdminPassword(password: string): boolean;
  /** Recent events, oldest first. */
  events(): DeviceEvent[];
  on<T extends DeviceEvent['type']>(type: T, listener: (e: Extract<DeviceEvent, { type: T }>) => void): this;
  once<T extends DeviceEvent['type']>(
    type: T,
    listener: (e: Extract<DeviceEvent, { type: T }>) => void,
  ): this;
  off<T extends DeviceEvent['type']>(type: T, listener: (e: Extract<DeviceEvent, { type: T }>) => void): this;
  stop(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;
const HANDSHAKE_TIMEOUT_MS = 30_000;
const PARTIAL_UNPROVISION_WINDOW_MS = 6 * 3_600_000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function isLoopbackV4(a: string): boolean {
  const parts = a.split('.');
  return (
    parts.length === 4 && parts[0] === '127' && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)
  );
}

function derive(uuid: string, what: string, bytes: number): Buffer {
  return createHash('sha256').update(`${what}:${uuid}`).digest().subarray(0, bytes);
}

function mac(uuid: string, what: string): string {
  const b = derive(uuid, what, 6);
  b[0] = ((b[0] ?? 0) & 0xfe) | 0x02; // locally administered, unicast
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('-');
}

function pidFor(uuid: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return [...derive(uuid, 'pid', 8)].map((x) => alphabet[x % alphabet.length]).join('');
}

function checkHashes(hashes: TrustedHash[] | undefined, max: number): TrustedHash[] {
  const list = hashes ?? [];
  if (!Array.isArray(list) || list.length > max)
    throw invalidOption('customTrustedHashes', `at most ${max} entries`);
  for (const h of list) {
    const len = HASH_LENGTH[h?.algorithm as HashAlgorithm];
    if (!len || !(h.hash instanceof Uint8Array) || h.hash.length !== len) {
      throw invalidOption(
        'customTrustedHashes',
        'each entry needs a known algorithm and a hash of its length',
      );
    }
  }
  return list;
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    // One chunk (the usual WS-Man request) needs no copy.
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', () => resolve(undefined));
  });
}

class Device extends EventEmitter implements SimulatedDevice {
  readonly address: string;
  readonly uuid: string;
  readonly personality: Personality;
  readonly firmwareVersion: string;
  readonly ports: { http: number; tls: number };
  readonly realm: string;
  readonly fw: Firmware;
  readonly profile: Profile;

  private readonly faults: FaultBook;
  private readonly clock: HelloClock;
  private readonly helloTarget: HelloTarget | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly log: DeviceEvent[] = [];
  private readonly logLimit: number;
  private servers: Server[] = [];
  private verifier: DigestVerifier | undefined;
  private helloRun: HelloScheduleRun | undefined;
  private dnsSuffix: string | undefined;
  private credential: { der: string; ctx: SecureContext } | undefined;
  private stopped = false;
  private readonly serverHeader: string;

  constructor(opts: DeviceOptions, address: string) {
    super();
    this.address = address;
    const uuid = (opts.uuid ?? randomUUID()).toLowerCase();
    if (!UUID_RE.test(uuid)) throw invalidOption('uuid', 'expected a canonical UUID');
    this.uuid = uuid;
    this.profile = profileFor(opts.personality ?? 'modern', opts.firmwareVersion);
    this.personality = this.profile.personality;
    this.firmwareVersion = this.profile.firmwareVersion;
    this.serverHeader = `Intel(R) Active Management Technology ${this.profile.serverVersion}`;
    this.ports = { http: opts.ports?.http ?? 16992, tls: opts.ports?.tls ?? 16993 };
    this.realm = amtRealm(derive(uuid, 'realm', 16));
    this.dnsSuffix = opts.dnsSuffix;
    this.clock = opts.clock ?? opts.hello?.clock ?? systemClock;
    this.helloTarget = opts.hello;
    this.logLimit = opts.logLimit ?? 200;
    this.faults = new FaultBook(opts.faults);
    if (opts.hello?.kind === 'psk' && !this.profile.pskHello) {
      throw new SimulatorError('SIM_HELLO_UNSUPPORTED', 'PSK hellos were removed in AMT 11', {
        detail: 'hello.kind',
      });
    }
    if (opts.provisioned && opts.adminPassword === undefined) {
      throw invalidOption('provisioned', 'a provisioned device needs adminPassword');
    }
    const custom = checkHashes(opts.customTrustedHashes, this.profile.maxCustomHashes);
    const wireless = opts.wireless ?? false;
    const facts: FirmwareFacts = {
      uuid,
      profile: this.profile,
      realm: this.realm,
      dnsSuffix: opts.dnsSuffix,
      platform: opts.platform ?? (wireless ? 'mobile' : 'desktop'),
      wireless,
      pid: pidFor(uuid),
      macAddress: mac(uuid, 'wired'),
      wifiMacAddress: mac(uuid, 'wifi'),
    };
    const pool = opts.keyPool;
    this.fw = new Firmware(
      facts,
      {
        realm: this.realm,
        mebxPassword: opts.mebxPassword ?? 'admin',
        mebxChanged: opts.mebxPassword !== undefined && opts.mebxPassword !== 'admin',
        ...(opts.adminPassword === undefined ? {} : { adminPassword: opts.adminPassword }),
        customHashes: custom.map((h) => ({
          algorithm: h.algorithm,
          hash: Buffer.from(h.hash).toString('hex'),
        })),
        platform: facts.platform,
        kerberosAes: this.profile.kerberosAes,
      },
      pool ? async () => pool : () => sharedKeyPool(2048),
    );
    if (opts.seed) applySeed(this.fw, opts.seed);
    if (opts.provisioned) {
      this.fw.mem.change((d) => {
        d.provisioningState = 2;
        d.provisioningMode = 1;
      });
      this.fw.mem.commit();
    } else if (opts.seed) {
      this.fw.mem.commit();
    }
  }

  // ------------------------------------------------------------------ lifecycle

  async listen(): Promise<void> {
    await sharedTlsIdentity();
    const make = (port: number, onConn: (s: Socket) => void) =>
      new Promise<Server>((resolve, reject) => {
        const server = createServer({ noDelay: true }, onConn);
        server.once('error', (err: NodeJS.ErrnoException) => {
          reject(
            err.code === 'EADDRINUSE'
              ? new SimulatorError('SIM_ADDRESS_IN_USE', `${this.address}:${port} is in use`, {
                  cause: err,
                  detail: this.address,
                })
              : new SimulatorError('SIM_LISTEN_FAILED', `cannot listen on ${this.address}:${port}`, {
                  cause: err,
                  detail: this.address,
                }),
          );
        });
        server.listen({ host: this.address, port, exclusive: true, backlog: 64 }, () => resolve(server));
      });
    const http = await make(this.ports.http, (s) => this.onHttpConnection(s));
    try {
      const tls = await make(this.ports.tls, (s) => this.onTlsConnection(s));
      this.servers = [http, tls];
    } catch (err) {
      http.close();
      throw err;
    }
    if (this.helloTarget && this.helloTarget.autoStart !== false && !this.fw.committedPost)
      this.startHellos();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopHellos();
    this.dropConnections();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers = [];
  }

  private dropConnections(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
  }

  private emitEvent(e: DeviceEvent): void {
    this.log.push(e);
    if (this.log.length > this.logLimit) this.log.shift();
    this.emit(e.type, e);
  }

  events(): DeviceEvent[] {
    return [...this.log];
  }

  private now(): number {
    return this.clock.now();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  // ------------------------------------------------------------------ faults and power

  injectFault(step: FaultStep, fault: Fault): void {
    this.faults.add(step, fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  async reboot(): Promise<void> {
    this.dropConnections();
    this.verifier?.resetNonces();
    this.emitEvent({ type: 'power', at: this.now(), kind: 'reboot' });
  }

  async powerLoss(): Promise<void> {
    this.dropConnections();
    const before = this.fw.provisioningState;
    this.fw.mem.powerLoss();
    this.verifier?.resetNonces();
    this.credential = undefined;
    this.emitEvent({ type: 'power', at: this.now(), kind: 'powerLoss' });
    if (this.fw.provisioningState !== before) {
      this.emitEvent({
        type: 'state',
        at: this.now(),
        provisioningState: this.fw.provisioningState,
        reason: 'powerLoss',
      });
    }
  }

  /** Applies a fault's effect; true when the caller must not go on. */
  private async applyFault(step: string, fault: Fault, socket: Socket | undefined): Promise<boolean> {
    this.emitEvent({ type: 'fault', at: this.now(), step, fault: fault.kind });
    switch (fault.kind) {
      case 'delay':
        await this.wait(fault.ms);
        return false;
      case 'reboot':
        await this.reboot();
        return true;
      case 'powerLoss':
        await this.powerLoss();
        return true;
      default:
        socket?.destroy();
        return true;
    }
  }

  unprovision(kind: 'full' | 'partial'): void {
    if (kind !== 'full' && kind !== 'partial') throw invalidOption('kind', 'expected "full" or "partial"');
    this.fw.unprovision(kind);
    this.credential = undefined;
    this.verifier = undefined;
    this.emitEvent({
      type: 'state',
      at: this.now(),
      provisioningState: 'pre',
      reason: `${kind} unprovision`,
    });
    if (this.helloTarget && !this.stopped) {
      this.stopHellos();
      this.startHellos(kind === 'partial' ? PARTIAL_UNPROVISION_WINDOW_MS : undefined);
    }
  }

  configureMebx(opts: { password?: string; customTrustedHashes?: TrustedHash[]; dnsSuffix?: string }): void {
    const custom =
      opts.customTrustedHashes === undefined
        ? undefined
        : checkHashes(opts.customTrustedHashes, this.profile.maxCustomHashes);
    const c = this.fw.mem.committed;
    if (opts.password !== undefined) {
      if (opts.password === '') throw invalidOption('password', 'must not be empty');
      const d = this.fw.mem.current;
      for (const layer of new Set([c, d])) {
        layer.mebxHa1 = amtDigestPassword('admin', this.realm, opts.password).hex;
        layer.mebxChanged = true;
      }
    }
    if (custom) {
      const hashes = custom.map((h) => ({
        algorithm: h.algorithm,
        hash: Buffer.from(h.hash).toString('hex'),
      }));
      for (const layer of new Set([c, this.fw.mem.current])) layer.customHashes = hashes;
    }
    if (opts.dnsSuffix !== undefined) this.dnsSuffix = opts.dnsSuffix;
  }

  setProvisioningServerOtp(otp: string): void {
    const r = this.fw.setOtp(otp);
    if (r.status !== 0) throw invalidOption('otp', 'refused: 8–32 characters, and only before provisioning');
  }

  verifyMebxPassword(password: string): boolean {
    return this.fw.mem.committed.mebxHa1 === amtDigestPassword('admin', this.realm, password).hex;
  }

  verifyAdminPassword(password: string): boolean {
    const user = this.fw.mem.committed.adminAcl?.username ?? 'admin';
    const ha1 = amtDigestPassword(user, this.realm, password).hex;
    return this.fw.ha1For(user) === ha1;
  }

  state(): FirmwareStateSnapshot {
    return snapshotOf(this.fw, {
      address: this.address,
      ports: this.ports,
      dnsSuffix: this.dnsSuffix,
      builtIn: builtInHashes(this.profile.hashAlgorithm),
      helloRunning: this.helloRun !== undefined,
    });
  }

  // ------------------------------------------------------------------ hellos

  helloHashes(): TrustedHash[] {
    return this.fw.trustedHashes().slice(0, 23);
  }

  private requireHello(): HelloTarget {
    if (!this.helloTarget) {
      throw new SimulatorError('SIM_HELLO_NOT_CONFIGURED', 'this device has no hello target', {
        detail: 'hello',
      });
    }
    return this.helloTarget;
  }

  startHellos(windowMs?: number): void {
    this.requireHello();
    if (this.helloRun || this.stopped || this.fw.committedPost) return;
    const clock = this.helloTarget?.clock ?? this.clock;
    const base = helloSchedule(clock).offsets;
    const offsets = windowMs === undefined ? base : base.filter((o) => o < windowMs);
    const run = helloSchedule(clock, { offsets }).start((retry) => {
      // The last one is under way: nothing is left to schedule.
      if (retry >= offsets.length - 1 && this.helloRun === run) this.helloRun = undefined;
      return this.sendOneHello(retry);
    });
    this.helloRun = run;
    void run.done.then(() => {
      if (this.helloRun === run) this.helloRun = undefined;
    });
  }

  stopHellos(): void {
    this.helloRun?.stop();
    this.helloRun = undefined;
  }

  sendHelloNow(): Promise<void> {
    this.requireHello();
    return this.sendOneHello(0, true);
  }

  private buildHello(retryCount: number): Hello {
    const c = this.fw.mem.committed;
    const adminCredentialsSet = c.mebxChanged || c.adminAcl !== undefined;
    if (this.helloTarget?.kind === 'psk') {
      return {
        kind: 'psk',
        version: 2,
        adminCredentialsSet,
        retryCount,
        uuid: this.uuid,
        pid: this.fw.facts.pid,
      };
    }
    return {
      kind: 'pki',
      version: 3,
      adminCredentialsSet,
      retryCount,
      uuid: this.uuid,
      hashes: this.helloHashes(),
    };
  }

  private async sendOneHello(retryCount: number, rethrow = false): Promise<void> {
    const target = this.requireHello();
    const f = this.faults.take(['hello']);
    if (f && (await this.applyFault('hello', f.fault, undefined))) return;
    try {
      await sendHello(
        { host: target.host, port: target.port, localAddress: this.address },
        this.buildHello(retryCount),
      );
      this.emitEvent({ type: 'hello', at: this.now(), retryCount, ok: true });
    } catch (err) {
      const error = err instanceof Error ? ((err as { code?: string }).code ?? err.message) : String(err);
      this.emitEvent({ type: 'hello', at: this.now(), retryCount, ok: false, error });
      if (rethrow) throw err;
    }
  }

  // ------------------------------------------------------------------ connections

  private onHttpConnection(socket: Socket): void {
    this.track(socket);
    // 16992 is closed while setup runs over TLS and once TLS is on (remote).
    const c = this.fw.mem.committed;
    if (this.stopped || !this.fw.committedPost || c.tlsRemote.enabled) {
      socket.destroy();
      return;
    }
    void this.withConnectionFault('http', socket).then((go) => {
      if (go) serveHttp(socket, { handler: this.httpHandler, transport: 'http', provisioningSession: false });
    });
  }

  private onTlsConnection(socket: Socket): void {
    this.track(socket);
    if (this.stopped) {
      socket.destroy();
      return;
    }
    void this.withConnectionFault('tls', socket).then((go) => {
      if (go) this.startTls(socket);
    });
  }

  private async withConnectionFault(step: 'tls' | 'http', socket: Socket): Promise<boolean> {
    const f = this.faults.take([step]);
    if (!f) return true;
    const stop = await this.applyFault(step, f.fault, socket);
    return !stop && !socket.destroyed;
  }

  private contextFor(): SecureContext {
    const cred = this.fw.activeTlsCredential();
    if (!cred) return sharedContext(this.personality, sharedIdentityNow());
    if (this.credential?.der !== cred.certDer) {
      let ctx: SecureContext;
      try {
        ctx = credentialContext(this.personality, cred.certDer, cred.key);
      } catch {
        // A certificate OpenSSL will not load (e.g. not matching its key) must not take the
        // whole simulator down from inside a connection handler: keep serving the shared one.
        ctx = sharedContext(this.personality, sharedIdentityNow());
      }
      this.credential = { der: cred.certDer, ctx };
    }
    return this.credential.ctx;
  }

  private startTls(raw: Socket): void {
    const setup = !this.fw.committedPost;
    const mutual = this.fw.mem.committed.tlsRemote.mutualAuthentication;
    let secure = false;
    const socket = new TLSSocket(raw, {
      isServer: true,
      secureContext: this.contextFor(),
      requestCert: setup || mutual,
      rejectUnauthorized: false,
    });
    // From now on only the TLS socket may be destroyed: tearing the wrapped TCP socket down
    // underneath it crashes the process at exit.
    this.sockets.delete(raw);
    this.track(socket);
    socket.setTimeout(HANDSHAKE_TIMEOUT_MS, () => {
      if (!secure) socket.destroy();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!secure) {
        this.emitEvent({
          type: 'tls',
          at: this.now(),
          ok: false,
          failures: [{ code: 'TLS_HANDSHAKE', message: err.code ?? err.message }],
        });
      }
    });
    socket.once('secure', () => {
      secure = true;
      socket.setTimeout(0);
      const protocol = socket.getProtocol() ?? undefined;
      if (!setup) {
        this.emitEvent({
          type: 'tls',
          at: this.now(),
          ok: true,
          failures: [],
          ...(protocol ? { protocol } : {}),
        });
        serveHttp(socket, { handler: this.httpHandler, transport: 'tls', provisioningSession: false });
        return;
      }
      void this.checkProvisioningChain(socket).then((failures) => {
        this.emitEvent({
          type: 'tls',
          at: this.now(),
          ok: failures.length === 0,
          failures,
          ...(protocol ? { protocol } : {}),
        });
        if (failures.length > 0 || socket.destroyed) {
          socket.destroy();
          return;
        }
        serveHttp(socket, { handler: this.httpHandler, transport: 'tls', provisioningSession: true });
      });
    });
  }

  /** The firmware's check of the client chain; the failures (empty = accepted). */
  private async checkProvisioningChain(socket: TLSSocket): Promise<Array<{ code: string; message: string }>> {
    const chain = chainFromPeerCertificate(socket.getPeerCertificate(true));
    if (chain.length === 0)
      return [{ code: 'NO_CLIENT_CERTIFICATE', message: 'no client certificate was sent' }];
    if (!this.dnsSuffix) return [{ code: 'NO_DNS_SUFFIX', message: 'the device has no DNS suffix to match' }];
    try {
      const result = await validateProvisioningChain(chain, {
        dnsSuffix: this.dnsSuffix,
        trustedHashes: this.fw.trustedHashes(),
        firmware: this.firmwareVersion,
      });
      return result.ok ? [] : result.failures.map((f) => ({ code: f.code, message: f.message }));
    } catch (err) {
      return [{ code: 'VALIDATION_ERROR', message: err instanceof Error ? err.message : String(err) }];
    }
  }

  // ------------------------------------------------------------------ HTTP

  private readonly httpHandler = (req: IncomingMessage, res: ServerResponse, conn: ConnectionInfo): void => {
    void this.handle(req, res, conn).catch(() => {
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end();
      } else res.destroy();
    });
  };

  private digest(): DigestVerifier {
    if (!this.verifier) {
      this.verifier = createDigestVerifier({
        realm: this.realm,
        lookup: (username) => {
          const ha1 = this.fw.ha1For(username);
          return ha1 === undefined ? undefined : { ha1 };
        },
      });
    }
    return this.verifier;
  }

  private send(res: ServerResponse, reply: Reply): void {
    res.statusCode = reply.status;
    res.setHeader('Content-Type', reply.contentType);
    if (reply.close) res.setHeader('Connection', 'close');
    res.end(reply.body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse, conn: ConnectionInfo): Promise<void> {
    // Setup runs only inside a TLS session whose provisioning chain passed.
    if (!this.fw.committedPost && !conn.provisioningSession) {
      req.socket.destroy();
      return;
    }
    res.setHeader('Server', this.serverHeader);
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const body = await readBody(req);
    if (body === undefined) {
      res.statusCode = 413;
      res.setHeader('Connection', 'close');
      res.end();
      return;
    }
    if (req.method === 'GET' && (path === '/' || path === '/index.htm')) {
      await this.webUi(req, res, path);
      return;
    }
    let parsed: ParsedCall;
    if (path === '/wsman' && req.method === 'POST') {
      const p = parseWsman(body);
      if (!p.ok) return this.unauthenticatedOrReply(req, res, path, body, p.reply);
      parsed = p.call;
    } else if (this.profile.soap && /^\/[A-Za-z]+Service$/.test(path) && req.method === 'POST') {
      const soapAction = req.headers.soapaction;
      const p = parseSoap(body, path, Array.isArray(soapAction) ? soapAction[0] : soapAction);
      if (!p.ok) return this.unauthenticatedOrReply(req, res, path, body, p.reply);
      parsed = p.call;
    } else {
      res.statusCode = 404;
      res.end();
      return;
    }
    let username: string | undefined;
    if (!parsed.anonymous || req.headers.authorization) {
      username = await this.authenticate(req, res, path, body);
      if (username === undefined) return;
    }
    if (!this.fw.committedPost) {
      this.fw.beginProvisioning();
      if (this.fw.provisioningState === 'in' && !this.loggedIn) {
        this.loggedIn = true;
        this.emitEvent({ type: 'state', at: this.now(), provisioningState: 'in', reason: 'setup session' });
      }
    }
    if (username !== undefined && !parsed.readOnly && !parsed.anonymous && !this.fw.isAdmin(username)) {
      return this.finish(res, parsed, parsed.accessDenied(), username);
    }
    await this.runCall(req, res, parsed, username);
  }

  private loggedIn = false;

  /** A request that failed to parse still needs a login first, as firmware authenticates before parsing. */
  private async unauthenticatedOrReply(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    body: Buffer,
    reply: Reply,
  ): Promise<void> {
    const username = await this.authenticate(req, res, path, body);
    if (username === undefined) return;
    this.send(res, reply);
  }

  private async authenticate(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    body: Buffer,
  ): Promise<string | undefined> {
    const verifier = this.digest();
    const result = await verifier.verify(
      req.method ?? 'POST',
      req.url ?? path,
      req.headers.authorization,
      body,
    );
    if (result.ok) {
      this.emitEvent({ type: 'auth', at: this.now(), ok: true, username: result.username, path });
      return result.username;
    }
    if (req.headers.authorization) {
      this.emitEvent({
        type: 'auth',
        at: this.now(),
        ok: false,
        reason: result.reason,
        path,
        ...(result.username === undefined ? {} : { username: result.username }),
      });
    }
    res.statusCode = 401;
    res.setHeader('WWW-Authenticate', verifier.challenge(result.stale ? { stale: true } : {}));
    res.setHeader('Connection', 'close');
    res.setHeader('Content-Type', 'text/html');
    res.end('<HTML><HEAD><TITLE>401 Unauthorized</TITLE></HEAD><BODY>Unauthorized</BODY></HTML>');
    return undefined;
  }

  private async webUi(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!this.fw.mem.committed.webUi) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const username = await this.authenticate(req, res, path, Buffer.alloc(0));
    if (username === undefined) return;
    res.setHeader('Content-Type', 'text/html');
    res.end(
      `<html><head><title>Intel(R) Active Management Technology</title></head><body>${this.uuid}</body></html>`,
    );
  }

  private async runCall(
    req: IncomingMessage,
    res: ServerResponse,
    call: ParsedCall,
    username: string | undefined,
  ): Promise<void> {
    const taken = this.faults.take(call.steps);
    let after: Fault | undefined;
    if (taken) {
      const f = taken.fault;
      this.emitEvent({ type: 'fault', at: this.now(), step: taken.step, fault: f.kind });
      switch (f.kind) {
        case 'drop':
          req.socket.destroy();
          return;
        case 'delay':
          await this.wait(f.ms);
          if (req.socket.destroyed) return;
          break;
        case 'soapFault':
          return this.finish(res, call, call.fault(f.subcode, f.reason), username);
        case 'brokenXml':
          return this.finish(
            res,
            call,
            {
              status: 200,
              contentType: call.protocol === 'wsman' ? 'application/soap+xml;charset=UTF-8' : 'text/xml',
              body: '<?xml version="1.0"?><a:Envelope xmlns:a="http://www.w3.org/2003/05/soap-envelope"><a:Body><broken',
            },
            username,
          );
        case 'http500':
          return this.finish(res, call, { status: 500, contentType: 'text/html', body: '' }, username);
        case 'reboot':
        case 'powerLoss':
          if (!f.after) {
            await (f.kind === 'reboot' ? this.reboot() : this.powerLoss());
            return;
          }
          after = f;
          break;
      }
    }
    const afterResponse: Array<() => void> = [];
    const ctx: CallContext = {
      fw: this.fw,
      profile: this.profile,
      uuid: this.uuid,
      address: this.address,
      username: username ?? '',
      afterResponse: (fn) => afterResponse.push(fn),
      onProvisioned: () => {
        this.stopHellos();
        this.loggedIn = false;
        this.emitEvent({ type: 'state', at: this.now(), provisioningState: 'post', reason: 'CommitChanges' });
      },
      onUnprovisioned: (kind) => this.unprovision(kind),
      strongPassword: (pw) => checkAmtPassword(pw).ok,
    };
    const reply = await call.run(ctx);
    if (after) {
      await (after.kind === 'reboot' ? this.reboot() : this.powerLoss());
      return;
    }
    if (afterResponse.length > 0) {
      reply.close = true;
      res.once('finish', () => {
        for (const fn of afterResponse) fn();
      });
    }
    this.finish(res, call, reply, username);
  }

  private finish(res: ServerResponse, call: ParsedCall, reply: Reply, username: string | undefined): void {
    const event: DeviceEvent = {
      type: 'request',
      at: this.now(),
      protocol: call.protocol,
      name: call.name,
      status: reply.status,
    };
    if (username !== undefined) event.username = username;
    this.emitEvent(event);
    this.send(res, reply);
  }
}

let identityCache: { certPem: string; keyPem: string } | undefined;
function sharedIdentityNow(): { certPem: string; keyPem: string } {
  if (!identityCache) throw new SimulatorError('SIM_STOPPED', 'TLS identity not ready');
  return identityCache;
}

const MAX_RANDOM_TRIES = 32;

/** Starts one simulated device listening on its own loopback address. */
export async function startDevice(opts: DeviceOptions = {}): Promise<SimulatedDevice> {
  identityCache ??= await sharedTlsIdentity();
  if (opts.index !== undefined && opts.address !== undefined) {
    throw invalidOption('address', 'give index or address, not both');
  }
  if (opts.address !== undefined && !isLoopbackV4(opts.address)) {
    throw invalidOption('address', 'must be an IPv4 loopback address (127.x.y.z)');
  }
  if (opts.index !== undefined || opts.address !== undefined) {
    const address = opts.address ?? deviceAddress(opts.index as number);
    const device = new Device(opts, address);
    await device.listen();
    return device;
  }
  // No address asked for: pick random ones until one is free (other suites may run alongside).
  for (let attempt = 0; ; attempt++) {
    const index = 1 + Math.floor(Math.random() * (Math.min(MAX_DEVICES, 0xfffff) - 2));
    const device = new Device(opts, deviceAddress(index));
    try {
      await device.listen();
      return device;
    } catch (err) {
      if (
        !(err instanceof SimulatorError && err.code === 'SIM_ADDRESS_IN_USE') ||
        attempt >= MAX_RANDOM_TRIES
      ) {
        throw err;
      }
    }
  }
}
