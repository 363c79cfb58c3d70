/**
 * OAuth 2.0 and OpenID Connect errors (RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7009,
 * OpenID Connect Core §3.1.2.6): the protocol endpoints answer `{error, error_description}`,
 * never the API's `{detail}`. `description` is public; `internal` is for logs only.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'unsupported_token_type'
  | 'login_required'
  | 'consent_required'
  | 'interaction_required'
  | 'account_selection_required'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'registration_not_supported'
  | 'invalid_request_object'
  | 'invalid_target';

const statusOf: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  invalid_token: 401,
  insufficient_scope: 403,
  server_error: 500,
  temporarily_unavailable: 503,
};

export class OAuthError extends Error {
  readonly status: number;
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly internal?: string,
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
    this.status = statusOf[error] ?? 400;
  }

  get body(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}
