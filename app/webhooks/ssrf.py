"""Where a webhook may go (SSRF): `http(s)` only and, unless
`CREDITDESK_WEBHOOK_ALLOW_PRIVATE` lifts it (default: lifted outside production), only to
public addresses. Checked on the URL when an endpoint is saved and on every address the
host resolves to at send time; the request then goes to the address that was checked
(DNS rebinding cannot swap it between the check and the connection)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.kit.errors import ValidationFailed

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The target may not be called; the message says why."""


def public(ip: Address) -> bool:
    """Loopback, link-local, private, shared, multicast, reserved, unspecified: not public."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL as saved, or 422: scheme, host, no credentials, literal addresses public."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationFailed(f"Not a valid URL: {exc}.", field="url") from exc
    if parts.scheme not in ("http", "https"):
        raise ValidationFailed("Only http and https URLs can receive webhooks.", field="url")
    if not parts.hostname:
        raise ValidationFailed("The URL has no host.", field="url")
    if parts.username or parts.password:
        raise ValidationFailed("The URL may not carry credentials.", field="url")
    if port == 0:
        raise ValidationFailed("The URL's port is not valid.", field="url")
    if not allow_private:
        host = parts.hostname.rstrip(".").lower()
        if host == "localhost" or host.endswith(".localhost"):
            raise ValidationFailed("Webhooks cannot go to localhost.", field="url")
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            return url
        if not public(literal):
            raise ValidationFailed(
                f"Webhooks cannot go to {literal}: not a public address.", field="url"
            )
    return url


@dataclass(frozen=True, slots=True)
class Target:
    """Where to connect: `url` with the checked address in place of the host name."""

    url: str
    host_header: str
    sni_hostname: str | None


async def resolve(url: str, *, allow_private: bool) -> Target:
    """Resolves the URL's host now and pins the connection to a checked address."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise Refused(f"{host} has no address")
    if not allow_private:
        bad = [str(a) for a in addresses if not public(a)]
        if bad:
            raise Refused(f"{host} resolves to a non-public address ({', '.join(bad)})")
    chosen = addresses[0]
    literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    pinned = parts._replace(netloc=netloc).geturl()
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return Target(
        url=pinned,
        host_header=host_header,
        sni_hostname=host if parts.scheme == "https" else None,
    )
