from app.auth.passwords import hash_password, needs_rehash, verify_password


def test_hash_is_argon2id_and_verifies_only_the_right_password() -> None:
    hashed = hash_password("s3cret pass")

    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "s3cret pass")
    assert not verify_password(hashed, "s3cret pasS")


def test_hashes_are_salted() -> None:
    assert hash_password("same") != hash_password("same")


def test_broken_hash_does_not_verify_and_needs_rehash() -> None:
    assert not verify_password("not-a-hash", "x")
    assert needs_rehash("not-a-hash")


def test_fresh_hash_needs_no_rehash_but_weak_parameters_do() -> None:
    from argon2 import PasswordHasher, Type

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID).hash("x")

    assert not needs_rehash(hash_password("x"))
    assert needs_rehash(weak)
