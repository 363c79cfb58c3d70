import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEventDoc, AuditEventStore } from '../../handlers/store/audit-events.ts';
import type { Database } from '../../handlers/store/database.ts';
import { openTestStore } from '../support/store.ts';

describe('AuditEventStore', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let database: Database;
  let events: AuditEventStore;
  const base = new Date('2030-01-01T00:00:00Z');
  const at = (s: number) => new Date(base.getTime() + s * 1000);
  const tenantId = new ObjectId();
  const userId = new ObjectId();

  const event = (fields: Partial<AuditEventDoc> = {}): AuditEventDoc => ({
    _id: new ObjectId(),
    tenant_id: tenantId,
    user_id: userId,
    type: 'login',
    outcome: 'success',
    client_ip: '192.0.2.1',
    user_agent: 'test',
    details: {},
    created_at: base,
    ...fields,
  });
  const raw = () => database.db.collection<AuditEventDoc>('audit_events');
  const ids = (docs: AuditEventDoc[]) => docs.map((d) => d._id.toHexString());

  beforeAll(async () => {
    store = await openTestStore();
    database = store.database;
    events = database.auditEvents;
  });
  afterAll(async () => store?.close());
  beforeEach(async () => {
    await raw().deleteMany({});
  });

  it('insert stores the event as given, also without tenant or user', async () => {
    const doc = event({ details: { purpose: 'x' } });
    const anonymous = event({ tenant_id: null, user_id: null });
    await events.insert(doc);
    await events.insert(anonymous);
    expect(await raw().findOne({ _id: doc._id })).toEqual(doc);
    expect(await raw().findOne({ _id: anonymous._id })).toEqual(anonymous);
  });

  it('insert refuses a duplicate _id', async () => {
    const doc = event();
    await events.insert(doc);
    await expect(events.insert({ ...doc, type: 'other' })).rejects.toMatchObject({ code: 11000 });
  });

  it('findForUser finds only the user’s own event in their tenant', async () => {
    const own = event();
    const otherUser = event({ user_id: new ObjectId() });
    const otherTenant = event({ tenant_id: new ObjectId() });
    for (const doc of [own, otherUser, otherTenant]) await events.insert(doc);
    expect(await events.findForUser(tenantId, userId, own._id)).toEqual(own);
    expect(await events.findForUser(tenantId, userId, otherUser._id)).toBeNull();
    expect(await events.findForUser(tenantId, userId, otherTenant._id)).toBeNull();
    expect(await events.findForUser(tenantId, userId, new ObjectId())).toBeNull();
  });

  it('listForUser lists the user’s own events newest first, ties by _id, up to the limit', async () => {
    const old = event({ created_at: at(1) });
    const tieA = event({ created_at: at(2) });
    const tieB = event({ created_at: at(2) });
    const newest = event({ created_at: at(3) });
    for (const doc of [tieB, old, newest, tieA]) await events.insert(doc);
    await events.insert(event({ user_id: new ObjectId(), created_at: at(4) }));
    await events.insert(event({ tenant_id: new ObjectId(), created_at: at(4) }));
    const [first, second] = [tieA, tieB].sort((x, y) => (x._id.toHexString() < y._id.toHexString() ? 1 : -1));
    expect(ids(await events.listForUser(tenantId, userId, 10))).toEqual(ids([newest, first!, second!, old]));
    expect(ids(await events.listForUser(tenantId, userId, 2))).toEqual(ids([newest, first!]));
    expect(await events.listForUser(new ObjectId(), userId, 10)).toEqual([]);
  });

  it('listForUser with a cursor continues strictly after it, across equal timestamps, without skips or repeats', async () => {
    const docs = Array.from({ length: 7 }, (_, i) => event({ created_at: at(Math.floor(i / 3)) }));
    for (const doc of docs) await events.insert(doc);
    const everything = ids(await events.listForUser(tenantId, userId, 100));
    const paged: string[] = [];
    let before: AuditEventDoc | undefined;
    for (;;) {
      const page = await events.listForUser(tenantId, userId, 2, before);
      if (page.length === 0) break;
      paged.push(...ids(page));
      before = page[page.length - 1];
    }
    expect(paged).toEqual(everything);
    expect(new Set(paged).size).toBe(7);
    // From the oldest event there is nothing further.
    expect(await events.listForUser(tenantId, userId, 10, before)).toEqual([]);
  });
});
