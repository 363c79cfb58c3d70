import type { AuditLog } from '../audit/audit-log.ts';
import type { PlatformSettings, PlatformSettingsPatch, PlatformSettingsView } from '../tenants/platform-settings.ts';
import type { AdminActor } from './admin-access.ts';
import { auditedAdminWrite, requirePlatformReach } from './admin-audit.ts';
import type { AdminRequest } from './application-admin.ts';

/** Platform settings (docs §8.22): super admins (and GLOBAL platform tokens) only; changes audited. */
export class PlatformSettingsAdmin {
  constructor(private readonly deps: { platformSettings: PlatformSettings; audit: AuditLog }) {}

  async get(actor: AdminActor): Promise<PlatformSettingsView> {
    requirePlatformReach(actor);
    return this.deps.platformSettings.get();
  }

  update(actor: AdminActor, patch: PlatformSettingsPatch, request: AdminRequest): Promise<PlatformSettingsView> {
    return auditedAdminWrite(this.deps.audit, actor, request, 'admin.platform_settings.update', { type: 'platform_settings', id: 'defaults' }, async () => {
      requirePlatformReach(actor);
      const result = await this.deps.platformSettings.update(patch);
      return { result, targetId: 'defaults', details: { fields: Object.keys(patch) } };
    });
  }
}
