"""The verdict's app settings, read once per process for either platform: the allowlist and the
texts users see. Problems are collected, each naming its setting, instead of stopping at one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import app_settings
import signup_rules
from signup_rules import ConfigError, DomainRule, MessageCatalog, Messages


class VerdictSettings(NamedTuple):
    """`rules` is None when the allowlist is unusable: the gate then refuses every sign-up (fail
    closed) instead of guessing. Texts that cannot be read fall back to the built-in ones: a text
    must not close the gate."""

    rules: tuple[DomainRule, ...] | None
    messages: MessageCatalog
    errors: tuple[str, ...]


def read(environ: Mapping[str, str]) -> VerdictSettings:
    errors: list[str] = []
    rules: tuple[DomainRule, ...] | None = None
    try:
        allowlist = signup_rules.read_allowlist(
            environ.get(app_settings.ALLOWED_EMAIL_DOMAINS), app_settings.ALLOWED_EMAIL_DOMAINS
        )
        rules = allowlist.rules
        errors += [f"ignored: {exc}" for exc in allowlist.ignored]
    except ConfigError as exc:
        errors.append(str(exc))
    default = Messages(
        **{
            field: environ.get(name) or getattr(Messages(), field)
            for field, name in app_settings.MESSAGE_SETTINGS.items()
        }
    )
    try:
        messages = signup_rules.parse_messages(environ.get(app_settings.SIGNUP_MESSAGES), default)
    except ConfigError as exc:
        messages = MessageCatalog(default)
        errors.append(f"{app_settings.SIGNUP_MESSAGES} ignored: {exc}")
    return VerdictSettings(rules, messages, tuple(errors))
