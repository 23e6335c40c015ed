"""Developer commands: thin CLIs over the program's rooms (components/, functions/)."""

from components.packaging import FUNCTIONS_DIR, PROJECT_DIR

__all__ = ["FUNCTIONS_DIR", "PROJECT_DIR"]
