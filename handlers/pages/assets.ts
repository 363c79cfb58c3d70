import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Request, Response } from 'express';

/** Where the pages' static files are served from. */
export const assetPrefix = '/pages/assets/';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const types: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** An asset of these bytes, with a strong ETag from their hash. */
export function assetOf(body: Buffer | string, type: string): Asset {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return { body: bytes, type, etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"` };
}

/** Sends an asset, revalidated by ETag on every use (304 when the client has it). */
export function sendAsset(req: Request, res: Response, file: Asset): void {
  res.setHeader('ETag', file.etag);
  res.setHeader('Cache-Control', 'no-cache');
  if (req.headers['if-none-match'] === file.etag) {
    res.status(304).end();
    return;
  }
  res.type(file.type).send(file.body);
}

/** The stylesheet and ES modules under ./assets, read once at start-up (no build step). */
export function loadAssets(): Map<string, Asset> {
  const dir = fileURLToPath(new URL('./assets/', import.meta.url));
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = types[extname(name)];
    if (!type || !/^[a-z0-9-]+\.[a-z]+$/.test(name)) continue;
    assets.set(name, assetOf(readFileSync(`${dir}${name}`), type));
  }
  return assets;
}

export function assetUrl(name: string): string {
  return `${assetPrefix}${name}`;
}
