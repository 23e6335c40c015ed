"""The one redaction rule: every form a reply may echo a secret in, anything token-like, redacted
before the text is cut."""

from __future__ import annotations

import pytest

from components.redaction import excerpt, redact

SECRET = 'Conn3ctor/Pass"word&1'


@pytest.mark.parametrize(
    "echo",
    [
        SECRET,
        SECRET.lower(),
        'Conn3ctor/Pass\\"word&1',  # JSON-escaped
        "Conn3ctor%2FPass%22word%261",  # URL-encoded
        "Conn3ctor/Pass&quot;word&amp;1",  # HTML-escaped
    ],
)
def test_every_form_of_a_secret_is_redacted(echo: str) -> None:
    assert redact(f"rejected: {echo}.", (SECRET,)) == "rejected: ***."


def test_token_like_text_is_redacted_even_when_it_is_not_ours() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
    assert redact(f"Authorization: Bearer abc.def~1 and {jwt}") == "Authorization: Bearer *** and ***"


def test_a_cut_never_leaves_half_a_secret() -> None:
    text = "x" * 290 + SECRET + "y" * 50
    shown = excerpt(text, (SECRET,), limit=300)
    assert "Conn3ctor" not in shown and len(shown) <= 300


def test_an_excerpt_is_one_printable_line() -> None:
    assert excerpt("first\nsecond\r\n\x1b[31mthird\u2028fourth") == "first second [31mthird fourth"


def test_short_strings_are_not_treated_as_secrets() -> None:
    assert redact("a b c", ("a",)) == "a b c"
