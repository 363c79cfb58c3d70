import { ObjectId } from 'mongodb';
import { ApiError } from '../../core/errors.ts';
import type { ConsentStore } from '../../store/consents.ts';
import type { Applications } from '../applications/applications.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ClientInfo } from '../../core/request-context.ts';

export interface AuthorizedApp {
  client_id: string;
  name: string;
  scopes: string[];
  granted_at: string;
}

/** The apps a user has allowed (their consents), and withdrawing one. */
export class AuthorizedApps {
  constructor(private readonly deps: { consents: ConsentStore; applications: Applications; sessions: Sessions; audit: AuditLog }) {}

  async list(userId: string): Promise<{ items: AuthorizedApp[]; total: number }> {
    const consents = await this.deps.consents.listForUser(new ObjectId(userId));
    const items: AuthorizedApp[] = [];
    for (const consent of consents) {
      const app = await this.deps.applications.byClientId(consent.client_id);
      if (!app) continue; // deleted since: nothing left to authorize
      items.push({ client_id: consent.client_id, name: app.name, scopes: consent.scopes, granted_at: consent.updated_at.toISOString() });
    }
    return { items, total: items.length };
  }

  /** The consent goes, and with it every session of the app for this user (its tokens stop working). */
  async revoke(principal: { userId: string; tenantId: string }, clientId: string, client: ClientInfo): Promise<void> {
    const userId = new ObjectId(principal.userId);
    if (!(await this.deps.consents.revoke(userId, clientId))) throw new ApiError('notFound', { internal: 'no consent for this client' });
    const ended = await this.deps.sessions.revokeForClient(userId, clientId, 'app authorization revoked');
    await this.deps.audit.record({ type: 'oauth.consent_revoked', outcome: 'success', tenantId: new ObjectId(principal.tenantId), userId, ...client, details: { client_id: clientId, sessions_ended: ended } });
  }
}
