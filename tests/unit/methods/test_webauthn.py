"""WebAuthn's attestation policy and the MDS3 blob, with a software authenticator and test
key makers (tests/softkey.py): an AAGUID allow-list passes only a verified attestation, never
``none`` or self-attestation; the blob's chain and signature are checked at start-up."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from portvakt.context import Context
from portvakt.crypto.secretbox import KeyRing
from portvakt.domain import (
    ChallengeState,
    ChallengeView,
    CredentialState,
    CredentialView,
    Door,
    UserRef,
)
from portvakt.methods.base import ChallengeRequest, FactorResponse, Purpose
from portvakt.methods.webauthn import WebAuthnMethod
from portvakt.methods.webauthn.metadata import MetadataError, load
from portvakt.methods.webauthn.settings import WebAuthnSettings
from portvakt.settings import Settings
from tests.softkey import SoftKey, Vendor, mds_blob

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
SERVER = "https://mfa.example.org"
USER = UserRef(id=7, username="alice", display_name="Alice </script>")


class _Clock:
    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    settings = Settings(data_dir=tmp_path, public_url=SERVER)
    return Context(settings, _Clock(), KeyRing({"k1": bytes(32)}, "k1"), Door.WEB, base_url=SERVER)


def files(tmp_path: Path, vendor: Vendor, **how: Any) -> dict[str, Path]:
    blob, root = mds_blob(vendor, **how)
    (tmp_path / "mds.jwt").write_text(blob)
    (tmp_path / "root.pem").write_bytes(root)
    return {"mds_blob": tmp_path / "mds.jwt", "mds_root": tmp_path / "root.pem"}


def configured(**values: Any) -> WebAuthnMethod:
    method = WebAuthnMethod()
    method.configure(WebAuthnSettings(**values))
    return method


def register(method: WebAuthnMethod, ctx: Context, key: SoftKey, **how: Any) -> Any:
    step = method.begin_enrollment(ctx, USER, {"label": "Key"})
    cred = CredentialView(
        1, 7, "webauthn", "Key", CredentialState.PENDING, False, dict(step.params), NOW, None
    )
    options = method.enrollment_display(ctx, USER, cred)["options"]
    return method.finish_enrollment(ctx, cred, FactorResponse(payload=key.register(options, **how)))


def test_a_verified_attestation_passes_the_allow_list_and_names_the_model(
    ctx: Context, tmp_path: Path
) -> None:
    vendor = Vendor()
    method = configured(
        allowed_aaguids=(vendor.aaguid_text,), **files(tmp_path, vendor, name="Test Key 5")
    )
    key = SoftKey(origin=SERVER, rp_id="mfa.example.org", aaguid=vendor.aaguid)
    verdict = register(method, ctx, key, fmt="packed", vendor=vendor)
    assert verdict.ok, verdict
    assert verdict.params is not None
    assert verdict.params["attested"] is True and verdict.params["model"] == "Test Key 5"
    assert verdict.params["aaguid"] == vendor.aaguid_text


@pytest.mark.parametrize("fmt", ["none", "self"])
def test_none_and_self_attestation_never_pass_an_allow_list(
    ctx: Context, tmp_path: Path, fmt: str
) -> None:
    vendor = Vendor()
    method = configured(allowed_aaguids=(vendor.aaguid_text,), **files(tmp_path, vendor))
    key = SoftKey(origin=SERVER, rp_id="mfa.example.org", aaguid=vendor.aaguid)
    verdict = register(method, ctx, key, fmt=fmt)
    assert not verdict.ok and verdict.reason == "authenticator_not_allowed"


def test_required_attestation_refuses_none_and_unknown_models(ctx: Context, tmp_path: Path) -> None:
    vendor = Vendor()
    method = configured(attestation="required", **files(tmp_path, vendor))
    key = SoftKey(origin=SERVER, rp_id="mfa.example.org", aaguid=vendor.aaguid)
    assert register(method, ctx, key).reason == "attestation_not_verified"
    other = Vendor()  # a model the blob does not list: its chain is never trusted
    key = SoftKey(origin=SERVER, rp_id="mfa.example.org", aaguid=other.aaguid)
    assert register(method, ctx, key, fmt="packed", vendor=other).reason == (
        "attestation_not_verified"
    )


def test_a_chain_to_another_root_or_naming_another_model_is_refused(
    ctx: Context, tmp_path: Path
) -> None:
    vendor, forger = Vendor(), Vendor()
    method = configured(allowed_aaguids=(vendor.aaguid_text,), **files(tmp_path, vendor))
    key = SoftKey(origin=SERVER, rp_id="mfa.example.org", aaguid=vendor.aaguid)
    forged = forger.attestation_cert(vendor.aaguid)  # claims the listed model, wrong maker
    assert register(method, ctx, key, fmt="packed", vendor=forger, cert=forged).reason == (
        "registration_invalid"
    )
    mislabelled = vendor.attestation_cert(forger.aaguid)  # the maker's cert for another model
    assert register(method, ctx, key, fmt="packed", vendor=vendor, cert=mislabelled).reason == (
        "registration_invalid"
    )


def test_a_model_reported_compromised_is_refused(ctx: Context, tmp_path: Path) -> None:
    vendor = Vendor()
    method = configured(**files(tmp_path, vendor, status="ATTESTATION_KEY_COMPROMISE"))
    key = SoftKey(origin=SERVER, rp_id="mfa.example.org", aaguid=vendor.aaguid)
    assert register(method, ctx, key, fmt="packed", vendor=vendor).reason == (
        "authenticator_compromised"
    )


def test_the_blob_must_verify(tmp_path: Path) -> None:
    vendor = Vendor()
    paths = files(tmp_path, vendor)
    load(paths["mds_blob"], paths["mds_root"])  # the good one loads
    head, body, sig = paths["mds_blob"].read_text().split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    payload["entries"][0]["metadataStatement"]["description"] = "Forged"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    cases = {
        "tampered.jwt": f"{head}.{forged}.{sig}",
        "short.jwt": "a.b",
        "header.jwt": "bm90IGpzb24.e30.sig",
        "nox5c.jwt": base64.urlsafe_b64encode(b'{"alg":"ES256"}').decode() + ".e30.sig",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(MetadataError):
            load(tmp_path / name, paths["mds_root"])
    (tmp_path / "other.pem").write_bytes(Vendor().root_pem())
    with pytest.raises(MetadataError, match="chain"):
        load(paths["mds_blob"], tmp_path / "other.pem")
    with pytest.raises(MetadataError, match="not valid now"):
        load(paths["mds_blob"], paths["mds_root"], now=datetime.now(UTC) + timedelta(days=9999))
    with pytest.raises(MetadataError, match="cannot read"):
        load(tmp_path / "missing.jwt", paths["mds_root"])
    with pytest.raises(RuntimeError, match="WebAuthn metadata"):
        configured(mds_blob=tmp_path / "tampered.jwt", mds_root=paths["mds_root"])


def test_settings_refuse_what_cannot_work(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="mds_blob"):
        WebAuthnSettings(allowed_aaguids=("cb69481e-8ff7-4039-93ec-0a2729a154a8",))
    with pytest.raises(ValidationError, match="AAGUID"):
        WebAuthnSettings(allowed_aaguids="yubikey", mds_blob=tmp_path, mds_root=tmp_path)
    with pytest.raises(ValidationError, match="host name"):
        WebAuthnSettings(rp_id="https://mfa.example.org")
    listed = WebAuthnSettings(
        allowed_aaguids="CB69481E-8FF7-4039-93EC-0A2729A154A8", mds_blob=tmp_path, mds_root=tmp_path
    )
    assert listed.allowed_aaguids == ("cb69481e-8ff7-4039-93ec-0a2729a154a8",)


def test_ceremony_details(ctx: Context) -> None:
    method = configured(user_verification="required", rp_id="example.org")
    assert method.rp_id(ctx) == "example.org" and method.origin(ctx) == SERVER
    step = method.begin_enrollment(ctx, USER)
    cred = CredentialView(
        1, 7, "webauthn", "", CredentialState.PENDING, False, dict(step.params), NOW, None
    )
    options = method.enrollment_display(ctx, USER, cred)["options"]
    assert options["user"]["name"] == "alice" and options["attestation"] == "none"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["user"]["id"] != "alice"
    key = SoftKey(origin=SERVER, rp_id="example.org")
    assert method.finish_enrollment(ctx, cred, FactorResponse()).reason == "answer_format"
    without_uv = FactorResponse(payload=key.register(options, uv=False))
    assert method.finish_enrollment(ctx, cred, without_uv).reason == "registration_invalid"
    ctx.clock.at = NOW + timedelta(minutes=3)  # type: ignore[attr-defined]
    late = FactorResponse(payload=key.register(options))
    assert method.finish_enrollment(ctx, cred, late).reason == "expired"
    assert method.normalise_response("123456") is None


def test_assertion_details(ctx: Context) -> None:
    method = configured(user_verification="required")
    key = SoftKey(origin=SERVER, rp_id="mfa.example.org")
    step = method.begin_enrollment(ctx, USER)
    pending = CredentialView(
        1, 7, "webauthn", "", CredentialState.PENDING, False, dict(step.params), NOW, None
    )
    options = method.enrollment_display(ctx, USER, pending)["options"]
    done = method.finish_enrollment(ctx, pending, FactorResponse(payload=key.register(options)))
    assert done.params is not None
    cred = CredentialView(
        1, 7, "webauthn", "", CredentialState.ACTIVE, True, dict(done.params), NOW, None
    )
    issued = method.challenge(ctx, ChallengeRequest("tx-1", USER, (cred,), Purpose.SIGNIN))
    challenge = ChallengeView(
        "tx-1",
        "webauthn",
        7,
        Purpose.SIGNIN,
        ChallengeState.PENDING,
        None,
        dict(issued.data),
        NOW,
        NOW + timedelta(seconds=issued.seconds),
    )
    request = method.prompt(ctx, challenge)["options"]
    assert request["allowCredentials"][0]["transports"] == ["usb", "nfc"]
    no_uv = FactorResponse(payload=key.assertion(request, uv=False))
    assert method.verify(ctx, cred, challenge, no_uv).reason == "assertion_invalid"
    assert method.verify(ctx, cred, None, no_uv).reason == "answer_format"
    assert method.answering_credential(challenge, FactorResponse(payload={"id": 5}), [cred]) is None
    named = FactorResponse(payload={"id": key.id})
    assert method.answering_credential(challenge, named, [cred]) == cred


def test_a_certificate_naming_no_model_is_taken_at_its_chain(ctx: Context, tmp_path: Path) -> None:
    vendor = Vendor()
    method = configured(attestation="required", **files(tmp_path, vendor))
    key = SoftKey(origin=SERVER, rp_id="mfa.example.org", aaguid=vendor.aaguid)
    plain = vendor.attestation_cert(None)
    assert register(method, ctx, key, fmt="packed", vendor=vendor, cert=plain).ok


def test_blob_shapes(tmp_path: Path) -> None:
    vendor = Vendor()
    blob, root = mds_blob(vendor, with_root=True)  # the root itself in the chain
    (tmp_path / "root.pem").write_bytes(root)
    (tmp_path / "a.jwt").write_text(blob)
    assert load(tmp_path / "a.jwt", tmp_path / "root.pem").get(vendor.aaguid_text.upper())
    listed, other_root = mds_blob(vendor, payload=[1, 2])
    (tmp_path / "b.jwt").write_text(listed)
    (tmp_path / "b.pem").write_bytes(other_root)
    with pytest.raises(MetadataError, match="payload is not an object"):
        load(tmp_path / "b.jwt", tmp_path / "b.pem")
    for name, header in {"c": b"[1]", "d": b'{"x5c": ["bm9wZQ"]}'}.items():
        text = base64.urlsafe_b64encode(header).decode().rstrip("=") + ".e30.sig"
        (tmp_path / f"{name}.jwt").write_text(text)
        with pytest.raises(MetadataError):
            load(tmp_path / f"{name}.jwt", tmp_path / "root.pem")


def test_odd_values(ctx: Context, tmp_path: Path) -> None:
    listed = WebAuthnSettings(
        allowed_aaguids=frozenset({"cb69481e-8ff7-4039-93ec-0a2729a154a8"}),
        mds_blob=tmp_path,
        mds_root=tmp_path,
    )
    assert listed.allowed_aaguids == ("cb69481e-8ff7-4039-93ec-0a2729a154a8",)
    method = configured()
    cred = CredentialView(
        1, 7, "webauthn", "", CredentialState.PENDING, False, {"expires": "soon"}, NOW, None
    )
    assert method.finish_enrollment(ctx, cred, FactorResponse(payload={})).reason == "expired"


def test_oidc_reports_a_key_and_leaves_out_the_password_a_passkey_stood_for() -> None:
    from portvakt.core.oidc.levels import Level, session_amr, session_level
    from portvakt.core.sessions import SessionView
    from portvakt.methods.registry import BUILT_IN, Registry

    registry = Registry(BUILT_IN)
    view = SessionView("s", USER, NOW, NOW, "webauthn", remembered=False)
    assert session_amr(registry, view) == ["pwd", "hwk", "mfa"]
    assert session_level(registry, view) is Level.PHR
    passkey = SessionView("s", USER, NOW, NOW, "webauthn", remembered=False, password=False)
    assert session_amr(registry, passkey) == ["hwk", "mfa"]


def test_a_passkey_names_its_person_by_a_handle_only_this_server_makes(ctx: Context) -> None:
    method = configured()
    handle = method.user_handle(ctx, 7)
    assert len(handle) == 32 and method.identify(ctx, _named(handle)) == 7
    forged = (8).to_bytes(8, "big") + handle[8:]
    assert method.identify(ctx, _named(forged)) is None
    assert method.identify(ctx, _named(handle[:20])) is None
    assert method.identify(ctx, FactorResponse(payload={"response": {"userHandle": "a"}})) is None
    assert method.identify(ctx, FactorResponse(payload={})) is None
    shown = method.first_step_options(ctx, b"c" * 32)
    assert shown["autocomplete"] == "webauthn"
    assert shown["options"]["userVerification"] == "required"


def _named(handle: bytes) -> FactorResponse:
    text = base64.urlsafe_b64encode(handle).rstrip(b"=").decode()
    return FactorResponse(payload={"response": {"userHandle": text}})


def test_a_credential_id_over_1023_bytes_is_refused(ctx: Context) -> None:
    method = configured()
    key = SoftKey(origin=SERVER, rp_id="mfa.example.org", credential_id=b"k" * 1024)
    assert register(method, ctx, key).reason == "registration_invalid"
    short = SoftKey(origin=SERVER, rp_id="mfa.example.org", credential_id=b"k" * 1023)
    verdict = register(method, ctx, short)
    assert verdict.ok and verdict.unique == ("credential_id", short.id)
