"""PSKC (RFC 6030) import: plain keys, keys encrypted with a pre-shared AES key, or with a
key derived from a password by PBKDF2 (§6.1, §6.2), each encrypted value's MAC checked
(HMAC-SHA1/256 over IV and ciphertext). The XML is read with ``defusedxml`` with DTDs
refused, so no entity expansion nor external reference is ever followed. A file is imported
whole or not at all: every key that cannot be read is reported."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from xml.etree.ElementTree import Element  # types only; parsing goes through defusedxml

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from portvakt.methods.base import ImportedToken, ParsedTokens, Rejected
from portvakt.methods.oath.params import HOTP, TOTP, make

NS = {
    "p": "urn:ietf:params:xml:ns:keyprov:pskc",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xenc": "http://www.w3.org/2001/04/xmlenc#",
    "xenc11": "http://www.w3.org/2009/xmlenc11#",
    "pkcs5": "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#",
}
CBC_KEY_BYTES = {"aes128-cbc": 16, "aes192-cbc": 24, "aes256-cbc": 32}
MACS = {"hmac-sha1": hashlib.sha1, "hmac-sha256": hashlib.sha256}
PRFS = {"hmac-sha1": hashes.SHA1, "hmac-sha256": hashes.SHA256}
MAX_ITERATIONS = 10_000_000


class Refused(Exception):
    """The file (or one key of it) cannot be imported; ``args[0]`` is the stable reason."""


def parse(data: bytes, *, password: str | None, key: bytes | None) -> ParsedTokens:
    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        return _refused("malformed_xml")
    if root.tag != f"{{{NS['p']}}}KeyContainer":
        return _refused("not_pskc")
    try:
        enc_key = _encryption_key(root, password=password, key=key)
        mac = _mac(root, enc_key)
    except Refused as exc:
        return _refused(str(exc))
    tokens: list[ImportedToken] = []
    rejected: list[Rejected] = []
    for n, package in enumerate(root.findall("p:KeyPackage", NS), start=1):
        for element in package.findall("p:Key", NS):
            if _kind(element) == "pin":  # a PIN the device checks itself (§5.2): no token
                continue
            serial = _text(package, "p:DeviceInfo/p:SerialNo") or element.get("Id", "")
            where = f"key {serial or n}"
            try:
                tokens.append(_token(element, serial, enc_key, mac))
            except Refused as exc:
                rejected.append(Rejected(where, str(exc)))
    if not tokens and not rejected:
        return _refused("no_keys")
    return ParsedTokens(tuple(tokens), tuple(rejected))


def _refused(reason: str) -> ParsedTokens:
    return ParsedTokens(rejected=(Rejected("file", reason),))


def _text(element: Element, path: str) -> str:
    found = element.find(path, NS)
    return "".join((found.text or "").split()) if found is not None else ""


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Refused("bad_base64") from exc


def _either(element: Element, path: str) -> str:
    """``path`` unqualified, or with every step in the PKCS #5 namespace."""
    qualified = "/".join(f"pkcs5:{step}" for step in path.split("/"))
    return _text(element, path) or _text(element, qualified)


def _algorithm(uri: str | None) -> str:
    return (uri or "").rpartition("#")[2]


def _encryption_key(root: Element, *, password: str | None, key: bytes | None) -> bytes | None:
    holder = root.find("p:EncryptionKey", NS)
    if holder is None:
        return None
    derived = holder.find("xenc11:DerivedKey", NS)
    if derived is None:  # §6.1: a pre-shared key, named by ds:KeyName
        if key is None:
            raise Refused("key_needed")
        return key
    if password is None:
        raise Refused("password_needed")
    method = derived.find("xenc11:KeyDerivationMethod", NS)
    params = method.find("pkcs5:PBKDF2-params", NS) if method is not None else None
    if method is None or params is None or _algorithm(method.get("Algorithm")) != "pbkdf2":
        raise Refused("unsupported_key_derivation")
    try:  # the RFC's example leaves these unqualified; some writers put them in pkcs5
        salt = _b64(_either(params, "Salt/Specified"))
        iterations = int(_either(params, "IterationCount"))
        length = int(_either(params, "KeyLength"))
    except ValueError as exc:
        raise Refused("unsupported_key_derivation") from exc
    prf = params.find("PRF")
    prf = prf if prf is not None else params.find("pkcs5:PRF", NS)
    prf_name = (
        _algorithm(prf.get("Algorithm"))
        if prf is not None and prf.get("Algorithm")
        else "hmac-sha1"
    )
    if prf_name not in PRFS or length not in (16, 24, 32) or not 0 < iterations <= MAX_ITERATIONS:
        raise Refused("unsupported_key_derivation")
    kdf = PBKDF2HMAC(algorithm=PRFS[prf_name](), length=length, salt=salt, iterations=iterations)
    return kdf.derive(password.encode())


def _mac(root: Element, enc_key: bytes | None) -> tuple[str, bytes] | None:
    """(algorithm, key) of the ValueMACs (§6.1.1): the MAC key is itself encrypted."""
    method = root.find("p:MACMethod", NS)
    if method is None:
        return None
    name = _algorithm(method.get("Algorithm"))
    if name not in MACS:
        raise Refused("unsupported_mac")
    mac_key = method.find("p:MACKey", NS)
    if mac_key is None:
        if enc_key is None:
            raise Refused("unsupported_mac")
        return name, enc_key  # older drafts: the encryption key is the MAC key
    return name, _decrypt(mac_key, enc_key, error="wrong_password_or_key")


def _decrypt(element: Element, enc_key: bytes | None, *, error: str) -> bytes:
    if enc_key is None:
        raise Refused("encrypted_without_key")
    method = element.find("xenc:EncryptionMethod", NS)
    name = _algorithm(method.get("Algorithm") if method is not None else None)
    if CBC_KEY_BYTES.get(name) != len(enc_key):
        raise Refused("unsupported_encryption")
    blob = _b64(_text(element, "xenc:CipherData/xenc:CipherValue"))
    if len(blob) < 32 or len(blob) % 16:
        raise Refused("bad_ciphertext")
    decryptor = Cipher(algorithms.AES(enc_key), modes.CBC(blob[:16])).decryptor()
    padded = decryptor.update(blob[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise Refused(error) from exc


def _secret(data: Element, enc_key: bytes | None, mac: tuple[str, bytes] | None) -> bytes:
    secret = data.find("p:Secret", NS)
    if secret is None:
        raise Refused("no_secret")
    plain = secret.find("p:PlainValue", NS)
    if plain is not None:
        return _b64("".join((plain.text or "").split()))
    encrypted = secret.find("p:EncryptedValue", NS)
    if encrypted is None:
        raise Refused("no_secret")
    if mac is None or secret.find("p:ValueMAC", NS) is None:
        raise Refused("no_mac")  # §6.1.1: an encrypted value is MACed, and checked here first
    given = _b64(_text(secret, "p:ValueMAC"))
    blob = _b64(_text(encrypted, "xenc:CipherData/xenc:CipherValue"))
    name, mac_key = mac
    if not hmac.compare_digest(hmac.new(mac_key, blob, MACS[name]).digest(), given):
        raise Refused("bad_mac")
    return _decrypt(encrypted, enc_key, error="wrong_password_or_key")


def _kind(element: Element) -> str:
    """``hotp``, ``totp``, ``pin`` … from the key's algorithm URI."""
    return element.get("Algorithm", "").replace("#", ":").rpartition(":")[2].lower()


def _token(
    element: Element, serial: str, enc_key: bytes | None, mac: tuple[str, bytes] | None
) -> ImportedToken:
    kind = _kind(element)
    if kind not in (HOTP, TOTP):
        raise Refused("unsupported_algorithm")
    if not serial:
        raise Refused("no_serial")
    response = element.find("p:AlgorithmParameters/p:ResponseFormat", NS)
    encoding = response.get("Encoding", "DECIMAL") if response is not None else "DECIMAL"
    if encoding != "DECIMAL":
        raise Refused("unsupported_response_format")
    data = element.find("p:Data", NS)
    if data is None:
        raise Refused("no_secret")
    try:
        digits = int(response.get("Length", "6")) if response is not None else 6
        period = int(_text(data, "p:TimeInterval/p:PlainValue") or "30")
        counter = int(_text(data, "p:Counter/p:PlainValue") or "0")
        params = make(serial, kind, digits=digits, period=period)
    except ValueError as exc:
        raise Refused(str(exc) if str(exc).startswith("unsupported") else "bad_value") from exc
    secret = _secret(data, enc_key, mac)
    if not secret:
        raise Refused("no_secret")
    replay = counter - 1 if kind == HOTP and counter > 0 else None
    return ImportedToken(serial=serial, secret=secret, params=params, counter=replay)
