"""The local stand-in for an External ID tenant's signing keys: tools.serve trusts this key for
this tenant and audience (it publishes the JWKS and points the function at it), and
tools.simulate_signup signs the callout's token with it. Only Entra can mint the token a deployed
function accepts, so a local run uses this instead. The key is made on first use, in
.build/local-entra/ (never committed); only the claims Entra puts in the callout's token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from tools import PROJECT_DIR

LOCAL_TENANT_ID = "00000000-0000-4000-8000-00000000e1d0"
LOCAL_AUDIENCE = "00000000-0000-4000-8000-0000000a0d1e"  # the extension's resource app, locally
ENTRA_EXTENSIONS_APP_ID = "99045fe1-7639-4a75-9d4a-577b6ca3810f"
DEFAULT_LOCAL_KEY = PROJECT_DIR / ".build" / "local-entra" / "signing-key.pem"


def local_signing_key(path: Path = DEFAULT_LOCAL_KEY) -> Any:
    """The local tenant's RSA key, made (readable by its owner only) on first use."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # Created exclusively: two commands starting at once keep whichever key was written first.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _public_jwk(key: Any) -> dict[str, Any]:
    import jwt

    return dict(json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())))


def local_kid(key: Any) -> str:
    """The key's JWK thumbprint (RFC 7638): a new key is a new kid."""
    members = {name: value for name, value in _public_jwk(key).items() if name in ("e", "kty", "n")}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def local_jwks(key: Any) -> dict[str, Any]:
    """The JWKS publishing the local key, as a tenant publishes its keys."""
    return {"keys": [{**_public_jwk(key), "kid": local_kid(key), "use": "sig"}]}


def mint_local_token(
    key: Any, tenant_id: str = LOCAL_TENANT_ID, audience: str = LOCAL_AUDIENCE, lifetime: int = 300
) -> str:
    """A token as Entra mints it for the custom extension: v2, issued by the tenant's ciamlogin
    authority for the extension's resource app, to Entra's custom-extension app (azp)."""
    import jwt

    now = int(time.time())
    claims = {
        "iss": f"https://{tenant_id}.ciamlogin.com/{tenant_id}/v2.0",
        "aud": audience,
        "azp": ENTRA_EXTENSIONS_APP_ID,
        "tid": tenant_id,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "ver": "2.0",
    }
    return str(jwt.encode(claims, key, algorithm="RS256", headers={"kid": local_kid(key)}))
