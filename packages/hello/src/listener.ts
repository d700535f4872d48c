import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { type HelloClock, systemClock } from './clock.js';
import { HELLO_MAX_BYTES, type Hello } from './codec.js';
import { HELLO_DECODE_ERROR_CODES, type HelloDecodeErrorCode, HelloError } from './errors.js';
import { type HelloEndReason, HelloIntake, type IntakeOutcome } from './intake.js';
import { AddressRateLimiter } from './rate-limit.js';

/** The TCP port AMT sends hello messages to. */
export const HELLO_PORT = 9971;

export interface HelloRateLimit {
  /** Connections an address may open at once before it must wait for refills. */
  burst: number;
  /** Tokens added back per second (of the listener's clock). */
  perSecond: number;
}

export interface HelloListenerOptions {
  /** Default 9971; 0 picks a free port. */
  port?: number;
  /** Address to bind; default: every interface (Node's default, `::` or `0.0.0.0`). */
  host?: string;
  /** Listen backlog (default 511). */
  backlog?: number;
  /** Size cap per connection (default 16 KiB): more gives `HELLO_TOO_LARGE` and the connection is cut. */
  maxBytes?: number;
  /** A connection silent for this long ends (default 10 s). */
  idleTimeoutMs?: number;
  /** A connection ends after this long, however active (default 30 s). */
  maxConnectionMs?: number;
  /** Open connections at once; more are dropped on accept (default 1024). */
  maxConnections?: number;
  /** Per source address token bucket (default 10 burst, 1 per second); `false` turns it off. */
  rateLimit?: HelloRateLimit | false;
  /** How long `close()` waits for open connections before ending them (default: `idleTimeoutMs`). */
  drainTimeoutMs?: number;
  /** See `decodeHello` (default `'reject'`). */
  trailingBytes?: 'reject' | 'ignore';
  /** Time source of `receivedAt`, the idle/lifetime caps, the rate limit and the drain (default: real time). */
  clock?: HelloClock;
  /** Events an async iterator buffers for a slow consumer before it discards the oldest (default 10,000). */
  iteratorBufferSize?: number;
}

interface Peer {
  /** IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are given as plain IPv4. */
  remoteAddress: string;
  remotePort: number;
}

export interface HelloAcceptedEvent extends Peer {
  type: 'hello';
  hello: Hello;
  receivedAt: Date;
  byteLength: number;
  endedBy: HelloEndReason;
}

export interface HelloRejectedEvent extends Peer {
  type: 'rejected';
  error: HelloError;
  receivedAt: Date;
  /** What the peer sent (at most `maxBytes`), for diagnosis. */
  bytes: Buffer;
  endedBy: HelloEndReason;
}

/**
 * Why a connection was dropped without anything to decode: an admission limit
 * (`max-connections`, `rate-limit`: cut on accept, nothing read), the idle or lifetime cap
 * before any byte, the peer closing without sending (`empty`), or `close()` (`closing`).
 */
export type HelloDropReason =
  | 'max-connections'
  | 'rate-limit'
  | 'idle-timeout'
  | 'lifetime'
  | 'empty'
  | 'closing';

export interface HelloDroppedEvent extends Peer {
  type: 'dropped';
  reason: HelloDropReason;
}

export interface HelloConnectionEvent extends Peer {
  type: 'connection';
}

/** What the async iterator yields. */
export type HelloListenerEvent = HelloAcceptedEvent | HelloRejectedEvent;

export interface HelloListenerEventMap {
  hello: [HelloAcceptedEvent];
  rejected: [HelloRejectedEvent];
  dropped: [HelloDroppedEvent];
  /** A connection passed the admission limits. */
  connection: [HelloConnectionEvent];
}

export interface HelloListenerStats {
  accepted: number;
  rejected: number;
  rejectedByCode: Record<HelloDecodeErrorCode, number>;
  dropped: number;
  /** Drops by `max-connections`, `rate-limit`, `idle-timeout` and `lifetime`. */
  droppedByLimit: number;
  droppedByReason: Record<HelloDropReason, number>;
  /** TCP connections accepted by the OS, admitted or not. */
  connections: number;
  open: number;
  peakOpen: number;
  /** Accept failures reported by the OS (e.g. out of file descriptors); the listener keeps going. */
  acceptErrors: number;
  /** Events an async iterator discarded because its consumer fell behind. */
  iteratorOverflow: number;
}

export interface HelloListener
  extends EventEmitter<HelloListenerEventMap>,
    AsyncIterable<HelloListenerEvent> {
  /** Binds; rejects with `HELLO_LISTEN_FAILED` (OS error as `cause`). */
  listen(): Promise<{ address: string; port: number }>;
  /** The bound address, once listening. */
  address(): { address: string; port: number } | undefined;
  /**
   * Stops accepting, lets open connections finish for `drainTimeoutMs`, then ends the rest
   * (their bytes are still decoded); resolves when every connection is closed and every
   * iterator has ended.
   */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
  stats(): HelloListenerStats;
  /** Accepted and rejected hellos from now on, until the listener has closed. */
  [Symbol.asyncIterator](): AsyncIterableIterator<HelloListenerEvent>;
}

const LIMIT_REASONS: ReadonlySet<HelloDropReason> = new Set([
  'max-connections',
  'rate-limit',
  'idle-timeout',
  'lifetime',
]);

function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new HelloError('HELLO_BAD_OPTIONS', `${name} must be a finite number ≥ ${min}`);
  }
  return value;
}

function plainAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** One async iterator's queue: bounded, oldest dropped first. */
class EventQueue implements AsyncIterableIterator<HelloListenerEvent> {
  private readonly items: HelloListenerEvent[] = [];
  private head = 0;
  private waiting: ((r: IteratorResult<HelloListenerEvent>) => void) | undefined;
  ended = false;

  constructor(
    private readonly capacity: number,
    private readonly onOverflow: () => void,
    private readonly onReturn: (q: EventQueue) => void,
  ) {}

  push(ev: HelloListenerEvent): void {
    if (this.ended) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w({ value: ev, done: false });
      return;
    }
    if (this.items.length - this.head >= this.capacity) {
      this.head++;
      this.onOverflow();
    }
    this.items.push(ev);
  }

  end(): void {
    this.ended = true;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<HelloListenerEvent>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<HelloListenerEvent>> {
    this.onReturn(this);
    this.items.length = 0;
    this.head = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<HelloListenerEvent> {
    return this;
  }
}

interface Connection {
  socket: Socket;
  intake: HelloIntake;
}

class Listener extends EventEmitter<HelloListenerEventMap> implements HelloListener {
  private readonly port: number;
  private readonly host: string | undefined;
  private readonly backlog: number;
  private readonly maxConnections: number;
  private readonly drainTimeoutMs: number;
  private readonly iteratorBufferSize: number;
  private readonly clock: HelloClock;
  private readonly limits: ConstructorParameters<typeof HelloIntake>[0];
  private readonly limiter: AddressRateLimiter | undefined;
  private readonly open = new Set<Connection>();
  private readonly queues = new Set<EventQueue>();
  private server: Server | undefined;
  private state: 'idle' | 'binding' | 'listening' | 'closing' | 'closed' = 'idle';
  private closing: Promise<void> | undefined;
  private bound: { address: string; port: number } | undefined;
  private sweepTimer: unknown;
  private sweepArmed = false;
  private readonly counters: HelloListenerStats;

  constructor(options: HelloListenerOptions) {
    super();
    this.port = positive('port', options.port, HELLO_PORT, 0);
    if (!Number.isInteger(this.port) || this.port > 65535) {
      throw new HelloError('HELLO_BAD_OPTIONS', 'port must be an integer from 0 to 65535');
    }
    this.host = options.host;
    this.backlog = positive('backlog', options.backlog, 511);
    this.maxConnections = positive('maxConnections', options.maxConnections, 1024);
    const idleTimeoutMs = positive('idleTimeoutMs', options.idleTimeoutMs, 10_000);
    this.drainTimeoutMs = positive('drainTimeoutMs', options.drainTimeoutMs, idleTimeoutMs, 0);
    this.iteratorBufferSize = positive('iteratorBufferSize', options.iteratorBufferSize, 10_000);
    this.clock = options.clock ?? systemClock;
    const trailingBytes = options.trailingBytes ?? 'reject';
    if (trailingBytes !== 'reject' && trailingBytes !== 'ignore') {
      throw new HelloError('HELLO_BAD_OPTIONS', "trailingBytes must be 'reject' or 'ignore'");
    }
    this.limits = {
      maxBytes: positive('maxBytes', options.maxBytes, HELLO_MAX_BYTES),
      idleTimeoutMs,
      maxConnectionMs: positive('maxConnectionMs', options.maxConnectionMs, 30_000),
      trailingBytes,
      clock: this.clock,
    };
    const rate = options.rateLimit ?? { burst: 10, perSecond: 1 };
    if (rate === false) {
      this.limiter = undefined;
    } else {
      const burst = positive('rateLimit.burst', rate.burst, 10);
      const perSecond = positive('rateLimit.perSecond', rate.perSecond, 1, 0);
      this.limiter = new AddressRateLimiter(burst, perSecond, () => this.clock.now());
    }
    this.counters = {
      accepted: 0,
      rejected: 0,
      rejectedByCode: Object.fromEntries(HELLO_DECODE_ERROR_CODES.map((c) => [c, 0])) as Record<
        HelloDecodeErrorCode,
        number
      >,
      dropped: 0,
      droppedByLimit: 0,
      droppedByReason: {
        'max-connections': 0,
        'rate-limit': 0,
        'idle-timeout': 0,
        lifetime: 0,
        empty: 0,
        closing: 0,
      },
      connections: 0,
      open: 0,
      peakOpen: 0,
      acceptErrors: 0,
      iteratorOverflow: 0,
    };
  }

  async listen(): Promise<{ address: string; port: number }> {
    if (this.state !== 'idle') {
      throw new HelloError('HELLO_LISTEN_FAILED', `listen() called on a listener that is ${this.state}`);
    }
    this.state = 'binding';
    const server = createServer((socket) => this.onConnection(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: this.port, host: this.host, backlog: this.backlog }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (cause) {
      this.state = 'idle';
      const where = `${this.host ?? '*'}:${this.port}`;
      throw new HelloError('HELLO_LISTEN_FAILED', `cannot listen on ${where}: ${(cause as Error).message}`, {
        cause,
      });
    }
    if (this.state !== 'binding') {
      // close() was called while binding: it has already resolved, so nothing may stay open.
      server.close();
      throw new HelloError('HELLO_LISTEN_FAILED', 'the listener was closed while it was binding');
    }
    // After binding, the only server errors are failed accepts (EMFILE…): count them, keep serving.
    server.on('error', () => {
      this.counters.acceptErrors++;
    });
    this.server = server;
    this.state = 'listening';
    const a = server.address() as { address: string; port: number };
    this.bound = { address: a.address, port: a.port };
    return { ...this.bound };
  }

  address(): { address: string; port: number } | undefined {
    return this.bound && this.state === 'listening' ? { ...this.bound } : undefined;
  }

  stats(): HelloListenerStats {
    const c = this.counters;
    return {
      ...c,
      rejectedByCode: { ...c.rejectedByCode },
      droppedByReason: { ...c.droppedByReason },
      open: this.open.size,
    };
  }

  close(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    if (this.closing) return this.closing;
    let drainMs: number;
    try {
      drainMs = positive('drainTimeoutMs', options.drainTimeoutMs, this.drainTimeoutMs, 0);
    } catch (error) {
      return Promise.reject(error);
    }
    const server = this.server;
    this.state = 'closing';
    this.closing = new Promise<void>((resolve) => {
      if (!server) return resolve();
      const endAll = () => {
        for (const conn of [...this.open]) conn.intake.end('closing');
      };
      const timer = drainMs === 0 ? undefined : this.clock.setTimeout(endAll, drainMs);
      server.close(() => {
        this.clock.clearTimeout(timer);
        resolve();
      });
      if (drainMs === 0) endAll();
    }).then(() => {
      this.clock.clearTimeout(this.sweepTimer);
      this.sweepArmed = false;
      this.state = 'closed';
      for (const q of this.queues) q.end();
      this.queues.clear();
    });
    return this.closing;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<HelloListenerEvent> {
    const q = new EventQueue(
      this.iteratorBufferSize,
      () => {
        this.counters.iteratorOverflow++;
      },
      (self) => this.queues.delete(self),
    );
    if (this.state === 'closed') q.end();
    else this.queues.add(q);
    return q;
  }

  private drop(
    socket: Socket | undefined,
    reason: HelloDropReason,
    remoteAddress: string,
    remotePort: number,
  ): void {
    if (socket) {
      socket.on('error', () => undefined);
      socket.destroy();
    }
    const c = this.counters;
    c.dropped++;
    c.droppedByReason[reason]++;
    if (LIMIT_REASONS.has(reason)) c.droppedByLimit++;
    this.emit('dropped', { type: 'dropped', reason, remoteAddress, remotePort });
  }

  private onConnection(socket: Socket): void {
    const remoteAddress = plainAddress(socket.remoteAddress);
    const remotePort = socket.remotePort ?? 0;
    this.counters.connections++;
    if (this.state === 'closing' || this.state === 'closed') {
      this.drop(socket, 'closing', remoteAddress, remotePort);
      return;
    }
    if (this.open.size >= this.maxConnections) {
      this.drop(socket, 'max-connections', remoteAddress, remotePort);
      return;
    }
    if (this.limiter && !this.limiter.take(remoteAddress)) {
      this.drop(socket, 'rate-limit', remoteAddress, remotePort);
      return;
    }
    const conn: Connection = {
      socket,
      intake: new HelloIntake(this.limits, (outcome) => this.onEnd(conn, outcome, remoteAddress, remotePort)),
    };
    this.open.add(conn);
    if (this.open.size > this.counters.peakOpen) this.counters.peakOpen = this.open.size;
    socket.on('data', (chunk: Buffer) => conn.intake.push(chunk));
    socket.on('end', () => conn.intake.end('close'));
    // A reset arrives as an error; the bytes so far are still decoded. Anything that slips past
    // these handlers is ended by the sweep when it goes idle.
    socket.on('error', () => conn.intake.end('reset'));
    if (!this.sweepArmed) this.armSweep(conn.intake.deadline);
    if (this.listenerCount('connection') > 0) {
      this.emit('connection', { type: 'connection', remoteAddress, remotePort });
    }
  }

  private armSweep(at: number): void {
    this.sweepArmed = true;
    this.sweepTimer = this.clock.setTimeout(() => this.sweep(), Math.max(0, at - this.clock.now()));
  }

  // One timer for all connections, due at the earliest idle/lifetime deadline. A new connection
  // never has an earlier deadline than those already open, so only the sweep needs to re-arm it.
  private sweep(): void {
    this.sweepArmed = false;
    const now = this.clock.now();
    for (const conn of [...this.open]) conn.intake.check(now);
    let next = Number.POSITIVE_INFINITY;
    for (const conn of this.open) next = Math.min(next, conn.intake.deadline);
    if (this.open.size > 0 && this.state !== 'closed') this.armSweep(next);
  }

  private onEnd(conn: Connection, outcome: IntakeOutcome, remoteAddress: string, remotePort: number): void {
    // The slot frees before any event, so a handler that reacts to the event sees it free.
    this.open.delete(conn);
    conn.socket.destroy();
    const c = this.counters;
    if (outcome.kind === 'empty') {
      const reason: HelloDropReason =
        outcome.endedBy === 'idle-timeout' || outcome.endedBy === 'lifetime' || outcome.endedBy === 'closing'
          ? outcome.endedBy
          : 'empty';
      this.drop(undefined, reason, remoteAddress, remotePort);
      return;
    }
    const receivedAt = new Date(this.clock.now());
    if (outcome.kind === 'hello') {
      c.accepted++;
      const ev: HelloAcceptedEvent = {
        type: 'hello',
        hello: outcome.hello,
        remoteAddress,
        remotePort,
        receivedAt,
        byteLength: outcome.byteLength,
        endedBy: outcome.endedBy,
      };
      for (const q of this.queues) q.push(ev);
      this.emit('hello', ev);
      return;
    }
    c.rejected++;
    const code = outcome.error.code as HelloDecodeErrorCode;
    c.rejectedByCode[code] = (c.rejectedByCode[code] ?? 0) + 1;
    const ev: HelloRejectedEvent = {
      type: 'rejected',
      error: outcome.error,
      remoteAddress,
      remotePort,
      receivedAt,
      bytes: outcome.bytes,
      endedBy: outcome.endedBy,
    };
    for (const q of this.queues) q.push(ev);
    this.emit('rejected', ev);
  }
}

/** A TCP listener for hellos. Nothing a peer does makes it throw or stop. */
export function createHelloListener(options: HelloListenerOptions = {}): HelloListener {
  return new Listener(options);
}
