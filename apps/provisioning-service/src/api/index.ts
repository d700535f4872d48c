import { createHash, timingSafeEqual } from 'node:crypto';
import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ProvisioningCertError } from '@oobkit/provisioning-cert';
import { Ajv, type Options as AjvOptions } from 'ajv';
import ajvFormats from 'ajv-formats';
import Fastify, {
  type ConnectionError,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchemaCompiler,
} from 'fastify';
import { withAdminAudit } from '../audit.js';
import { parseComputersCsv } from '../csv.js';
import {
  type JobRequestOutcome,
  jobConflictMessage,
  requestProvisioning,
  requestUnprovision,
} from '../jobs.js';
import type { Logger } from '../log.js';
import { METRICS_CONTENT_TYPE } from '../metrics.js';
import { readinessReport } from '../readiness.js';
import { ApiError, ServiceError, StoreInputError } from '../store/errors.js';
import { redactSettings, restoreRedacted, validateSettings } from '../store/settings.js';
import type {
  DeviceStatus,
  ImportedComputer,
  Job,
  JobState,
  ProvisioningSettings,
  SiteStore,
} from '../store/types.js';
import { parseCertificateBody } from './certificates.js';
import { buildOpenApiDocument, type RouteSpec } from './openapi.js';
import * as S from './schemas.js';
import { type CertificateBody, deviceDetail, publicCertificate } from './views.js';

export interface AdminApiOptions {
  store: SiteStore;
  /** The bearer token every route but `/health` and `/openapi.json` requires. */
  token: string;
  logger?: Logger;
  /** Called after a job is queued through the API, so the service can wake a worker. */
  onJobQueued?: (job: Job) => void;
  /** Largest request body in bytes (imports can be big); default 16 MiB. */
  bodyLimit?: number;
  /** Serve HTTPS with this PEM certificate chain and key (default: plain HTTP). */
  https?: { cert: string; key: string };
  /** The Prometheus exposition text for `GET /metrics` (the route is 404 without it). */
  metrics?: () => Promise<string>;
}

const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;

/**
 * The admin HTTP API (fastify): bearer-token authentication compared in constant time, a JSON
 * Schema on every route, an OpenAPI 3.1 document at `/openapi.json`, and one error shape —
 * `{ code, message, details? }` with a stable `code` — for every refusal. Bad input is refused
 * with 400 before anything changes. Passwords and private keys are accepted, never returned.
 * The caller listens (`await app.listen(...)`) and closes it.
 */
export async function buildAdminApi(opts: AdminApiOptions): Promise<FastifyInstance> {
  // Administrative changes made here leave an event each (`by: 'api'`).
  const store = withAdminAudit(opts.store, 'api');
  if (typeof opts.token !== 'string' || opts.token.length < 16) {
    throw new ApiError(500, 'API_INTERNAL', 'the API token must be at least 16 characters');
  }
  const tokenDigest = sha256(opts.token);
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    ...(opts.https
      ? { https: { cert: opts.https.cert, key: opts.https.key, minVersion: 'TLSv1.2' as const } }
      : {}),
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit,
    // What fastify refuses before routing (a bad %-escape, a path parameter over 100 characters)
    // and what Node's HTTP parser refuses (malformed request, framing, headers) get our shape too.
    frameworkErrors: (err, req, reply) => sendError(err, req, reply),
    clientErrorHandler: answerClientError,
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler());

  // Only the media types the OpenAPI document lists: JSON everywhere, CSV where a route says so.
  // fastify's default text/plain parser would let text/plain through as CSV.
  app.removeContentTypeParser(['text/plain', 'application/json']);
  // fastify's own JSON parser (refusing `__proto__` and `constructor.prototype`), except that an
  // empty body is no body where the body is optional; elsewhere it stays API_INVALID_JSON.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser<string>(
    'application/json',
    { parseAs: 'string', bodyLimit },
    (req, body, done) => {
      if (body.length === 0 && routeConfig(req).bodyOptional) return done(null, undefined);
      parseJson(req, body, done);
    },
  );
  app.addContentTypeParser<string>('text/csv', { parseAs: 'string', bodyLimit }, (req, body, done) => {
    if (!routeConfig(req).csv) {
      return done(
        new ApiError(
          415,
          'API_UNSUPPORTED_MEDIA_TYPE',
          `${req.method} ${req.routeOptions.url} does not take text/csv`,
        ),
        undefined,
      );
    }
    done(null, body);
  });

  app.addHook('onRequest', async (req) => {
    if (routeConfig(req).public) return;
    const given = bearerToken(req.headers.authorization);
    // Comparing digests keeps the comparison constant-time whatever the lengths.
    if (!given || !timingSafeEqual(sha256(given), tokenDigest)) {
      throw new ApiError(401, 'API_UNAUTHORIZED', 'a valid bearer token is required');
    }
  });

  app.setErrorHandler((err: FastifyError | Error, req, reply) => sendError(err, req, reply));
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send({ code: 'API_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );

  const notFound = (what: string, id: string | number) =>
    new ApiError(404, 'API_NOT_FOUND', `${what} ${id} not found`);
  const queued = (job: Job) => {
    try {
      opts.onJobQueued?.(job);
    } catch (err) {
      app.log.error({ err, jobId: job.id }, 'onJobQueued failed');
    }
  };
  /** 202 with a new job, 200 with the one already there, 404, or 409 for another kind of job. */
  const answerJobRequest = (
    reply: FastifyReply,
    uuid: string,
    what: 'computer' | 'device',
    r: JobRequestOutcome,
  ) => {
    if (r.outcome === 'not-found') throw notFound(what, uuid);
    if (r.outcome === 'conflict') {
      throw new ApiError(409, 'API_JOB_CONFLICT', jobConflictMessage(r.job), { jobId: r.job.id });
    }
    if (r.outcome === 'queued') queued(r.job);
    return reply
      .code(r.outcome === 'queued' ? 202 : 200)
      .send({ job: r.job, created: r.outcome === 'queued' });
  };

  const routes: RouteSpec[] = [
    {
      method: 'GET',
      url: '/health',
      summary: 'Liveness: the service answers and its store responds',
      tags: ['service'],
      public: true,
      responses: {
        200: { description: 'healthy', schema: S.health },
        503: { description: 'store unavailable', schema: S.errorBody },
      },
      handler: async () => {
        try {
          await store.listJobs({ limit: 1 });
        } catch (cause) {
          throw new ApiError(503, 'API_UNAVAILABLE', 'the site store does not respond', undefined, { cause });
        }
        return { status: 'ok' };
      },
    },
    {
      method: 'GET',
      url: '/summary',
      summary: 'How many devices are in each status and jobs in each state, site-wide (counted from indexes)',
      tags: ['service'],
      responses: { 200: { description: 'the counts', schema: S.summary } },
      handler: () => store.countByState(),
    },
    {
      method: 'GET',
      url: '/readiness',
      summary:
        'What keeps the site from provisioning (certificates, credentials, computers), each with its fix',
      tags: ['service'],
      responses: {
        200: {
          description: 'ready (no blocker), what blocks provisioning, and every warning',
          schema: S.readiness,
        },
      },
      handler: async () => {
        const r = await readinessReport(store);
        // `warnings` lists everything (blockers first), as before `blockers` was added.
        return { ready: r.ready, blockers: r.blockers, warnings: [...r.blockers, ...r.warnings] };
      },
    },
    ...(opts.metrics
      ? [
          {
            method: 'GET',
            url: '/metrics',
            summary:
              'Prometheus metrics: this instance’s hello, job and worker counters, and the site’s devices by status and jobs by state',
            tags: ['service'],
            responses: {
              200: {
                description: 'the text exposition format 0.0.4',
                contentType: 'text/plain',
                schema: { type: 'string' },
              },
            },
            handler: async (_req, reply) => {
              const text = await (opts.metrics as () => Promise<string>)();
              return reply.header('content-type', METRICS_CONTENT_TYPE).send(text);
            },
          } satisfies RouteSpec,
        ]
      : []),
    {
      method: 'POST',
      url: '/computers',
      summary:
        'Import computers for out-of-band management (JSON array or CSV with header uuid,hostName,domainName,ou)',
      tags: ['computers'],
      body: { type: 'array', maxItems: 100_000, items: S.computerIn },
      csv: true,
      responses: {
        200: { description: 'imported (UUIDs already known are updated)', schema: S.importResult },
      },
      handler: async (req) => {
        const list: Omit<ImportedComputer, 'importedAt'>[] =
          typeof req.body === 'string'
            ? parseComputersCsv(req.body)
            : (req.body as Omit<ImportedComputer, 'importedAt' | 'source'>[]).map((c) => ({
                ...c,
                source: 'import',
              }));
        return store.importComputers(list);
      },
    },
    {
      method: 'GET',
      url: '/computers',
      summary: 'List imported computers',
      tags: ['computers'],
      responses: { 200: { description: 'computers', schema: { type: 'array', items: S.computerOut } } },
      handler: () => store.listComputers(),
    },
    {
      method: 'GET',
      url: '/computers/:uuid',
      summary: 'Get one imported computer',
      tags: ['computers'],
      params: S.uuidParams,
      responses: { 200: { description: 'the computer', schema: S.computerOut }, 404: notFoundResponse },
      handler: async (req) => {
        const { uuid } = req.params as { uuid: string };
        return (await store.getComputer(uuid)) ?? throwIt(notFound('computer', uuid));
      },
    },
    {
      method: 'DELETE',
      url: '/computers/:uuid',
      summary: 'Remove an imported computer (its device record and secrets are kept)',
      tags: ['computers'],
      params: S.uuidParams,
      responses: { 204: { description: 'deleted' }, 404: notFoundResponse },
      handler: async (req, reply) => {
        const { uuid } = req.params as { uuid: string };
        if (!(await store.deleteComputer(uuid))) throw notFound('computer', uuid);
        return reply.code(204).send();
      },
    },
    {
      method: 'POST',
      url: '/credentials',
      summary: 'Add an AMT provisioning/discovery credential (tried in priority order)',
      tags: ['credentials'],
      body: S.credentialIn,
      responses: { 201: { description: 'added (the password is never returned)', schema: S.credentialOut } },
      handler: async (req, reply) => {
        const b = req.body as { label: string; username: string; password: string; priority?: number };
        const c = await store.addCredential({ ...b, priority: b.priority ?? 0 });
        return reply.code(201).send({ id: c.id, label: c.label, username: c.username, priority: c.priority });
      },
    },
    {
      method: 'GET',
      url: '/credentials',
      summary: 'List credentials (without passwords)',
      tags: ['credentials'],
      responses: { 200: { description: 'credentials', schema: { type: 'array', items: S.credentialOut } } },
      handler: async () =>
        (await store.listCredentials()).map((c) => ({
          id: c.id,
          label: c.label,
          username: c.username,
          priority: c.priority,
        })),
    },
    {
      method: 'DELETE',
      url: '/credentials/:id',
      summary: 'Delete a credential',
      tags: ['credentials'],
      params: S.idParams,
      responses: { 204: { description: 'deleted' }, 404: notFoundResponse },
      handler: async (req, reply) => {
        const { id } = req.params as { id: number };
        if (!(await store.deleteCredential(id))) throw notFound('credential', id);
        return reply.code(204).send();
      },
    },
    {
      method: 'GET',
      url: '/settings',
      summary: 'Provisioning settings, secrets shown as "***"',
      tags: ['settings'],
      responses: { 200: { description: 'settings', schema: S.settings } },
      handler: async () => redactSettings(await store.getSettings()),
    },
    {
      method: 'PUT',
      url: '/settings',
      summary: 'Replace the provisioning settings ("***" in a secret field keeps the stored value)',
      tags: ['settings'],
      body: S.settings,
      responses: { 200: { description: 'the stored settings, secrets shown as "***"', schema: S.settings } },
      handler: async (req) => {
        const next: ProvisioningSettings = validateSettings(
          restoreRedacted(req.body, await store.getSettings()),
        );
        await store.putSettings(next);
        return redactSettings(next);
      },
    },
    {
      method: 'POST',
      url: '/provisioning-certificates',
      summary: 'Add a provisioning certificate chain with its key (PEM chain + key, or PFX + password)',
      tags: ['provisioning certificates'],
      body: S.certificateIn,
      responses: {
        201: { description: 'added (the key is never returned)', schema: S.certificateOut },
      },
      handler: async (req, reply) => {
        const c = await store.addProvisioningCertificate(
          await parseCertificateBody(req.body as CertificateBody),
        );
        return reply.code(201).send(publicCertificate(c));
      },
    },
    {
      method: 'GET',
      url: '/provisioning-certificates',
      summary: 'List provisioning certificates (without keys)',
      tags: ['provisioning certificates'],
      responses: { 200: { description: 'certificates', schema: { type: 'array', items: S.certificateOut } } },
      handler: async () => (await store.listProvisioningCertificateInfo()).map(publicCertificate),
    },
    {
      method: 'PUT',
      url: '/provisioning-certificates/:id/enabled',
      summary: 'Turn a provisioning certificate on or off for new jobs (e.g. the old one after a renewal)',
      tags: ['provisioning certificates'],
      params: S.idParams,
      body: S.enabledIn,
      responses: { 200: { description: 'the certificate', schema: S.certificateOut }, 404: notFoundResponse },
      handler: async (req) => {
        const { id } = req.params as { id: number };
        const { enabled } = req.body as { enabled: boolean };
        if (!(await store.setProvisioningCertificateEnabled(id, enabled)))
          throw notFound('provisioning certificate', id);
        const c = (await store.listProvisioningCertificateInfo()).find((x) => x.id === id);
        return c ? publicCertificate(c) : throwIt(notFound('provisioning certificate', id));
      },
    },
    {
      method: 'DELETE',
      url: '/provisioning-certificates/:id',
      summary: 'Delete a provisioning certificate and its key',
      tags: ['provisioning certificates'],
      params: S.idParams,
      responses: { 204: { description: 'deleted' }, 404: notFoundResponse },
      handler: async (req, reply) => {
        const { id } = req.params as { id: number };
        if (!(await store.deleteProvisioningCertificate(id))) throw notFound('provisioning certificate', id);
        return reply.code(204).send();
      },
    },
    {
      method: 'GET',
      url: '/devices',
      summary: 'Devices and their provisioning status',
      tags: ['devices'],
      query: S.devicesQuery,
      responses: { 200: { description: 'devices', schema: { type: 'array', items: S.device } } },
      handler: (req) => {
        const { status } = req.query as { status?: DeviceStatus };
        return store.listDevices(status ? { status } : {});
      },
    },
    {
      method: 'GET',
      url: '/devices/:uuid',
      summary: 'One device: status, import data, latest job and which secrets are on record',
      tags: ['devices'],
      params: S.uuidParams,
      responses: { 200: { description: 'the device', schema: S.deviceDetail }, 404: notFoundResponse },
      handler: async (req) => {
        const { uuid } = req.params as { uuid: string };
        return (await deviceDetail(store, uuid)) ?? throwIt(notFound('device', uuid));
      },
    },
    {
      method: 'GET',
      url: '/devices/:uuid/events',
      summary: "One device's events",
      tags: ['devices', 'events'],
      params: S.uuidParams,
      query: S.deviceEventsQuery,
      responses: { 200: { description: 'events, oldest first', schema: { type: 'array', items: S.event } } },
      handler: (req) => {
        const { uuid } = req.params as { uuid: string };
        return store.listEvents({
          ...(req.query as { type?: string; afterId?: number; limit?: number }),
          uuid,
        });
      },
    },
    {
      method: 'POST',
      url: '/devices/:uuid/jobs',
      summary: 'Start (reason manual) or retry (reason retry) provisioning of an imported computer',
      tags: ['devices', 'jobs'],
      params: S.uuidParams,
      body: S.startJobIn,
      bodyOptional: true,
      responses: {
        202: { description: 'queued', schema: S.enqueued },
        200: {
          description: 'a job was already queued or running for the device; that one is returned',
          schema: S.enqueued,
        },
        404: notFoundResponse,
      },
      handler: async (req, reply) => {
        const { uuid } = req.params as { uuid: string };
        const reason = (req.body as { reason?: 'manual' | 'retry' } | undefined)?.reason ?? 'manual';
        return answerJobRequest(reply, uuid, 'computer', await requestProvisioning(store, uuid, reason));
      },
    },
    {
      method: 'POST',
      url: '/devices/:uuid/unprovision',
      summary: 'Queue an unprovision job for a known device',
      tags: ['devices', 'jobs'],
      params: S.uuidParams,
      body: S.emptyObject,
      bodyOptional: true,
      responses: {
        202: { description: 'queued', schema: S.enqueued },
        200: { description: 'an unprovision job was already queued or running', schema: S.enqueued },
        404: notFoundResponse,
        409: { description: 'another job is queued or running for the device', schema: S.errorBody },
      },
      handler: async (req, reply) => {
        const { uuid } = req.params as { uuid: string };
        return answerJobRequest(reply, uuid, 'device', await requestUnprovision(store, uuid));
      },
    },
    {
      method: 'GET',
      url: '/events',
      summary: 'The event log',
      tags: ['events'],
      query: S.eventsQuery,
      responses: { 200: { description: 'events, oldest first', schema: { type: 'array', items: S.event } } },
      handler: (req) => store.listEvents(req.query as Parameters<SiteStore['listEvents']>[0]),
    },
    {
      method: 'GET',
      url: '/jobs',
      summary: 'Jobs, newest first',
      tags: ['jobs'],
      query: S.jobsQuery,
      responses: { 200: { description: 'jobs', schema: { type: 'array', items: S.job } } },
      handler: (req) => store.listJobs(req.query as { uuid?: string; state?: JobState; limit?: number }),
    },
    {
      method: 'GET',
      url: '/jobs/:id',
      summary: 'One job with its journal',
      tags: ['jobs'],
      params: S.idParams,
      responses: { 200: { description: 'the job', schema: S.job }, 404: notFoundResponse },
      handler: async (req) => {
        const { id } = req.params as { id: number };
        return (await store.getJob(id)) ?? throwIt(notFound('job', id));
      },
    },
  ];

  // Every protected route refuses query parameters it does not know, whether or not it takes any;
  // the public probes (`/health`, `/openapi.json`) stay lenient.
  const specs = routes.map((r): RouteSpec => (r.query || r.public ? r : { ...r, query: S.noQuery }));
  const document = buildOpenApiDocument(specs);
  app.get('/openapi.json', { config: { public: true } }, async () => document);

  for (const r of specs) {
    const response: Record<number, unknown> = {};
    for (const [status, res] of Object.entries(r.responses))
      if (res.schema && res.contentType === undefined) response[Number(status)] = res.schema;
    const schema: Record<string, unknown> = { response };
    if (r.params) schema.params = r.params;
    if (r.query) schema.querystring = r.query;
    if (r.body) {
      schema.body = r.csv
        ? { content: { 'application/json': { schema: r.body }, 'text/csv': { schema: { type: 'string' } } } }
        : r.body;
    }
    const config: RouteConfig = {
      public: r.public === true,
      csv: r.csv === true,
      bodyOptional: r.bodyOptional === true,
    };
    app.route({
      method: r.method,
      url: r.url,
      schema,
      config,
      ...(r.body
        ? {
            // No body at all (no Content-Type, or Content-Length 0): `{}` where it is optional,
            // else a 400 here — a per-content-type schema would not even see it.
            preValidation: async (req: FastifyRequest) => {
              if (req.body !== undefined) return;
              if (r.bodyOptional) req.body = {};
              else throw new ApiError(400, 'API_VALIDATION_FAILED', `a ${bodyKind(r)} body is required`);
            },
          }
        : {}),
      handler: r.handler,
    });
  }
  return app;
}

/** What a route's `config` carries for the hooks and body parsers. */
interface RouteConfig {
  public: boolean;
  /** The route takes text/csv besides JSON. */
  csv: boolean;
  bodyOptional: boolean;
}

/** The route's config; empty (so protected, JSON only) for unknown URLs. */
function routeConfig(req: FastifyRequest): Partial<RouteConfig> {
  return (req.routeOptions.config ?? {}) as Partial<RouteConfig>;
}

/** What a route's body is, for messages: "JSON array or a text/csv", "JSON object". */
function bodyKind(r: RouteSpec): string {
  const json = `JSON ${r.body?.type === 'array' ? 'array' : 'object'}`;
  return r.csv ? `${json} or a text/csv` : json;
}

// ajv-formats is CommonJS: under NodeNext its default import types as `module.exports`, whose
// `default` is the plugin (at run time `module.exports` is the plugin and has that `default` too).
const addFormats = ajvFormats.default;

/** Ajv options as fastify's default compiler has them, except that unknown fields are refused. */
const AJV_OPTIONS: AjvOptions = {
  removeAdditional: false,
  useDefaults: true,
  addUsedSchema: false,
  // allErrors would let one request make Ajv collect errors without bound (a DoS).
  allErrors: false,
};

/**
 * One Ajv per kind of input (fastify's `schemaCompilers` pattern): a JSON body carries its own
 * types, so it is never coerced (`"false"` is not `false`, `null` is not `0`); path parameters and
 * query strings are text, so they are (`'array'`: `?x=1` reads as `[1]` where a list is expected).
 * Both get ajv-formats, as fastify's default compiler does.
 */
function validatorCompiler(): FastifySchemaCompiler<Record<string, unknown>> {
  const make = (coerceTypes: AjvOptions['coerceTypes']): Ajv => {
    const ajv = new Ajv({ ...AJV_OPTIONS, coerceTypes });
    addFormats(ajv);
    return ajv;
  };
  const body = make(false);
  const text = make('array');
  return ({ schema, httpPart }) => (httpPart === 'body' ? body : text).compile(schema);
}

/**
 * The token of an `Authorization: Bearer <token>` header, or '' for anything else. The scheme
 * name is case-insensitive (RFC 7235 §2.1) and followed by one or more spaces.
 */
function bearerToken(header: string | undefined): string {
  const scheme = typeof header === 'string' ? BEARER.exec(header) : null;
  return scheme && header ? header.slice(scheme[0].length).trim() : '';
}
const BEARER = /^bearer +/i;

/** Answers anything thrown in a request (or refused by fastify before routing) in our shape. */
function sendError(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toApiError(err);
  if (e.status >= 500) req.log.error({ err }, 'admin API request failed');
  if (e.status === 401) reply.header('www-authenticate', 'Bearer');
  return reply
    .code(e.status)
    .send({ code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) });
}

/**
 * The code of a request Node's HTTP parser refused (no route ever saw it).
 */
const MALFORMED_REQUEST_CODE: ApiError['code'] = 'API_BAD_REQUEST';

/**
 * fastify's `clientErrorHandler`: Node's HTTP parser refused the bytes (malformed request line,
 * header or chunked framing, a body shorter than its Content-Length, headers over the limit) or
 * the request timed out. Like fastify's default handler, it writes a whole HTTP/1.1 response on
 * the raw socket and closes it, but with our JSON error shape.
 */
function answerClientError(this: FastifyInstance, err: ConnectionError, socket: Socket): void {
  // A reset connection is gone: nothing to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'the request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'the request took too long to arrive']
        : [400, 'malformed HTTP request'];
  // Only the code: Node's error carries the raw request bytes (`rawPacket`), token included.
  this.log.debug({ code: err.code }, `admin API client error: ${message}`);
  // Node's own default skips the answer when a response is already on the wire (pipelining):
  // a second status line in the middle of it would corrupt it.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify({ code: MALFORMED_REQUEST_CODE, message });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy(err);
}

const notFoundResponse = { description: 'not found', schema: S.errorBody };

function throwIt(e: Error): never {
  throw e;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

const FASTIFY_CODES: Record<string, [number, ApiError['code']]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'API_UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'API_BODY_TOO_LARGE'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'API_INVALID_JSON'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'API_INVALID_JSON'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'API_VALIDATION_FAILED'],
};

/** Maps anything thrown in a request to the status and stable code the client sees. */
function toApiError(err: FastifyError | Error): ApiError {
  if (err instanceof ApiError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    return new ApiError(
      400,
      'API_VALIDATION_FAILED',
      `invalid ${fe.validationContext ?? 'request'}: ${fe.message}`,
      fe.validation.map((v) => ({ path: v.instancePath, message: v.message })),
    );
  }
  if (err instanceof StoreInputError) {
    return new ApiError(400, err.code, err.message, { field: err.field, index: err.index });
  }
  if (err instanceof ServiceError) {
    const e = err as ServiceError & { line?: number; column?: number };
    switch (e.code) {
      case 'CSV_SYNTAX':
      case 'CSV_HEADER':
      case 'CSV_ROW':
        return new ApiError(400, e.code, e.message, { line: e.line, column: e.column });
      case 'STORE_NOT_FOUND':
        return new ApiError(404, e.code, e.message);
      case 'STORE_CONFLICT':
        return new ApiError(409, e.code, e.message);
      default:
        return new ApiError(500, e.code, e.message);
    }
  }
  if (err instanceof ProvisioningCertError) {
    return new ApiError(400, 'API_INVALID_CERTIFICATE', err.message, { code: err.code });
  }
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return new ApiError(mapped[0], mapped[1], fe.message);
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new ApiError(fe.statusCode, 'API_VALIDATION_FAILED', fe.message);
  }
  return new ApiError(500, 'API_INTERNAL', 'internal error');
}

export type { RouteSpec };
