/**
 * JSON Schemas of the admin API: they validate requests, shape responses (fields not listed here
 * are never sent — a second guard that no password or key leaves the service) and feed the
 * OpenAPI document. Only keywords common to JSON Schema draft-07 and OpenAPI 3.1 are used.
 */

import { POWER_SCHEME_NUMBERS, REDACTED, SETTINGS_KEYS } from '../store/settings.js';
import { DEVICE_STATUSES, JOB_STATES } from '../store/types.js';

export type JsonSchema = Record<string, unknown>;

const str = (min: number, max: number, extra: JsonSchema = {}): JsonSchema => ({
  type: 'string',
  minLength: min,
  maxLength: max,
  ...extra,
});
const int = (min: number, max: number): JsonSchema => ({ type: 'integer', minimum: min, maximum: max });
const obj = (
  properties: Record<string, JsonSchema>,
  required: string[] = [],
  extra: JsonSchema = {},
): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  properties,
  required,
  ...extra,
});
const time: JsonSchema = { type: 'string', format: 'date-time' };
const hashAlgorithm: JsonSchema = { type: 'string', enum: ['sha1', 'sha256', 'sha384'] };

export const uuid: JsonSchema = {
  type: 'string',
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
  description: 'SMBIOS UUID (case-insensitive; stored lower-case)',
};

export const errorBody = obj(
  {
    code: { type: 'string', description: 'stable machine-readable error code' },
    message: { type: 'string' },
    details: {},
  },
  ['code', 'message'],
);

export const uuidParams = obj({ uuid }, ['uuid']);
export const idParams = obj({ id: int(1, Number.MAX_SAFE_INTEGER) }, ['id']);

export const computerIn = obj(
  {
    uuid,
    hostName: str(1, 63, { description: 'host name AMT gets (one DNS label)' }),
    domainName: str(1, 253, { description: 'DNS domain AMT gets' }),
    ou: str(0, 1024, { description: 'directory container / OU for the AMT account' }),
  },
  ['uuid', 'hostName', 'domainName'],
);

export const computerOut = obj(
  {
    uuid: { type: 'string' },
    hostName: { type: 'string' },
    domainName: { type: 'string' },
    ou: { type: 'string' },
    source: { type: 'string', enum: ['import', 'registration'] },
    importedAt: time,
  },
  ['uuid', 'hostName', 'domainName', 'source', 'importedAt'],
);

export const importResult = obj({ created: { type: 'integer' }, updated: { type: 'integer' } }, [
  'created',
  'updated',
]);

export const enabledIn = obj({ enabled: { type: 'boolean' } }, ['enabled']);

export const credentialIn = obj(
  {
    label: str(1, 100),
    username: str(1, 16, { pattern: '^[\\x21-\\x7e]+$' }),
    password: str(1, 32, { writeOnly: true }),
    priority: {
      type: 'integer',
      minimum: -1_000_000,
      maximum: 1_000_000,
      default: 0,
      description: 'lower is tried first',
    },
  },
  ['label', 'username', 'password'],
);

export const credentialOut = obj(
  {
    id: { type: 'integer' },
    label: { type: 'string' },
    username: { type: 'string' },
    priority: { type: 'integer' },
  },
  ['id', 'label', 'username', 'priority'],
);

/**
 * A secret setting: exactly "***" (keep the stored value) or a new value of the length
 * `validateSettings` (src/store/settings.ts) accepts, so that the schema — and the OpenAPI
 * document — say what is really accepted and a short value is refused here, in the API's shape.
 */
const secretField = (min: number, max: number, what: string): JsonSchema => ({
  type: 'string',
  description: `${what}; secret: reads as "${REDACTED}", and "${REDACTED}" written back keeps the stored value`,
  anyOf: [{ const: REDACTED }, { minLength: min, maxLength: max }],
});

export const settings = obj(
  {
    features: obj(
      {
        ping: { type: 'boolean' },
        webUi: { type: 'boolean' },
        sol: { type: 'boolean' },
        ider: { type: 'boolean' },
      },
      ['ping', 'webUi', 'sol', 'ider'],
    ),
    userAcls: {
      type: 'array',
      maxItems: 64,
      items: obj(
        {
          username: str(1, 16),
          password: secretField(8, 32, 'digest user password (AMT password policy)'),
          kerberosSid: str(1, 256, { description: 'base64 binary SID of an AD user or group' }),
          accessPermission: { type: 'integer', enum: [0, 1, 2], description: '0 local, 1 network, 2 both' },
          realms: { type: 'array', items: int(1, 31), minItems: 1, maxItems: 31 },
        },
        ['accessPermission', 'realms'],
      ),
    },
    kerberos: obj({ enabled: { type: 'boolean' } }, ['enabled']),
    powerBehaviour: { type: 'string', enum: ['SP1', 'SP2'] },
    powerScheme: {
      type: 'integer',
      enum: [...POWER_SCHEME_NUMBERS],
      description:
        'ConfigMgr power scheme number used with SP2: 1 on in S0 only … 5 AMT on in S0–S5 on AC (see CONFIGMGR_POWER_SCHEMES)',
    },
    wifiProfiles: {
      type: 'array',
      maxItems: 16,
      items: obj(
        {
          name: str(1, 32),
          ssid: str(1, 32),
          priority: int(1, 255),
          authenticationMethod: { type: 'integer', enum: [1, 2, 3, 4, 5, 6, 7, 32768, 32769] },
          encryptionMethod: { type: 'integer', enum: [1, 2, 3, 4, 5, 32768] },
          pskPassphrase: secretField(8, 63, 'WPA/WPA2 PSK passphrase'),
        },
        ['name', 'ssid', 'priority', 'authenticationMethod', 'encryptionMethod'],
      ),
    },
    wired8021x: obj(
      {
        enabled: { type: 'boolean' },
        authenticationProtocol: int(0, 65535),
        serverCertificateName: str(1, 80),
        username: str(1, 128),
        password: secretField(1, 32, '802.1X password'),
      },
      ['enabled', 'authenticationProtocol'],
    ),
    mebxPassword: secretField(
      8,
      32,
      'MEBx password set on devices whose MEBx password is still the factory one (AMT password policy)',
    ),
    adminUsername: str(1, 16),
  },
  // Every field the store knows, the 802.1X profile excepted (it may be left out).
  SETTINGS_KEYS.filter((k) => k !== 'wired8021x'),
);

const rootHashes = obj(
  {
    sha1: { type: 'string' },
    sha256: { type: 'string' },
    sha384: { type: 'string' },
  },
  ['sha1', 'sha256', 'sha384'],
);

export const certificateIn: JsonSchema = {
  oneOf: [
    obj(
      {
        name: str(1, 200),
        certPem: str(1, 1_000_000, { description: 'PEM certificates of the chain, any order' }),
        keyPem: str(1, 100_000, { writeOnly: true, description: 'PEM private key of the leaf' }),
        keyPassphrase: str(1, 1024, { writeOnly: true }),
        enabled: { type: 'boolean', description: 'default true' },
      },
      ['name', 'certPem', 'keyPem'],
    ),
    obj(
      {
        name: str(1, 200),
        pfx: str(1, 2_000_000, {
          contentEncoding: 'base64',
          writeOnly: true,
          description: 'PKCS#12 file, base64',
        }),
        password: str(0, 1024, { writeOnly: true }),
        enabled: { type: 'boolean', description: 'default true' },
      },
      ['name', 'pfx', 'password'],
    ),
  ],
};

export const certificateOut = obj(
  {
    id: { type: 'integer' },
    name: { type: 'string' },
    certPem: { type: 'string', description: 'leaf → root' },
    rootHashes,
    enabled: { type: 'boolean' },
    createdAt: time,
    notBefore: { ...time, description: "the leaf's validity (absent if the PEM does not parse)" },
    notAfter: { ...time, description: "the leaf's validity end: renew before it" },
  },
  ['id', 'name', 'certPem', 'rootHashes', 'enabled', 'createdAt'],
);

const lastError = obj({ code: { type: 'string' }, message: { type: 'string' }, step: { type: 'string' } }, [
  'code',
  'message',
]);

const deviceStatus = {
  type: 'string',
  enum: [...DEVICE_STATUSES],
};

const deviceProps = {
  uuid: { type: 'string' },
  status: deviceStatus,
  address: { type: 'string' },
  amtVersion: { type: 'string' },
  lastHelloAt: time,
  lastHello: obj(
    {
      retryCount: { type: 'integer' },
      algorithms: { type: 'array', items: hashAlgorithm },
      matches: {
        type: 'array',
        items: obj(
          { certificateId: { type: 'integer' }, algorithm: hashAlgorithm, hash: { type: 'string' } },
          ['certificateId', 'algorithm', 'hash'],
        ),
      },
      receivedAt: time,
      address: {
        type: 'string',
        description:
          'where it came from; for a device on record as provisioned it may differ from `address` (a hello does not move it)',
      },
    },
    ['retryCount', 'algorithms', 'matches', 'receivedAt'],
    {
      description:
        'the last hello accepted for provisioning: which provisioning certificates its hashes matched',
    },
  ),
  provisionedAt: time,
  lastError,
  updatedAt: time,
};

export const device = obj(deviceProps, ['uuid', 'status', 'updatedAt']);

export const jobState = { type: 'string', enum: [...JOB_STATES] };

export const job = obj(
  {
    id: { type: 'integer' },
    uuid: { type: 'string' },
    reason: { type: 'string', enum: ['hello', 'manual', 'retry', 'unprovision', 'in-band'] },
    state: jobState,
    journal: {
      type: 'object',
      additionalProperties: true,
      description: 'completed steps and their non-secret output',
    },
    step: { type: 'string' },
    attempts: { type: 'integer' },
    leaseOwner: { type: 'string' },
    leaseExpiresAt: time,
    fencingToken: { type: 'integer' },
    lastError,
    createdAt: time,
    updatedAt: time,
  },
  ['id', 'uuid', 'reason', 'state', 'journal', 'attempts', 'fencingToken', 'createdAt', 'updatedAt'],
);

export const deviceDetail = obj(
  {
    ...deviceProps,
    computer: computerOut,
    latestJob: job,
    secrets: {
      type: 'array',
      description: 'the device secrets on record, never their values',
      items: obj(
        {
          id: { type: 'integer' },
          kind: { type: 'string', enum: ['admin', 'mebx', 'directory'] },
          state: { type: 'string', enum: ['pending', 'current', 'retired'] },
          createdAt: time,
          confirmedAt: time,
        },
        ['id', 'kind', 'state', 'createdAt'],
      ),
    },
  },
  ['uuid', 'status', 'updatedAt', 'secrets'],
);

export const event = obj(
  {
    id: { type: 'integer' },
    at: time,
    level: { type: 'string', enum: ['debug', 'info', 'warn', 'error'] },
    type: { type: 'string' },
    uuid: { type: 'string' },
    jobId: { type: 'integer' },
    step: { type: 'string' },
    message: { type: 'string' },
    durationMs: { type: 'number' },
    data: { type: 'object', additionalProperties: true },
  },
  ['id', 'at', 'level', 'type', 'message'],
);

const limit = { ...int(1, 10_000), description: 'at most this many (default 100)' };
const afterId = { ...int(0, Number.MAX_SAFE_INTEGER), description: 'only events after this id (tailing)' };

export const eventsQuery = obj({
  uuid,
  jobId: int(0, Number.MAX_SAFE_INTEGER),
  type: str(1, 200),
  afterId,
  limit,
});
export const deviceEventsQuery = obj({ type: str(1, 200), afterId, limit });
export const devicesQuery = obj({ status: deviceStatus });
export const jobsQuery = obj({ uuid, state: jobState, limit });

/** No query parameters: the querystring schema of a route that takes none, so unknown ones are refused. */
export const noQuery = obj({});
/** A body that may only be `{}` (or absent). */
export const emptyObject = obj({});

export const startJobIn = obj({ reason: { type: 'string', enum: ['manual', 'retry'], default: 'manual' } });
export const enqueued = obj({ job, created: { type: 'boolean' } }, ['job', 'created']);
export const health = obj({ status: { type: 'string', enum: ['ok'] } }, ['status']);
const countsOf = (keys: readonly string[]) =>
  obj(Object.fromEntries(keys.map((k) => [k, { type: 'integer', minimum: 0 }])), [...keys]);
/** `SiteStore.countByState()`: every status and state a key, zero when none. */
export const summary = obj({ devices: countsOf(DEVICE_STATUSES), jobs: countsOf(JOB_STATES) }, [
  'devices',
  'jobs',
]);
export const readiness = obj(
  {
    ready: { type: 'boolean', description: 'true when nothing blocks provisioning' },
    blockers: {
      type: 'array',
      items: { type: 'string' },
      description: 'what keeps the site from provisioning anything, each with its fix',
    },
    warnings: {
      type: 'array',
      items: { type: 'string' },
      description: 'the blockers, then what needs attention without blocking (a certificate about to expire)',
    },
  },
  ['ready', 'blockers', 'warnings'],
);
