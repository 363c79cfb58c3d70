// The contract run's object-level-authorization pass (OWASP API1, BOLA): two tenant admins, each
// aimed at the other tenant's objects through every admin operation the spec documents.
//
// For each operation under /api/v1/admin/ (admin sign-in aside): path ids are filled with the other
// tenant's objects (by parameter name), a `tenant_id` / `user_id` query filter or body field points
// at the other tenant too, and the body is the spec's request example. The answer must be 403 or 404
// (a list filtered to the other tenant may answer 200, but with no items), never a 2xx on the other
// tenant's object and never a 422 (which would mean the case tested validation, not authorization).
// Afterwards the other tenant's documents must be byte-for-byte what they were.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { ObjectId } from 'mongodb';
import type { RunningServer } from '../../handlers/compose.ts';

type Db = RunningServer['database']['db'];

/** One tenant admin and the ids of objects in its tenant. */
export interface TenantSide {
  name: string;
  token: string;
  tenantId: string; // tnt_…
  tenantOid: ObjectId;
  ids: Record<string, string>; // path-parameter name → id in this tenant
}

export interface ObjectAuthorizationResult {
  passed: number;
  failed: number;
  failures: string[];
  skipped: string[];
}

type Operation = {
  operationId: string;
  parameters?: Array<{ $ref?: string; name?: string; in?: string }>;
  requestBody?: { content?: Record<string, { example?: unknown; examples?: Record<string, { value?: unknown }> }> };
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/**
 * Collections holding tenant-owned state, and the field naming the tenant. (The audit log is left
 * out: it is append-only, and the refusals themselves are appended to it.)
 */
const OWNED: Array<[string, string]> = [['tenants', '_id'], ['users', 'tenant_id'], ['sessions', 'tenant_id'], ['applications', 'tenant_id']];

async function fingerprint(db: Db, side: TenantSide): Promise<string> {
  const hash = createHash('sha256');
  for (const [name, field] of OWNED) {
    const docs = await db.collection(name).find({ [field]: side.tenantOid }).sort({ _id: 1 }).toArray();
    // Sessions slide their idle expiry and last-seen time when the owner uses them: not a change by the attacker.
    const stable = name === 'sessions' ? docs.map(({ last_seen_at: _l, idle_expires_at: _i, refresh: _r, ...rest }) => rest) : docs;
    hash.update(name).update(JSON.stringify(stable));
  }
  return hash.digest('hex');
}

function requestExample(op: Operation): unknown {
  const media = op.requestBody?.content?.['application/json'];
  if (!media) return undefined;
  if (media.example !== undefined) return structuredClone(media.example);
  const first = media.examples ? Object.values(media.examples)[0] : undefined;
  return first?.value !== undefined ? structuredClone(first.value) : {};
}

/** Points every tenant_id / user_id field of an example body at the victim's objects. */
function retarget(value: unknown, victim: TenantSide): unknown {
  if (Array.isArray(value)) return value.map((v) => retarget(v, victim));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === 'tenant_id') out[key] = victim.tenantId;
      else if (key === 'user_id' && victim.ids['user_id']) out[key] = victim.ids['user_id'];
      else out[key] = retarget(item, victim);
    }
    return out;
  }
  return value;
}

export async function runObjectAuthorization(input: { url: string; specPath: string; db: Db; sides: [TenantSide, TenantSide]; log: (msg: string) => void }): Promise<ObjectAuthorizationResult> {
  const spec = parseYaml(await readFile(input.specPath, 'utf8')) as {
    paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
    components: { parameters?: Record<string, { name: string; in: string }> };
  };
  const result: ObjectAuthorizationResult = { passed: 0, failed: 0, failures: [], skipped: [] };
  const [a, b] = input.sides;
  const before = await Promise.all([fingerprint(input.db, a), fingerprint(input.db, b)]);

  for (const [attacker, victim] of [[a, b], [b, a]] as const) {
    for (const [path, item] of Object.entries(spec.paths)) {
      if (!path.startsWith('/api/v1/admin/') || path.startsWith('/api/v1/admin/auth/')) continue;
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const params = (op.parameters ?? []).map((p) => (p.$ref ? spec.components.parameters?.[p.$ref.split('/').pop()!] : p)).filter((p): p is { name: string; in: string } => Boolean(p?.name));
        const pathParams = params.filter((p) => p.in === 'path');
        const tenantFilter = params.some((p) => p.in === 'query' && p.name === 'tenant_id');
        const userFilter = params.some((p) => p.in === 'query' && p.name === 'user_id');
        const body = requestExample(op);
        const aimsAtVictim = pathParams.length > 0 || tenantFilter || userFilter || (body !== undefined && JSON.stringify(body).match(/"(tenant_id|user_id)"/));
        if (!aimsAtVictim) continue; // e.g. catalogues, the caller's own scope: nothing of the other tenant to reach
        let concrete = path;
        const missing = pathParams.filter((p) => victim.ids[p.name] === undefined);
        if (missing.length) {
          result.skipped.push(`${op.operationId}: no ${missing.map((p) => p.name).join(', ')} to aim at`);
          continue;
        }
        for (const p of pathParams) concrete = concrete.replace(`{${p.name}}`, encodeURIComponent(victim.ids[p.name]!));
        const query = new URLSearchParams();
        if (tenantFilter) query.set('tenant_id', victim.tenantId);
        if (userFilter && victim.ids['user_id']) query.set('user_id', victim.ids['user_id']);
        const url = `${input.url}${concrete}${query.size ? `?${query}` : ''}`;
        const response = await fetch(url, {
          method: method.toUpperCase(),
          headers: { authorization: `Bearer ${attacker.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(retarget(body, victim)) } : {}),
        });
        const text = await response.text();
        const label = `${attacker.name} → ${victim.name}: ${method.toUpperCase()} ${path} (${op.operationId})`;
        let ok = response.status === 403 || response.status === 404;
        if (!ok && response.status === 200 && method === 'get' && pathParams.length === 0) {
          // A list filtered to another tenant: allowed only when it shows nothing of it.
          try {
            const parsed = JSON.parse(text) as { items?: unknown[]; total?: number };
            ok = Array.isArray(parsed.items) && parsed.items.length === 0 && parsed.total === 0;
          } catch {
            ok = false;
          }
        }
        if (ok) result.passed++;
        else {
          result.failed++;
          result.failures.push(`${label} answered ${response.status}: ${text.slice(0, 200)}`);
        }
      }
    }
  }
  const after = await Promise.all([fingerprint(input.db, a), fingerprint(input.db, b)]);
  for (const [i, side] of input.sides.entries()) {
    if (before[i] === after[i]) result.passed++;
    else {
      result.failed++;
      result.failures.push(`${side.name}: its documents changed while the other tenant's admin aimed at them`);
    }
  }
  for (const line of result.skipped) input.log(`contract: object authorization: skipped ${line}`);
  for (const line of result.failures) input.log(`contract: object authorization: FAILED ${line}`);
  input.log(`contract: object authorization (two tenant admins): ${result.passed} passed, ${result.failed} failed`);
  return result;
}
