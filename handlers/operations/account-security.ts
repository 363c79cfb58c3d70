import { requireUser } from '../core/request-context.ts';
import type { TagHandlers } from '../core/operation-types.ts';
import type { AccountSecurity } from '../domain/account-security/account-security.ts';

/** Account Security: /api/v1/me/mfa… and /api/v1/me/security-events, the bearer's second factors and security log. */
export function accountSecurityHandlers({ accountSecurity: security }: { accountSecurity: AccountSecurity }): TagHandlers<'Account Security'> {
  return {
    getMfaStatus: async (ctx) => ({ status: 200, body: await security.status(requireUser(ctx.principal)) }),

    startTotpEnrolment: async (ctx) => ({ status: 200, body: await security.startTotp(requireUser(ctx.principal), ctx.body.current_password, ctx) }),
    confirmTotpEnrolment: async (ctx) => ({ status: 200, body: await security.confirmTotp(requireUser(ctx.principal), ctx.body.code, ctx) }),
    removeTotp: async (ctx) => ({ status: 200, body: await security.removeTotp(requireUser(ctx.principal), ctx.body.current_password, ctx) }),

    enableEmailMfa: async (ctx) => ({ status: 200, body: await security.enableEmail(requireUser(ctx.principal), ctx.body.current_password, ctx) }),
    disableEmailMfa: async (ctx) => ({ status: 200, body: await security.disableEmail(requireUser(ctx.principal), ctx.body.current_password, ctx) }),

    getBackupCodesStatus: async (ctx) => ({ status: 200, body: await security.backupCodesStatus(requireUser(ctx.principal)) }),
    generateBackupCodes: async (ctx) => ({ status: 200, body: await security.generateBackupCodes(requireUser(ctx.principal), ctx.body.current_password, ctx) }),

    beginWebauthnRegistration: async (ctx) => ({ status: 200, body: await security.beginWebauthnRegistration(requireUser(ctx.principal), ctx.body.current_password, ctx) }),
    completeWebauthnRegistration: async (ctx) => ({
      status: 200,
      body: await security.completeWebauthnRegistration(requireUser(ctx.principal), { challengeId: ctx.body.challenge_id, credential: ctx.body.credential, name: ctx.body.name }, ctx),
    }),
    listWebauthnCredentials: async (ctx) => ({ status: 200, body: await security.listWebauthnCredentials(requireUser(ctx.principal)) }),
    renameWebauthnCredential: async (ctx) => ({ status: 200, body: await security.renameWebauthnCredential(requireUser(ctx.principal), ctx.params.credential_id, ctx.body.name, ctx) }),
    removeWebauthnCredential: async (ctx) => ({
      status: 200,
      body: await security.removeWebauthnCredential(requireUser(ctx.principal), ctx.params.credential_id, ctx.body.current_password, ctx),
    }),

    listTrustedDevices: async (ctx) => ({ status: 200, body: await security.listTrustedDevices(requireUser(ctx.principal)) }),
    revokeTrustedDevice: async (ctx) => ({ status: 200, body: await security.revokeTrustedDevice(requireUser(ctx.principal), ctx.params.device_id, ctx) }),
    revokeAllTrustedDevices: async (ctx) => ({ status: 200, body: await security.revokeAllTrustedDevices(requireUser(ctx.principal), ctx) }),

    listSecurityEvents: async (ctx) => ({
      status: 200,
      body: await security.securityEvents(requireUser(ctx.principal), { limit: clampLimit(ctx.query.limit), before: ctx.query.before }),
    }),
  };
}

/** The query arrives validated (1..100); coercion may leave it a string, so read it as a number. */
function clampLimit(raw: unknown): number {
  const n = Number(raw ?? 20);
  return Number.isInteger(n) ? Math.min(100, Math.max(1, n)) : 20;
}
