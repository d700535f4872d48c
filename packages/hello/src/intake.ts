import type { HelloClock } from './clock.js';
import { decodeOwnedHello, type Hello } from './codec.js';
import { HelloError } from './errors.js';

/**
 * What ended a connection: the peer's FIN (`close`), a reset or socket error (`reset`), the
 * idle or lifetime cap, the size cap, or the listener closing.
 */
export type HelloEndReason = 'close' | 'reset' | 'idle-timeout' | 'lifetime' | 'size' | 'closing';

export type IntakeOutcome =
  | { kind: 'hello'; hello: Hello; endedBy: HelloEndReason; byteLength: number }
  | { kind: 'rejected'; error: HelloError; endedBy: HelloEndReason; bytes: Buffer }
  | { kind: 'empty'; endedBy: HelloEndReason };

export interface IntakeLimits {
  maxBytes: number;
  idleTimeoutMs: number;
  maxConnectionMs: number;
  trailingBytes: 'reject' | 'ignore';
  clock: HelloClock;
}

/**
 * The bytes of one connection, kept apart from the socket so the rules are testable without
 * one. Whatever ends the connection, the bytes received so far are decoded as one
 * hello; zero bytes give `empty`. Ends once; later calls are ignored.
 */
export class HelloIntake {
  private chunks: Buffer[] = [];
  private length = 0;
  private done = false;
  private readonly startedAt: number;
  private lastActivity: number;

  constructor(
    private readonly limits: IntakeLimits,
    private readonly onEnd: (outcome: IntakeOutcome) => void,
  ) {
    this.startedAt = this.lastActivity = limits.clock.now();
  }

  get finished(): boolean {
    return this.done;
  }

  /** When the idle or lifetime cap next falls due, if nothing arrives before. */
  get deadline(): number {
    const { idleTimeoutMs, maxConnectionMs } = this.limits;
    return Math.min(this.lastActivity + idleTimeoutMs, this.startedAt + maxConnectionMs);
  }

  push(chunk: Buffer): void {
    if (this.done) return;
    const now = this.limits.clock.now();
    // Bytes that arrive after the lifetime are not read: a trickling peer cannot hold a slot.
    if (now - this.startedAt >= this.limits.maxConnectionMs) {
      this.end('lifetime');
      return;
    }
    this.length += chunk.length;
    if (this.length > this.limits.maxBytes) {
      const { maxBytes } = this.limits;
      const error = new HelloError('HELLO_TOO_LARGE', `the hello is longer than ${maxBytes} bytes`, {
        offset: maxBytes,
      });
      this.finish({ kind: 'rejected', error, endedBy: 'size', bytes: this.joined() });
      return;
    }
    this.chunks.push(chunk);
    this.lastActivity = now;
  }

  end(endedBy: HelloEndReason): void {
    if (this.done) return;
    if (this.length === 0) {
      this.finish({ kind: 'empty', endedBy });
      return;
    }
    const bytes = this.joined();
    let hello: Hello;
    try {
      hello = decodeOwnedHello(bytes, {
        maxBytes: this.limits.maxBytes,
        trailingBytes: this.limits.trailingBytes,
      });
    } catch (error) {
      this.finish({ kind: 'rejected', error: error as HelloError, endedBy, bytes });
      return;
    }
    this.finish({ kind: 'hello', hello, endedBy, byteLength: bytes.length });
  }

  private joined(): Buffer {
    const c = this.chunks;
    return c.length === 1 ? c[0]! : Buffer.concat(c);
  }

  private finish(outcome: IntakeOutcome): void {
    this.done = true;
    this.chunks = [];
    this.onEnd(outcome);
  }

  /**
   * Ends the connection if a cap has passed at `now`. The listener calls this from one shared
   * timer rather than giving each connection its own: timers cost more than the hello itself.
   */
  check(now: number): void {
    if (this.done) return;
    if (now - this.startedAt >= this.limits.maxConnectionMs) this.end('lifetime');
    else if (now - this.lastActivity >= this.limits.idleTimeoutMs) this.end('idle-timeout');
  }
}
