import { MongoClient, type Collection, type Db, type ObjectId } from 'mongodb';
import type { Clock } from '../core/clock.ts';
import { CacheInvalidation, type Evictable } from './cache-invalidation.ts';
import type { RecentDocuments } from './recent-documents.ts';
import { monitorWrites } from './write-monitor.ts';
import { DatabaseAvailability, guardDatabase, type AvailabilityChange } from './availability.ts';
import { ApplicationStore, applicationsCollection } from './applications.ts';
import { AuditEventStore, auditEventsCollection } from './audit-events.ts';
import { AuthorizationCodeStore, authorizationCodesCollection } from './authorization-codes.ts';
import { ConsentStore, consentsCollection } from './consents.ts';
import { CounterStore, countersCollection } from './counters.ts';
import { FlowStore, flowsCollection } from './flows.ts';
import { MailOutboxStore, mailOutboxCollection } from './mail-outbox.ts';
import { MetaStore, metaCollection } from './meta.ts';
import { RefreshTokenStore, refreshTokensCollection } from './refresh-tokens.ts';
import { SessionStore, sessionsCollection } from './sessions.ts';
import { SigningKeyStore, signingKeysCollection } from './signing-keys.ts';
import { TenantStore, tenantsCollection } from './tenants.ts';
import { PartnerStore, partnersCollection } from './partners.ts';
import { PlatformSettingsStore, platformSettingsCollection } from './platform-settings.ts';
import { TrustedDeviceStore, trustedDevicesCollection } from './trusted-devices.ts';
import { UserStore, usersCollection } from './users.ts';
import { WebAuthnChallengeStore, webauthnChallengesCollection } from './webauthn-challenges.ts';
import { WebAuthnCredentialStore, webauthnCredentialsCollection } from './webauthn-credentials.ts';

/** The store owns MongoDB: one client, typed collections, nothing module-global. */
export class Database {
  readonly tenants: TenantStore;
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly refreshTokens: RefreshTokenStore;
  readonly flows: FlowStore;
  readonly signingKeys: SigningKeyStore;
  readonly counters: CounterStore;
  readonly auditEvents: AuditEventStore;
  readonly meta: MetaStore;
  readonly trustedDevices: TrustedDeviceStore;
  readonly webauthnCredentials: WebAuthnCredentialStore;
  readonly webauthnChallenges: WebAuthnChallengeStore;
  readonly mailOutbox: MailOutboxStore;
  readonly applications: ApplicationStore;
  readonly authorizationCodes: AuthorizationCodeStore;
  readonly consents: ConsentStore;
  readonly partners: PartnerStore;
  readonly platformSettings: PlatformSettingsStore;

  private readonly cacheInvalidation: CacheInvalidation;
  /** Every call through `db` (so every store) answers ApiError('serviceUnavailable') while the database is lost. */
  readonly db: Db;
  private readonly availability: DatabaseAvailability;

  private constructor(
    readonly client: MongoClient,
    rawDb: Db,
    private readonly ownsClient: boolean,
  ) {
    this.availability = new DatabaseAvailability(client, rawDb);
    const db = (this.db = guardDatabase(rawDb, this.availability));
    let invalidation: CacheInvalidation | undefined;
    const seesWrites = monitorWrites(client, db.databaseName, (event) => invalidation?.onWrite(event));
    this.cacheInvalidation = invalidation = new CacheInvalidation(db.collection('cache_invalidations'), seesWrites);
    this.tenants = new TenantStore(db.collection(tenantsCollection.name));
    this.users = new UserStore(db.collection(usersCollection.name));
    this.sessions = new SessionStore(db.collection(sessionsCollection.name));
    this.refreshTokens = new RefreshTokenStore(db.collection(refreshTokensCollection.name));
    this.flows = new FlowStore(db.collection(flowsCollection.name));
    this.signingKeys = new SigningKeyStore(db.collection(signingKeysCollection.name));
    this.counters = new CounterStore(db.collection(countersCollection.name));
    this.auditEvents = new AuditEventStore(db.collection(auditEventsCollection.name));
    this.meta = new MetaStore(db.collection(metaCollection.name));
    this.trustedDevices = new TrustedDeviceStore(db.collection(trustedDevicesCollection.name));
    this.webauthnCredentials = new WebAuthnCredentialStore(db.collection(webauthnCredentialsCollection.name));
    this.webauthnChallenges = new WebAuthnChallengeStore(db.collection(webauthnChallengesCollection.name));
    this.mailOutbox = new MailOutboxStore(db.collection(mailOutboxCollection.name));
    this.applications = new ApplicationStore(db.collection(applicationsCollection.name));
    this.authorizationCodes = new AuthorizationCodeStore(db.collection(authorizationCodesCollection.name));
    this.consents = new ConsentStore(db.collection(consentsCollection.name));
    this.partners = new PartnerStore(db.collection(partnersCollection.name));
    this.platformSettings = new PlatformSettingsStore(db.collection(platformSettingsCollection.name));
  }

  static async connect(uri: string, dbName: string): Promise<Database> {
    // Command monitoring lets recent() caches see this process's own writes. A heartbeat every
    // second lets the availability monitor notice a lost server within about a second.
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, heartbeatFrequencyMS: 1_000, appName: 'scaikey-server', monitorCommands: true });
    await client.connect();
    const database = new Database(client, client.db(dbName), true);
    database.availability.start();
    return database;
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

  /** Keeps a cache of the domain's own (the OAuth clients') in step with writes of every replica; false when writes are invisible. */
  follow(collection: 'applications', cache: Evictable, pollMs: number): boolean {
    return this.cacheInvalidation.follow(collection, cache, pollMs);
  }

  /** Reads other replicas' announcements now instead of at the next poll (tests). */
  async pollInvalidations(): Promise<void> {
    await this.cacheInvalidation.poll();
  }

  /**
   * Whether the database can serve right now (the monitor's view, no round trip; always true for
   * fromClient(), which runs no monitor). Store calls fail fast with a 503 while it is false.
   */
  get available(): boolean {
    return this.availability.available;
  }

  /** Told when the database is lost and when it is back (connect() only). */
  onAvailabilityChange(listener: (change: AvailabilityChange) => void): void {
    this.availability.onChange(listener);
  }

  /** Whether the database answers within `timeoutMs` (readiness must not hang while it is gone). */
  async ping(timeoutMs = 1000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.db.command({ ping: 1 }).then(() => true, () => false), late]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.availability.stop();
    await this.cacheInvalidation.close();
    if (this.ownsClient) await this.client.close();
  }
}
