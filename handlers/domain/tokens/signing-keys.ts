import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { SigningKeyDoc, SigningKeyStore } from '../../store/signing-keys.ts';
import type { SecretBox } from '../crypto/secrets.ts';
import { addSeconds, type Clock } from '../../core/clock.ts';

/** ES256 signs access tokens; RS256 (which every OpenID provider must offer) signs ID tokens by default. */
export type SigningAlg = 'ES256' | 'RS256';
export const signingAlgs: readonly SigningAlg[] = ['ES256', 'RS256'];
const cacheSeconds = 60;

interface LoadedKey {
  kid: string;
  alg: SigningAlg;
  status: 'active' | 'retired';
  createdAt: Date;
  publicKey: CryptoKey;
  publicJwk: JWK;
  privateKey: CryptoKey | undefined;
}

/**
 * Signing keys live in MongoDB so every replica signs and verifies alike. The private half is sealed
 * with the configured encryption key. Replicas cache the set briefly and reload when they meet an
 * unknown `kid`, which is how a rotation done elsewhere reaches them.
 */
export class SigningKeys {
  private keys = new Map<string, LoadedKey>();
  private loadedAt = 0;
  private loading: Promise<void> | undefined;
  private lastForcedReload = 0;

  constructor(
    private readonly store: SigningKeyStore,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    /** Longest access-token lifetime: a retired key stays published at least this long. */
    private readonly maxTokenLifetimeSeconds: number,
  ) {}

  /** Makes sure an active key of each algorithm exists (first start generates them). */
  async ensureActiveKey(): Promise<void> {
    await this.reload();
    const missing = signingAlgs.filter((alg) => !this.activeKey(alg));
    if (missing.length === 0) return;
    for (const alg of missing) await this.insertNewKey(alg);
    await this.reload();
  }

  /**
   * Adds a new active key of each algorithm and retires the others, keeping them published until
   * their tokens expire (relying parties that cache the JWKS see the new key before it signs much).
   */
  async rotate(): Promise<string> {
    const kids: string[] = [];
    for (const alg of signingAlgs) kids.push(await this.insertNewKey(alg));
    const now = this.clock.now();
    await this.store.retireAllExcept(kids, addSeconds(now, this.maxTokenLifetimeSeconds + 300));
    await this.reload();
    return kids[0]!;
  }

  async signingKey(alg: SigningAlg = 'ES256'): Promise<{ kid: string; key: CryptoKey }> {
    await this.freshen();
    let active = this.activeKey(alg);
    if (!active) {
      await this.ensureActiveKey();
      active = this.activeKey(alg);
    }
    if (!active?.privateKey) throw new Error(`No active ${alg} signing key`);
    return { kid: active.kid, key: active.privateKey };
  }

  /** The public key of `kid`, if it is published and of the expected algorithm. */
  async verificationKey(kid: string, alg: SigningAlg = 'ES256'): Promise<CryptoKey | undefined> {
    const key = await this.publishedKey(kid);
    return key?.alg === alg ? key.publicKey : undefined;
  }

  private async publishedKey(kid: string): Promise<LoadedKey | undefined> {
    await this.freshen();
    let key = this.keys.get(kid);
    const now = Date.now();
    if (!key && now - this.lastForcedReload > 1000) {
      // Unknown kid: maybe rotated by another replica. Reload at most once a second.
      this.lastForcedReload = now;
      await this.reload();
      key = this.keys.get(kid);
    }
    return key;
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    await this.freshen();
    const keys = [...this.keys.values()].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    return { keys: keys.map((k) => ({ ...k.publicJwk, kid: k.kid, use: 'sig', alg: k.alg })) };
  }

  private activeKey(alg: SigningAlg): LoadedKey | undefined {
    return [...this.keys.values()]
      .filter((k) => k.alg === alg && k.status === 'active' && k.privateKey)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
  }

  private async freshen(): Promise<void> {
    if (Date.now() - this.loadedAt > cacheSeconds * 1000) await this.reload();
  }

  private async reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const now = this.clock.now();
        const docs = await this.store.findPublished(now);
        const next = new Map<string, LoadedKey>();
        for (const doc of docs) next.set(doc._id, await this.load(doc));
        this.keys = next;
        this.loadedAt = Date.now();
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  private async load(doc: SigningKeyDoc): Promise<LoadedKey> {
    const alg: SigningAlg = doc.alg ?? 'ES256';
    const cached = this.keys.get(doc._id);
    const publicKey = cached?.publicKey ?? ((await importJWK(doc.public_jwk as JWK, alg)) as CryptoKey);
    let privateKey = cached?.privateKey;
    if (!privateKey && doc.status === 'active') {
      const jwk = JSON.parse(this.box.open(doc.private_jwk_enc, `signing-key:${doc._id}`)) as JWK;
      privateKey = (await importJWK(jwk, alg)) as CryptoKey;
    }
    return { kid: doc._id, alg, status: doc.status, createdAt: doc.created_at, publicKey, publicJwk: doc.public_jwk as JWK, privateKey };
  }

  private async insertNewKey(alg: SigningAlg): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
    const now = this.clock.now();
    const kid = `${now.toISOString().slice(0, 10)}-${randomBytes(6).toString('hex')}`;
    const publicJwk = await exportJWK(publicKey);
    const privateJwk = await exportJWK(privateKey);
    await this.store.insert({
      _id: kid,
      alg,
      public_jwk: publicJwk as Record<string, unknown>,
      private_jwk_enc: this.box.seal(JSON.stringify(privateJwk), `signing-key:${kid}`),
      status: 'active',
      created_at: now,
      publish_until: null,
    });
    return kid;
  }
}
