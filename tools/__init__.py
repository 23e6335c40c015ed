"""Developer commands: local server, sign-up simulator, package builder, benchmarks."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = PROJECT_DIR / "functions"
