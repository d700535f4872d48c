import { checkAmtPassword } from '@oobkit/http-digest';
import { CONFIGMGR_POWER_SCHEMES } from '../flow/power.js';
import { StoreInputError } from './errors.js';
import type { ProvisioningSettings, UserAclSetting, WifiProfileSetting, Wired8021xSetting } from './types.js';

/** What a secret field shows when settings leave the store for display; sending it back keeps the stored value. */
export const REDACTED = '***';

/**
 * ConfigMgr's power scheme "5": AMT on in S0–S5 on AC power (amt-protocol.md §5, power schemes).
 * The flow's power table maps this number to a firmware scheme.
 */
export const DEFAULT_POWER_SCHEME = 5;

/**
 * AMT password policy (amt-protocol.md §4): 8–32 printable ASCII characters with upper, lower,
 * digit and symbol, none of `:` `,` `"` — checked by @oobkit/http-digest — and, as the protocol notes
 * also forbid it, no `_`.
 */
export function isStrongAmtPassword(p: string): boolean {
  return checkAmtPassword(p).ok && !p.includes('_');
}

export function defaultSettings(mebxPassword: string): ProvisioningSettings {
  return {
    features: { ping: true, webUi: true, sol: true, ider: true },
    userAcls: [],
    kerberos: { enabled: true },
    powerBehaviour: 'SP2',
    powerScheme: DEFAULT_POWER_SCHEME,
    wifiProfiles: [],
    mebxPassword,
    adminUsername: 'admin',
  };
}

/** The ConfigMgr scheme numbers the flow knows how to find on a device (1–5). */
export const POWER_SCHEME_NUMBERS: readonly number[] = Object.keys(CONFIGMGR_POWER_SCHEMES).map(Number);

const WIFI_AUTH_METHODS = new Set([1, 2, 3, 4, 5, 6, 7, 32768, 32769]);
const WIFI_PSK_AUTH_METHODS = new Set([4, 6]);
const WIFI_ENCRYPTION_METHODS = new Set([1, 2, 3, 4, 5, 32768]);
const DIGEST_USER = /^[\x21-\x7e]{1,16}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Checks every field and returns a clean copy. An unknown field is refused (a misspelt
 * `features.SOL` must not read as set); throws `StoreInputError` naming the field.
 */
export function validateSettings(input: unknown): ProvisioningSettings {
  const s = obj(input, 'settings', SETTINGS_KEYS);
  const features = obj(s.features, 'features', ['ping', 'webUi', 'sol', 'ider']);
  const out: ProvisioningSettings = {
    features: {
      ping: bool(features.ping, 'features.ping'),
      webUi: bool(features.webUi, 'features.webUi'),
      sol: bool(features.sol, 'features.sol'),
      ider: bool(features.ider, 'features.ider'),
    },
    userAcls: arr(s.userAcls, 'userAcls').map((a, i) => validateAcl(a, `userAcls[${i}]`)),
    kerberos: { enabled: bool(obj(s.kerberos, 'kerberos', ['enabled']).enabled, 'kerberos.enabled') },
    powerBehaviour: oneOf(s.powerBehaviour, ['SP1', 'SP2'] as const, 'powerBehaviour'),
    powerScheme: oneOf(s.powerScheme, POWER_SCHEME_NUMBERS, 'powerScheme'),
    wifiProfiles: arr(s.wifiProfiles, 'wifiProfiles').map((w, i) => validateWifi(w, `wifiProfiles[${i}]`)),
    mebxPassword: str(s.mebxPassword, 'mebxPassword'),
    adminUsername: str(s.adminUsername, 'adminUsername'),
  };
  if (s.wired8021x !== undefined) out.wired8021x = validateWired(s.wired8021x, 'wired8021x');
  if (!isStrongAmtPassword(out.mebxPassword)) {
    throw new StoreInputError(
      'mebxPassword does not meet the AMT password policy (8–32 characters with upper, lower, digit and symbol; no : , " _)',
      'mebxPassword',
    );
  }
  if (!DIGEST_USER.test(out.adminUsername)) {
    throw new StoreInputError('adminUsername must be 1–16 printable ASCII characters', 'adminUsername');
  }
  unique(
    out.userAcls.map((a) => a.username ?? `sid:${a.kerberosSid}`),
    'userAcls',
    'user',
  );
  unique(
    out.wifiProfiles.map((w) => w.name),
    'wifiProfiles',
    'name',
  );
  unique(
    out.wifiProfiles.map((w) => String(w.priority)),
    'wifiProfiles',
    'priority',
  );
  return out;
}

function validateAcl(input: unknown, at: string): UserAclSetting {
  const a = obj(input, at, ['username', 'password', 'kerberosSid', 'accessPermission', 'realms']);
  const acl: UserAclSetting = {
    accessPermission: oneOf(a.accessPermission, [0, 1, 2] as const, `${at}.accessPermission`),
    realms: arr(a.realms, `${at}.realms`).map((r, i) => int(r, `${at}.realms[${i}]`, 1, 31)),
  };
  if (acl.realms.length === 0) throw new StoreInputError(`${at}.realms must not be empty`, `${at}.realms`);
  unique(acl.realms.map(String), `${at}.realms`, 'realm');
  const hasUser = a.username !== undefined;
  const hasSid = a.kerberosSid !== undefined;
  if (hasUser === hasSid) {
    throw new StoreInputError(`${at} needs exactly one of username or kerberosSid`, at);
  }
  if (hasUser) {
    acl.username = str(a.username, `${at}.username`);
    if (!DIGEST_USER.test(acl.username)) {
      throw new StoreInputError(`${at}.username must be 1–16 printable ASCII characters`, `${at}.username`);
    }
    acl.password = str(a.password, `${at}.password`);
    if (!isStrongAmtPassword(acl.password)) {
      throw new StoreInputError(`${at}.password does not meet the AMT password policy`, `${at}.password`);
    }
  } else {
    acl.kerberosSid = str(a.kerberosSid, `${at}.kerberosSid`);
    if (!BASE64.test(acl.kerberosSid)) {
      throw new StoreInputError(`${at}.kerberosSid must be base64`, `${at}.kerberosSid`);
    }
    if (a.password !== undefined) {
      throw new StoreInputError(`${at}.password is only for digest users`, `${at}.password`);
    }
  }
  return acl;
}

function validateWifi(input: unknown, at: string): WifiProfileSetting {
  const w = obj(input, at, [
    'name',
    'ssid',
    'priority',
    'authenticationMethod',
    'encryptionMethod',
    'pskPassphrase',
  ]);
  const out: WifiProfileSetting = {
    name: strLen(w.name, `${at}.name`, 1, 32),
    ssid: strLen(w.ssid, `${at}.ssid`, 1, 32),
    priority: int(w.priority, `${at}.priority`, 1, 255),
    authenticationMethod: int(w.authenticationMethod, `${at}.authenticationMethod`, 0, 65535),
    encryptionMethod: int(w.encryptionMethod, `${at}.encryptionMethod`, 0, 65535),
  };
  if (!WIFI_AUTH_METHODS.has(out.authenticationMethod)) {
    throw new StoreInputError(
      `${at}.authenticationMethod is not a known method`,
      `${at}.authenticationMethod`,
    );
  }
  if (!WIFI_ENCRYPTION_METHODS.has(out.encryptionMethod)) {
    throw new StoreInputError(`${at}.encryptionMethod is not a known method`, `${at}.encryptionMethod`);
  }
  const needsPsk = WIFI_PSK_AUTH_METHODS.has(out.authenticationMethod);
  if (needsPsk) {
    out.pskPassphrase = strLen(w.pskPassphrase, `${at}.pskPassphrase`, 8, 63);
  } else if (w.pskPassphrase !== undefined) {
    throw new StoreInputError(`${at}.pskPassphrase is only for WPA/WPA2 PSK`, `${at}.pskPassphrase`);
  }
  return out;
}

function validateWired(input: unknown, at: string): Wired8021xSetting {
  const w = obj(input, at, [
    'enabled',
    'authenticationProtocol',
    'serverCertificateName',
    'username',
    'password',
  ]);
  const out: Wired8021xSetting = {
    enabled: bool(w.enabled, `${at}.enabled`),
    authenticationProtocol: int(w.authenticationProtocol, `${at}.authenticationProtocol`, 0, 65535),
  };
  if (w.serverCertificateName !== undefined) {
    out.serverCertificateName = strLen(w.serverCertificateName, `${at}.serverCertificateName`, 1, 80);
  }
  if (w.username !== undefined) out.username = strLen(w.username, `${at}.username`, 1, 128);
  if (w.password !== undefined) out.password = strLen(w.password, `${at}.password`, 1, 32);
  return out;
}

/** The secret fields of a settings document, kept apart so only they are encrypted. */
export interface SettingsSecrets {
  mebxPassword: string;
  userAclPasswords: (string | null)[];
  wifiPskPassphrases: (string | null)[];
  wired8021xPassword: string | null;
}

export function splitSettings(s: ProvisioningSettings): { doc: unknown; secrets: SettingsSecrets } {
  const { mebxPassword, userAcls, wifiProfiles, wired8021x, ...rest } = s;
  const doc: Record<string, unknown> = {
    ...rest,
    userAcls: userAcls.map(({ password: _p, ...a }) => a),
    wifiProfiles: wifiProfiles.map(({ pskPassphrase: _p, ...w }) => w),
  };
  if (wired8021x) {
    const { password: _p, ...w } = wired8021x;
    doc.wired8021x = w;
  }
  return {
    doc,
    secrets: {
      mebxPassword,
      userAclPasswords: userAcls.map((a) => a.password ?? null),
      wifiPskPassphrases: wifiProfiles.map((w) => w.pskPassphrase ?? null),
      wired8021xPassword: wired8021x?.password ?? null,
    },
  };
}

export function joinSettings(doc: unknown, secrets: SettingsSecrets): ProvisioningSettings {
  const d = doc as Omit<ProvisioningSettings, 'mebxPassword'>;
  const out: ProvisioningSettings = {
    ...d,
    userAcls: d.userAcls.map((a, i) => withOptional(a, 'password', secrets.userAclPasswords[i])),
    wifiProfiles: d.wifiProfiles.map((w, i) =>
      withOptional(w, 'pskPassphrase', secrets.wifiPskPassphrases[i]),
    ),
    mebxPassword: secrets.mebxPassword,
  };
  if (d.wired8021x) out.wired8021x = withOptional(d.wired8021x, 'password', secrets.wired8021xPassword);
  return out;
}

function withOptional<T extends object, K extends string>(o: T, key: K, v: string | null | undefined): T {
  return v === null || v === undefined ? o : { ...o, [key]: v };
}

/** A copy safe to show: every secret that is set reads `***`. */
export function redactSettings(s: ProvisioningSettings): ProvisioningSettings {
  const out: ProvisioningSettings = {
    ...s,
    userAcls: s.userAcls.map((a) => (a.password === undefined ? a : { ...a, password: REDACTED })),
    wifiProfiles: s.wifiProfiles.map((w) =>
      w.pskPassphrase === undefined ? w : { ...w, pskPassphrase: REDACTED },
    ),
    mebxPassword: REDACTED,
  };
  if (s.wired8021x) {
    out.wired8021x =
      s.wired8021x.password === undefined ? s.wired8021x : { ...s.wired8021x, password: REDACTED };
  }
  return out;
}

/**
 * Replaces each `***` in `next` with the stored value of the same secret (ACLs matched by user
 * name or SID, Wi-Fi profiles by name), so a document read with secrets redacted can be edited
 * and written back. A `***` with nothing stored behind it is an input error.
 */
export function restoreRedacted(next: unknown, current: ProvisioningSettings): unknown {
  if (typeof next !== 'object' || next === null) return next;
  const n = { ...(next as Record<string, unknown>) };
  if (n.mebxPassword === REDACTED) n.mebxPassword = current.mebxPassword;
  if (Array.isArray(n.userAcls)) {
    n.userAcls = n.userAcls.map((a: unknown, i: number) => {
      if (!isRecord(a) || a.password !== REDACTED) return a;
      const prev = current.userAcls.find(
        (c) =>
          (a.username !== undefined && c.username === a.username) ||
          (a.kerberosSid !== undefined && c.kerberosSid === a.kerberosSid),
      );
      if (prev?.password === undefined) {
        throw new StoreInputError(
          `userAcls[${i}].password is ${REDACTED} but no password is stored for that user`,
          `userAcls[${i}].password`,
        );
      }
      return { ...a, password: prev.password };
    });
  }
  if (Array.isArray(n.wifiProfiles)) {
    n.wifiProfiles = n.wifiProfiles.map((w: unknown, i: number) => {
      if (!isRecord(w) || w.pskPassphrase !== REDACTED) return w;
      const prev = current.wifiProfiles.find((c) => c.name === w.name);
      if (prev?.pskPassphrase === undefined) {
        throw new StoreInputError(
          `wifiProfiles[${i}].pskPassphrase is ${REDACTED} but no passphrase is stored for that profile`,
          `wifiProfiles[${i}].pskPassphrase`,
        );
      }
      return { ...w, pskPassphrase: prev.pskPassphrase };
    });
  }
  if (isRecord(n.wired8021x) && n.wired8021x.password === REDACTED) {
    if (current.wired8021x?.password === undefined) {
      throw new StoreInputError(
        `wired8021x.password is ${REDACTED} but no password is stored`,
        'wired8021x.password',
      );
    }
    n.wired8021x = { ...n.wired8021x, password: current.wired8021x.password };
  }
  return n;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The top-level fields of a settings document. */
export const SETTINGS_KEYS = [
  'features',
  'userAcls',
  'kerberos',
  'powerBehaviour',
  'powerScheme',
  'wifiProfiles',
  'wired8021x',
  'mebxPassword',
  'adminUsername',
] as const;

/** `v` as an object; with `known`, a field not in it is refused, named as the caller would. */
function obj(v: unknown, at: string, known?: readonly string[]): Record<string, unknown> {
  if (!isRecord(v)) throw new StoreInputError(`${at} must be an object`, at);
  if (known) {
    for (const k of Object.keys(v)) {
      if (!known.includes(k)) {
        const field = at === 'settings' ? k : `${at}.${k}`;
        throw new StoreInputError(`${field} is not a setting (known here: ${known.join(', ')})`, field);
      }
    }
  }
  return v;
}

function arr(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) throw new StoreInputError(`${at} must be an array`, at);
  return v;
}

function bool(v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') throw new StoreInputError(`${at} must be true or false`, at);
  return v;
}

function str(v: unknown, at: string): string {
  if (typeof v !== 'string') throw new StoreInputError(`${at} must be a string`, at);
  return v;
}

function strLen(v: unknown, at: string, min: number, max: number): string {
  const s = str(v, at);
  if (s.length < min || s.length > max) {
    throw new StoreInputError(`${at} must be ${min}–${max} characters`, at);
  }
  return s;
}

function int(v: unknown, at: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new StoreInputError(`${at} must be an integer from ${min} to ${max}`, at);
  }
  return v;
}

function oneOf<T extends string | number>(v: unknown, allowed: readonly T[], at: string): T {
  if (!allowed.includes(v as T)) throw new StoreInputError(`${at} must be one of ${allowed.join(', ')}`, at);
  return v as T;
}

function unique(values: string[], at: string, what: string): void {
  const seen = new Set<string>();
  for (const [i, v] of values.entries()) {
    if (seen.has(v)) throw new StoreInputError(`${at}[${i}] repeats a ${what}`, `${at}[${i}]`);
    seen.add(v);
  }
}
