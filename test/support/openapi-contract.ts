import { METHODS } from 'node:http';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formatsModule, { type FormatsPlugin } from 'ajv-formats';
import type TestAgent from 'supertest/lib/agent.js';
import type { Response } from 'supertest';

/**
 * Checks HTTP responses against the OpenAPI document the app publishes: the
 * operation (method and path template), the status, the content type, the
 * body's schema and the headers clients rely on. A response the document does
 * not describe is a lie in the document, or a bug in the code.
 */

type Schema = Record<string, unknown>;

interface HeaderObject {
  required?: boolean;
  schema?: Schema;
}

interface ResponseObject {
  description?: string;
  headers?: Record<string, HeaderObject>;
  content?: Record<string, { schema?: Schema }>;
}

interface Operation {
  responses: Record<string, ResponseObject>;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

/** What the check needs to know of one exchange. */
export interface ObservedResponse {
  method: string;
  /** The request's path as sent, without the query string. */
  path: string;
  status: number;
  /** Header names in lower case, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

/** Headers whose meaning clients depend on: sending one the document does not mention is a drift. */
const CONTRACT_HEADERS = ['x-total-count', 'link', 'retry-after', 'www-authenticate', 'idempotent-replayed'];

/** Swagger UI, its assets and the OpenAPI document itself: served beside the API, not operations of it. */
const DOCUMENTATION_PATH = /^\/api\/docs(?:-json|-yaml)?(?:\/.*)?$/;

/** Where the document's component schemas live once handed to Ajv. */
const COMPONENTS_ID = 'https://openapi.contract/components.json';

/** OpenAPI 3.0 annotation keywords that JSON Schema does not know; they never constrain a value. */
const OPENAPI_ANNOTATIONS = ['example', 'xml', 'externalDocs'];

// ajv-formats is CommonJS: imported from ESM, its default export is the module, whose `default` is the plugin.
const addFormats = (formatsModule as unknown as { default: FormatsPlugin }).default;

interface Route {
  template: string;
  pattern: RegExp;
  /** More literal characters first, so `/api/me/registrations` wins over a `{param}` at the same place. */
  specificity: number;
}

export class OpenApiContract {
  private readonly ajv: Ajv;
  private readonly routes: Route[];
  private readonly validators = new WeakMap<Schema, ValidateFunction>();
  /** The schema of the API's problem details, as its documented error responses name it. */
  private readonly problemSchema: Schema;
  /** Component schemas that are parts of an `allOf`: closing them would reject the whole. */
  private readonly composedComponents = new Set<string>();

  constructor(private readonly document: OpenApiDocument) {
    if (!/^3\.0\./.test(document.openapi)) {
      throw new Error(`The contract check reads OpenAPI 3.0 (for its "nullable"); the document is ${document.openapi}`);
    }
    // Ajv understands OpenAPI 3.0's `nullable` next to `type`; strict mode makes any other unknown keyword an error.
    this.ajv = new Ajv({ strict: true, allErrors: true, discriminator: true });
    addFormats(this.ajv);
    this.ajv.addVocabulary(OPENAPI_ANNOTATIONS);
    const components = document.components?.schemas ?? {};
    this.findComposedComponents(components);
    const definitions = Object.fromEntries(
      Object.entries(components).map(([name, schema]) => [
        name,
        this.toJsonSchema(schema, this.composedComponents.has(name)),
      ]),
    );
    this.ajv.addSchema({ $id: COMPONENTS_ID, definitions });
    this.routes = Object.keys(document.paths)
      .map((template) => ({
        template,
        pattern: new RegExp(
          `^${template
            .split(/(\{[^}]+\})/)
            .map((part) => (part.startsWith('{') ? '[^/]+' : escapeRegExp(part)))
            .join('')}$`,
        ),
        specificity: template.replace(/\{[^}]+\}/g, '').length,
      }))
      .sort((a, b) => b.specificity - a.specificity);
    this.problemSchema = this.findProblemSchema();
  }

  /** Throws a ContractViolation naming the method, path, status and what does not match. */
  check(response: ObservedResponse): void {
    const { method, path, status } = response;
    const exchange = `${method} ${path} → ${status}`;
    if (method === 'OPTIONS') return this.checkPreflight(exchange, response);
    const route = this.routeOf(path);
    // Fastify answers HEAD for every GET route, with the GET's headers and no body.
    const operation = route && this.document.paths[route.template][method === 'HEAD' ? 'get' : method.toLowerCase()];
    if (!route || !operation) return this.checkUndocumentedRoute(exchange, response);

    const where = `${exchange} (documented as ${method} ${route.template})`;
    const documented = this.documentedResponse(operation, status);
    if (!documented) {
      const statuses = Object.keys(operation.responses).join(', ');
      throw new ContractViolation(`${where}: status ${status} is not documented (documented: ${statuses})`);
    }
    this.checkHeaders(where, documented, response);
    if (method !== 'HEAD') this.checkBody(where, documented, response);
  }

  /**
   * Every example the document shows, checked against the schema beside it
   * (a media type's, a header's, a parameter's or a property's): an example
   * that its own schema refuses misleads whoever copies it.
   */
  exampleViolations(): string[] {
    const violations: string[] = [];
    const visit = (node: unknown, where: string): void => {
      if (Array.isArray(node)) return node.forEach((item, index) => visit(item, `${where}/${index}`));
      if (!isRecord(node)) return;
      if ('example' in node) {
        const schema = isRecord(node.schema) ? node.schema : isSchemaObject(node) ? node : undefined;
        const validate = schema && this.validatorFor(schema);
        if (validate && !validate(node.example)) {
          violations.push(
            `${where}: example ${JSON.stringify(node.example)}: ${formatErrors(validate.errors, 'example')}`,
          );
        }
      }
      for (const [key, child] of Object.entries(node)) {
        if (key !== 'example') visit(child, `${where}/${key}`);
      }
    };
    visit(this.document.paths, '#/paths');
    visit(this.document.components?.schemas, '#/components/schemas');
    return violations;
  }

  /** CORS preflights are answered for every path by the CORS layer, which OpenAPI does not describe. */
  private checkPreflight(exchange: string, response: ObservedResponse): void {
    if (response.status >= 200 && response.status < 300) {
      if (response.body.length > 0) throw new ContractViolation(`${exchange}: a preflight answer carries a body`);
      return;
    }
    this.checkUndocumentedRoute(exchange, response);
  }

  /** No operation of the document: a 404 problem, unless it is one of the documentation's own pages. */
  private checkUndocumentedRoute(exchange: string, response: ObservedResponse): void {
    if (DOCUMENTATION_PATH.test(response.path) && response.status < 400) return;
    if (response.status !== 404) {
      throw new ContractViolation(
        `${exchange}: no operation in the OpenAPI document matches ${response.method} ${response.path}, ` +
          'and only a 404 problem may answer a route the document does not describe',
      );
    }
    this.checkJsonBody(
      `${exchange} (no documented operation)`,
      'application/problem+json',
      this.problemSchema,
      response,
    );
  }

  private documentedResponse(operation: Operation, status: number): ResponseObject | undefined {
    const { responses } = operation;
    return responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
  }

  private checkHeaders(where: string, documented: ResponseObject, response: ObservedResponse): void {
    const declared = new Map(
      Object.entries(documented.headers ?? {}).map(([name, header]) => [name.toLowerCase(), header]),
    );
    for (const name of CONTRACT_HEADERS) {
      if (response.headers[name] !== undefined && !declared.has(name)) {
        throw new ContractViolation(`${where}: sends the ${name} header, which this response does not document`);
      }
    }
    for (const [name, header] of declared) {
      const raw = response.headers[name];
      if (raw === undefined) {
        if (header.required) throw new ContractViolation(`${where}: the required ${name} header is missing`);
        continue;
      }
      if (!header.schema) continue;
      const value = Array.isArray(raw) ? raw.join(', ') : raw;
      const numeric = ['integer', 'number'].includes(header.schema.type as string) && /^-?\d+(\.\d+)?$/.test(value);
      const validate = this.validatorFor(header.schema);
      if (!validate(numeric ? Number(value) : value)) {
        throw new ContractViolation(
          `${where}: the ${name} header "${value}" does not match its schema:\n  ${formatErrors(validate.errors, name)}`,
        );
      }
    }
  }

  private checkBody(where: string, documented: ResponseObject, response: ObservedResponse): void {
    const mediaType = mediaTypeOf(response);
    const content = documented.content ?? {};
    const documentedTypes = Object.keys(content);
    if (documentedTypes.length === 0) {
      if (response.body.length > 0) {
        throw new ContractViolation(
          `${where}: answered with a ${mediaType ?? 'typeless'} body; the document gives none`,
        );
      }
      return;
    }
    if (!mediaType) {
      throw new ContractViolation(
        `${where}: answered without a Content-Type; documented: ${documentedTypes.join(', ')}`,
      );
    }
    const entry = content[mediaType] ?? content[`${mediaType.split('/')[0]}/*`] ?? content['*/*'];
    if (!entry) {
      throw new ContractViolation(
        `${where}: answered ${mediaType}, which this status does not document (documented: ${documentedTypes.join(', ')})`,
      );
    }
    if (!isJson(mediaType)) return;
    if (!entry.schema) throw new ContractViolation(`${where}: the document gives ${mediaType} no schema`);
    this.checkJsonBody(where, mediaType, entry.schema, response);
  }

  private checkJsonBody(where: string, expectedType: string, schema: Schema, response: ObservedResponse): void {
    const mediaType = mediaTypeOf(response);
    if (mediaType !== expectedType) {
      throw new ContractViolation(`${where}: answered ${mediaType ?? 'without a Content-Type'}, not ${expectedType}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      throw new ContractViolation(`${where}: the ${mediaType} body is not JSON: ${excerpt(response.body)}`);
    }
    const validate = this.validatorFor(schema);
    if (!validate(body)) {
      throw new ContractViolation(
        `${where}: the body does not match the documented schema:\n  ${formatErrors(validate.errors, 'body')}\n` +
          `body: ${excerpt(response.body)}`,
      );
    }
  }

  private validatorFor(schema: Schema): ValidateFunction {
    let validate = this.validators.get(schema);
    if (!validate) {
      validate = this.ajv.compile(this.toJsonSchema(schema, false));
      this.validators.set(schema, validate);
    }
    return validate;
  }

  private routeOf(path: string): Route | undefined {
    // The app ignores one trailing slash.
    const normalized = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    // The document describes /api/v1/…; the unversioned paths answer alike.
    const versioned = normalized.replace(/^\/api\/(?!v\d+\/|docs)/, '/api/v1/');
    return this.routes.find((route) => route.pattern.test(versioned));
  }

  private findProblemSchema(): Schema {
    for (const operations of Object.values(this.document.paths)) {
      for (const operation of Object.values(operations)) {
        for (const response of Object.values(operation.responses)) {
          const schema = response.content?.['application/problem+json']?.schema;
          if (schema) return schema;
        }
      }
    }
    throw new Error('The OpenAPI document documents no application/problem+json response');
  }

  private findComposedComponents(value: unknown): void {
    if (Array.isArray(value)) return value.forEach((item) => this.findComposedComponents(item));
    if (typeof value !== 'object' || value === null) return;
    const schema = value as Schema;
    for (const member of (schema.allOf as Schema[] | undefined) ?? []) {
      const name = componentName(member.$ref);
      if (name) this.composedComponents.add(name);
    }
    Object.values(schema).forEach((child) => this.findComposedComponents(child));
  }

  /**
   * An OpenAPI 3.0 schema as Ajv reads it: references point into the
   * components schema, and objects are closed, so a property the document
   * does not name fails (unless the schema says what extra properties may be,
   * or is one part of an `allOf`).
   */
  private toJsonSchema(schema: Schema, open: boolean): Schema {
    const converted: Schema = {};
    for (const [keyword, value] of Object.entries(schema)) {
      if (keyword === '$ref') {
        const name = componentName(value);
        if (!name) throw new Error(`The contract check cannot follow the reference ${String(value)}`);
        converted.$ref = `${COMPONENTS_ID}#/definitions/${name}`;
      } else if (keyword === 'properties') {
        converted.properties = mapValues(value as Record<string, Schema>, (child) => this.toJsonSchema(child, false));
      } else if (keyword === 'allOf') {
        converted.allOf = (value as Schema[]).map((member) => this.toJsonSchema(member, true));
      } else if (['items', 'additionalProperties', 'not'].includes(keyword) && isRecord(value)) {
        converted[keyword] = this.toJsonSchema(value, false);
      } else if (['oneOf', 'anyOf'].includes(keyword)) {
        converted[keyword] = (value as Schema[]).map((member) => this.toJsonSchema(member, false));
      } else {
        converted[keyword] = value;
      }
    }
    if (converted.properties && converted.additionalProperties === undefined && !open) {
      converted.additionalProperties = false;
    }
    return converted;
  }
}

/**
 * Makes every request of this agent, whatever its method, fail unless its
 * response matches the contract: the check runs as one of supertest's
 * assertions, so the test that made the request fails with its message.
 */
export function checkEveryResponse(agent: TestAgent, contract: OpenApiContract): TestAgent {
  // supertest gives its agent one function per method name Node knows, plus `del`.
  const methods = [...METHODS.map((method) => method.toLowerCase()), 'del'];
  for (const name of methods) {
    const send = (agent as unknown as Record<string, unknown>)[name];
    if (typeof send !== 'function') continue;
    Object.defineProperty(agent, name, {
      value: (url: string) => {
        const test = (send as TestAgent['get']).call(agent, url);
        return test.expect((res: Response) => {
          contract.check({
            method: test.method,
            path: new URL(test.url).pathname,
            status: res.status,
            headers: res.headers as Record<string, string | string[] | undefined>,
            body: bodyText(res),
          });
        });
      },
    });
  }
  return agent;
}

function bodyText(res: Response): string {
  if (typeof res.text === 'string') return res.text;
  return Buffer.isBuffer(res.body) ? res.body.toString('utf8') : '';
}

function mediaTypeOf(response: ObservedResponse): string | undefined {
  const header = response.headers['content-type'];
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(';')[0].trim().toLowerCase() || undefined;
}

function isJson(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

function componentName(ref: unknown): string | undefined {
  return typeof ref === 'string' ? /^#\/components\/schemas\/([^/]+)$/.exec(ref)?.[1] : undefined;
}

/** A schema rather than a media type, header or parameter object (which hold theirs under `schema`). */
function isSchemaObject(node: Schema): boolean {
  return ['type', '$ref', 'enum', 'allOf', 'oneOf', 'anyOf'].some((keyword) => keyword in node) && !('schema' in node);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mapValues<T, U>(record: Record<string, T>, map: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function formatErrors(errors: ErrorObject[] | null | undefined, root: string): string {
  return (errors ?? [])
    .map((error) => {
      const extra =
        error.keyword === 'additionalProperties'
          ? ` ("${(error.params as { additionalProperty: string }).additionalProperty}")`
          : error.keyword === 'enum'
            ? ` (${JSON.stringify((error.params as { allowedValues: unknown[] }).allowedValues)})`
            : '';
      return `${root}${error.instancePath} ${error.message}${extra}`;
    })
    .join('\n  ');
}

function excerpt(text: string, max = 600): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text || '(empty)';
}
