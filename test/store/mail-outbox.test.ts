import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../handlers/store/database.ts';
import type { MailOutboxDoc, MailOutboxStore } from '../../handlers/store/mail-outbox.ts';
import { openTestStore } from '../support/store.ts';

const minute = 60_000;

describe('MailOutboxStore', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let database: Database;
  let outbox: MailOutboxStore;
  const now = new Date();
  const at = (ms: number) => new Date(now.getTime() + ms);

  const message = (fields: Partial<MailOutboxDoc> = {}): MailOutboxDoc => ({
    _id: new ObjectId(),
    to: 'ann@example.com',
    from: 'ScaiKey <no-reply@example.com>',
    template: 'verify_email',
    locale: 'en',
    subject: 'Verify',
    text: 'link tok_X',
    html: '<p>link tok_X</p>',
    status: 'pending',
    attempts: 0,
    next_attempt_at: at(-minute),
    claimed_until: new Date(0),
    claim_id: null,
    last_error: null,
    created_at: at(-minute),
    sent_at: null,
    failed_at: null,
    ...fields,
  });
  const raw = () => database.db.collection<MailOutboxDoc>('mail_outbox');
  const stored = (id: ObjectId) => raw().findOne({ _id: id });
  const lease = at(10 * minute);

  beforeAll(async () => {
    store = await openTestStore();
    database = store.database;
    outbox = database.mailOutbox;
  });
  afterAll(async () => store?.close());
  beforeEach(async () => {
    await raw().deleteMany({});
  });

  it('insert stores the message as given; a duplicate _id is refused (code 11000)', async () => {
    const doc = message();
    await outbox.insert(doc);
    expect(await stored(doc._id)).toEqual(doc);
    await expect(outbox.insert({ ...doc })).rejects.toMatchObject({ code: 11000 });
  });

  it('claimDue takes the due message waiting longest, counts the attempt and returns it after the update', async () => {
    const later = message({ next_attempt_at: at(-minute) });
    const earlier = message({ next_attempt_at: at(-2 * minute) });
    await outbox.insert(later);
    await outbox.insert(earlier);
    expect(await outbox.claimDue(now, lease, 'sender-a:1')).toEqual({ ...earlier, attempts: 1, claimed_until: lease, claim_id: 'sender-a:1' });
    expect(await outbox.claimDue(now, lease, 'sender-a:2')).toMatchObject({ _id: later._id, attempts: 1, claim_id: 'sender-a:2' });
    expect(await outbox.claimDue(now, lease, 'sender-a:3')).toBeNull();
  });

  it('claimDue skips messages not yet due, held by another sender, sent or failed', async () => {
    const notDue = message({ next_attempt_at: at(minute) });
    const held = message({ claimed_until: at(minute), claim_id: 'other' });
    const sent = message({ status: 'sent', text: null, html: null, sent_at: at(-1000) });
    const failed = message({ status: 'failed', text: null, html: null, failed_at: at(-1000) });
    for (const doc of [notDue, held, sent, failed]) await outbox.insert(doc);
    expect(await outbox.claimDue(now, lease, 'me')).toBeNull();
    for (const doc of [notDue, held, sent, failed]) expect(await stored(doc._id)).toEqual(doc);
  });

  it('claimDue takes over a message whose lease ran out', async () => {
    const abandoned = message({ claimed_until: at(-1000), claim_id: 'dead-replica', attempts: 1 });
    await outbox.insert(abandoned);
    expect(await outbox.claimDue(now, lease, 'me')).toMatchObject({ _id: abandoned._id, attempts: 2, claim_id: 'me', claimed_until: lease });
    // The old holder's claim no longer records anything.
    expect(await outbox.markSent(abandoned._id, 'dead-replica', now)).toBe(false);
    expect(await stored(abandoned._id)).toMatchObject({ status: 'pending', claim_id: 'me' });
  });

  it('claimDue race: of 8 senders claiming one message exactly one gets it', async () => {
    const doc = message();
    await outbox.insert(doc);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => outbox.claimDue(now, lease, `sender-${i}`)));
    const winners = results.filter((r) => r !== null);
    expect(winners).toHaveLength(1);
    expect(await stored(doc._id)).toMatchObject({ attempts: 1, claim_id: winners[0]!.claim_id });
  });

  it('claimDue race: 4 senders draining 12 messages claim each exactly once', async () => {
    for (let i = 0; i < 12; i++) await outbox.insert(message({ to: `user${i}@example.com`, next_attempt_at: at(-(i + 1) * 1000) }));
    const claimed: string[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async (_, sender) => {
        for (let n = 0; ; n++) {
          const doc = await outbox.claimDue(now, lease, `sender-${sender}:${n}`);
          if (!doc) return;
          claimed.push(doc._id.toHexString());
        }
      }),
    );
    expect(claimed).toHaveLength(12);
    expect(new Set(claimed).size).toBe(12);
    expect(await raw().countDocuments({ attempts: 1 })).toBe(12);
  });

  it('markSent records the delivery and clears the body, only under the current claim', async () => {
    const doc = message();
    await outbox.insert(doc);
    const claimed = (await outbox.claimDue(now, lease, 'me'))!;
    expect(await outbox.markSent(claimed._id, 'someone-else', now)).toBe(false);
    expect(await stored(doc._id)).toMatchObject({ status: 'pending', text: doc.text });
    expect(await outbox.markSent(claimed._id, claimed.claim_id, now)).toBe(true);
    expect(await stored(doc._id)).toMatchObject({ status: 'sent', sent_at: now, claimed_until: new Date(0), last_error: null, text: null, html: null });
    expect(await outbox.claimDue(at(minute), lease, 'again')).toBeNull();
  });

  it('markFailed gives the message up and clears the body, only under the current claim', async () => {
    const doc = message();
    await outbox.insert(doc);
    const claimed = (await outbox.claimDue(now, lease, 'me'))!;
    expect(await outbox.markFailed(claimed._id, 'someone-else', now, 'boom')).toBe(false);
    expect(await outbox.markFailed(claimed._id, claimed.claim_id, now, 'boom')).toBe(true);
    expect(await stored(doc._id)).toMatchObject({ status: 'failed', failed_at: now, last_error: 'boom', claimed_until: new Date(0), text: null, html: null });
    expect(await outbox.claimDue(at(minute), lease, 'again')).toBeNull();
  });

  it('scheduleRetry releases the claim and makes the message due again later, only under the current claim', async () => {
    const doc = message();
    await outbox.insert(doc);
    const claimed = (await outbox.claimDue(now, lease, 'me'))!;
    expect(await outbox.scheduleRetry(claimed._id, 'someone-else', at(minute), 'later')).toBe(false);
    expect(await outbox.scheduleRetry(claimed._id, claimed.claim_id, at(minute), 'try later')).toBe(true);
    expect(await stored(doc._id)).toMatchObject({ status: 'pending', next_attempt_at: at(minute), last_error: 'try later', claimed_until: new Date(0), text: doc.text });
    expect(await outbox.claimDue(now, lease, 'early')).toBeNull();
    expect(await outbox.claimDue(at(minute), at(20 * minute), 'on-time')).toMatchObject({ _id: doc._id, attempts: 2, claim_id: 'on-time' });
  });

  it('purge removes sent and failed messages created before the cutoff, and counts them', async () => {
    const oldSent = message({ status: 'sent', created_at: at(-10 * minute) });
    const oldFailed = message({ status: 'failed', created_at: at(-10 * minute) });
    const oldPending = message({ status: 'pending', created_at: at(-10 * minute) });
    const newSent = message({ status: 'sent', created_at: now });
    for (const doc of [oldSent, oldFailed, oldPending, newSent]) await outbox.insert(doc);
    expect(await outbox.purge(at(-minute))).toBe(2);
    expect((await raw().find({}).toArray()).map((d) => d._id.toHexString()).sort()).toEqual([oldPending._id.toHexString(), newSent._id.toHexString()].sort());
    expect(await outbox.purge(at(-minute))).toBe(0);
  });
});
