"""The function's app settings and the gate's route, named once: the function reads them, the
program's hosting component writes them. Plain data that imports nothing, so both import it as it
is (`app_settings` in the Functions host, `functions.app_settings` in the program)."""

# Which callout protocol the gate speaks.
SIGNUP_PLATFORM = "SIGNUP_PLATFORM"
PLATFORM_B2C = "b2c"  # the default: B2C's API connector, HTTP Basic
PLATFORM_EXTERNAL_ID = "externalId"  # Entra External ID's custom extension, Entra bearer tokens
PLATFORMS = (PLATFORM_B2C, PLATFORM_EXTERNAL_ID)

# The verdict, on both platforms.
ALLOWED_EMAIL_DOMAINS = "ALLOWED_EMAIL_DOMAINS"
SIGNUP_MESSAGES = "SIGNUP_MESSAGES"  # JSON: language tag -> {denied, invalidEmail, unavailable}
# The default texts one by one, by Messages field (SIGNUP_MESSAGES' first language overrides them).
MESSAGE_SETTINGS = {
    "denied": "SIGNUP_DENIED_MESSAGE",
    "invalid_email": "SIGNUP_INVALID_EMAIL_MESSAGE",
    "unavailable": "SIGNUP_UNAVAILABLE_MESSAGE",
}

# B2C's API connector authenticates with HTTP Basic. A rotation moves the connector from one
# password to the next while the function accepts the previous, the current and the next one.
BASIC_AUTH_USERNAME = "BASIC_AUTH_USERNAME"
BASIC_AUTH_PASSWORD = "BASIC_AUTH_PASSWORD"  # noqa: S105 - a setting's name, not a secret
BASIC_AUTH_PREVIOUS_PASSWORD = "BASIC_AUTH_PREVIOUS_PASSWORD"  # noqa: S105 - a setting's name, not a secret
BASIC_AUTH_NEXT_PASSWORD = "BASIC_AUTH_NEXT_PASSWORD"  # noqa: S105 - a setting's name, not a secret
BASIC_AUTH_PASSWORDS = (BASIC_AUTH_PASSWORD, BASIC_AUTH_PREVIOUS_PASSWORD, BASIC_AUTH_NEXT_PASSWORD)

# Entra External ID's custom extension calls with a token Entra issues for the extension's
# resource app (ENTRA_CALLOUT_AUDIENCE: its client id), signed by the tenant's keys.
ENTRA_TENANT_ID = "ENTRA_TENANT_ID"
ENTRA_CALLOUT_AUDIENCE = "ENTRA_CALLOUT_AUDIENCE"
ENTRA_JWKS_URL = "ENTRA_JWKS_URL"  # https; http only on loopback, for local runs

# The web API's B2C token check, by field of web_api.TokenSettings. Public values (issuer,
# audience, scope), although "TOKEN" is in their names.
B2C_TOKEN_SETTINGS = {
    "issuer": "B2C_TOKEN_ISSUER",
    "audience": "B2C_TOKEN_AUDIENCE",
    "scope": "B2C_TOKEN_SCOPE",
    "policy": "B2C_TOKEN_POLICY",
    "jwks_url": "B2C_JWKS_URL",
}

# The protection space every 401 challenge of the function names (RFC 7235).
REALM = "b2c-signup"

# Routes, below the host's route prefix (host.json: extensions.http.routePrefix).
ROUTE_PREFIX = "api"
GATE_ROUTE = "validate-signup"
GATE_PATH = f"{ROUTE_PREFIX}/{GATE_ROUTE}"  # what the tenant calls: https://<app host>/<GATE_PATH>
BASE_PATH = f"/{ROUTE_PREFIX}"  # the web API's base path (web_api_spec's routes are below it)
