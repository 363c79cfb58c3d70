import { ObjectId } from 'mongodb';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { FlowDoc, FlowStore } from '../../store/flows.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import type { UserDoc } from '../../store/users.ts';
import type { WebAuthnChallengeStore } from '../../store/webauthn-challenges.ts';
import type { WebAuthnCredentialDoc } from '../../store/webauthn-credentials.ts';
import { ApiError } from '../../core/errors.ts';
import type { Clock } from '../../core/clock.ts';
import { WebAuthnChallenges } from './challenges.ts';
import { DuplicateCredentialError, WebAuthnCredentials } from './credentials.ts';
import { relyingPartyFor } from './relying-party.ts';

/** How long a ceremony may take; the challenge expires with it. */
export const ceremonySeconds = 300;
/** Challenges one MFA flow may ask for. */
const maxChallengesPerFlow = 10;
/** ES256, EdDSA and RS256: what authenticators in use support. */
const supportedAlgorithmIDs = [-7, -8, -257];

export interface WebAuthnChallenge<T> {
  challenge_id: string;
  options: T;
}

/**
 * WebAuthn with @simplewebauthn/server: registration for the signed-in user (challenge bound to the
 * session) and assertions as a second factor (challenge bound to the MFA flow). Attestation
 * `none`; user verification preferred, not required (this is a second factor after a password).
 */
export class WebAuthn {
  readonly credentials: WebAuthnCredentials;
  private readonly challenges: WebAuthnChallenges;
  private readonly flows: FlowStore;

  constructor(
    deps: { flows: FlowStore; challenges: WebAuthnChallengeStore; credentials: WebAuthnCredentials },
    private readonly clock: Clock,
    private readonly settings: { publicBaseUrl: string },
  ) {
    this.flows = deps.flows;
    // Built by the caller: WebAuthnCredentials has its own store.
    this.credentials = deps.credentials;
    this.challenges = new WebAuthnChallenges(deps.challenges, clock);
  }

  async beginRegistration(user: UserDoc, tenant: TenantDoc, sessionId: ObjectId): Promise<WebAuthnChallenge<PublicKeyCredentialCreationOptionsJSON>> {
    const rp = relyingPartyFor(tenant, this.settings.publicBaseUrl);
    const existing = await this.credentials.listForUser(user._id, tenant._id);
    const displayName = [user.first_name, user.last_name].filter(Boolean).join(' ') || user.display_name || user.email;
    const options = await generateRegistrationOptions({
      rpName: rp.name,
      rpID: rp.id,
      userName: user.email,
      userDisplayName: displayName,
      // The user handle is the opaque account id: stable, and no personal data on the authenticator.
      userID: new Uint8Array(Buffer.from(user._id.toHexString(), 'hex')),
      timeout: ceremonySeconds * 1000,
      attestationType: 'none',
      excludeCredentials: existing.map((c) => ({ id: c.credential_id, transports: c.transports })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      supportedAlgorithmIDs,
    });
    const challenge = await this.challenges.issue(
      { tenant_id: tenant._id, user_id: user._id, purpose: 'registration', challenge: options.challenge, flow_id: null, session_id: sessionId, rp_id: rp.id },
      ceremonySeconds,
    );
    return { challenge_id: challenge._id.toHexString(), options };
  }

  async completeRegistration(
    user: UserDoc,
    tenant: TenantDoc,
    sessionId: ObjectId,
    input: { challengeId: string; credential: unknown; name: string | null | undefined },
  ): Promise<WebAuthnCredentialDoc> {
    const challenge = await this.challenges.consume(input.challengeId, { userId: user._id, tenantId: tenant._id, purpose: 'registration', sessionId });
    if (!challenge) throw new ApiError('webauthnRegistrationFailed', { internal: 'unknown, used or expired registration challenge' });
    const rp = relyingPartyFor(tenant, this.settings.publicBaseUrl);
    let verification;
    try {
      verification = await verifyRegistrationResponse({
        response: input.credential as RegistrationResponseJSON,
        expectedChallenge: challenge.challenge,
        expectedOrigin: rp.origins,
        expectedRPID: challenge.rp_id,
        requireUserVerification: false,
        supportedAlgorithmIDs,
      });
    } catch (error) {
      throw new ApiError('webauthnRegistrationFailed', { internal: `registration did not verify: ${(error as Error).message}` });
    }
    if (!verification.verified) throw new ApiError('webauthnRegistrationFailed', { internal: 'registration not verified' });
    const info = verification.registrationInfo;
    const now = this.clock.now();
    const transports = (input.credential as { response?: { transports?: unknown } }).response?.transports;
    const doc: WebAuthnCredentialDoc = {
      _id: new ObjectId(),
      tenant_id: tenant._id,
      user_id: user._id,
      credential_id: info.credential.id,
      public_key: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: Array.isArray(transports) ? transports.filter((t): t is string => typeof t === 'string').slice(0, 8) : [],
      name: input.name || (info.credentialDeviceType === 'multiDevice' ? 'Passkey' : 'Security key'),
      device_type: info.credentialDeviceType,
      backed_up: info.credentialBackedUp,
      aaguid: info.aaguid,
      rp_id: challenge.rp_id,
      created_at: now,
      last_used_at: null,
    };
    try {
      await this.credentials.insert(doc);
    } catch (error) {
      if (error instanceof DuplicateCredentialError) throw new ApiError('mfaAlreadyEnrolled', { internal: 'credential id already registered' });
      throw error;
    }
    return doc;
  }

  /** Assertion options for one MFA flow; the caller has checked the flow and that the method is available. */
  async beginAuthentication(user: UserDoc, tenant: TenantDoc, flow: FlowDoc): Promise<WebAuthnChallenge<PublicKeyCredentialRequestOptionsJSON>> {
    const credentials = await this.credentials.listForUser(user._id, tenant._id);
    if (credentials.length === 0) throw new ApiError('mfaMethodUnavailable', { internal: 'no webauthn credential' });
    if (!(await this.flows.countWebAuthnChallenge(flow._id, maxChallengesPerFlow))) throw new ApiError('tooManyRequests', { retryAfter: 60, internal: 'webauthn challenges per flow' });
    const rp = relyingPartyFor(tenant, this.settings.publicBaseUrl);
    const options = await generateAuthenticationOptions({
      rpID: rp.id,
      allowCredentials: credentials.map((c) => ({ id: c.credential_id, transports: c.transports })),
      userVerification: 'preferred',
      timeout: ceremonySeconds * 1000,
    });
    const challenge = await this.challenges.issue(
      { tenant_id: tenant._id, user_id: user._id, purpose: 'authentication', challenge: options.challenge, flow_id: flow._id, session_id: null, rp_id: rp.id },
      ceremonySeconds,
      flow.expires_at,
    );
    return { challenge_id: challenge._id.toHexString(), options };
  }

  /**
   * True when the assertion answers a live challenge of this flow with one of the user's
   * credentials, the signature verifies and the counter moved forward. The challenge is used up
   * whatever the outcome.
   */
  async verifyAuthentication(user: UserDoc, tenant: TenantDoc, flow: FlowDoc, challengeId: string | null | undefined, credential: unknown): Promise<boolean> {
    const challenge = await this.challenges.consume(challengeId, { userId: user._id, tenantId: tenant._id, purpose: 'authentication', flowId: flow._id });
    if (!challenge) return false;
    const response = credential as AuthenticationResponseJSON | null | undefined;
    if (!response || typeof response !== 'object' || typeof response.id !== 'string') return false;
    const stored = await this.credentials.findForUser(user._id, tenant._id, { credentialId: response.id });
    if (!stored) return false;
    const rp = relyingPartyFor(tenant, this.settings.publicBaseUrl);
    let verification;
    try {
      verification = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge.challenge,
        expectedOrigin: rp.origins,
        expectedRPID: challenge.rp_id,
        credential: {
          id: stored.credential_id,
          publicKey: new Uint8Array(Buffer.from(stored.public_key, 'base64url')),
          counter: stored.counter,
          transports: stored.transports as never,
        },
        requireUserVerification: false,
      });
    } catch {
      // A bad signature, wrong origin or RP, replayed challenge or counter gone backwards.
      return false;
    }
    if (!verification.verified) return false;
    return this.credentials.recordUse(stored, verification.authenticationInfo.newCounter, verification.authenticationInfo.credentialBackedUp);
  }
}
