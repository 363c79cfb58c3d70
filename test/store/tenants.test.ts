import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../handlers/store/database.ts';
import type { TenantDoc, TenantStore } from '../../handlers/store/tenants.ts';
import { defaultTenantSettings } from '../../handlers/domain/tenants/tenants.ts';
import { openTestStore } from '../support/store.ts';

let counter = 0;

describe('TenantStore', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let database: Database;
  let tenants: TenantStore;
  const now = new Date();
  const earlier = new Date(now.getTime() - 60_000);

  const tenant = (fields: Partial<TenantDoc> = {}): TenantDoc => {
    counter += 1;
    return { _id: new ObjectId(), slug: `t${counter}`, name: `Tenant ${counter}`, status: 'active', settings: defaultTenantSettings(), created_at: earlier, updated_at: earlier, ...fields };
  };
  const raw = () => database.db.collection<TenantDoc>('tenants');
  const inserted = async (fields: Partial<TenantDoc> = {}) => {
    const doc = tenant(fields);
    expect(await tenants.insert(doc)).toBe(true);
    return doc;
  };

  beforeAll(async () => {
    store = await openTestStore();
    database = store.database;
    tenants = database.tenants;
  });
  afterAll(async () => store?.close());
  beforeEach(async () => {
    await raw().deleteMany({});
  });

  it('insert stores the tenant as given; findById and findBySlug read it back', async () => {
    const doc = await inserted();
    expect(await raw().findOne({ _id: doc._id })).toEqual(doc);
    expect(await tenants.findById(doc._id)).toEqual(doc);
    expect(await tenants.findBySlug(doc.slug)).toEqual(doc);
    expect(await tenants.findById(new ObjectId())).toBeNull();
    expect(await tenants.findBySlug('nope')).toBeNull();
  });

  it('insert refuses a taken slug (unique index)', async () => {
    const doc = await inserted();
    expect(await tenants.insert(tenant({ slug: doc.slug, name: 'Impostor' }))).toBe(false);
    expect(await raw().find({ slug: doc.slug }).toArray()).toEqual([doc]);
  });

  it('of N parallel inserts of one slug exactly one succeeds', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => tenants.insert(tenant({ slug: 'race' }))));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await raw().countDocuments({ slug: 'race' })).toBe(1);
  });

  it('update changes name, status and only the named settings, and returns the result', async () => {
    const doc = await inserted();
    const updated = await tenants.update(doc.slug, { name: 'Renamed', status: 'disabled', settings: { mfa_required: true, allowed_redirect_uris: ['https://a.example/cb'] } }, now);
    expect(updated).toEqual({
      ...doc,
      name: 'Renamed',
      status: 'disabled',
      settings: { ...doc.settings, mfa_required: true, allowed_redirect_uris: ['https://a.example/cb'] },
      updated_at: now,
    });
    expect(await raw().findOne({ _id: doc._id })).toEqual(updated);
  });

  it('update with no changes only touches updated_at; an unknown slug gives null', async () => {
    const doc = await inserted();
    expect(await tenants.update(doc.slug, {}, now)).toEqual({ ...doc, updated_at: now });
    expect(await tenants.update('nope', { name: 'x' }, now)).toBeNull();
    expect(await raw().countDocuments({ slug: 'nope' })).toBe(0);
  });

  it('any tells an empty collection from one with tenants', async () => {
    expect(await tenants.any()).toBe(false);
    await inserted();
    expect(await tenants.any()).toBe(true);
  });

  it('list returns every tenant by slug', async () => {
    const b = await inserted({ slug: 'bravo' });
    const a = await inserted({ slug: 'alpha', status: 'disabled' });
    expect((await tenants.list()).map((t) => t.slug)).toEqual([a.slug, b.slug]);
  });

  it('listActiveByIds returns the active ones among the ids, by name', async () => {
    const z = await inserted({ name: 'Zulu' });
    const y = await inserted({ name: 'Yankee' });
    const off = await inserted({ name: 'Alpha', status: 'disabled' });
    await inserted({ name: 'Not asked' });
    expect((await tenants.listActiveByIds([z._id, y._id, off._id, new ObjectId()])).map((t) => t.name)).toEqual(['Yankee', 'Zulu']);
    expect(await tenants.listActiveByIds([])).toEqual([]);
  });
});
