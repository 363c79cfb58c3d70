/**
 * One error family for the whole service. Domain code throws `ApiError` with a stable id from the
 * catalogue; `toErrorResponse` is the only place that turns errors into HTTP answers. Tests assert
 * on ids and catalogue messages, never on ad-hoc wording.
 */

export const errorCatalogue = {
  notAuthenticated: { status: 401, detail: 'Not authenticated' },
  invalidToken: { status: 401, detail: 'Invalid or expired token' },
  invalidCredentials: { status: 401, detail: 'Invalid email or password' },
  invalidCode: { status: 401, detail: 'Invalid or expired verification code' },
  invalidRefreshToken: { status: 401, detail: 'Invalid or expired refresh token' },
  flowExpired: { status: 400, detail: 'The sign-in flow has expired. Please start again.' },
  tenantSelectionRequired: { status: 400, detail: 'Please select a tenant to continue' },
  mfaMethodUnavailable: { status: 400, detail: 'This verification method is not available' },
  invalidEnrolmentCode: { status: 400, detail: 'The code is wrong or the set-up has expired. Please try again.' },
  webauthnRegistrationFailed: { status: 400, detail: 'The security key could not be registered. Please try again.' },
  mfaFactorRequired: { status: 400, detail: 'Multi-factor authentication is required for this account. Add another method before removing this one.' },
  mfaAlreadyEnrolled: { status: 409, detail: 'This method is already set up' },
  invalidLinkToken: { status: 400, detail: 'This link is invalid or has expired' },
  currentPasswordIncorrect: { status: 400, detail: 'Current password is incorrect' },
  passwordReused: { status: 400, detail: 'The new password must differ from the current password' },
  redirectUriNotAllowed: { status: 400, detail: 'redirect_uri is not allowed for this tenant' },
  captchaFailed: { status: 400, detail: 'Captcha verification failed' },
  registrationDisabled: { status: 403, detail: 'Self-registration is disabled for this tenant' },
  emailNotVerified: { status: 403, detail: 'Email address not verified' },
  mfaRequiredUseTwoStep: { status: 403, detail: 'Multi-factor authentication is required: sign in with identify and authenticate' },
  accountDisabled: { status: 403, detail: 'Account is disabled' },
  adminRequired: { status: 403, detail: 'Admin privileges required' },
  platformScopeRequired: { status: 403, detail: 'Platform token requires admin:read or admin:write scope' },
  adminOutOfReach: { status: 403, detail: 'Insufficient admin privileges for this resource' },
  // Users admin API (issue 17)
  userEmailTaken: { status: 409, detail: 'A user with this email already exists in this tenant' },
  adminSelfAction: { status: 409, detail: 'Administrators cannot suspend, delete or change the admin role of their own account' },
  adminSelfPassword: { status: 409, detail: 'Administrators change their own password with POST /api/v1/me/password, which asks for the current one' },
  adminSelfMfa: { status: 409, detail: 'Administrators remove their own second factors in their profile, which asks for the current password' },
  userSuspended: { status: 409, detail: 'The user is suspended; activate the account first' },
  // Partners, tenants, platform settings (admin API).
  superAdminRequired: { status: 403, detail: 'Super admin privileges required' },
  tenantSlugTaken: { status: 409, detail: 'A tenant with this slug already exists' },
  partnerSlugTaken: { status: 409, detail: 'A partner with this slug already exists' },
  partnerHasTenants: { status: 409, detail: 'The partner still has tenants' },
  tenantLimitReached: { status: 409, detail: "The partner's tenant limit has been reached" },
  userLimitReached: { status: 409, detail: "The partner's user limit for this tenant has been reached" },
  applicationLimitReached: { status: 409, detail: "The partner's application limit for this tenant has been reached" },
  tenantNotFound: { status: 404, detail: 'Tenant not found' },
  notFound: { status: 404, detail: 'Not Found' },
  badRequest: { status: 400, detail: 'Bad request' },
  methodNotAllowed: { status: 405, detail: 'Method Not Allowed' },
  payloadTooLarge: { status: 413, detail: 'Request body too large' },
  unsupportedMediaType: { status: 415, detail: 'Unsupported media type: expected application/json' },
  tooManyRequests: { status: 429, detail: 'Too many attempts. Please try again later.' },
  notImplemented: { status: 501, detail: 'Not implemented' },
  serviceUnavailable: { status: 503, detail: 'Service temporarily unavailable' },
  internal: { status: 500, detail: 'Internal Server Error' },
} as const satisfies Record<string, { status: number; detail: string }>;

export type ErrorId = keyof typeof errorCatalogue;

export interface ApiErrorOptions {
  /** Seconds until the client may retry (429, 503). */
  retryAfter?: number;
  /** Extra response headers the HTTP edge sets (Allow, a WWW-Authenticate challenge); never the domain. */
  headers?: Record<string, string>;
  /** Private explanation for logs only; never sent to the client. */
  internal?: string;
  cause?: unknown;
}

export class ApiError extends Error {
  readonly id: ErrorId;
  readonly status: number;
  readonly detail: string;
  readonly retryAfter: number | undefined;
  readonly headers: Record<string, string>;
  readonly internal: string | undefined;

  constructor(id: ErrorId, options: ApiErrorOptions = {}) {
    super(errorCatalogue[id].detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.id = id;
    this.status = errorCatalogue[id].status;
    this.detail = errorCatalogue[id].detail;
    this.retryAfter = options.retryAfter;
    this.headers = options.headers ?? {};
    this.internal = options.internal;
  }
}

/** One entry of a FastAPI-shaped 422 body. */
export interface ValidationIssue {
  loc: Array<string | number>;
  msg: string;
  type: string;
  ctx?: Record<string, unknown>;
}

/** A 422 in FastAPI's shape; thrown by request validation and by domain rules such as password policy. */
export class RequestValidationError extends Error {
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[]) {
    super(issues.map((i) => `${i.loc.join('.')}: ${i.msg}`).join('; '));
    this.name = 'RequestValidationError';
    this.issues = issues;
  }
}

/** One refused field of a request body, as domain rules (password policy, names) see it. */
export interface FieldProblem {
  field: string;
  /** Plain reason, e.g. "Password must be at least 15 characters long". */
  reason: string;
  /** `value` for a rule the value breaks; `string_type` when it is not a string at all. */
  kind?: 'value' | 'string_type';
  ctx?: Record<string, unknown>;
}

/**
 * A domain rule refused fields of the request body. The domain names fields, never response
 * shapes; the mapper turns this into the same 422 as request validation.
 */
export class InvalidInput extends Error {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[] | FieldProblem) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.map((p) => `${p.field}: ${p.reason}`).join('; '));
    this.name = 'InvalidInput';
    this.problems = list;
  }
}

function issueOf(problem: FieldProblem): ValidationIssue {
  if (problem.kind === 'string_type') return { loc: ['body', problem.field], msg: 'Input should be a valid string', type: 'string_type' };
  return { loc: ['body', problem.field], msg: `Value error, ${problem.reason}`, type: 'value_error', ...(problem.ctx ? { ctx: problem.ctx } : {}) };
}

export interface ErrorResponse {
  status: number;
  body: { detail: string } | { detail: ValidationIssue[] };
  headers: Record<string, string>;
  /** True when the error is a server fault that must be logged with its stack. */
  unexpected: boolean;
}

export function toErrorResponse(error: unknown): ErrorResponse {
  if (error instanceof RequestValidationError) {
    return { status: 422, body: { detail: error.issues }, headers: {}, unexpected: false };
  }
  if (error instanceof InvalidInput) {
    return { status: 422, body: { detail: error.problems.map(issueOf) }, headers: {}, unexpected: false };
  }
  if (error instanceof ApiError) {
    const headers = { ...error.headers };
    if (error.retryAfter !== undefined) headers['Retry-After'] = String(Math.max(1, Math.ceil(error.retryAfter)));
    // serviceUnavailable (a lost database) is a known condition, logged once where it is noticed.
    return { status: error.status, body: { detail: error.detail }, headers, unexpected: error.status >= 500 && error.id !== 'serviceUnavailable' };
  }
  return { status: 500, body: { detail: errorCatalogue.internal.detail }, headers: {}, unexpected: true };
}
