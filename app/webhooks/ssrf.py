"""Where a webhook may go (SSRF): `http(s)` only and, unless
`CREDITDESK_WEBHOOK_ALLOW_PRIVATE` lifts it (default: lifted outside production), only to
public addresses. Checked on the URL when an endpoint is saved and on every address the
host resolves to at send time; the request then goes to the address that was checked
(DNS rebinding cannot swap it between the check and the connection)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import idna

from app.kit.errors import ValidationFailed

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The target may not be called; the message says why."""


def not_public(ip: Address) -> str | None:
    """What keeps `ip` from being a webhook target (loopback, private, …), or None: the one
    classifier, for the URL when it is saved and for each resolved address at delivery. An
    IPv4 address carried in IPv6 (mapped `::ffff:a.b.c.d`, 6to4 `2002::/16`) is judged as
    itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ip.ipv4_mapped or ip.sixtofour or ip
    kinds = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("not global", not ip.is_global),  # shared 100.64/10, benchmarking, …
    )
    return next((kind for kind, applies in kinds if applies), None)


def public(ip: Address) -> bool:
    return not_public(ip) is None


def literal_address(host: str) -> Address | None:
    """The address `host` spells, read as the resolver reads it, or None for a name.
    Besides the standard forms (`ipaddress`), `socket.inet_aton` takes the legacy IPv4
    ones every C resolver still accepts: `2130706433`, `0x7f000001`, `127.1`, `0`, octal
    `0177.0.0.1`. A trailing dot (`127.0.0.1.`) is dropped, as URL parsers do."""
    host = host.removesuffix(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, UnicodeError, ValueError):
        return None


def host_forms(host: str) -> set[str]:
    """The ASCII hosts a URL's host may become on its way to a connection: the resolver's
    IDNA 2003 (`encodings.idna`, what `getaddrinfo` applies here) and UTS 46 (`idna`, as
    HTTP clients and browsers map Unicode), of the host and of it percent-decoded. Empty
    when the resolver cannot encode it at all."""
    forms: set[str] = set()
    for candidate in {host.lower(), unquote(host).lower()}:
        try:
            forms.add(candidate.encode("idna").decode("ascii"))
        except UnicodeError:
            continue
        with contextlib.suppress(idna.IDNAError, UnicodeError):
            forms.add(idna.encode(candidate, uts46=True).decode("ascii"))
    return forms


def _host_refusal(host: str) -> str | None:
    """Why a URL's host cannot receive webhooks when private targets are not allowed."""
    literal = literal_address(host)
    forms = {host} if literal is not None else host_forms(host)
    for form in sorted(forms):
        name = form.removesuffix(".")
        if name == "localhost" or name.endswith(".localhost"):
            return "Webhooks cannot go to localhost."
        address = literal or literal_address(form)
        kind = None if address is None else not_public(address)
        if kind is not None:
            return f"Webhooks cannot go to {host}: {address} is not a public address ({kind})."
    return None


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL as saved, or 422: scheme, host, no credentials, and (unless private targets
    are allowed) no host that is an address or a form of one that is not public. A name is
    resolved only at delivery (`resolve`)."""
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
    if literal_address(parts.hostname) is None and not host_forms(parts.hostname):
        raise ValidationFailed("The URL's host is not a valid host name.", field="url")
    refusal = None if allow_private else _host_refusal(parts.hostname)
    if refusal is not None:
        raise ValidationFailed(refusal, field="url")
    return url


@dataclass(frozen=True, slots=True)
class Target:
    """Where to connect: `url` with the checked address in place of the host name."""

    url: str
    host_header: str
    sni_hostname: str | None


async def resolve(url: str, *, allow_private: bool) -> Target:
    """Resolves the URL's host now and pins the connection to a checked address (each
    judged by `not_public`, as the URL was when it was saved)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        ascii_host = host.encode("idna").decode("ascii")  # what getaddrinfo looked up
    except (OSError, UnicodeError) as exc:  # UnicodeError: not a name IDNA can encode
        raise Refused(f"cannot resolve {host}: {exc}") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise Refused(f"{host} has no address")
    if not allow_private:
        bad = [f"{a}: {kind}" for a in addresses if (kind := not_public(a)) is not None]
        if bad:
            raise Refused(f"{host} resolves to a non-public address ({', '.join(bad)})")
    chosen = addresses[0]
    literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    pinned = parts._replace(netloc=netloc).geturl()
    named = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    return Target(
        url=pinned,
        host_header=f"{named}:{parts.port}" if parts.port else named,
        sni_hostname=ascii_host if parts.scheme == "https" else None,
    )
