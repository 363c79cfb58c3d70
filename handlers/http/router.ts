import { OpenAPIBackend, type Context, type Document } from 'openapi-backend';
import type { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { ApiError, RequestValidationError } from '../core/errors.ts';
import type { HandlerResult, Principal } from '../core/request-context.ts';
import { loadSpec } from '../core/spec.ts';
import { headerValue } from './body.ts';
import { installFastPath } from './fast-path.ts';
import { installLaxInput } from './lax-input.ts';
import { toFastApiIssues } from './validation-errors.ts';

export interface RouterOptions {
  /** Verifies a bearer token; throws ApiError('invalidToken') when it is not acceptable. */
  authenticate: (token: string) => Promise<Principal>;
  /** Compile each operation's request validators on its first request instead of at start-up (mock mode). */
  quickStart?: boolean;
}

/**
 * openapi-backend drops a request path's trailing slash before matching (ignoreTrailingSlashes)
 * but compares with the spec's paths as written, so a documented `/api/v1/admin/applications/`
 * would never match. Routing on the path without it serves the documented path (and the same
 * path without its slash, as every other operation is served).
 */
function withoutTrailingSlashes<T>(spec: T): T {
  const doc = spec as unknown as { paths?: Record<string, unknown> };
  if (!doc.paths) return spec;
  const paths = Object.fromEntries(Object.entries(doc.paths).map(([path, item]) => [path.length > 1 ? path.replace(/\/+$/, '') : path, item]));
  return { ...doc, paths } as unknown as T;
}

/** openapi-backend's options over the spec (the fast-path test builds the library's own router from them too). */
export function routerOptions(): ConstructorParameters<typeof OpenAPIBackend>[0] {
  return {
    definition: withoutTrailingSlashes(withoutLinks(loadSpec())) as unknown as Document,
    strict: true,
    validate: true,
    // Always quick: openapi-backend validates definitions against the OAS 3.0 schema only, which
    // rejects valid 3.1 keywords (propertyNames, links with free-form bodies). The spec is checked
    // as OAS 3.1 by test/contract/spec-valid.test.ts instead. Quick mode also compiles response
    // validators lazily (used only with VALIDATE_RESPONSES).
    quick: true,
    // verbose: errors carry the value and schema, which validation-errors.ts needs to answer as
    // pydantic does (bool_parsing or bool_type, email reasons, field order, list lengths).
    ajvOpts: { allErrors: true, strict: false, validateSchema: false, verbose: true },
    customizeAjv: (ajv: Ajv) => {
      // openapi-backend registers only the OAS numeric formats; email, date-time and uri need ajv-formats.
      (addFormats as unknown as (a: Ajv) => Ajv)(ajv);
      return ajv;
    },
  };
}

/** The openapi-backend router over the spec: routing, request validation, bearer security, errors. */
export async function createRouter(options: RouterOptions): Promise<OpenAPIBackend> {
  const api = new OpenAPIBackend(routerOptions());

  api.registerSecurityHandler('HTTPBearer', async (c: Context) => {
    const header = headerValue(c.request.headers['authorization']);
    if (!header) throw new ApiError('notAuthenticated');
    const match = /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header);
    if (!match) throw new ApiError('invalidToken', { internal: 'malformed Authorization header' });
    return options.authenticate(match[1]!);
  });

  api.register({
    notFound: () => {
      throw new ApiError('notFound');
    },
    methodNotAllowed: (c: Context) => {
      const path = c.request.path;
      const matching = api.router
        .getOperations()
        .filter((op) => api.router.matchOperation({ method: op.method, path, headers: {}, query: {} })?.operationId === op.operationId);
      // A fixed path (…/sessions/revoke-all) is its own resource: the methods of a templated
      // sibling it also matches (…/sessions/{session_id}) are not advertised for it.
      const exact = matching.filter((op) => op.path === path);
      const allowed = (exact.length ? exact : matching).map((op) => op.method.toUpperCase());
      throw new ApiError('methodNotAllowed', { headers: { Allow: [...new Set(allowed)].join(', ') } });
    },
    unauthorizedHandler: (c: Context) => {
      const result = c.security?.['HTTPBearer'] as { error?: unknown } | undefined;
      if (result?.error) throw result.error;
      throw new ApiError('notAuthenticated');
    },
    validationFail: (c: Context) => {
      throw new RequestValidationError(toFastApiIssues(c.validation.errors ?? []));
    },
    notImplemented: () => {
      throw new ApiError('notImplemented');
    },
  });
  await api.init();
  if (!options.quickStart) api.validator.preCompileRequestValidators();
  installFastPath(api);
  installLaxInput(api);
  return api;
}

/**
 * OpenAPI links (identify → authenticate, login → refresh → logout) guide clients and the fuzzer;
 * the router has no use for them, and its definition validator rejects free-form link bodies.
 */
export function withoutLinks<T extends { paths?: Record<string, unknown> }>(spec: T): T {
  for (const item of Object.values(spec.paths ?? {}) as Array<Record<string, { responses?: Record<string, { links?: unknown }> }>>) {
    for (const operation of Object.values(item)) {
      for (const response of Object.values(operation?.responses ?? {})) delete response.links;
    }
  }
  return spec;
}

/** Paths the contract owns: everything under /api and the spec's other fixed paths (JWKS). */
export function contractPaths(api: OpenAPIBackend): (path: string) => boolean {
  const fixed = new Set(
    api.router
      .getOperations()
      .map((op) => op.path)
      .filter((path) => !path.includes('{')),
  );
  return (path) => path === '/api' || path.startsWith('/api/') || fixed.has(path.length > 1 ? path.replace(/\/+$/, '') : path);
}

export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

/**
 * Statuses every operation must document: successes, refusals (4xx) and 503, which a lost database
 * gives (a known condition with Retry-After). Other 5xx are the server's own faults, never contract.
 */
export function mustBeDocumented(status: number): boolean {
  return status < 500 || status === 503;
}

/** The violation when `operationId` answers a status its responses do not list. */
export function undocumentedStatus(api: OpenAPIBackend, operationId: string, status: number): ContractViolation | undefined {
  if (api.router.getOperation(operationId)?.responses?.[String(status)]) return undefined;
  return new ContractViolation(`${operationId} answered ${status}, which the spec does not document`);
}

/** VALIDATE_RESPONSES: a response the spec does not document is a server fault, caught in tests. */
export function assertResponseMatchesContract(api: OpenAPIBackend, operationId: string, result: HandlerResult): void {
  const undocumented = undocumentedStatus(api, operationId, result.status);
  if (undocumented) throw undocumented;
  // A response without content (204) has no body to check: openapi-backend would hold it to `null`.
  const operation = api.router.getOperation(operationId) as { responses?: Record<string, { content?: unknown }> } | undefined;
  if (result.body === undefined && !operation?.responses?.[String(result.status)]?.content) return;
  const validation = api.validateResponse(result.body, operationId, result.status);
  if (validation.errors && validation.errors.length > 0) {
    const first = validation.errors[0]!;
    throw new ContractViolation(`${operationId} ${result.status} violates the spec: ${first.instancePath || '/'} ${first.message ?? first.keyword}`);
  }
}
