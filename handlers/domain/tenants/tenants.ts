import { ObjectId } from 'mongodb';
import type { RecentDocuments } from '../../store/recent-documents.ts';
import type { MfaMethod, TenantAdminChanges, TenantBranding, TenantDoc, TenantQuery, TenantSettings, TenantStore } from '../../store/tenants.ts';
import { ApiError, InvalidInput } from '../../core/errors.ts';
import type { Clock } from '../../core/clock.ts';
import type { PartnerLimits } from '../partners/partner-limits.ts';

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

export interface NewTenant {
  slug: string;
  name: string;
  settings?: Partial<TenantSettings>;
  partnerId?: string | null;
  contactEmail?: string | null;
  branding?: Partial<TenantBranding>;
}

export const emptyBranding: TenantBranding = { name: null, logo_url: null, primary_color: null, background_color: null };

/** A tenant that is live: active, not deleted, and not closed by its partner's suspension. */
function isLive(tenant: TenantDoc | null): tenant is TenantDoc {
  return tenant !== null && tenant.status === 'active' && !tenant.deleted_at && !tenant.partner_suspended;
}

export class Tenants {
  private readonly cache = new Map<string, { tenant: TenantDoc | null; at: number }>();
  private readonly slugIds = new Map<string, ObjectId>();

  constructor(
    private readonly tenants: TenantStore,
    private readonly clock: Clock,
    /** Tenants by id, kept in step with writes across replicas (read on every authenticated request). */
    private readonly byId?: RecentDocuments<TenantDoc>,
    private readonly extras: {
      /** New tenants' settings start from these (the platform settings). */
      defaults?: () => Promise<TenantSettings>;
      limits?: PartnerLimits;
      /** Ends every session of a tenant (suspended or deleted); returns how many. */
      endSessions?: (tenantId: ObjectId, reason: string) => Promise<number>;
      /** Whether a partner is suspended now (read from the database, not a cache). */
      partnerSuspended?: (partnerId: string) => Promise<boolean>;
    } = {},
  ) {}

  async create(input: NewTenant): Promise<TenantDoc> {
    if (!slugPattern.test(input.slug)) throw new InvalidInput({ field: 'slug', reason: `Invalid slug "${input.slug}": lower-case letters, digits and dashes` });
    if (input.slug === PLATFORM_TENANT_SLUG) throw new InvalidInput({ field: 'slug', reason: `The slug "${PLATFORM_TENANT_SLUG}" is reserved for the platform tenant` });
    const partnerId = input.partnerId ?? null;
    const now = this.clock.now();
    const defaults = this.extras.defaults ? await this.extras.defaults() : defaultTenantSettings();
    const tenant: TenantDoc = {
      _id: new ObjectId(),
      slug: input.slug,
      name: input.name,
      status: 'active',
      partner_id: partnerId,
      contact_email: input.contactEmail ?? null,
      branding: { ...emptyBranding, ...input.branding },
      settings: { ...defaults, ...input.settings, password_policy: { ...defaults.password_policy, ...input.settings?.password_policy } },
      ...(partnerId ? { user_count: 0, application_count: 0 } : {}),
      deleted_at: null,
      created_at: now,
      updated_at: now,
    };
    // The partner's slot first (one conditional increment), given back if the insert fails.
    if (partnerId) {
      if (!this.extras.limits) throw new Error('partner limits are not wired');
      await this.extras.limits.reserveTenant(partnerId);
    }
    let inserted = false;
    try {
      inserted = await this.tenants.insert(tenant);
    } finally {
      if (!inserted && partnerId) await this.extras.limits!.releaseTenant(partnerId);
    }
    if (!inserted) throw new ApiError('tenantSlugTaken');
    return partnerId ? this.followPartner(tenant, partnerId) : tenant;
  }

  /** A tenant that is not deleted (any status), the platform tenant excepted; null otherwise. */
  async getLive(id: ObjectId): Promise<TenantDoc | null> {
    const tenant = await this.tenants.findLive(id);
    return tenant && !isPlatformTenant(tenant) ? tenant : null;
  }

  /** By slug, uncached: a tenant that is not deleted (any status), the platform tenant excepted. */
  async getLiveBySlug(slug: string): Promise<TenantDoc | null> {
    const tenant = slugPattern.test(slug) ? await this.tenants.findBySlug(slug) : null;
    return tenant && !tenant.deleted_at && !isPlatformTenant(tenant) ? tenant : null;
  }

  listLive(query: TenantQuery, page: { skip: number; limit: number }) {
    return this.tenants.listLive(query, page);
  }

  /**
   * The admin change of a tenant, each an atomic conditional update: a move takes the target
   * partner's slot first and is guarded by the partner read (a concurrent move fails, nothing
   * crosses); a taken slug writes nothing (409). Suspending ends the tenant's sessions; the
   * write itself is announced to every replica's caches (store/cache-invalidation.ts).
   */
  async change(tenant: TenantDoc, changes: TenantAdminChanges): Promise<TenantDoc> {
    if (changes.slug !== undefined && changes.slug !== tenant.slug) {
      if (!slugPattern.test(changes.slug)) throw new InvalidInput({ field: 'slug', reason: 'lower-case letters, digits and dashes' });
      if (changes.slug === PLATFORM_TENANT_SLUG) throw new InvalidInput({ field: 'slug', reason: `The slug "${PLATFORM_TENANT_SLUG}" is reserved for the platform tenant` });
    }
    const from = tenant.partner_id ?? null;
    const to = changes.partner_id === undefined ? from : changes.partner_id;
    const moving = to !== from;
    if (moving && to) {
      if (!this.extras.limits) throw new Error('partner limits are not wired');
      await this.extras.limits.reserveTenant(to);
    }
    let updated: TenantDoc | null | 'duplicate' = null;
    try {
      updated = await this.tenants.updateLive(tenant._id, { partner_id: from }, { ...changes, partner_id: moving ? to : undefined }, this.clock.now());
    } finally {
      if (moving && to && (updated === null || updated === 'duplicate')) await this.extras.limits!.releaseTenant(to);
    }
    if (updated === 'duplicate') throw new ApiError('tenantSlugTaken');
    if (!updated) throw new ApiError('notFound', { internal: 'tenant gone or moved meanwhile' });
    if (moving) {
      if (from) await this.extras.limits?.releaseTenant(from);
      if (to) await this.extras.limits?.recount(tenant._id);
      updated = await this.followPartner(updated, to);
    }
    this.cache.clear();
    if (updated.status !== 'active' && tenant.status === 'active') await this.extras.endSessions?.(tenant._id, 'tenant suspended');
    return updated;
  }

  /**
   * A partner was suspended or made active again: its tenants close or open with it, and a
   * suspension ends their sessions. The flag is written again until it matches the partner's
   * status as read afterwards, so two racing status changes leave the tenants as the partner is.
   */
  async followPartnerStatus(partnerId: string): Promise<void> {
    if (!this.extras.partnerSuspended) throw new Error('partner status is not wired');
    let suspended = await this.extras.partnerSuspended(partnerId);
    for (let round = 0; round < 5; round++) {
      await this.tenants.setPartnerSuspended(partnerId, suspended, this.clock.now());
      const now = await this.extras.partnerSuspended(partnerId);
      if (now === suspended) break;
      suspended = now;
    }
    this.cache.clear();
    if (suspended) for (const id of await this.tenants.idsOfPartner(partnerId)) await this.extras.endSessions?.(id, 'partner suspended');
  }

  /**
   * A tenant that has just joined a partner (or left one: `partnerId` null) takes on its
   * suspension, or sheds the last one's. Creating or moving a tenant into a suspended partner is
   * refused (its slot is only taken while it is active), so a new flag only closes the race with a
   * suspension between that slot and the write. Returns the tenant as it is now.
   */
  private async followPartner(tenant: TenantDoc, partnerId: string | null): Promise<TenantDoc> {
    const suspended = partnerId !== null && !!this.extras.partnerSuspended && (await this.extras.partnerSuspended(partnerId));
    if (!!tenant.partner_suspended === suspended) return tenant;
    await this.tenants.setPartnerSuspendedOne(tenant._id, partnerId, suspended, this.clock.now());
    if (suspended) await this.extras.endSessions?.(tenant._id, 'partner suspended');
    return { ...tenant, partner_suspended: suspended };
  }

  /** Soft delete: sessions end, the partner's slot is given back, the tenant is gone everywhere. */
  async remove(tenant: TenantDoc): Promise<void> {
    const before = await this.tenants.softDelete(tenant._id, this.clock.now());
    if (!before) throw new ApiError('notFound');
    this.cache.clear();
    if (before.partner_id) await this.extras.limits?.releaseTenant(before.partner_id);
    await this.extras.endSessions?.(tenant._id, 'tenant deleted');
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

  /**
   * A change by slug without partner bookkeeping (fixtures and tests set partner ids that have no
   * partner document); the admin API and the CLI use `change`, which holds the partner limits.
   */
  async update(slug: string, changes: { name?: string; status?: TenantDoc['status']; partnerId?: string | null; settings?: Partial<TenantSettings> }): Promise<TenantDoc> {
    const updated = await this.tenants.update(slug, changes, this.clock.now());
    if (!updated) throw new Error(`No tenant with slug "${slug}"`);
    this.cache.clear();
    if (changes.status !== undefined && changes.status !== 'active') await this.extras.endSessions?.(updated._id, 'tenant suspended');
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
    if (!isLive(tenant)) throw new ApiError('tenantNotFound');
    if (isPlatformTenant(tenant) && !options.includePlatform) throw new ApiError('tenantNotFound', { internal: 'platform tenant' });
    return tenant;
  }

  /**
   * Once a slug is known its tenant is read through the announced by-id
   * cache (a change on any replica is seen within AUTH_CACHE_POLL_MS). Unknown slugs are
   * remembered for 5 s, so guessing them does not reach the database on every request.
   */
  private async findBySlug(slug: string): Promise<TenantDoc | null> {
    const id = this.byId?.enabled ? this.slugIds.get(slug) : undefined;
    if (id) {
      const known = await this.byId!.get(id, () => this.tenants.findById(id));
      // Renamed since (an admin changed the slug): forget the old slug and look it up afresh.
      if (known?.slug === slug) return known;
      this.slugIds.delete(slug);
    }
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
    // A tenant met by id (identify, a bearer check) also answers its slug from the by-id cache.
    if (tenant && this.byId?.enabled && !this.slugIds.has(tenant.slug)) this.slugIds.set(tenant.slug, tenant._id);
    return isLive(tenant) ? tenant : null;
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
