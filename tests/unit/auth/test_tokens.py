import pytest

from app.auth.tokens import (
    TOKEN_PREFIX,
    generate_token,
    hash_secret,
    scope_allows,
    secret_matches,
)


def test_generated_token_has_prefix_and_stores_only_a_hash() -> None:
    token = generate_token()

    assert token.secret.startswith(TOKEN_PREFIX)
    assert len(token.secret) > 40
    assert token.secret.startswith(token.prefix)
    assert token.secret_hash == hash_secret(token.secret)
    assert token.secret not in token.secret_hash
    assert len(token.secret_hash) == 64


def test_tokens_are_unique() -> None:
    assert len({generate_token().secret for _ in range(100)}) == 100


def test_secret_matches_only_its_hash() -> None:
    token = generate_token()

    assert secret_matches(token.secret, token.secret_hash)
    assert not secret_matches(token.secret + "x", token.secret_hash)


@pytest.mark.parametrize(
    ("scope", "method", "allowed"),
    [
        ("read", "GET", True),
        ("read", "HEAD", True),
        ("read", "POST", False),
        ("read", "DELETE", False),
        ("write", "POST", True),
        ("write", "GET", True),
        ("admin", "GET", False),
    ],
)
def test_read_scope_reads_and_write_scope_does_everything(
    scope: str, method: str, allowed: bool
) -> None:
    assert scope_allows(scope, method=method) is allowed
