/**
 * The real server's interactive API reference, as FastAPI gives: `GET /docs` (Swagger UI) and
 * `GET /redoc` (Redoc), both rendering the served `/openapi.json`. Their bundles come from npm
 * (`swagger-ui-dist`, `redoc`) and are served from this origin under `/docs/assets/` (no CDN); the
 * pages' own start-up code is a small script file, so no inline script is needed.
 *
 * Each page has its own Content-Security-Policy, allowing exactly what its UI does: scripts and
 * stylesheets from this origin, data: images (the UIs' icons), fetches to this origin (the spec,
 * Swagger UI's "Try it out"); Redoc also injects its styles at run time (styled-components) and
 * runs its search index in a worker it creates from a blob: URL.
 *
 * The mock server keeps its own static reference page (mocks/docs-page.ts).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type express from 'express';
import type { Request, Response } from 'express';
import { assetOf, sendAsset, type Asset } from './assets.ts';

export const apiReferenceAssetPrefix = '/docs/assets/';

const common = ["default-src 'none'", "img-src 'self' data:", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"];

/** Swagger UI: our scripts and its stylesheet; nothing inline. */
export const swaggerUiCsp = [...common, "script-src 'self'", "style-src 'self'"].join('; ');

/** Redoc: our scripts; styles it inserts itself (styled-components); its search worker from a blob: URL. */
export const redocCsp = [...common, "script-src 'self'", "style-src 'self' 'unsafe-inline'", "worker-src blob:"].join('; ');

const swaggerInit = `// Swagger UI on this server's own contract; "Try it out" calls this origin, whatever the spec's servers say.
fetch('/openapi.json')
  .then((response) => response.json())
  .then((spec) => {
    spec.servers = [{ url: location.origin, description: 'This server' }];
    window.ui = SwaggerUIBundle({ spec, dom_id: '#swagger-ui', deepLinking: true, presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout', validatorUrl: null });
  });
`;

const redocInit = `// Redoc on this server's own contract.
Redoc.init('/openapi.json', {}, document.getElementById('redoc'));
`;

const js = 'text/javascript; charset=utf-8';
const css = 'text/css; charset=utf-8';

/** The files each page loads, read from the installed packages on first use (a few MB, kept once). */
function loadAssets(): Map<string, Asset> {
  const require = createRequire(import.meta.url);
  const swagger = dirname(require.resolve('swagger-ui-dist/package.json'));
  const redoc = dirname(require.resolve('redoc/package.json'));
  return new Map([
    ['swagger-ui.css', assetOf(readFileSync(join(swagger, 'swagger-ui.css')), css)],
    ['swagger-ui-bundle.js', assetOf(readFileSync(join(swagger, 'swagger-ui-bundle.js')), js)],
    ['favicon-32x32.png', assetOf(readFileSync(join(swagger, 'favicon-32x32.png')), 'image/png')],
    ['swagger-init.js', assetOf(swaggerInit, js)],
    ['redoc.standalone.js', assetOf(withoutRemoteLogo(readFileSync(join(redoc, 'bundles', 'redoc.standalone.js'), 'utf8')), js)],
    ['redoc-init.js', assetOf(redocInit, js)],
  ]);
}

/**
 * Redoc's bundle has one remote resource, the "API docs by Redocly" sidebar logo on its CDN (the
 * CSP would block it, with a console error): it is pointed at an empty local image instead.
 */
export const redocRemoteLogo = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
function withoutRemoteLogo(bundle: string): string {
  return bundle.replaceAll(redocRemoteLogo, 'data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E');
}

function page(title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" type="image/png" href="${apiReferenceAssetPrefix}favicon-32x32.png">
${head}
</head>
<body>
${body}
</body>
</html>
`;
}

const swaggerPage = page(
  'ScaiKey API - Swagger UI',
  `<link rel="stylesheet" href="${apiReferenceAssetPrefix}swagger-ui.css">`,
  `<div id="swagger-ui"></div>
<script src="${apiReferenceAssetPrefix}swagger-ui-bundle.js"></script>
<script src="${apiReferenceAssetPrefix}swagger-init.js"></script>`,
);

const redocPage = page(
  'ScaiKey API - ReDoc',
  '',
  `<div id="redoc"></div>
<script src="${apiReferenceAssetPrefix}redoc.standalone.js"></script>
<script src="${apiReferenceAssetPrefix}redoc-init.js"></script>`,
);

function sendHtml(res: Response, html: string, csp: string): void {
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('X-Frame-Options', 'DENY');
  res.type('text/html; charset=utf-8').send(html);
}

/** Mounts `/docs`, `/redoc` and their assets (the real server's extraRoutes). */
export function mountApiReference(app: express.Express): void {
  let assets: Map<string, Asset> | undefined;
  app.get('/docs', (_req: Request, res: Response) => sendHtml(res, swaggerPage, swaggerUiCsp));
  app.get('/redoc', (_req: Request, res: Response) => sendHtml(res, redocPage, redocCsp));
  app.get(/^\/docs\/assets\/([a-z0-9.-]+)$/, (req: Request, res: Response, next) => {
    assets ??= loadAssets();
    const file = assets.get((req.params as Record<string, string>)[0] ?? '');
    if (!file) return next();
    sendAsset(req, res, file);
  });
}
