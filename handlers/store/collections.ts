import type { CollectionSpec } from './collection.ts';
import { applicationsCollection } from './applications.ts';
import { auditEventsCollection } from './audit-events.ts';
import { authorizationCodesCollection } from './authorization-codes.ts';
import { consentsCollection } from './consents.ts';
import { cacheInvalidationsCollection } from './cache-invalidation.ts';
import { countersCollection } from './counters.ts';
import { flowsCollection } from './flows.ts';
import { mailOutboxCollection } from './mail-outbox.ts';
import { metaCollection } from './meta.ts';
import { refreshTokensCollection } from './refresh-tokens.ts';
import { sessionsCollection } from './sessions.ts';
import { signingKeysCollection } from './signing-keys.ts';
import { tenantsCollection } from './tenants.ts';
import { trustedDevicesCollection } from './trusted-devices.ts';
import { usersCollection } from './users.ts';
import { partnersCollection } from './partners.ts';
import { platformSettingsCollection } from './platform-settings.ts';
import { webauthnChallengesCollection } from './webauthn-challenges.ts';
import { webauthnCredentialsCollection } from './webauthn-credentials.ts';

/** Every collection ScaiKey keeps, once: migrations create them and their indexes from this list. */
export const collections: ReadonlyArray<CollectionSpec<any>> = [
  tenantsCollection,
  usersCollection,
  sessionsCollection,
  refreshTokensCollection,
  flowsCollection,
  signingKeysCollection,
  countersCollection,
  auditEventsCollection,
  metaCollection,
  trustedDevicesCollection,
  webauthnCredentialsCollection,
  webauthnChallengesCollection,
  cacheInvalidationsCollection,
  mailOutboxCollection,
  applicationsCollection,
  authorizationCodesCollection,
  consentsCollection,
  partnersCollection,
  platformSettingsCollection,
];
