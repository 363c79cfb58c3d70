import type { CommandFailedEvent, CommandStartedEvent, CommandSucceededEvent, MongoClient } from 'mongodb';
import { ObjectId } from 'mongodb';

/** `ids` are the hex `_id`s a write can change, or undefined when its filter does not say. */
export type WriteListener = (collection: string, ids: string[] | undefined) => void;

const filtersOf: Record<string, (command: Record<string, unknown>) => unknown[] | undefined> = {
  update: (c) => (c.updates as Array<{ q?: unknown }> | undefined)?.map((u) => u.q),
  delete: (c) => (c.deletes as Array<{ q?: unknown }> | undefined)?.map((d) => d.q),
  findAndModify: (c) => [c.query],
};

/**
 * Tells `listener` about every update, delete and findAndModify this client sends to `dbName`,
 * when it starts and again when it ends (inserts cannot change a document anyone has read).
 * Needs a client created with `monitorCommands: true`; returns false when it was not.
 */
export function monitorWrites(client: MongoClient, dbName: string, listener: WriteListener): boolean {
  if (!client.options.monitorCommands) return false;
  const pending = new Map<number, { collection: string; ids: string[] | undefined }>();
  client.on('commandStarted', (event: CommandStartedEvent) => {
    const filters = filtersOf[event.commandName];
    if (filters && event.databaseName === dbName) {
      const collection = String(event.command[event.commandName]);
      const ids = idsIn(filters(event.command));
      pending.set(event.requestId, { collection, ids });
      listener(collection, ids);
    } else if ((event.commandName === 'drop' || event.commandName === 'dropDatabase') && event.databaseName === dbName) {
      listener(event.commandName === 'drop' ? String(event.command.drop) : '*', undefined);
    }
  });
  const ended = (event: CommandSucceededEvent | CommandFailedEvent) => {
    const write = pending.get(event.requestId);
    if (!write) return;
    pending.delete(event.requestId);
    listener(write.collection, write.ids);
  };
  client.on('commandSucceeded', ended);
  client.on('commandFailed', ended);
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
