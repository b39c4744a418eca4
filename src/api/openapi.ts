import { z } from 'zod';
import { MANAGE_RESOURCE } from './api-error.ts';
import type { AnyRoute } from './route.ts';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** `/V1/async_event/:subscriptionId` → `/V1/async_event/{subscriptionId}` */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

function operationId(route: AnyRoute): string {
  const words = route.path.split(/[^A-Za-z0-9]+/).filter((w) => w !== '' && w !== 'V1');
  return [route.method.toLowerCase(), ...words.map((w) => w.charAt(0).toUpperCase() + w.slice(1))].join('');
}

function parameters(route: AnyRoute): JsonSchema[] {
  const result: JsonSchema[] = [];
  const add = (schema: z.ZodType, where: 'path' | 'query') => {
    const doc = jsonSchema(schema, 'input');
    const properties = (doc.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((doc.required ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      const nested = property.type === 'object' || Array.isArray(property.anyOf);
      result.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        schema: property,
        ...(nested ? { style: 'deepObject', explode: true } : {}),
      });
    }
  };
  add(route.params, 'path');
  add(route.query, 'query');
  return result;
}

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/MagentoError' } } } });

/** The OpenAPI 3.1 document of the route table, generated from the same zod schemas that validate requests. */
export function buildOpenApiDocument(routes: readonly AnyRoute[], info: { version?: string } = {}): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    const success = route.responseContentType
      ? { description: 'OK', content: { [route.responseContentType]: { schema: { type: 'string' } } } }
      : { description: 'OK', content: { 'application/json': { schema: jsonSchema(route.response, 'output') } } };
    const operation: JsonSchema = {
      operationId: operationId(route),
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.origin === 'upstream' ? 'Subscriptions (upstream-compatible)' : 'Delivery log and operations'],
      'x-acl-resources': [MANAGE_RESOURCE],
      parameters: parameters(route),
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } } : {}),
      responses: {
        200: success,
        400: errorResponse('Invalid request; the message names the field'),
        401: errorResponse("The consumer isn't authorized to access %resources."),
        403: errorResponse('Valid token without the MageOS_AsyncEvents::manage resource'),
        404: errorResponse('No such entity, or no such route'),
        500: errorResponse('Internal error (masked; the log has the report id)'),
      },
    };
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'async-events REST API',
      version: info.version ?? '1',
      description: 'Drop-in for the Mage-OS Async Events webapi routes, plus delivery log, replay and operations routes.',
    },
    servers: [
      { url: '/rest', description: 'default store' },
      { url: '/rest/{store_code}', variables: { store_code: { default: 'all', description: 'Magento store code, or all (store 0)' } } },
    ],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Magento integration access token, or ASYNC_EVENTS_API_TOKEN' },
      },
      schemas: {
        MagentoError: {
          type: 'object',
          required: ['message'],
          properties: {
            message: { type: 'string', description: 'Message with %1 / %name placeholders' },
            parameters: { anyOf: [{ type: 'object' }, { type: 'array' }] },
            errors: { type: 'array', items: { type: 'object', properties: { message: { type: 'string' }, parameters: {} } } },
          },
        },
      },
    },
  };
}
