"""PSKC documents the importer refuses, built from small variations of the RFC 6030 examples:
each refusal is checked by the stable reason ``pskc.parse`` reports, for the whole file
(``where == "file"``) or for one key (``where == "key <serial>"``)."""

from __future__ import annotations

import hashlib
import hmac
from base64 import b64decode, b64encode

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from portvakt.methods.base import ParsedTokens
from portvakt.methods.oath import pskc
from portvakt.methods.oath.params import from_json

PSKC_NS = "urn:ietf:params:xml:ns:keyprov:pskc"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
PKCS5 = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#"
HOTP_URI = "urn:ietf:params:xml:ns:keyprov:pskc:hotp"
TOTP_URI = "urn:ietf:params:xml:ns:keyprov:pskc:totp"
PRE_SHARED = bytes.fromhex("12345678901234567890123456789012")  # RFC 6030 §6.1
RFC_SECRET = b"12345678901234567890"
IV = bytes(range(16))
SERIAL = "987654321"
PLAIN = "<Data><Secret><PlainValue>MTIzNA==</PlainValue></Secret></Data>"  # figure 2: "1234"
PRE_SHARED_KEY = "<EncryptionKey><ds:KeyName>Pre-shared-key</ds:KeyName></EncryptionKey>"
SALT = "Ej7/PEpyEpw="  # figure 7


def _document(head: str, *packages: str) -> bytes:
    """A KeyContainer with every namespace the RFC's examples use declared on it."""
    return (
        f'<KeyContainer Version="1.0" xmlns="{PSKC_NS}" xmlns:ds="{DS}" xmlns:xenc="{XENC}"'
        f' xmlns:xenc11="{XENC11}" xmlns:pkcs5="{PKCS5}">{head}{"".join(packages)}'
        "</KeyContainer>"
    ).encode()


def _package(
    data: str = PLAIN,
    *,
    algorithm: str = HOTP_URI,
    serial: str = SERIAL,
    key_id: str = "12345678",
    parameters: str = "",
) -> str:
    device = f"<DeviceInfo><SerialNo>{serial}</SerialNo></DeviceInfo>" if serial else ""
    ident = f' Id="{key_id}"' if key_id else ""
    return (
        f'<KeyPackage>{device}<Key{ident} Algorithm="{algorithm}">'
        f"{parameters}{data}</Key></KeyPackage>"
    )


def _aes_cbc(key: bytes, plain: bytes) -> bytes:
    """IV followed by the AES-CBC ciphertext of ``plain`` with PKCS #7 padding (§6.1)."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(IV)).encryptor()
    return IV + encryptor.update(padded) + encryptor.finalize()


def _cipher(blob: str, algorithm: str = "aes128-cbc") -> str:
    """An EncryptionMethod and its CipherData, as inside MACKey and EncryptedValue."""
    method = f'<xenc:EncryptionMethod Algorithm="{XENC}{algorithm}"/>' if algorithm else ""
    return f"{method}<xenc:CipherData><xenc:CipherValue>{blob}</xenc:CipherValue></xenc:CipherData>"


def _encrypted_secret(blob: bytes, value_mac: bytes | None, algorithm: str = "aes128-cbc") -> str:
    mac = f"<ValueMAC>{b64encode(value_mac).decode()}</ValueMAC>" if value_mac else ""
    cipher = _cipher(b64encode(blob).decode(), algorithm)
    return f"<Data><Secret><EncryptedValue>{cipher}</EncryptedValue>{mac}</Secret></Data>"


def _mac_method(algorithm: str, mac_key: str | None = None) -> str:
    inner = f"<MACKey>{mac_key}</MACKey>" if mac_key is not None else ""
    return f'<MACMethod Algorithm="{DS}{algorithm}">{inner}</MACMethod>'


def _pbkdf2(
    *,
    salt: str = SALT,
    iterations: str = "1000",
    length: str = "16",
    prf: str = "",
) -> str:
    """An EncryptionKey derived by PBKDF2, its parameters unqualified as in figure 7 (whose
    container has no default namespace, hence ``xmlns=""`` here)."""
    prf_element = f'<PRF Algorithm="{PKCS5}{prf}"/>' if prf else "<PRF/>"
    params = (
        f"<Salt><Specified>{salt}</Specified></Salt><IterationCount>{iterations}</IterationCount>"
        f"<KeyLength>{length}</KeyLength>{prf_element}"
    )
    return _derived(
        f'Algorithm="{PKCS5}pbkdf2"',
        f'<pkcs5:PBKDF2-params xmlns="">{params}</pkcs5:PBKDF2-params>',
    )


def _derived(method_attributes: str | None, method_body: str = "") -> str:
    tag = "xenc11:KeyDerivationMethod"
    method = f"<{tag} {method_attributes}>{method_body}</{tag}>" if method_attributes else ""
    return f"<EncryptionKey><xenc11:DerivedKey>{method}</xenc11:DerivedKey></EncryptionKey>"


def _reasons(parsed: ParsedTokens) -> list[tuple[str, str]]:
    return [(r.where, r.reason) for r in parsed.rejected]


def _file_refusal(document: bytes, *, password: str | None, key: bytes | None) -> str:
    parsed = pskc.parse(document, password=password, key=key)
    assert parsed.tokens == ()
    ((where, reason),) = _reasons(parsed)
    assert where == "file"
    return reason


# The file as a whole: what it is and what it needs to be read --------------------------------

MAC_KEY_ENCRYPTED = _cipher(b64encode(_aes_cbc(PRE_SHARED, bytes(range(20)))).decode())


@pytest.mark.parametrize(
    ("document", "password", "key", "reason"),
    [
        pytest.param(b"<KeyContainer", None, None, "malformed_xml", id="truncated"),
        pytest.param(b"<KeyContainer/>", None, None, "not_pskc", id="no-pskc-namespace"),
        pytest.param(_document(""), None, None, "no_keys", id="no-key-package"),
        pytest.param(
            _document("", _package(algorithm="urn:ietf:params:xml:ns:keyprov:pskc:pin")),
            None,
            None,
            "no_keys",
            id="only-a-device-pin",
        ),
        pytest.param(
            _document(PRE_SHARED_KEY, _package()), None, None, "key_needed", id="no-key-given"
        ),
        pytest.param(
            _document(_pbkdf2(), _package()), None, PRE_SHARED, "password_needed", id="no-password"
        ),
        pytest.param(
            _document(PRE_SHARED_KEY + _mac_method("hmac-sha1", MAC_KEY_ENCRYPTED), _package()),
            None,
            bytes(16),
            "wrong_password_or_key",
            id="wrong-pre-shared-key",
        ),
    ],
)
def test_a_file_that_cannot_be_read_at_all(
    document: bytes, password: str | None, key: bytes | None, reason: str
) -> None:
    assert _file_refusal(document, password=password, key=key) == reason
    if reason == "wrong_password_or_key":  # and with the right key it is read
        (token,) = pskc.parse(document, password=None, key=PRE_SHARED).tokens
        assert token.secret == b"1234"


# The key derivation (§6.2): only PBKDF2 with sane parameters ---------------------------------


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        pytest.param(_derived(None), "unsupported_key_derivation", id="no-derivation-method"),
        pytest.param(
            _derived(f'Algorithm="{PKCS5}pbkdf2"'),
            "unsupported_key_derivation",
            id="pbkdf2-without-parameters",
        ),
        pytest.param(
            _derived('Algorithm="http://www.example.com/kdf#scrypt"', "<pkcs5:PBKDF2-params/>"),
            "unsupported_key_derivation",
            id="not-pbkdf2",
        ),
        pytest.param(
            _pbkdf2(iterations="many"), "unsupported_key_derivation", id="iterations-not-a-number"
        ),
        pytest.param(_pbkdf2(length=""), "unsupported_key_derivation", id="no-key-length"),
        pytest.param(_pbkdf2(prf="hmac-md5"), "unsupported_key_derivation", id="prf-hmac-md5"),
        pytest.param(_pbkdf2(length="20"), "unsupported_key_derivation", id="key-length-20"),
        pytest.param(_pbkdf2(iterations="0"), "unsupported_key_derivation", id="zero-iterations"),
        pytest.param(
            _pbkdf2(iterations=str(pskc.MAX_ITERATIONS + 1)),
            "unsupported_key_derivation",
            id="too-many-iterations",
        ),
        pytest.param(_pbkdf2(salt="not base64!"), "bad_base64", id="salt-not-base64"),
    ],
)
def test_a_key_derivation_that_is_not_supported_refuses_the_file(head: str, reason: str) -> None:
    document = _document(head, _package())
    assert _file_refusal(document, password="qwerty", key=None) == reason


def test_the_prf_named_by_the_document_derives_the_key() -> None:
    """PBKDF2 with HMAC-SHA256 (not the default SHA-1): the secret, encrypted and MACed with the
    key so derived, is read back — and a SHA-1 derivation would fail the MAC."""
    derived = hashlib.pbkdf2_hmac("sha256", b"qwerty", b64decode(SALT), 1000, 16)
    blob = _aes_cbc(derived, RFC_SECRET)
    value_mac = hmac.new(derived, blob, hashlib.sha256).digest()
    document = _document(
        _pbkdf2(prf="hmac-sha256") + _mac_method("hmac-sha256"),
        _package(_encrypted_secret(blob, value_mac)),
    )
    (token,) = pskc.parse(document, password="qwerty", key=None).tokens
    assert (token.serial, token.secret) == (SERIAL, RFC_SECRET)
    sha1 = _document(
        _pbkdf2() + _mac_method("hmac-sha256"), _package(_encrypted_secret(blob, value_mac))
    )
    parsed = pskc.parse(sha1, password="qwerty", key=None)
    assert _reasons(parsed) == [(f"key {SERIAL}", "bad_mac")]


# The MAC method (§6.1.1) and the encrypted MAC key ------------------------------------------


@pytest.mark.parametrize(
    ("head", "key", "reason"),
    [
        pytest.param(_mac_method("hmac-md5"), None, "unsupported_mac", id="hmac-md5"),
        pytest.param(
            _mac_method("hmac-md5", _cipher("AAAA")), None, "unsupported_mac", id="hmac-md5-keyed"
        ),
        pytest.param(
            "<MACMethod><MACKey/></MACMethod>", None, "unsupported_mac", id="no-mac-algorithm"
        ),
        pytest.param(
            _mac_method("hmac-sha1"), None, "unsupported_mac", id="no-mac-key-nor-encryption-key"
        ),
        pytest.param(
            _mac_method("hmac-sha1", _cipher(b64encode(bytes(32)).decode())),
            None,
            "encrypted_without_key",
            id="encrypted-mac-key-without-encryption-key",
        ),
        pytest.param(
            PRE_SHARED_KEY + _mac_method("hmac-sha1", _cipher(b64encode(bytes(32)).decode(), "")),
            PRE_SHARED,
            "unsupported_encryption",
            id="no-encryption-method",
        ),
        pytest.param(
            PRE_SHARED_KEY + _mac_method("hmac-sha1", _cipher("AAAA", "aes256-cbc")),
            PRE_SHARED,
            "unsupported_encryption",
            id="aes256-with-a-128-bit-key",
        ),
        pytest.param(
            PRE_SHARED_KEY + _mac_method("hmac-sha1", _cipher("AAAA", "tripledes-cbc")),
            PRE_SHARED,
            "unsupported_encryption",
            id="tripledes",
        ),
        pytest.param(
            PRE_SHARED_KEY + _mac_method("hmac-sha1", _cipher(b64encode(bytes(16)).decode())),
            PRE_SHARED,
            "bad_ciphertext",
            id="iv-only",
        ),
        pytest.param(
            PRE_SHARED_KEY + _mac_method("hmac-sha1", _cipher(b64encode(bytes(40)).decode())),
            PRE_SHARED,
            "bad_ciphertext",
            id="not-whole-blocks",
        ),
        pytest.param(
            PRE_SHARED_KEY + _mac_method("hmac-sha1", _cipher("not base64!")),
            PRE_SHARED,
            "bad_base64",
            id="cipher-value-not-base64",
        ),
    ],
)
def test_a_mac_method_that_cannot_be_used_refuses_the_file(
    head: str, key: bytes | None, reason: str
) -> None:
    document = _document(head, _package())
    assert _file_refusal(document, password=None, key=key) == reason


def test_without_a_mac_key_the_encryption_key_is_the_mac_key() -> None:
    """Older drafts of RFC 6030 have no MACKey: the value's MAC is keyed with the encryption
    key itself."""
    blob = _aes_cbc(PRE_SHARED, RFC_SECRET)
    value_mac = hmac.new(PRE_SHARED, blob, hashlib.sha1).digest()
    document = _document(
        PRE_SHARED_KEY + _mac_method("hmac-sha1"), _package(_encrypted_secret(blob, value_mac))
    )
    parsed = pskc.parse(document, password=None, key=PRE_SHARED)
    assert parsed.rejected == ()
    (token,) = parsed.tokens
    assert (token.serial, token.secret, token.counter) == (SERIAL, RFC_SECRET, None)
    other_key = hmac.new(bytes(16), blob, hashlib.sha1).digest()
    document = _document(
        PRE_SHARED_KEY + _mac_method("hmac-sha1"), _package(_encrypted_secret(blob, other_key))
    )
    parsed = pskc.parse(document, password=None, key=PRE_SHARED)
    assert _reasons(parsed) == [(f"key {SERIAL}", "bad_mac")]


def _old_draft(data: str) -> bytes:
    return _document(PRE_SHARED_KEY + _mac_method("hmac-sha1"), _package(data))


def _valid_mac(blob: bytes) -> bytes:
    return hmac.new(PRE_SHARED, blob, hashlib.sha1).digest()


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        pytest.param(
            _document(
                PRE_SHARED_KEY,
                _package(_encrypted_secret(_aes_cbc(PRE_SHARED, RFC_SECRET), b"\x00" * 20)),
            ),
            "no_mac",
            id="no-mac-method",
        ),
        pytest.param(
            _old_draft(
                _encrypted_secret(
                    _aes_cbc(PRE_SHARED, RFC_SECRET),
                    _valid_mac(_aes_cbc(PRE_SHARED, RFC_SECRET)),
                    "aes192-cbc",
                )
            ),
            "unsupported_encryption",
            id="aes192-with-a-128-bit-key",
        ),
        pytest.param(
            _old_draft(_encrypted_secret(IV, _valid_mac(IV))), "bad_ciphertext", id="iv-only"
        ),
        pytest.param(
            _old_draft(
                "<Data><Secret><EncryptedValue>"
                + _cipher("AAAA")
                + "</EncryptedValue><ValueMAC>not base64!</ValueMAC></Secret></Data>"
            ),
            "bad_base64",
            id="value-mac-not-base64",
        ),
    ],
)
def test_an_encrypted_secret_that_cannot_be_read_refuses_its_key(
    document: bytes, reason: str
) -> None:
    parsed = pskc.parse(document, password=None, key=PRE_SHARED)
    assert parsed.tokens == ()
    assert _reasons(parsed) == [(f"key {SERIAL}", reason)]


# One key of a file (§4): what it is, who it belongs to, what it holds -----------------------


def _format(length: str = "8", encoding: str = "DECIMAL") -> str:
    return (
        f'<AlgorithmParameters><ResponseFormat Length="{length}" Encoding="{encoding}"/>'
        "</AlgorithmParameters>"
    )


def _data(secret: str, *, interval: str = "", counter: str = "") -> str:
    time = f"<TimeInterval><PlainValue>{interval}</PlainValue></TimeInterval>" if interval else ""
    count = f"<Counter><PlainValue>{counter}</PlainValue></Counter>" if counter else ""
    return f"<Data>{secret}{time}{count}</Data>"


PLAIN_SECRET = "<Secret><PlainValue>MTIzNA==</PlainValue></Secret>"


@pytest.mark.parametrize(
    ("package", "reason"),
    [
        pytest.param(
            _package(algorithm="http://www.yubico.com/#yubikey-aes"),
            "unsupported_algorithm",
            id="yubikey",
        ),
        pytest.param(_package(algorithm=""), "unsupported_algorithm", id="no-algorithm"),
        pytest.param(
            _package(parameters=_format(encoding="ALPHANUMERIC")),
            "unsupported_response_format",
            id="alphanumeric",
        ),
        pytest.param(
            _package(parameters=_format(encoding="HEXADECIMAL")),
            "unsupported_response_format",
            id="hexadecimal",
        ),
        pytest.param(_package(""), "no_secret", id="no-data"),
        pytest.param(_package(_data("")), "no_secret", id="no-secret"),
        pytest.param(_package(_data("<Secret/>")), "no_secret", id="neither-plain-nor-encrypted"),
        pytest.param(
            _package(_data("<Secret><PlainValue/></Secret>")), "no_secret", id="empty-plain-value"
        ),
        pytest.param(
            _package(_data("<Secret><PlainValue>MTIzNA=</PlainValue></Secret>")),
            "bad_base64",
            id="bad-padding",
        ),
        pytest.param(
            _package(_data("<Secret><PlainValue>not base64!</PlainValue></Secret>")),
            "bad_base64",
            id="not-base64",
        ),
        pytest.param(
            _package(parameters=_format(length="eight")), "bad_value", id="length-not-a-number"
        ),
        pytest.param(
            _package(_data(PLAIN_SECRET, interval="thirty"), algorithm=TOTP_URI),
            "bad_value",
            id="interval-not-a-number",
        ),
        pytest.param(
            _package(_data(PLAIN_SECRET, counter="-x")), "bad_value", id="counter-not-a-number"
        ),
        pytest.param(
            _package(parameters=_format(length="7")), "unsupported_parameters", id="seven-digits"
        ),
        pytest.param(
            _package(_data(PLAIN_SECRET, interval="45"), algorithm=TOTP_URI),
            "unsupported_parameters",
            id="45-second-interval",
        ),
    ],
)
def test_a_key_that_cannot_be_imported_is_reported_by_its_serial(package: str, reason: str) -> None:
    parsed = pskc.parse(_document("", package), password=None, key=None)
    assert parsed.tokens == ()
    assert _reasons(parsed) == [(f"key {SERIAL}", reason)]


def test_a_key_without_a_serial_is_reported_by_its_position() -> None:
    document = _document(
        "",
        _package(serial="0001"),
        _package(serial="", key_id=""),
        _package(serial="", key_id="from-the-key-id"),
    )
    parsed = pskc.parse(document, password=None, key=None)
    assert _reasons(parsed) == [("key 2", "no_serial")]
    assert [t.serial for t in parsed.tokens] == ["0001", "from-the-key-id"]


def test_every_bad_key_is_reported_and_the_good_ones_read() -> None:
    document = _document(
        "",
        _package(serial="a", parameters=_format(encoding="ALPHANUMERIC")),
        _package(
            _data(PLAIN_SECRET, interval="60"), serial="b", algorithm=TOTP_URI, parameters=_format()
        ),
        _package("", serial="c"),
        _package(_data(PLAIN_SECRET, counter="12"), serial="d"),
    )
    parsed = pskc.parse(document, password=None, key=None)
    assert _reasons(parsed) == [("key a", "unsupported_response_format"), ("key c", "no_secret")]
    totp, hotp = parsed.tokens
    assert (totp.serial, totp.secret, totp.counter) == ("b", b"1234", None)
    assert (from_json(totp.params).otp, from_json(totp.params).otp_params.period) == ("totp", 60)
    assert from_json(totp.params).otp_params.digits == 8
    assert (hotp.serial, hotp.counter) == ("d", 11)  # the next code is counter 12
