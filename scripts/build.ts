/**
 * `npm run build`: the production form of the server, plain JavaScript in dist/ (tsc with
 * `rewriteRelativeImportExtensions`), plus the files the code reads at run time at the same
 * relative places (the spec, the pages' assets) and package.json (ESM). `node dist/handlers/main.js`
 * then runs with no TypeScript compiler loaded. The container image is built this way.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// `--out DIR` builds elsewhere (the build test); it must stay inside the checkout so node_modules resolves.
const outAt = process.argv.indexOf('--out');
const dist = outAt > 0 ? resolve(process.argv[outAt + 1]!) : join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', dist], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
for (const path of ['spec/openapi.yaml', 'handlers/pages/assets', 'package.json']) cpSync(join(root, path), join(dist, path), { recursive: true });
console.log(`built ${dist}`);
