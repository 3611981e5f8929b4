"""RL-06 with imported hashes (issue 9 item 4): a wrong password for a person whose hash came
from an import (bcrypt, cost 12: about ten times argon2id's cost here) and one for a name that
does not exist take the same time, because every failure costs at least the slowest scheme
present (core.passwordbudget.failure_floor)."""

from __future__ import annotations

import statistics
import time

import bcrypt
import pytest

from portvakt.app import Runtime
from portvakt.core import signin, users
from portvakt.domain import Door
from portvakt.store.models import User


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_unknown_name_costs_what_an_imported_bcrypt_check_costs(runtime: Runtime) -> None:
    users.add(runtime.core, runtime.context(Door.CLI), username="imported", password="x" * 12)
    with runtime.core.store.write() as s:
        row = s.query(User).filter_by(username="imported").one()
        row.password_hash = bcrypt.hashpw(b"their old password", bcrypt.gensalt(12)).decode()
    samples: dict[str, list[float]] = {"imported": [], "nobody": []}
    for n in range(7):
        for name in ("imported", "nobody"):
            ctx = runtime.context(Door.WEB, ip=f"192.0.2.{n}")
            started = time.perf_counter()
            with pytest.raises(signin.WrongPassword) as wrong:
                signin.submit_password(
                    runtime.core, ctx, username=name, password="wrong guess", device_token=None
                )
            samples[name].append(time.perf_counter() - started + wrong.value.wait)
    imported = statistics.median(samples["imported"])
    nobody = statistics.median(samples["nobody"])
    assert imported > 0.05  # bcrypt at cost 12 really is slow here
    assert abs(imported - nobody) < 0.25 * imported, samples
