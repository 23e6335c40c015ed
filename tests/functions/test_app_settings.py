"""Facts the function and the program share have one owner each: the app-setting names and the
gate's route (app_settings.py), the origin rule (origins.py). Both import as the host loads them
and as the program does (functions.*), importing nothing of their own."""

from __future__ import annotations

import re
import subprocess
import sys

import app_settings
import origins
import pytest

from tests.conftest import FUNCTIONS_DIR, PROJECT_DIR


def _setting_names() -> set[str]:
    names = {value for value in vars(app_settings).values() if isinstance(value, str) and value.isupper()}
    names |= set(app_settings.MESSAGE_SETTINGS.values()) | set(app_settings.B2C_TOKEN_SETTINGS.values())
    return names


def test_no_other_function_module_spells_a_setting_name() -> None:
    names = _setting_names()
    assert {"ALLOWED_EMAIL_DOMAINS", "SIGNUP_PLATFORM", "ENTRA_JWKS_URL", "B2C_JWKS_URL"} <= names
    for path in FUNCTIONS_DIR.glob("*.py"):
        if path.name == "app_settings.py":
            continue
        quoted = set(re.findall(r"""["']([A-Z][A-Z0-9_]+)["']""", path.read_text(encoding="utf-8")))
        assert not quoted & names, f"{path.name} spells {sorted(quoted & names)}: read them from app_settings"


def test_the_pure_modules_import_as_the_program_imports_them() -> None:
    probe = (
        "import sys; from functions import app_settings, origins, web_api_spec, signup_rules;"
        "assert app_settings.B2C_TOKEN_SETTINGS['jwks_url'] == 'B2C_JWKS_URL' and web_api_spec.ME;"
        "print(sorted(m for m in sys.modules if m in ('app_settings', 'origins', 'web_api_spec', 'signup_rules')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # nothing leaked in as a top-level module


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://login.example/keys", None),
        ("http://127.0.0.1:8080/keys", None),
        ("http://127.8.9.10/keys", None),
        ("http://localhost/keys", None),
        ("http://[::1]:9/keys", None),
        ("http://login.example/keys", "must be https"),
        ("http://localhost.evil.example/keys", "must be https"),
        ("ftp://127.0.0.1/keys", "must be https"),
        ("https://user:pw@login.example/keys", "no credentials"),
        ("keys.json", "absolute"),
    ],
)
def test_keys_come_over_https_or_from_loopback(url: str, problem: str | None) -> None:
    found = origins.url_problem(url)
    assert (found is None) if problem is None else (found is not None and problem in found), found
