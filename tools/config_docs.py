"""Keep Pulumi.yaml's config block and the README's configuration table in step with stack_config.KEYS.

python -m tools.config_docs          # rewrite both from KEYS
python -m tools.config_docs --check  # exit 1 when either is out of date (the tests run this)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stack_config import KEYS, NAMESPACE, PLATFORM_NAMES, PLATFORMS
from tools import PROJECT_DIR

PULUMI_YAML = PROJECT_DIR / "Pulumi.yaml"
README = PROJECT_DIR / "README.md"
BEGIN, END = "<!-- config:begin (python -m tools.config_docs) -->", "<!-- config:end -->"


def _yaml_value(value: object) -> str:
    # JSON is valid YAML, and quotes every string the way YAML needs.
    return json.dumps(value)


def pulumi_config_block() -> str:
    """Pulumi.yaml's `config:` block. Pulumi requires a declared key that has no default, so only
    the `required` keys go without one; no key says `secret: true`, because Pulumi would then
    demand the default be encrypted too (the program checks secret keys itself)."""
    lines = ["config:"]
    for name, key in KEYS.items():
        lines.append(f"  {name}:")  # keys of the project's own namespace are declared bare
        lines.append(f"    type: {key.type}")
        if key.type == "array":
            lines += ["    items:", "      type: string"]
        lines.append(f"    description: {_yaml_value(key.description)}")
        if not key.required:
            lines.append(f"    default: {_yaml_value(key.default)}")
    return "\n".join(lines) + "\n"


def readme_table() -> str:
    rows = ["| Key | Type | Default | Platform | Meaning |", "| --- | --- | --- | --- | --- |"]
    for name, key in KEYS.items():
        if key.required:
            default = "**required**"
        elif key.default == "":
            default = "unset, secret" if key.secret else "unset"
        else:
            default = f"`{json.dumps(key.default)}`"
        meaning = key.description.replace("|", r"\|")
        platforms = (
            "both"
            if set(key.platforms) == set(PLATFORMS)
            else ", ".join(PLATFORM_NAMES[p] for p in key.platforms)
        )
        rows.append(f"| `{NAMESPACE}:{name}` | {key.type} | {default} | {platforms} | {meaning} |")
    return "\n".join(rows) + "\n"


def rendered() -> dict[Path, str]:
    project = PULUMI_YAML.read_text(encoding="utf-8")
    head = project.split("\nconfig:\n", 1)[0].rstrip("\n") + "\n"
    readme = README.read_text(encoding="utf-8")
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"README.md has no {BEGIN} ... {END} section")
    before, rest = readme.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    return {
        PULUMI_YAML: head + pulumi_config_block(),
        README: f"{before}{BEGIN}\n{readme_table()}{END}{after}",
    }


def stale() -> list[Path]:
    return [path for path, text in rendered().items() if path.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only report whether the files are up to date")
    args = parser.parse_args(argv)
    if args.check:
        out_of_date = stale()
        for path in out_of_date:
            print(f"{path.name} is out of date: run python -m tools.config_docs", file=sys.stderr)
        return 1 if out_of_date else 0
    for path, text in rendered().items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
