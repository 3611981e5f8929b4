"""The local directory: argon2id hashes, rehash of bcrypt, no timing oracle (RL-06, CRY-01)."""

from __future__ import annotations

import statistics
import time

import bcrypt

from portvakt.app import Runtime
from portvakt.core import signin, users
from portvakt.domain import Door, UserRef
from portvakt.store.models import User
from tests.conftest import PASSWORD


def test_unknown_user_and_wrong_password_take_about_the_same_time(
    runtime: Runtime, alice: UserRef
) -> None:
    """RL-06: medians of interleaved samples differ by less than 10 ms (a dummy argon2id
    verification is spent for unknown names)."""
    directory = runtime.core.directory
    unknown: list[float] = []
    wrong: list[float] = []
    for _ in range(21):
        for name, bucket in (("nobody", unknown), ("alice", wrong)):
            started = time.perf_counter()
            assert not directory.authenticate(name, "not the password").ok
            bucket.append(time.perf_counter() - started)
    difference = abs(statistics.median(unknown) - statistics.median(wrong))
    assert difference < 0.010, (statistics.median(unknown), statistics.median(wrong))
    assert statistics.median(wrong) > 0.005  # a real argon2id verification happened


def test_stored_hash_is_argon2id(runtime: Runtime, alice: UserRef) -> None:
    with runtime.core.store.read() as s:
        row = s.get(User, alice.id)
        assert row is not None and row.password_hash is not None
        assert row.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert PASSWORD not in row.password_hash


def test_bcrypt_hash_is_upgraded_at_the_next_signin(runtime: Runtime, alice: UserRef) -> None:
    legacy = bcrypt.hashpw(b"imported password", bcrypt.gensalt(rounds=4)).decode()
    with runtime.core.store.write() as s:
        row = s.get(User, alice.id)
        assert row is not None
        row.password_hash = legacy
    ctx = runtime.context(Door.WEB, ip="192.0.2.1")
    progress = signin.submit_password(
        runtime.core, ctx, username="alice", password="imported password", device_token=None
    )
    assert progress.signin_token
    with runtime.core.store.read() as s:
        row = s.get(User, alice.id)
        assert row is not None and row.password_hash is not None
        assert row.password_hash.startswith("$argon2id$")


def test_password_rules_length_only_and_no_truncation(runtime: Runtime) -> None:
    """CRY-01: 8+ characters, no composition rules, 100 characters kept whole."""
    ctx = runtime.context(Door.CLI)
    long_password = "x" * 99 + "a"
    users.add(runtime.core, ctx, username="long", password=long_password)
    check = runtime.core.directory.authenticate("long", "x" * 99 + "b")
    assert not check.ok
    assert runtime.core.directory.authenticate("long", long_password).ok
