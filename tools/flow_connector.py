"""Write the Power Automate custom connector definition for the web API from the stack outputs.

    pulumi stack output --json | python -m tools.flow_connector --out connector/
    python -m tools.flow_connector --outputs outputs.json --out connector/ --api-host api.contoso.com --paths-from api.json

Writes apiProperties.json (generic OAuth 2 against the user flow's B2C endpoints) and
apiDefinition.swagger.json (the web API, secured with an OAuth2 access-code flow). By default the
connector calls the web API this stack deploys (the webApiBaseUrl output) with its actions GetMe and
CheckEmail; --api-host and --paths-from point it at another API. The client secret is never
written: give it to paconn at create time, as printed at the end.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from components.flow_connector import (
    DefinitionError,
    api_definition,
    api_properties,
    check_settings,
    imported_operations,
    web_api_operations,
)
from functions import app_settings

_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d+)?$")


def _load_outputs(path: str | None) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8") if path and path != "-" else sys.stdin.read()
    except OSError as exc:
        raise SystemExit(
            f"--outputs {path}: {exc.strerror}. Write it with `pulumi stack output --json --show-secrets > {path}`"
        ) from None
    try:
        outputs = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(
            f"The stack outputs are not JSON ({exc}): pass `pulumi stack output --json` output"
        ) from None
    if not isinstance(outputs, dict) or not isinstance(outputs.get("flowConnector"), dict):
        raise SystemExit(
            "The stack outputs have no flowConnector object: run `pulumi up` first, then `pulumi stack output --json`"
        )
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--outputs", help="stack outputs JSON file (default: standard input)")
    parser.add_argument("--out", required=True, type=Path, help="folder to write the definition into")
    parser.add_argument(
        "--api-host",
        help="host name of the web API the connector calls, e.g. api.contoso.com (default: the webApiBaseUrl output's)",
    )
    parser.add_argument(
        "--base-path",
        help="base path of the web API (default: the --paths-from document's, else the webApiBaseUrl output's)",
    )
    parser.add_argument("--title", default="B2C web API", help="connector title")
    parser.add_argument(
        "--paths-from",
        type=Path,
        help="a Swagger 2.0 file of the web API whose paths become the connector's actions",
    )
    parser.add_argument(
        "--redirect-mode",
        choices=("Global", "GlobalPerConnector"),
        help="default: from the registered redirect URIs",
    )
    args = parser.parse_args(argv)

    outputs = _load_outputs(args.outputs)
    settings = outputs["flowConnector"]
    if problems := check_settings(settings):
        raise SystemExit("The flowConnector output is incomplete:\n  " + "\n  ".join(problems))
    own_api = urlsplit(str(outputs.get("webApiBaseUrl") or ""))
    api_host = args.api_host or (own_api.netloc if own_api.scheme == "https" else "")
    if not api_host:
        raise SystemExit(
            "No web API host: the stack outputs have no https webApiBaseUrl (run `pulumi up` with this version "
            "first), or pass --api-host api.contoso.com for another API"
        )
    if not _HOST.match(api_host):
        raise SystemExit(
            f"--api-host {api_host!r} must be a host name such as api.contoso.com (no scheme or path)"
        )
    base_path = args.base_path
    operations: dict[str, Any]
    if args.paths_from:
        origin = f"--paths-from {args.paths_from}"
        try:
            source = json.loads(args.paths_from.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SystemExit(f"{origin} cannot be read as JSON: {exc}") from None
        try:
            if not isinstance(source, dict):
                raise DefinitionError(f"{origin} is not a JSON object")
            operations = imported_operations(source, origin)
        except DefinitionError as exc:
            raise SystemExit(str(exc)) from None
        base_path = base_path or source.get("basePath")
    else:
        # Without --paths-from the API is ours, perhaps behind a custom domain (--api-host).
        operations = web_api_operations(settings)
        base_path = base_path or own_api.path or app_settings.BASE_PATH

    args.out.mkdir(parents=True, exist_ok=True)
    files = {
        "apiProperties.json": api_properties(settings, mode=args.redirect_mode),
        "apiDefinition.swagger.json": api_definition(
            settings, title=args.title, host=api_host, base_path=base_path or "/", operations=operations
        ),
    }
    for name, document in files.items():
        (args.out / name).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out / name}")
    print(
        "Create the connector (the secret is the flowClientSecret stack output):\n"
        f"  paconn create --api-prop {args.out / 'apiProperties.json'} --api-def {args.out / 'apiDefinition.swagger.json'} "
        '--secret "$(pulumi stack output flowClientSecret --show-secrets)"'
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
