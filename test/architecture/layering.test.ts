import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The house rules, written once. Each layer may import only the layers listed for it; anything
 * else is an import that points up (or sideways into a part it must not know).
 *
 *   generated ← core ← store ← domain ← operations ← http ← composition root (compose.ts, main.ts)
 *                  ↖ pages (HTML shells: core only) ↗
 *   mocks: http, core, pages, generated.   scripts: anything but is never imported by production code.
 */
export const allowedImports: Record<string, readonly string[]> = {
  generated: [],
  'handlers/core': ['generated'],
  'handlers/store': ['handlers/core'],
  'handlers/domain': ['handlers/core', 'handlers/store'],
  'handlers/operations': ['handlers/core', 'handlers/domain', 'generated'],
  'handlers/pages': ['handlers/core'],
  'handlers/http': ['handlers/core', 'handlers/pages', 'generated'],
  'handlers/root': ['handlers/core', 'handlers/store', 'handlers/domain', 'handlers/operations', 'handlers/pages', 'handlers/http', 'mocks', 'generated'],
  mocks: ['handlers/http', 'handlers/core', 'handlers/pages', 'generated'],
};

/** Who may use the MongoDB driver (client, collections): the store, the composition root, the launcher. */
const driverUsers = [/^handlers\/store\//, /^handlers\/(compose|main)\.ts$/, /^scripts\/local-mongo/];
/** Elsewhere in production code a document id is all one may take from the driver's package. */
const idOnly = /^import\s+(type\s+)?\{\s*(type\s+)?ObjectId\s*\}\s+from\s+'mongodb'/;
/** Driver calls that read or write a collection: only the store makes them. */
const collectionCalls = /\.(collection|insertOne|insertMany|updateOne|updateMany|replaceOne|findOneAndUpdate|findOneAndDelete|findOneAndReplace|deleteOne|deleteMany|countDocuments|estimatedDocumentCount|createIndex|aggregate|bulkWrite|listCollections|createCollection|findOne)\(|\.find\(\{/;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mjs|js)$/.test(name)) out.push(path.split(sep).join('/'));
  }
  return out;
}

/** The layer a file belongs to, or undefined for files outside the rules (scripts, tests). */
export function layerOf(file: string): string | undefined {
  if (/^handlers\/[^/]+\.ts$/.test(file)) return 'handlers/root';
  const match = /^(handlers\/[^/]+|generated|mocks)\//.exec(file);
  return match?.[1];
}

/** Relative import specifiers of a file (static, dynamic, re-exports, type-only alike). */
export function importsOf(text: string): string[] {
  const specs: string[] = [];
  const pattern = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm;
  for (const match of text.matchAll(pattern)) specs.push(match[2]!);
  return specs;
}

/** Rule breaches of one file's imports (pure, so the test can show it fails on a bad import). */
export function violations(file: string, text: string): string[] {
  const found: string[] = [];
  const from = layerOf(file);
  for (const spec of importsOf(text)) {
    if (spec.startsWith('.')) {
      const target = relative(root, resolve(root, dirname(file), spec)).split(sep).join('/');
      if (target.startsWith('scripts/') && !file.startsWith('scripts/') && !file.startsWith('test/')) found.push(`${file} imports ${target}: production code never imports scripts/`);
      const to = layerOf(target);
      if (from && to && from !== to && !allowedImports[from]!.includes(to)) found.push(`${file} (${from}) imports ${target} (${to})`);
    } else if (spec === 'mongodb' && !driverUsers.some((p) => p.test(file)) && !file.startsWith('test/')) {
      const lines = text.split('\n').filter((line) => /from\s+'mongodb'/.test(line));
      if (lines.some((line) => !idOnly.test(line.trim()))) found.push(`${file} imports the MongoDB driver (only ObjectId is allowed outside the store)`);
    }
  }
  if ((from?.startsWith('handlers/') && from !== 'handlers/store') || from === 'mocks') {
    text.split('\n').forEach((line, i) => {
      if (collectionCalls.test(line)) found.push(`${file}:${i + 1} reads or writes a collection outside the store: ${line.trim()}`);
    });
  }
  return found;
}

/** The unit of the cycle check: a domain concept folder, otherwise the layer (subfolders of pages or mocks are its parts). */
export function unitOf(file: string): string {
  const concept = /^handlers\/domain\/[^/]+(?=\/)/.exec(file);
  return concept?.[0] ?? layerOf(file) ?? dirname(file);
}

/** Cycles between units (e.g. domain/login ↔ domain/mfa), as sorted lists of units. */
export function folderCycles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

const files = [...sourceFiles('handlers'), ...sourceFiles('mocks'), ...sourceFiles('generated'), ...sourceFiles('scripts')];

describe('layering', () => {
  it('every import points down the layers, and the driver stays in the store', () => {
    const found = files.flatMap((file) => violations(file, readFileSync(join(root, file), 'utf8')));
    expect(found).toEqual([]);
  });

  it('no cycle between folders (domain concepts, layers)', () => {
    const edges = new Map<string, Set<string>>();
    for (const file of files.filter((f) => f.startsWith('handlers/') || f.startsWith('mocks/'))) {
      const from = unitOf(file);
      for (const spec of importsOf(readFileSync(join(root, file), 'utf8')).filter((s) => s.startsWith('.'))) {
        const to = unitOf(relative(root, resolve(root, dirname(file), spec)).split(sep).join('/'));
        if (to === from) continue;
        if (!edges.has(from)) edges.set(from, new Set());
        edges.get(from)!.add(to);
      }
    }
    expect(folderCycles(edges)).toEqual([]);
  });

  it('catches a deliberately upward import, a driver import and a collection call outside the store', () => {
    expect(violations('handlers/domain/users/users.ts', "import { createApp } from '../../http/front.ts';")).toEqual([
      'handlers/domain/users/users.ts (handlers/domain) imports handlers/http/front.ts (handlers/http)',
    ]);
    expect(violations('handlers/core/clock.ts', "import type { Users } from '../domain/users/users.ts';")).toHaveLength(1);
    expect(violations('handlers/store/users.ts', "import type { Users } from '../domain/users/users.ts';")).toHaveLength(1);
    expect(violations('mocks/server.ts', "import { Database } from '../handlers/store/database.ts';")).toHaveLength(1);
    expect(violations('handlers/main.ts', "import { startLocalMongo } from '../scripts/local-mongo.ts';")).toHaveLength(1);
    expect(violations('handlers/domain/users/users.ts', "import { MongoClient } from 'mongodb';")).toHaveLength(1);
    expect(violations('handlers/domain/users/users.ts', "import { ObjectId } from 'mongodb';")).toEqual([]);
    expect(violations('handlers/domain/users/users.ts', 'await this.users.updateOne({ _id }, { $set: {} });')).toHaveLength(1);
    expect(violations('handlers/store/users.ts', 'await this.users.updateOne({ _id }, { $set: {} });')).toEqual([]);
    expect(folderCycles(new Map([['a', new Set(['b'])], ['b', new Set(['a'])]]))).toEqual([['a', 'b']]);
  });
});
