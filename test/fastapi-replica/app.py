"""A FastAPI + pydantic 2 replica of the request side of the original ScaiKey backend.

It declares the request bodies, path, query and header parameters of the 19 operations the
original reference pages document (../shared/seeds/, spec/openapi.yaml), with the constraints
spec/openapi.yaml adds (maxLength, patterns, the time zone list), plus listSecurityEvents for an
integer query parameter. Every handler answers 200 {}: only FastAPI's 422 answers matter.
test/contract/fastapi-parity.test.ts starts it (python app.py <port>) and compares its 422 bodies
with the real server's. Versions are pinned in requirements.txt beside this file.
"""

import enum
import json
import os
import sys
from typing import Annotated, Any, Dict, Optional

from fastapi import Body, FastAPI, Header, Path, Query
from pydantic import BaseModel, EmailStr, Field

app = FastAPI()

Auth = Annotated[Optional[str], Header(max_length=8192)]
Slug = Annotated[str, Path(max_length=63)]
Email = Annotated[EmailStr, Field(max_length=254)]
Printable = r"^[^\x00-\x1f\x7f]*$"
NonBlank = r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$"

# The spec's time zone enum (an inline enum of strings), handed over by the test.
Timezone = enum.Enum("Timezone", {f"tz{i}": v for i, v in enumerate(json.loads(os.environ.get("REPLICA_TIMEZONES", '["UTC"]')))}, type=str)


class UpdateProfileRequest(BaseModel):
    first_name: Optional[Annotated[str, Field(max_length=100, pattern=Printable)]] = None
    last_name: Optional[Annotated[str, Field(max_length=100, pattern=Printable)]] = None
    display_name: Optional[Annotated[str, Field(max_length=200, pattern=Printable)]] = None
    phone: Optional[Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$")]] = None
    locale: Optional[Annotated[str, Field(max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?$")]] = None
    timezone: Optional[Timezone] = None


class ChangePasswordRequest(BaseModel):
    current_password: Annotated[str, Field(max_length=1024)]
    new_password: Annotated[str, Field(max_length=1024)]


class ForgotPasswordRequest(BaseModel):
    email: Email
    redirect_uri: Optional[Annotated[str, Field(max_length=2048)]] = None


class TenantLoginRequest(BaseModel):
    email: Email
    password: Annotated[str, Field(max_length=1024)]
    remember_me: bool = False
    trusted_device_token: Optional[Annotated[str, Field(max_length=512)]] = None


class MFAChallengeRequest(BaseModel):
    mfa_token: Annotated[str, Field(max_length=512)]
    user_id: Optional[Annotated[str, Field(max_length=64)]] = None
    method: Annotated[str, Field(max_length=32)]
    code: Optional[Annotated[str, Field(max_length=64)]] = None
    challenge_id: Optional[Annotated[str, Field(max_length=64)]] = None
    credential: Optional[Dict[str, Any]] = None
    remember_device: bool = False
    trust_device: bool = False
    device_fingerprint: Optional[Annotated[str, Field(max_length=256)]] = None


class ResetPasswordRequest(BaseModel):
    token: Annotated[str, Field(max_length=512)]
    new_password: Annotated[str, Field(max_length=1024)]


class RegisterRequest(BaseModel):
    email: Email
    password: Annotated[str, Field(max_length=1024)]
    first_name: Annotated[str, Field(min_length=1, max_length=100, pattern=NonBlank)]
    last_name: Annotated[str, Field(min_length=1, max_length=100, pattern=NonBlank)]
    captcha_token: Optional[Annotated[str, Field(max_length=4096)]] = None
    redirect_uri: Optional[Annotated[str, Field(max_length=2048)]] = None
    custom_data: Optional[Annotated[Dict[str, Any], Field(max_length=50)]] = None


class AuthenticateRequest(BaseModel):
    flow_token: Annotated[str, Field(max_length=512)]
    tenant_id: Optional[Annotated[str, Field(max_length=64)]] = None
    password: Annotated[str, Field(max_length=1024)]


class IdentifyRequest(BaseModel):
    email: Email


class PortalLoginRequest(BaseModel):
    email: Email
    password: Annotated[str, Field(max_length=1024)]
    tenant_id: Optional[Annotated[str, Field(max_length=64)]] = None


class PortalMFAVerifyRequest(BaseModel):
    mfa_token: Annotated[str, Field(max_length=512)]
    user_id: Annotated[str, Field(max_length=64)]
    method: Annotated[str, Field(max_length=32)]
    code: Optional[Annotated[str, Field(max_length=64)]] = None
    trust_device: bool = False


class RefreshRequest(BaseModel):
    refresh_token: Annotated[str, Field(max_length=512)]


OK: Dict[str, Any] = {}

# Profile
@app.get("/api/v1/me")
def get_profile(authorization: Auth = None): return OK

@app.patch("/api/v1/me")
def update_profile(body: UpdateProfileRequest, authorization: Auth = None): return OK

@app.post("/api/v1/me/password")
def change_password(body: ChangePasswordRequest, authorization: Auth = None): return OK

@app.post("/api/v1/me/verify-email")
def request_email_verification(authorization: Auth = None): return OK

@app.get("/api/v1/me/security-events")
def list_security_events(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    before: Annotated[Optional[str], Query(pattern=r"^[0-9a-f]{24}$")] = None,
    authorization: Auth = None,
): return OK

# Authentication (hosted pages)
@app.post("/api/v1/auth/tenants/{tenant_slug}/forgot-password")
def forgot_password(tenant_slug: Slug, body: ForgotPasswordRequest): return OK

@app.post("/api/v1/auth/tenants/{tenant_slug}/login")
def tenant_login(tenant_slug: Slug, body: TenantLoginRequest): return OK

@app.post("/api/v1/auth/tenants/{tenant_slug}/mfa/email/send")
def send_email_mfa(tenant_slug: Slug, mfa_token: Annotated[str, Query(max_length=512)], user_id: Annotated[str, Query(max_length=64)]): return OK

@app.post("/api/v1/auth/tenants/{tenant_slug}/mfa/verify")
def verify_mfa(tenant_slug: Slug, body: MFAChallengeRequest): return OK

@app.post("/api/v1/auth/tenants/{tenant_slug}/mfa/webauthn/begin")
def begin_webauthn_auth(tenant_slug: Slug, mfa_token: Annotated[str, Query(max_length=512)], user_id: Annotated[str, Query(max_length=64)]): return OK

@app.post("/api/v1/auth/tenants/{tenant_slug}/password/forgot")
def password_forgot(tenant_slug: Slug, body: ForgotPasswordRequest): return OK

@app.post("/api/v1/auth/tenants/{tenant_slug}/password/reset")
def reset_password(tenant_slug: Slug, body: ResetPasswordRequest): return OK

@app.post("/api/v1/auth/tenants/{tenant_slug}/register")
def register(tenant_slug: Slug, body: RegisterRequest): return OK

@app.get("/api/v1/auth/tenants/{tenant_slug}/verify-email")
def verify_email(tenant_slug: Slug, token: Annotated[str, Query(max_length=512)]): return OK

# Portal authentication
@app.post("/api/v1/auth/authenticate")
def authenticate(body: AuthenticateRequest): return OK

@app.post("/api/v1/auth/identify")
def identify(body: IdentifyRequest): return OK

@app.post("/api/v1/auth/login")
def portal_login(body: PortalLoginRequest): return OK

@app.post("/api/v1/auth/logout")
def portal_logout(authorization: Auth = None): return OK

@app.post("/api/v1/auth/mfa/verify")
def portal_mfa_verify(body: PortalMFAVerifyRequest): return OK

@app.post("/api/v1/auth/refresh")
def portal_refresh(body: RefreshRequest): return OK


@app.get("/replica/versions")
def versions():
    import fastapi, pydantic, pydantic_core, email_validator, starlette
    return {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "fastapi": fastapi.__version__,
        "pydantic": pydantic.VERSION,
        "pydantic_core": pydantic_core.__version__,
        "starlette": starlette.__version__,
        "email_validator": email_validator.__version__,
    }


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
