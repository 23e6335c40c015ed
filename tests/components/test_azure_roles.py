"""The built-in role ids have one owner: distinct GUIDs, and the resource id ARM takes."""

from __future__ import annotations

import uuid

from components import azure_roles


def test_role_ids_are_distinct_guids() -> None:
    ids = {
        name: value for name, value in vars(azure_roles).items() if name.isupper() and isinstance(value, str)
    }
    assert len(ids) == 8
    assert all(str(uuid.UUID(value)) == value for value in ids.values())
    assert len(set(ids.values())) == len(ids)
    assert set(azure_roles.FUNCTION_HOSTING) <= set(ids.values())


def test_a_role_definition_id_is_scoped_to_the_subscription() -> None:
    assert azure_roles.role_definition_id("9f8e7d6c-5b4a-4321-8765-43210fedcba9", azure_roles.READER) == (
        "/subscriptions/9f8e7d6c-5b4a-4321-8765-43210fedcba9/providers/Microsoft.Authorization/"
        "roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
    )
