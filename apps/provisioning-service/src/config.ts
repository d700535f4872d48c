import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from './store/errors.js';

export type LogLevelSetting = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface ServiceConfig {
  /** Folder for the database, the key file and the API token (absolute once resolved). */
  dataDir: string;
  /** The SQLite database file (unless `databaseUrl` is set). */
  databasePath: string;
  /**
   * A `postgres://` (or `postgresql://`) URL: the site store is then PostgreSQL, shared by every
   * instance pointed at it, and `databasePath` is not used.
   */
  databaseUrl?: string;
  keyFile: string;
  /** Where AMT hellos arrive (TCP). */
  hello: { host: string; port: number };
  /**
   * The admin API; `token` is the bearer token it requires. With `tlsCert` and `tlsKey` (PEM file
   * paths) it serves HTTPS; without, plain HTTP, fit only for loopback.
   */
  api: { host: string; port: number; token: string; tlsCert?: string; tlsKey?: string };
  /** The ports the service connects to on each device. */
  /** AMT's TLS port (16993): every connection to a device is TLS; plain HTTP (16992) is never used. */
  amtPorts: { tls: number };
  /** Jobs run at once by this instance. */
  workers: number;
  /** A job lease's length; a crashed worker's job is reclaimed after it. */
  leaseMs: number;
  /** This instance's name as a lease owner. */
  instanceId: string;
  logLevel: LogLevelSetting;
  /** The event log's upkeep. */
  events: {
    /** Events older than this many days are deleted (hourly, by every running service); 0 keeps all. */
    retentionDays: number;
    /** Per device and reason, at most one dropped-hello event per this many ms; 0 logs every one. */
    helloDropWindowMs: number;
    /** Dropped (and, apart, malformed) hellos logged per sliding minute at most, all senders together; 0 = no cap. */
    helloDropsPerMinute: number;
  };
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export const CONFIG_DEFAULTS = {
  dataDir: '.oobkit',
  hello: { host: '0.0.0.0', port: 9971 },
  api: { host: '127.0.0.1', port: 8080 },
  amtPorts: { tls: 16993 },
  workers: 16,
  leaseMs: 60_000,
  logLevel: 'info',
  events: { retentionDays: 90, helloDropWindowMs: 3_600_000, helloDropsPerMinute: 120 },
} as const;

/** The `OOBKIT_*` variables `resolveConfig` reads, and the setting each one sets. */
export const CONFIG_ENV = {
  OOBKIT_DATA_DIR: 'dataDir',
  OOBKIT_DATABASE: 'databasePath',
  OOBKIT_DATABASE_URL: 'databaseUrl',
  OOBKIT_KEY_FILE: 'keyFile',
  OOBKIT_HELLO_HOST: 'hello.host',
  OOBKIT_HELLO_PORT: 'hello.port',
  OOBKIT_API_HOST: 'api.host',
  OOBKIT_API_PORT: 'api.port',
  OOBKIT_API_TOKEN: 'api.token',
  OOBKIT_API_TLS_CERT: 'api.tlsCert',
  OOBKIT_API_TLS_KEY: 'api.tlsKey',
  OOBKIT_AMT_TLS_PORT: 'amtPorts.tls',
  OOBKIT_WORKERS: 'workers',
  OOBKIT_LEASE_MS: 'leaseMs',
  OOBKIT_INSTANCE_ID: 'instanceId',
  OOBKIT_LOG_LEVEL: 'logLevel',
  OOBKIT_EVENT_RETENTION_DAYS: 'events.retentionDays',
  OOBKIT_HELLO_DROP_WINDOW_MS: 'events.helloDropWindowMs',
  OOBKIT_HELLO_DROPS_PER_MINUTE: 'events.helloDropsPerMinute',
} as const;

export const LOG_LEVELS: readonly LogLevelSetting[] = ['debug', 'info', 'warn', 'error', 'silent'];
export const API_TOKEN_FILE = 'api-token';
/** The shortest admin API token accepted, from anywhere. */
export const API_TOKEN_MIN_LENGTH = 16;

/** The bounds `resolveConfig` holds numeric settings to, for the CLI to check its flags the same way. */
export const CONFIG_LIMITS = {
  port: { min: 0, max: 65535 },
  workers: { min: 1, max: 4096 },
} as const;

/**
 * The service configuration: embedded defaults, then `OOBKIT_*` variables, then `overrides`
 * (what the CLI's flags set). Paths resolve against the working directory; the database and key
 * file default to `<dataDir>/oobkit.db` and `<dataDir>/secret.key`. The API token is
 * `resolveApiToken`'s, created on first use (mode 0600) — the only side effect: for a service.
 * Throws `ConfigError` naming the setting.
 */
export function resolveConfig(
  overrides: DeepPartial<ServiceConfig> = {},
  env: NodeJS.ProcessEnv = process.env,
): ServiceConfig {
  const e = (name: keyof typeof CONFIG_ENV): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const envInt = (name: keyof typeof CONFIG_ENV): number | undefined => {
    const v = e(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v.trim())) throw new ConfigError(`${name} must be a whole number`, name);
    return Number(v.trim());
  };

  const dataDir = resolve(
    str(overrides.dataDir ?? e('OOBKIT_DATA_DIR') ?? CONFIG_DEFAULTS.dataDir, 'dataDir'),
  );
  const cfg: Omit<ServiceConfig, 'api'> & {
    api: { host: string; port: number; token?: string; tlsCert?: string; tlsKey?: string };
  } = {
    dataDir,
    databasePath: resolve(
      str(overrides.databasePath ?? e('OOBKIT_DATABASE') ?? join(dataDir, 'oobkit.db'), 'databasePath'),
    ),
    ...databaseUrl(overrides.databaseUrl ?? e('OOBKIT_DATABASE_URL')),
    keyFile: resolve(
      str(overrides.keyFile ?? e('OOBKIT_KEY_FILE') ?? join(dataDir, 'secret.key'), 'keyFile'),
    ),
    hello: {
      host: str(overrides.hello?.host ?? e('OOBKIT_HELLO_HOST') ?? CONFIG_DEFAULTS.hello.host, 'hello.host'),
      port: port(
        overrides.hello?.port ?? envInt('OOBKIT_HELLO_PORT') ?? CONFIG_DEFAULTS.hello.port,
        'hello.port',
      ),
    },
    api: {
      host: str(overrides.api?.host ?? e('OOBKIT_API_HOST') ?? CONFIG_DEFAULTS.api.host, 'api.host'),
      port: port(overrides.api?.port ?? envInt('OOBKIT_API_PORT') ?? CONFIG_DEFAULTS.api.port, 'api.port'),
      ...apiTls(
        overrides.api?.tlsCert ?? e('OOBKIT_API_TLS_CERT'),
        overrides.api?.tlsKey ?? e('OOBKIT_API_TLS_KEY'),
      ),
    },
    amtPorts: {
      tls: port(
        overrides.amtPorts?.tls ?? envInt('OOBKIT_AMT_TLS_PORT') ?? CONFIG_DEFAULTS.amtPorts.tls,
        'amtPorts.tls',
      ),
    },
    workers: range(
      overrides.workers ?? envInt('OOBKIT_WORKERS') ?? CONFIG_DEFAULTS.workers,
      'workers',
      CONFIG_LIMITS.workers.min,
      CONFIG_LIMITS.workers.max,
    ),
    leaseMs: range(
      overrides.leaseMs ?? envInt('OOBKIT_LEASE_MS') ?? CONFIG_DEFAULTS.leaseMs,
      'leaseMs',
      1000,
      86_400_000,
    ),
    instanceId: str(
      overrides.instanceId ?? e('OOBKIT_INSTANCE_ID') ?? `${hostname()}-${process.pid}`,
      'instanceId',
    ),
    logLevel: level(overrides.logLevel ?? e('OOBKIT_LOG_LEVEL') ?? CONFIG_DEFAULTS.logLevel),
    events: {
      retentionDays: range(
        overrides.events?.retentionDays ??
          envInt('OOBKIT_EVENT_RETENTION_DAYS') ??
          CONFIG_DEFAULTS.events.retentionDays,
        'events.retentionDays',
        0,
        36_500,
      ),
      helloDropWindowMs: range(
        overrides.events?.helloDropWindowMs ??
          envInt('OOBKIT_HELLO_DROP_WINDOW_MS') ??
          CONFIG_DEFAULTS.events.helloDropWindowMs,
        'events.helloDropWindowMs',
        0,
        7 * 86_400_000,
      ),
      helloDropsPerMinute: range(
        overrides.events?.helloDropsPerMinute ??
          envInt('OOBKIT_HELLO_DROPS_PER_MINUTE') ??
          CONFIG_DEFAULTS.events.helloDropsPerMinute,
        'events.helloDropsPerMinute',
        0,
        1_000_000,
      ),
    },
  };
  return {
    ...cfg,
    api: { ...cfg.api, token: resolveApiToken(overrides.api?.token, dataDir, env, 'create') },
  };
}

/**
 * The admin API token: `token` (an override), else `OOBKIT_API_TOKEN`, else the one saved in
 * `<dataDir>/api-token`. `create` (a service) generates and saves one (mode 0600) when there is
 * none; `read` (a client of the API) only reads an existing file, and undefined then means there
 * is no token anywhere: a client must not leave a token file behind that no service uses.
 * Throws `ConfigError` for a token shorter than 16 characters, wherever it comes from.
 */
export function resolveApiToken(
  token: unknown,
  dataDir: string,
  env: NodeJS.ProcessEnv,
  mode: 'create',
): string;
export function resolveApiToken(
  token: unknown,
  dataDir: string,
  env: NodeJS.ProcessEnv,
  mode: 'read',
): string | undefined;
export function resolveApiToken(
  token: unknown,
  dataDir: string,
  env: NodeJS.ProcessEnv,
  mode: 'create' | 'read',
): string | undefined {
  const given = token ?? (env.OOBKIT_API_TOKEN === '' ? undefined : env.OOBKIT_API_TOKEN);
  if (given !== undefined) {
    if (typeof given !== 'string' || given.length < API_TOKEN_MIN_LENGTH) {
      throw new ConfigError(`api.token must be at least ${API_TOKEN_MIN_LENGTH} characters`, 'api.token');
    }
    return given;
  }
  const path = join(dataDir, API_TOKEN_FILE);
  return mode === 'create' ? loadOrCreateToken(dataDir, path) : readTokenFile(path);
}

/** The token saved at `path`; undefined when there is no such file. */
function readTokenFile(path: string): string | undefined {
  let t: string;
  try {
    t = readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${path}`, 'api.token');
  }
  if (t.length >= API_TOKEN_MIN_LENGTH) return t;
  throw new ConfigError(
    `${path} holds no usable token (${API_TOKEN_MIN_LENGTH} characters or more)`,
    'api.token',
  );
}

function loadOrCreateToken(dataDir: string, path: string): string {
  const saved = readTokenFile(path);
  if (saved !== undefined) return saved;
  const token = randomBytes(32).toString('base64url');
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
    return token;
  } catch (err) {
    // Another process wrote it first: use theirs.
    if ((err as { code?: unknown }).code === 'EEXIST') return readFileSync(path, 'utf8').trim();
    throw new ConfigError(`cannot write the API token to ${path}`, 'api.token');
  }
}

/** A PostgreSQL URL, checked for its scheme only (the driver reads the rest), or nothing. */
function databaseUrl(url: unknown): { databaseUrl?: string } {
  if (url === undefined) return {};
  const u = str(url, 'databaseUrl');
  if (!/^postgres(ql)?:\/\/./.test(u)) {
    throw new ConfigError(
      'databaseUrl must be a postgres:// or postgresql:// URL (leave it unset for the SQLite file)',
      'databaseUrl',
    );
  }
  return { databaseUrl: u };
}

/** Both TLS files or neither, as absolute paths (the files are read when the API starts). */
function apiTls(cert: unknown, key: unknown): { tlsCert?: string; tlsKey?: string } {
  if (cert === undefined && key === undefined) return {};
  if (cert === undefined || key === undefined) {
    throw new ConfigError(
      'api.tlsCert and api.tlsKey go together',
      cert === undefined ? 'api.tlsCert' : 'api.tlsKey',
    );
  }
  return { tlsCert: resolve(str(cert, 'api.tlsCert')), tlsKey: resolve(str(key, 'api.tlsKey')) };
}

function str(v: unknown, setting: string): string {
  if (typeof v !== 'string' || v.trim() === '')
    throw new ConfigError(`${setting} must be a non-empty string`, setting);
  return v;
}

function range(v: unknown, setting: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${setting} must be a whole number from ${min} to ${max}`, setting);
  }
  return v;
}

function port(v: unknown, setting: string): number {
  return range(v, setting, CONFIG_LIMITS.port.min, CONFIG_LIMITS.port.max);
}

/**
 * The log level `override` or `OOBKIT_LOG_LEVEL` sets, checked as `resolveConfig` checks it;
 * undefined when neither does (for a caller with its own default, as the demo).
 */
export function logLevelFrom(override: unknown, env: NodeJS.ProcessEnv): LogLevelSetting | undefined {
  const v = override ?? (env.OOBKIT_LOG_LEVEL === '' ? undefined : env.OOBKIT_LOG_LEVEL);
  return v === undefined ? undefined : level(v);
}

function level(v: unknown): LogLevelSetting {
  if (!LOG_LEVELS.includes(v as LogLevelSetting)) {
    throw new ConfigError(`logLevel must be one of ${LOG_LEVELS.join(', ')}`, 'logLevel');
  }
  return v as LogLevelSetting;
}
