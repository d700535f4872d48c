/**
 * Where a fault fires. Besides the fixed steps, any call can be named: by method or transfer
 * verb (`CommitChanges`, `Get`), by class or service and method (`AMT_GeneralSettings.Put`,
 * `SecurityAdministration.CommitChanges`), or by class alone (`AMT_GeneralSettings`).
 * - `tls`: a connection to 16993 (before the handshake)
 * - `http`: a connection to 16992
 * - `request`: every HTTP request, after authentication
 * - `wsman` / `soap`: every WS-Man / SOAP request, after authentication
 * - `hello`: each hello the device sends
 */
export type FaultStep = 'tls' | 'http' | 'request' | 'wsman' | 'soap' | 'hello' | (string & {});

export type Fault =
  /** Close the connection without an answer. */
  | { kind: 'drop'; times?: number }
  /** Answer (or send) `ms` later on the device clock. */
  | { kind: 'delay'; ms: number; times?: number }
  /** A SOAP fault instead of the answer. */
  | { kind: 'soapFault'; subcode?: string; reason?: string; times?: number }
  /** HTTP 200 with a body that is not well-formed XML. */
  | { kind: 'brokenXml'; times?: number }
  /** HTTP 500 without a SOAP body. */
  | { kind: 'http500'; times?: number }
  /** The device reboots: connections drop, all state is kept. `after`: the call runs first. */
  | { kind: 'reboot'; after?: boolean; times?: number }
  /** The device loses power: connections drop, uncommitted changes are lost. */
  | { kind: 'powerLoss'; after?: boolean; times?: number };

export type FaultKind = Fault['kind'];

/** Faults to arm when the device starts, by step. */
export type FaultPlan = Partial<Record<FaultStep, Fault | Fault[]>>;

interface Armed {
  fault: Fault;
  left: number;
}

/** The per-device book of armed faults; each fires `times` times (default once; Infinity allowed). */
export class FaultBook {
  private readonly armed = new Map<string, Armed[]>();

  constructor(plan?: FaultPlan) {
    if (plan) {
      for (const [step, faults] of Object.entries(plan)) {
        if (!faults) continue;
        for (const f of Array.isArray(faults) ? faults : [faults]) this.add(step, f);
      }
    }
  }

  add(step: FaultStep, fault: Fault): void {
    const list = this.armed.get(step) ?? [];
    list.push({ fault, left: fault.times ?? 1 });
    this.armed.set(step, list);
  }

  clear(): void {
    this.armed.clear();
  }

  get size(): number {
    return this.armed.size;
  }

  /** Takes the first armed fault among `steps` (most specific first), consuming one use. */
  take(steps: readonly string[]): { step: string; fault: Fault } | undefined {
    if (this.armed.size === 0) return undefined;
    for (const step of steps) {
      const list = this.armed.get(step);
      const first = list?.[0];
      if (!list || !first) continue;
      first.left -= 1;
      if (first.left <= 0) list.shift();
      if (list.length === 0) this.armed.delete(step);
      return { step, fault: first.fault };
    }
    return undefined;
  }
}
