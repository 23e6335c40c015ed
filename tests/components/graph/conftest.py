"""Graph providers against the loopback double, through the real SDK stack (kiota, httpx, a socket)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from components.credentials import B2CSettings
from components.graph.gateway import GraphGateway
from components.graph.provider import GraphProvider
from tests.doubles.clock import VirtualClock
from tools.graph_double import FakeCredential, GraphDouble

TENANT_ID = "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90"
CLIENT_ID = "0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e"
CLIENT_SECRET = "b2c-deployer-Secret~1234"

P = TypeVar("P", bound=GraphProvider)


def stack_config(endpoint: str, **extra: str) -> dict[str, str]:
    return {
        "b2c-signup:tenantId": TENANT_ID,
        "b2c-signup:b2cClientId": CLIENT_ID,
        "b2c-signup:b2cClientSecret": CLIENT_SECRET,
        "b2c-signup:graphEndpoint": endpoint,
        **extra,
    }


def connect(
    clock: VirtualClock | None = None,
    credentials: Callable[[B2CSettings], Any] = lambda _settings: FakeCredential(),
    cancelled: Callable[[], bool] = lambda: False,
) -> Callable[..., GraphGateway]:
    """How a provider under test opens its Graph session: the double's token, a virtual clock."""
    clock = clock or VirtualClock()
    return functools.partial(
        GraphGateway, credentials=credentials, clock=clock.now, sleep=clock.sleep, cancelled=cancelled
    )


def configured(
    provider: P,
    endpoint: str,
    *,
    max_wait: float = 20,
    max_lag: float = 2,
    clock: VirtualClock | None = None,
    gateway: Callable[..., GraphGateway] | None = None,
    **extra: str,
) -> P:
    """A provider configured as the engine does it, reaching the double through the seam."""
    provider.configure(ConfigureRequest(Config(stack_config(endpoint, **extra), "b2c-signup")))
    assert provider._settings is not None, provider._config_error
    provider._settings = dataclasses.replace(
        provider._settings, max_wait_seconds=max_wait, max_lag_seconds=max_lag
    )
    provider.connect = gateway or connect(clock)  # type: ignore[method-assign]
    return provider


@pytest.fixture
def graph() -> Iterator[GraphDouble]:
    with GraphDouble() as double:
        yield double


def make_pfx(password: str = "", common_name: str = "b2c-connector") -> tuple[str, str]:
    """A self-signed certificate as base64 PKCS#12, and its SHA-1 thumbprint as Graph lists it."""
    import base64
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    encryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    blob = pkcs12.serialize_key_and_certificates(b"connector", key, cert, None, encryption)
    return base64.b64encode(blob).decode(), cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303
