/**
 * ConfigMgr's power-scheme numbering, in one table. AMT names its schemes by description
 * (`AMT_SystemPowerScheme.Description`, e.g. `Mobile: ON in S0, S3/AC, S4-5/AC`); ConfigMgr 2007
 * let the administrator pick a number. The number → scheme mapping is not public, so this is
 * our reading: each number is a set of host sleep states in which AMT stays on (or only wakes),
 * and "5" — what SP1 behaviour sets — is AMT on in S0–S5 whenever mains power is present.
 */
export type MeState = 'on' | 'wake' | 'off';

export interface PowerProfile {
  s3: MeState;
  s45: MeState;
}

export const CONFIGMGR_POWER_SCHEMES: Readonly<Record<number, PowerProfile & { label: string }>> = {
  1: { s3: 'off', s45: 'off', label: 'on in S0 only' },
  2: { s3: 'wake', s45: 'wake', label: 'on in S0, ME wake in S3 and S4-5' },
  3: { s3: 'on', s45: 'off', label: 'on in S0 and S3' },
  4: { s3: 'on', s45: 'wake', label: 'on in S0 and S3, ME wake in S4-5' },
  5: { s3: 'on', s45: 'on', label: 'on in S0-S5 on AC power' },
};

/** The scheme SP1 behaviour always sets. */
export const SP1_POWER_SCHEME = 5;

/**
 * Reads an AMT scheme description into the states it keeps AMT on in. A state listed after
 * `ON in` is on, after `ME Wake in` wakes; a bare state inherits the mode before it;
 * `/AC` and `(AC only)` qualifiers are accepted (AMT schemes apply on AC power anyway).
 */
export function parsePowerDescription(description: string): PowerProfile & { s0: MeState } {
  const body = description.includes(':') ? description.slice(description.indexOf(':') + 1) : description;
  const out = { s0: 'off' as MeState, s3: 'off' as MeState, s45: 'off' as MeState };
  let mode: MeState = 'on';
  for (const raw of body.split(',')) {
    let token = raw
      .trim()
      .replace(/\(AC only\)/i, '')
      .trim();
    const on = /^ON in\s+/i.exec(token);
    const wake = /^ME Wake in\s+/i.exec(token);
    if (on) {
      mode = 'on';
      token = token.slice(on[0].length);
    } else if (wake) {
      mode = 'wake';
      token = token.slice(wake[0].length);
    }
    for (const state of token.split('/')) {
      const s = state.trim().toUpperCase();
      if (s === 'S0') out.s0 = mode;
      else if (s === 'S3') out.s3 = mode;
      else if (s === 'S4-5' || s === 'S4' || s === 'S5' || s === 'S4-S5') out.s45 = mode;
    }
  }
  return out;
}

/** Finds the scheme matching a ConfigMgr number among the device's schemes, or undefined. */
export function findPowerScheme<T extends { description: string }>(
  schemes: readonly T[],
  number: number,
): T | undefined {
  const wanted = CONFIGMGR_POWER_SCHEMES[number];
  if (!wanted) return undefined;
  return schemes.find((s) => {
    const p = parsePowerDescription(s.description);
    return p.s0 === 'on' && p.s3 === wanted.s3 && p.s45 === wanted.s45;
  });
}
