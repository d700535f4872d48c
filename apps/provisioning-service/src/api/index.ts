import { createHash, timingSafeEqual } from 'node:crypto';
import { ProvisioningCertError } from '@oobkit/provisioning-cert';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { parseComputersCsv } from '../csv.js';
import {
  type JobRequestOutcome,
  jobConflictMessage,
  requestProvisioning,
  requestUnprovision,
} from '../jobs.js';
import type { Logger } from '../log.js';
import { METRICS_CONTENT_TYPE } from '../metrics.js';
import { readinessWarnings } from '../readiness.js';
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
  const { store } = opts;
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
    // Unknown fields are refused (400), not silently dropped; query strings are coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  }) as unknown as FastifyInstance;

  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit }, (_req, body, done) =>
    done(null, body),
  );

  app.addHook('onRequest', async (req) => {
    if ((req.routeOptions.config as { public?: boolean } | undefined)?.public) return;
    const header = req.headers.authorization;
    const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    // Comparing digests keeps the comparison constant-time whatever the lengths.
    if (!given || !timingSafeEqual(sha256(given), tokenDigest)) {
      throw new ApiError(401, 'API_UNAUTHORIZED', 'a valid bearer token is required');
    }
  });

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    const e = toApiError(err);
    if (e.status >= 500) req.log.error({ err }, 'admin API request failed');
    if (e.status === 401) reply.header('www-authenticate', 'Bearer');
    return reply
      .code(e.status)
      .send({ code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) });
  });
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
      responses: { 200: { description: 'ready, or the warnings', schema: S.readiness } },
      handler: async () => {
        const warnings = await readinessWarnings(store);
        return { ready: warnings.length === 0, warnings };
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

  const document = buildOpenApiDocument(routes);
  app.get('/openapi.json', { config: { public: true } }, async () => document);

  for (const r of routes) {
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
    app.route({
      method: r.method,
      url: r.url,
      schema,
      config: { public: r.public === true },
      ...(r.bodyOptional
        ? {
            preValidation: async (req: FastifyRequest) => {
              if (req.body === undefined || req.body === null) req.body = {};
            },
          }
        : {}),
      handler: r.handler,
    });
  }
  return app;
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
