import type { CommandFailedEvent, CommandStartedEvent, CommandSucceededEvent, MongoClient } from 'mongodb';
import { ObjectId } from 'mongodb';

/** Put as `comment` on writes that only extend a document's life, which other replicas need not hear of. */
export const EXTENDS_ONLY = 'scaikey:extends-only';

export interface WriteEvent {
  collection: string;
  /** The hex `_id`s the write can change, or undefined when its filter does not say. */
  ids: string[] | undefined;
  /** Sent at the write's start, and again at its end (with `ok`). */
  phase: 'started' | 'ended';
  ok: boolean;
  extendsOnly: boolean;
}

export type WriteListener = (event: WriteEvent) => void;

const filtersOf: Record<string, (command: Record<string, unknown>) => unknown[] | undefined> = {
  update: (c) => (c.updates as Array<{ q?: unknown }> | undefined)?.map((u) => u.q),
  delete: (c) => (c.deletes as Array<{ q?: unknown }> | undefined)?.map((d) => d.q),
  findAndModify: (c) => [c.query],
};

/**
 * Tells `listener` about every update, delete, findAndModify and drop this client sends to
 * `dbName`, when it starts and again when it ends (inserts cannot change a document anyone has read).
 * Needs a client created with `monitorCommands: true`; returns false when it was not.
 */
export function monitorWrites(client: MongoClient, dbName: string, listener: WriteListener): boolean {
  if (!client.options.monitorCommands) return false;
  const pending = new Map<number, WriteEvent>();
  client.on('commandStarted', (event: CommandStartedEvent) => {
    if (event.databaseName !== dbName) return;
    const filters = filtersOf[event.commandName];
    let write: WriteEvent | undefined;
    if (filters) {
      const collection = String(event.command[event.commandName]);
      write = { collection, ids: idsIn(filters(event.command)), phase: 'started', ok: true, extendsOnly: event.command.comment === EXTENDS_ONLY };
    } else if (event.commandName === 'drop' || event.commandName === 'dropDatabase') {
      write = { collection: event.commandName === 'drop' ? String(event.command.drop) : '*', ids: undefined, phase: 'started', ok: true, extendsOnly: false };
    }
    if (!write) return;
    pending.set(event.requestId, write);
    listener(write);
  });
  const ended = (ok: boolean) => (event: CommandSucceededEvent | CommandFailedEvent) => {
    const write = pending.get(event.requestId);
    if (!write) return;
    pending.delete(event.requestId);
    listener({ ...write, phase: 'ended', ok });
  };
  client.on('commandSucceeded', ended(true));
  client.on('commandFailed', ended(false));
  return true;
}

/** The `_id`s named by equality or `$in` in every filter, or undefined if any filter names none. */
function idsIn(filters: unknown[] | undefined): string[] | undefined {
  if (!filters) return undefined;
  const ids: string[] = [];
  for (const filter of filters) {
    const id = filter && typeof filter === 'object' ? (filter as { _id?: unknown })._id : undefined;
    if (id instanceof ObjectId) ids.push(id.toHexString());
    else if (id && typeof id === 'object' && Array.isArray((id as { $in?: unknown }).$in) && (id as { $in: unknown[] }).$in.every((v) => v instanceof ObjectId)) {
      ids.push(...(id as { $in: ObjectId[] }).$in.map((v) => v.toHexString()));
    } else return undefined;
  }
  return ids;
}
