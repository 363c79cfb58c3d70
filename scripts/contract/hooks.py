"""Schemathesis hooks for `npm run test:contract` (loaded through the generated config's `hooks` key).

Bearer auth with one signed-in session per operation. With a single shared token, the fuzzer's own
calls to POST /api/v1/auth/logout end the session every other operation is using (two workers run
in parallel), and nearly every request to a protected operation becomes a 401 that tests nothing.
Keyed by operation, logout only ever ends its own session; Schemathesis signs in again after a 401
(`retry_on`) and replays the request once.
"""

from __future__ import annotations

import os
import re

import requests
import schemathesis

LOGIN_PATH = "/api/v1/auth/login"
ADMIN_LOGIN_PATH = "/api/v1/admin/auth/login"
_BEARER_JWT = re.compile(r"^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


def _requires_bearer(ctx) -> bool:
    security = ctx.operation.definition.raw.get("security")
    if security is None:
        security = ctx.operation.schema.raw_schema.get("security", [])
    return any("HTTPBearer" in requirement for requirement in security)


def _per_operation(case, _ctx) -> str:
    return case.operation.label


@schemathesis.auth(cache_by_key=_per_operation, refresh_interval=1800, retry_on=[401]).apply_to(_requires_bearer)
class PerOperationBearer:
    """Signs in through the API as the seeded user without MFA (CONTRACT_AUTH_EMAIL/PASSWORD); the
    administration API's operations as the seeded super admin (CONTRACT_ADMIN_EMAIL/PASSWORD), so
    that their positive cases reach the handlers instead of ending in a 403."""

    def get(self, case, ctx):
        base = ctx.operation.schema.get_base_url().rstrip("/")
        path = case.operation.path
        admin = path.startswith("/api/v1/admin/") and not path.startswith("/api/v1/admin/auth/")
        response = requests.post(
            f"{base}{ADMIN_LOGIN_PATH if admin else LOGIN_PATH}",
            json={
                "email": os.environ["CONTRACT_ADMIN_EMAIL" if admin else "CONTRACT_AUTH_EMAIL"],
                "password": os.environ["CONTRACT_ADMIN_PASSWORD" if admin else "CONTRACT_AUTH_PASSWORD"],
            },
            timeout=30,
        )
        if response.status_code != 200:
            raise RuntimeError(f"sign-in for {case.operation.label} answered {response.status_code}: {response.text[:300]}")
        return response.json()["access_token"]

    def set(self, case, data, ctx):
        headers = dict(case.headers or {})
        generated = [name for name in headers if name.lower() == "authorization"]
        # The spec also declares `authorization` as a plain header parameter (FastAPI's Header(),
        # kept for fidelity with the upstream reference pages). A schema-violating value generated
        # for it is sent as generated: replacing it with a good token would make
        # negative_data_rejection blame the server for the fuzzer's own override. A schema-valid
        # one (any string up to 8192 characters, or null) is replaced by a real token, so that
        # positive cases reach the handler instead of ending in a 401.
        if generated and _headers_are_negative(case):
            return
        # A bearer JWT there came from an OpenAPI link (e.g. login → logout): keep the chain intact.
        if any(_BEARER_JWT.match(str(headers[name])) for name in generated):
            return
        for name in generated:
            del headers[name]
        headers["Authorization"] = f"Bearer {data}"
        case.headers = headers


def _headers_are_negative(case) -> bool:
    meta = getattr(case, "meta", None)
    if meta is None:
        return False
    try:
        from schemathesis.core.parameters import ParameterLocation

        return bool(meta.is_negative_at(ParameterLocation.HEADER))
    except Exception:  # an API change in Schemathesis: err on the side of sending what was generated
        return True


def _has_prototype_keys(value) -> bool:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "__proto__" or (key == "constructor" and isinstance(item, dict) and "prototype" in item):
                return True
            if _has_prototype_keys(item):
                return True
    elif isinstance(value, list):
        return any(_has_prototype_keys(item) for item in value)
    return False


@schemathesis.hook
def filter_body(ctx, body) -> bool:
    """The server refuses `__proto__` (and `constructor.prototype`) keys anywhere in a JSON body with
    a 422, a deliberate deviation from FastAPI that test/contract/hostile-input.test.ts holds it to.
    The spec says so on its free-form objects; saying it on every request body (`propertyNames`)
    makes Schemathesis 4.32's coverage phase crash with an internal KeyError, so the fuzzer simply
    does not send such bodies."""
    return not _has_prototype_keys(body)
