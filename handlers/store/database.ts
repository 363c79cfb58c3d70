import { MongoClient, type Collection, type Db } from 'mongodb';
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

  private constructor(
    readonly client: MongoClient,
    readonly db: Db,
    private readonly ownsClient: boolean,
  ) {
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
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, appName: 'scaikey-server' });
    await client.connect();
    return new Database(client, client.db(dbName), true);
  }

  static fromClient(client: MongoClient, dbName: string): Database {
    return new Database(client, client.db(dbName), false);
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
