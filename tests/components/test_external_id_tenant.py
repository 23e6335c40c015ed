"""An External ID tenant's URLs, as ../shared/reference/external-id-contract.md §3-§4 gives them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from components.external_id_tenant import ExternalIdTenant

TENANT_ID = "2b8e4f61-9d3c-4a7b-8e15-6c0f9a2d7b34"


def test_the_authority_is_the_subdomain_on_ciamlogin_with_the_tenant_id() -> None:
    tenant = ExternalIdTenant("contosoext", TENANT_ID)
    assert tenant.domain == "contosoext.onmicrosoft.com"
    assert tenant.authorize_url() == f"https://contosoext.ciamlogin.com/{TENANT_ID}/oauth2/v2.0/authorize"
    assert tenant.token_url() == f"https://contosoext.ciamlogin.com/{TENANT_ID}/oauth2/v2.0/token"
    assert tenant.metadata_url() == (
        f"https://contosoext.ciamlogin.com/{TENANT_ID}/v2.0/.well-known/openid-configuration"
    )
    assert tenant.jwks_url() == f"https://contosoext.ciamlogin.com/{TENANT_ID}/discovery/v2.0/keys"
    assert tenant.issuer() == f"https://{TENANT_ID}.ciamlogin.com/{TENANT_ID}/v2.0"


def test_app_id_uris_and_scopes_name_the_app_itself() -> None:
    tenant = ExternalIdTenant("contosoext", TENANT_ID)
    assert (
        tenant.app_id_uri("7c6b5a49-3827-4615-a0b9-c8d7e6f50413")
        == "api://7c6b5a49-3827-4615-a0b9-c8d7e6f50413"
    )
    assert tenant.scope_uri("7c6b", "access") == "api://7c6b/access"


def test_a_custom_url_domain_moves_the_authority_but_not_keys_or_issuer() -> None:
    tenant = ExternalIdTenant("contosoext", TENANT_ID, "login.contoso.com")
    assert tenant.authorize_url() == f"https://login.contoso.com/{TENANT_ID}/oauth2/v2.0/authorize"
    assert tenant.jwks_url().startswith("https://contosoext.ciamlogin.com/")
    assert tenant.issuer() == f"https://{TENANT_ID}.ciamlogin.com/{TENANT_ID}/v2.0"


def test_running_the_flow_needs_no_policy_the_apps_link_picks_it() -> None:
    url = urlsplit(ExternalIdTenant("contosoext", TENANT_ID).run_user_flow_url("5e4d"))
    query = {key: value[0] for key, value in parse_qs(url.query).items()}
    assert query == {
        "client_id": "5e4d",
        "nonce": "defaultNonce",
        "redirect_uri": "https://jwt.ms",
        "scope": "openid",
        "response_type": "id_token",
        "prompt": "login",
    }
