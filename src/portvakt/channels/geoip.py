"""Where a sign-in comes from, for the push request shown on the phone: a MaxMind GeoIP2 /
GeoLite2 City database read with the ``geoip2`` library, when the operator configures one."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import geoip2.database
import geoip2.errors
import maxminddb

log = logging.getLogger("portvakt.geoip")


class NoLocator:
    def locate(self, ip: str) -> tuple[str | None, str | None]:
        return None, None


class GeoIpLocator:
    """Implements ``ports.Locator`` over a ``.mmdb`` City database (memory-mapped)."""

    def __init__(self, path: Path, language: str = "en") -> None:
        self._reader = geoip2.database.Reader(str(path), locales=[language, "en"])

    def locate(self, ip: str) -> tuple[str | None, str | None]:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None, None
        if address.is_private or address.is_loopback:
            return None, None
        try:
            found = self._reader.city(str(address))
        except (geoip2.errors.AddressNotFoundError, maxminddb.InvalidDatabaseError, ValueError):
            return None, None
        return found.city.name, found.country.name

    def close(self) -> None:
        self._reader.close()


def locator_from_path(path: Path | None) -> GeoIpLocator | NoLocator:
    if path is None:
        return NoLocator()
    try:
        return GeoIpLocator(path)
    except (OSError, maxminddb.InvalidDatabaseError, ValueError) as exc:
        log.error("GeoIP database %s cannot be read (%s); locations are not shown", path, exc)
        return NoLocator()
