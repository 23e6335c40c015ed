"""The built zip alone, extracted as the Functions host does, serves the sign-up gate and loads the
web API's dependencies. Its own file: the build is slow, and the suite runs files in parallel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from components.packaging import SITE_PACKAGES, build_package


def test_package_runs_on_its_own(tmp_path: Path) -> None:
    """Built for this Python, the extracted zip serves a request with nothing else on the path."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    package = build_package(tmp_path / "released-package.zip", python_version=version)
    root = tmp_path / "wwwroot"
    with zipfile.ZipFile(package.path) as archive:
        archive.extractall(root)
    probe = (
        "import sys; sys.path[:] = [p for p in sys.path if 'site-packages' not in p];"
        f"sys.path[:0] = [{str(root)!r}, {str(root / SITE_PACKAGES)!r}];"
        "import base64, json, azure.functions as func, function_app;"
        "assert function_app.__file__.startswith(sys.path[0]), function_app.__file__;"
        "auth = 'Basic ' + base64.b64encode(b'u:p').decode();"
        "req = func.HttpRequest(method='POST', url='/api/validate-signup', headers={'Authorization': auth},"
        "body=json.dumps({'step': 'PostAttributeCollection', 'email': 'a@contoso.com'}).encode());"
        "print(function_app.validate_signup(req).get_body().decode());"
        # The web API imports PyJWT and cryptography on its first request, from the package too.
        "get_me = next(f for f in function_app.app.get_functions() if f.get_function_name() == 'get_me');"
        "me = get_me.get_user_function()(func.HttpRequest(method='GET', url='/api/me', body=b''));"
        "print('web api', me.status_code, sys.modules['cryptography'].__file__.startswith(sys.path[0]))"
    )
    env = {
        "ALLOWED_EMAIL_DOMAINS": "contoso.com",
        "BASIC_AUTH_USERNAME": "u",
        "BASIC_AUTH_PASSWORD": "p",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-s", "-c", probe], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert '"action": "Continue"' in result.stdout
    assert "web api 503 True" in result.stdout  # token settings unset: refused, but importable
