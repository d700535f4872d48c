import type { Firmware } from './firmware.js';
import type { Profile } from './personality.js';

/** An HTTP answer a protocol handler produced. */
export interface Reply {
  status: number;
  contentType: string;
  body: string;
  /** Close the connection after answering (e.g. the firmware restarts its network). */
  close?: boolean;
}

/** What a call handler may see and do. */
export interface CallContext {
  fw: Firmware;
  profile: Profile;
  uuid: string;
  address: string;
  username: string;
  /** Runs once the answer has been written (unprovision, reboot after a call). */
  afterResponse(fn: () => void): void;
  /** The device's CommitChanges moved it to post-provisioning. */
  onProvisioned(): void;
  /** The firmware was unprovisioned by a call. */
  onUnprovisioned(kind: 'full' | 'partial'): void;
  strongPassword(password: string): boolean;
}

/** A parsed request, ready to run, with the names faults can target. */
export interface ParsedCall {
  protocol: 'wsman' | 'soap';
  /** Fault steps this call matches, most specific first. */
  steps: string[];
  /** A human name for the log, e.g. `AMT_GeneralSettings.Get`. */
  name: string;
  /** Reads only: allowed to any authenticated user. */
  readOnly: boolean;
  /** Answers without authentication (WS-Man Identify). */
  anonymous: boolean;
  run(ctx: CallContext): Promise<Reply>;
  /** The answer for an injected SOAP fault. */
  fault(subcode: string | undefined, reason: string | undefined): Reply;
  /** The answer when the user may not call this. */
  accessDenied(): Reply;
}

export type ParseOutcome = { ok: true; call: ParsedCall } | { ok: false; reply: Reply };
