import type { TagHandlers } from '../core/operation-types.ts';
import type { AdminAccess } from '../domain/admin/admin-access.ts';
import type { ApplicationAdmin } from '../domain/admin/application-admin.ts';

const orUndefined = <T>(value: T | null | undefined): T | undefined => value ?? undefined;
/** Query integers arrive as validated text (the schema bounds them); absent → the default. */
const int = (raw: unknown, fallback: number): number => (raw === undefined || raw === null ? fallback : Number(raw));

/** Applications: the guard, then one ApplicationAdmin call; the secret appears only in create and rotate answers. */
export function applicationsHandlers({ adminAccess, applicationAdmin }: { adminAccess: AdminAccess; applicationAdmin: ApplicationAdmin }): TagHandlers<'Applications'> {
  return {
    listApplications: async (ctx) => {
      const actor = await adminAccess.require(ctx.principal, 'read');
      const q = ctx.query;
      return {
        status: 200,
        body: await applicationAdmin.list(actor, {
          page: int(q.page, 1),
          perPage: int(q.per_page, 20),
          tenantId: orUndefined(q.tenant_id),
          partnerId: orUndefined(q.partner_id),
          scope: orUndefined(q.scope),
          applicationType: orUndefined(q.application_type),
          search: orUndefined(q.search),
        }),
      };
    },

    createApplication: async (ctx) => {
      const actor = await adminAccess.require(ctx.principal, 'write');
      const { application, clientSecret } = await applicationAdmin.create(actor, ctx.body, ctx);
      return { status: 201, body: { ...application, client_secret: clientSecret } };
    },

    getApplication: async (ctx) => ({ status: 200, body: await applicationAdmin.get(await adminAccess.require(ctx.principal, 'read'), ctx.params.application_id) }),

    updateApplication: async (ctx) => {
      const actor = await adminAccess.require(ctx.principal, 'write');
      return { status: 200, body: await applicationAdmin.update(actor, ctx.params.application_id, ctx.body, ctx) };
    },

    deleteApplication: async (ctx) => {
      await applicationAdmin.remove(await adminAccess.require(ctx.principal, 'write'), ctx.params.application_id, ctx);
      return { status: 204, body: undefined };
    },

    regenerateApplicationSecret: async (ctx) => {
      const actor = await adminAccess.require(ctx.principal, 'write');
      const { application, clientSecret } = await applicationAdmin.rotateSecret(actor, ctx.params.application_id, ctx);
      return { status: 200, body: { ...application, client_secret: clientSecret } };
    },

    getApplicationEndpoints: async (ctx) => ({
      status: 200,
      body: await applicationAdmin.endpoints(await adminAccess.require(ctx.principal, 'read'), ctx.params.application_id),
    }),
  };
}
