import { MongoClient, type Collection, type Db, type ObjectId } from 'mongodb';
import type { Clock } from '../domain/clock.ts';
import { RecentDocuments } from './recent-documents.ts';
import { monitorWrites } from './write-monitor.ts';
import type {
  AuditEventDoc,
  CounterDoc,
  FlowDoc,
  MetaDoc,
  RefreshTokenDoc,
  SessionDoc,
  SigningKeyDoc,
  TenantDoc,
  TrustedDeviceDoc,
  UserDoc,
  WebAuthnChallengeDoc,
  WebAuthnCredentialDoc,
} from './documents.ts';

/** The store owns MongoDB: one client, typed collections, nothing module-global. */
export class Database {
  readonly tenants: Collection<TenantDoc>;
  readonly users: Collection<UserDoc>;
  readonly sessions: Collection<SessionDoc>;
  readonly refreshTokens: Collection<RefreshTokenDoc>;
  readonly flows: Collection<FlowDoc>;
  readonly signingKeys: Collection<SigningKeyDoc>;
  readonly counters: Collection<CounterDoc>;
  readonly auditEvents: Collection<AuditEventDoc>;
  readonly meta: Collection<MetaDoc>;
  readonly trustedDevices: Collection<TrustedDeviceDoc>;
  readonly webauthnCredentials: Collection<WebAuthnCredentialDoc>;
  readonly webauthnChallenges: Collection<WebAuthnChallengeDoc>;

  private readonly recentByCollection = new Map<string, Array<RecentDocuments<never>>>();
  private readonly seesWrites: boolean;

  private constructor(
    readonly client: MongoClient,
    readonly db: Db,
    private readonly ownsClient: boolean,
  ) {
    this.seesWrites = monitorWrites(client, db.databaseName, (collection, ids) => {
      for (const [name, caches] of this.recentByCollection) {
        if (collection === name || collection === '*') for (const cache of caches) cache.evict(ids);
      }
    });
    this.tenants = db.collection('tenants');
    this.users = db.collection('users');
    this.sessions = db.collection('sessions');
    this.refreshTokens = db.collection('refresh_tokens');
    this.flows = db.collection('flows');
    this.signingKeys = db.collection('signing_keys');
    this.counters = db.collection('counters');
    this.auditEvents = db.collection('audit_events');
    this.meta = db.collection('meta');
    this.trustedDevices = db.collection('trusted_devices');
    this.webauthnCredentials = db.collection('webauthn_credentials');
    this.webauthnChallenges = db.collection('webauthn_challenges');
  }

  static async connect(uri: string, dbName: string): Promise<Database> {
    // Command monitoring lets recent() caches see this process's own writes.
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, appName: 'scaikey-server', monitorCommands: true });
    await client.connect();
    return new Database(client, client.db(dbName), true);
  }

  static fromClient(client: MongoClient, dbName: string): Database {
    return new Database(client, client.db(dbName), false);
  }

  /**
   * A short-lived cache of documents of one collection read by `_id` (see RecentDocuments), evicted
   * by this process's writes to that collection. Disabled (every read goes to the database) when
   * `ttlMs` is 0 or the client cannot report its writes.
   */
  recent<T extends { _id: ObjectId }>(collection: 'users' | 'sessions', ttlMs: number, clock: Clock): RecentDocuments<T> {
    const cache = new RecentDocuments<T>(this.seesWrites ? ttlMs : 0, clock);
    const list = this.recentByCollection.get(collection) ?? [];
    list.push(cache as unknown as RecentDocuments<never>);
    this.recentByCollection.set(collection, list);
    return cache;
  }

  async ping(): Promise<boolean> {
    try {
      await this.db.command({ ping: 1 });
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }
}
