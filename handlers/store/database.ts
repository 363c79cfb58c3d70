import { MongoClient, type Collection, type Db, type ObjectId } from 'mongodb';
import type { Clock } from '../core/clock.ts';
import { CacheInvalidation } from './cache-invalidation.ts';
import type { RecentDocuments } from './recent-documents.ts';
import { monitorWrites } from './write-monitor.ts';
import type { AuditEventDoc } from './audit-events.ts';
import type { CounterDoc } from './counters.ts';
import type { FlowDoc } from './flows.ts';
import type { MetaDoc } from './meta.ts';
import type { RefreshTokenDoc } from './refresh-tokens.ts';
import type { SessionDoc } from './sessions.ts';
import type { SigningKeyDoc } from './signing-keys.ts';
import type { TenantDoc } from './tenants.ts';
import type { TrustedDeviceDoc } from './trusted-devices.ts';
import type { UserDoc } from './users.ts';
import type { WebAuthnChallengeDoc } from './webauthn-challenges.ts';
import type { WebAuthnCredentialDoc } from './webauthn-credentials.ts';

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

  private readonly cacheInvalidation: CacheInvalidation;

  private constructor(
    readonly client: MongoClient,
    readonly db: Db,
    private readonly ownsClient: boolean,
  ) {
    let invalidation: CacheInvalidation | undefined;
    const seesWrites = monitorWrites(client, db.databaseName, (event) => invalidation?.onWrite(event));
    this.cacheInvalidation = invalidation = new CacheInvalidation(db.collection('cache_invalidations'), seesWrites);
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
   * A short-lived cache of documents of one collection read by `_id` (see RecentDocuments), kept in
   * step with writes of this process and of other replicas (see CacheInvalidation). Disabled (every
   * read goes to the database) when `ttlMs` is 0 or the client cannot report its writes.
   */
  recent<T extends { _id: ObjectId }>(collection: 'users' | 'sessions' | 'tenants', options: { ttlMs: number; pollMs: number; clock: Clock }): RecentDocuments<T> {
    return this.cacheInvalidation.register<T>(collection, options);
  }

  /** Reads other replicas' announcements now instead of at the next poll (tests). */
  async pollInvalidations(): Promise<void> {
    await this.cacheInvalidation.poll();
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
    await this.cacheInvalidation.close();
    if (this.ownsClient) await this.client.close();
  }
}
