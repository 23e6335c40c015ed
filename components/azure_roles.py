"""Azure built-in role definitions b2c-signup assigns: the one list the function's hosting and the
bootstrap take them from, so the roles the program grants and the condition that lets the
deployer grant them cannot drift apart.

Standard library only: the bootstrap imports it without the program's dependencies.
"""

from __future__ import annotations

# Built-in role definition ids: the same GUID in every tenant and subscription.
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"  # Role Based Access Control Administrator
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"

# What the function's identity is granted (components/signup_function.py), and so the only roles
# the deployer may assign: the host's storage, its metrics, the connector password in Key Vault.
FUNCTION_HOSTING = (STORAGE_BLOB_DATA_OWNER, MONITORING_METRICS_PUBLISHER, KEY_VAULT_SECRETS_USER)


def role_definition_id(subscription_id: str, role: str) -> str:
    """The subscription-scoped resource id ARM takes as a role assignment's roleDefinitionId."""
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"
