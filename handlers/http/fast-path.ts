import { bath } from 'bath-es5';
import { parseCookie } from 'cookie';
import type { OpenAPIBackend, Request as OasRequest } from 'openapi-backend';

/**
 * openapi-backend's router, made cheap for the requests the front sends. It replaces three router
 * methods of the exact openapi-backend version pinned in package.json (test/http/fast-path.test.ts
 * runs the library's originals and these over every operation and a corpus of odd requests, and
 * fails on any difference, so a version bump that changes the router is caught there).
 *
 * - `getOperations` rebuilds its list (a lodash chain, a new object per operation) on every call,
 *   several times per request; the definition is fixed after init, so the list is built once.
 * - `matchOperation` compiles a RegExp per operation per call; the answer depends only on method
 *   and path, so successful matches are remembered (bounded).
 * - `parseRequest` runs three times per request and deep-clones the query, re-maps the headers and
 *   compiles the path template each time. The front's requests arrive normalised (lower-case
 *   header names, path without query, JSON body parsed, only declared query parameters), so the
 *   same result is built from cached templates and a copy of the query (the validator coerces
 *   parameters in place). Requests or operations outside that shape (string bodies, JSON-content
 *   or non-exploded query parameters, `$ref` parameters) take the original.
 */
export function installFastPath(api: OpenAPIBackend): void {
  const router = api.router;
  const operationList = router.getOperations();
  router.getOperations = () => operationList;

  const matchOperation = router.matchOperation.bind(router);
  const matched = new Map<string, ReturnType<typeof matchOperation>>();
  router.matchOperation = ((req: OasRequest, strict?: boolean) => {
    const key = `${req.method} ${req.path}`;
    const hit = matched.get(key);
    if (hit) return hit;
    const operation = matchOperation(req, strict as never);
    if (operation) {
      if (matched.size >= 1000) matched.clear();
      matched.set(key, operation);
    }
    return operation;
  }) as typeof router.matchOperation;

  router.parseRequest = leanParseRequest(router.parseRequest.bind(router), api);
}

type ParseRequest = OpenAPIBackend['router']['parseRequest'];
type Operation = NonNullable<Parameters<ParseRequest>[1]>;

export function leanParseRequest(original: ParseRequest, api: OpenAPIBackend): ParseRequest {
  const templates = new Map<string, ReturnType<typeof bath>>();
  const special = new WeakMap<Operation, boolean>();
  const needsOriginal = (operation: Operation) => {
    let answer = special.get(operation);
    if (answer === undefined) {
      answer = (operation.parameters ?? []).some((p) => '$ref' in p || (p.in === 'query' && (p.content !== undefined || p.explode === false)));
      special.set(operation, answer);
    }
    return answer;
  };
  return (req, operation) => {
    const path = req.path;
    if (typeof req.query !== 'object' || (req.body !== undefined && typeof req.body !== 'object') || !path.startsWith('/') || path.includes('?') || (operation && needsOriginal(operation))) {
      return original(req, operation);
    }
    let params: Record<string, string> = {};
    if (operation) {
      let template = templates.get(operation.path);
      if (!template) templates.set(operation.path, (template = bath(operation.path)));
      params = (template.params(api.router.normalizePath(path)) as Record<string, string> | null) ?? {};
    }
    const query: Record<string, string | string[]> = {};
    for (const name in req.query) {
      const value = (req.query as Record<string, string | string[]>)[name]!;
      query[name] = Array.isArray(value) ? [...value] : value;
    }
    const cookieHeader = req.headers['cookie'];
    return {
      method: req.method.toLowerCase(),
      path,
      // Not copied: the one header parameter (authorization, string or null) is never coerced.
      headers: req.headers,
      query,
      body: req.body,
      params,
      cookies: cookieHeader ? (parseCookie(Array.isArray(cookieHeader) ? cookieHeader.join('; ') : cookieHeader) as Record<string, string>) : {},
      requestBody: req.body,
    };
  };
}
