import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, type JsonSchema } from './schemas.js';

/** One admin API route: what fastify registers and what the OpenAPI document describes. */
export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** fastify path syntax (`/devices/:uuid`). */
  url: string;
  summary: string;
  tags: string[];
  /** No bearer token needed. */
  public?: boolean;
  params?: JsonSchema;
  query?: JsonSchema;
  body?: JsonSchema;
  /** The body may be absent (then it reads as `{}`). */
  bodyOptional?: boolean;
  /** The body may also be `text/csv`. */
  csv?: boolean;
  /** `contentType` when not JSON (the schema then only documents the body). */
  responses: Record<number, { description: string; schema?: JsonSchema; contentType?: string }>;
  handler: (req: FastifyRequest, reply: FastifyReply) => unknown;
}

/**
 * The OpenAPI 3.1 document, built from the same schemas fastify validates with, so the two
 * cannot drift. Besides its own responses, every protected operation lists 401, every operation
 * with input 400, every operation with a body 413 and 415, and every operation 500.
 */
export function buildOpenApiDocument(routes: readonly RouteSpec[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const responses: Record<string, unknown> = {};
    for (const [status, res] of Object.entries(r.responses)) {
      responses[status] = {
        description: res.description,
        ...(res.schema
          ? { content: { [res.contentType ?? 'application/json']: { schema: res.schema } } }
          : {}),
      };
    }
    if (r.params || r.query || r.body)
      responses['400'] ??= errorResponse('invalid input (nothing was changed)');
    if (!r.public) responses['401'] ??= errorResponse('missing or wrong bearer token');
    if (r.body) {
      responses['413'] ??= errorResponse('the body is larger than the limit (nothing was changed)');
      responses['415'] ??= errorResponse(
        'a Content-Type the request body does not list (nothing was changed)',
      );
    }
    responses['500'] ??= INTERNAL_ERROR;
    const operation: Record<string, unknown> = {
      operationId: operationId(r),
      summary: r.summary,
      tags: r.tags,
      security: r.public ? [] : [{ bearerAuth: [] }],
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      responses,
    };
    if (r.body) {
      operation.requestBody = {
        required: !r.bodyOptional,
        content: {
          'application/json': { schema: r.body },
          ...(r.csv
            ? {
                'text/csv': {
                  schema: {
                    type: 'string',
                    description:
                      'header uuid,hostName,domainName,ou (ou optional), then one computer per line',
                  },
                },
              }
            : {}),
        },
      };
    }
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[r.method.toLowerCase()] = operation;
  }
  paths['/openapi.json'] = {
    get: {
      operationId: 'getOpenApi',
      summary: 'This document',
      tags: ['service'],
      security: [],
      responses: {
        '200': {
          description: 'OpenAPI 3.1 document',
          content: { 'application/json': { schema: { type: 'object' } } },
        },
        '500': INTERNAL_ERROR,
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'oobkit provisioning service admin API',
      version: '1',
      description:
        'Import computers, manage credentials, settings and provisioning certificates, follow devices, jobs and events. ' +
        'Errors are JSON `{ code, message, details? }` with a stable `code`.',
    },
    components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearerAuth: [] }],
    paths,
  };
}

function errorResponse(description: string): Record<string, unknown> {
  return { description, content: { 'application/json': { schema: errorBody } } };
}
const INTERNAL_ERROR = errorResponse('internal error (see the service log)');

function parameters(schema: JsonSchema | undefined, where: 'path' | 'query'): unknown[] {
  if (!schema) return [];
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
  }));
}

function operationId(r: RouteSpec): string {
  const words = r.url
    .split('/')
    .filter(Boolean)
    .map((p) => (p.startsWith(':') ? `By${cap(p.slice(1))}` : p.split('-').map(cap).join('')));
  return r.method.toLowerCase() + words.join('');
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
