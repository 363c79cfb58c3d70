import { ObjectId } from 'mongodb';
import type { RecentDocuments } from '../../store/recent-documents.ts';
import type { MfaMethod, TenantDoc, TenantSettings, TenantStore } from '../../store/tenants.ts';
import { ApiError } from '../../core/errors.ts';
import type { Clock } from '../../core/clock.ts';

export const slugPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** The slug of the reserved platform tenant, home of platform administrators. */
export const PLATFORM_TENANT_SLUG = 'platform';

/**
 * The platform tenant is where super admins' accounts live. It is not an organisation: identify,
 * the portal and the hosted pages never offer it, so it cannot disturb tenant selection.
 */
export function isPlatformTenant(tenant: Pick<TenantDoc, 'kind'>): boolean {
  return tenant.kind === 'platform';
}

export function defaultTenantSettings(): TenantSettings {
  return {
    self_registration: false,
    require_email_verification: true,
    mfa_required: false,
    mfa_methods: ['totp', 'webauthn', 'backup_code'],
    // NIST SP 800-63B: 15 when the password is the only factor; at least 64 must be allowed.
    password_policy: { min_length: 15, max_length: 128, block_common: true },
    allowed_redirect_uris: [],
    access_token_ttl: null,
    refresh_idle_ttl: null,
    refresh_absolute_ttl: null,
    lockout: null,
  };
}

export class Tenants {
  private readonly cache = new Map<string, { tenant: TenantDoc | null; at: number }>();
  private readonly slugIds = new Map<string, ObjectId>();

  constructor(
    private readonly tenants: TenantStore,
    private readonly clock: Clock,
    /** Tenants by id, kept in step with writes across replicas (read on every authenticated request). */
    private readonly byId?: RecentDocuments<TenantDoc>,
  ) {}

  async create(input: { slug: string; name: string; settings?: Partial<TenantSettings> }): Promise<TenantDoc> {
    if (!slugPattern.test(input.slug)) throw new Error(`Invalid slug "${input.slug}": lower-case letters, digits and dashes`);
    if (input.slug === PLATFORM_TENANT_SLUG) throw new Error(`The slug "${PLATFORM_TENANT_SLUG}" is reserved for the platform tenant`);
    const now = this.clock.now();
    const tenant: TenantDoc = {
      _id: new ObjectId(),
      slug: input.slug,
      name: input.name,
      status: 'active',
      settings: { ...defaultTenantSettings(), ...input.settings },
      created_at: now,
      updated_at: now,
    };
    if (!(await this.tenants.insert(tenant))) throw new Error(`A tenant with slug "${input.slug}" already exists`);
    return tenant;
  }

  /**
   * The platform tenant, created on first need. Concurrent callers (two replicas starting) race
   * on the unique slug: one insert wins and everyone reads that tenant.
   */
  async ensurePlatform(): Promise<TenantDoc> {
    const existing = await this.tenants.findBySlug(PLATFORM_TENANT_SLUG);
    if (existing) return this.checkPlatform(existing);
    const now = this.clock.now();
    const tenant: TenantDoc = {
      _id: new ObjectId(),
      slug: PLATFORM_TENANT_SLUG,
      name: 'Platform',
      status: 'active',
      kind: 'platform',
      partner_id: null,
      // Administrators are created by an operator, never by self-registration.
      settings: { ...defaultTenantSettings(), self_registration: false, require_email_verification: false },
      created_at: now,
      updated_at: now,
    };
    if (await this.tenants.insert(tenant)) return tenant;
    const winner = await this.tenants.findBySlug(PLATFORM_TENANT_SLUG);
    if (!winner) throw new Error('platform tenant vanished while being created');
    return this.checkPlatform(winner);
  }

  private checkPlatform(tenant: TenantDoc): TenantDoc {
    if (!isPlatformTenant(tenant)) throw new Error(`A regular tenant holds the reserved slug "${PLATFORM_TENANT_SLUG}"; rename it before bootstrapping an admin`);
    return tenant;
  }

  /** Ids of a partner's tenants. */
  idsOfPartner(partnerId: string): Promise<ObjectId[]> {
    return this.tenants.idsOfPartner(partnerId);
  }

  async update(slug: string, changes: { name?: string; status?: TenantDoc['status']; partnerId?: string | null; settings?: Partial<TenantSettings> }): Promise<TenantDoc> {
    const updated = await this.tenants.update(slug, changes, this.clock.now());
    if (!updated) throw new Error(`No tenant with slug "${slug}"`);
    this.cache.clear();
    return updated;
  }

  /** Whether any tenant exists (the demo seed runs only on an empty database). */
  async any(): Promise<boolean> {
    return this.tenants.any();
  }

  async list(): Promise<TenantDoc[]> {
    return this.tenants.list();
  }

  /**
   * An active tenant by slug; caches keep hot login paths off the database. The platform tenant
   * is not a tenant to sign in to (hosted pages), unless `includePlatform` (operators' tools).
   */
  async requireActiveBySlug(slug: string, options: { includePlatform?: boolean } = {}): Promise<TenantDoc> {
    const tenant = slugPattern.test(slug) ? await this.findBySlug(slug) : null;
    if (!tenant || tenant.status !== 'active') throw new ApiError('tenantNotFound');
    if (isPlatformTenant(tenant) && !options.includePlatform) throw new ApiError('tenantNotFound', { internal: 'platform tenant' });
    return tenant;
  }

  /**
   * Slugs never change, so once a slug is known its tenant is read through the announced by-id
   * cache (a change on any replica is seen within AUTH_CACHE_POLL_MS). Unknown slugs are
   * remembered for 5 s, so guessing them does not reach the database on every request.
   */
  private async findBySlug(slug: string): Promise<TenantDoc | null> {
    const id = this.byId?.enabled ? this.slugIds.get(slug) : undefined;
    if (id) return this.byId!.get(id, () => this.tenants.findById(id));
    const tenant = await this.cached(`slug:${slug}`, () => this.tenants.findBySlug(slug));
    if (tenant) this.slugIds.set(slug, tenant._id);
    return tenant;
  }

  async findActiveById(id: ObjectId | string): Promise<TenantDoc | null> {
    const key = typeof id === 'string' ? id : id.toHexString();
    if (!ObjectId.isValid(key)) return null;
    const objectId = new ObjectId(key);
    const load = () => this.tenants.findById(objectId);
    const tenant = this.byId?.enabled ? await this.byId.get(objectId, load) : await this.cached(`id:${key}`, load);
    return tenant && tenant.status === 'active' ? tenant : null;
  }

  /** Active tenants among `ids`, in order, each through the by-id cache (identify and sign-in ask on every call). */
  async findActiveByIds(ids: ObjectId[]): Promise<TenantDoc[]> {
    if (ids.length === 0) return [];
    if (!this.byId?.enabled) return this.tenants.listActiveByIds(ids);
    const unique = [...new Map(ids.map((id) => [id.toHexString(), id])).values()];
    const found = await Promise.all(unique.map((id) => this.findActiveById(id)));
    return found.filter((t): t is TenantDoc => t !== null);
  }

  private async cached(key: string, load: () => Promise<TenantDoc | null>): Promise<TenantDoc | null> {
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < 5_000) return hit.tenant;
    const tenant = await load();
    this.cache.set(key, { tenant, at: Date.now() });
    return tenant;
  }
}
