"""The SSRF guard for every outgoing request a user can aim (webhooks, playbook steps).

Whoever configures a webhook chooses where Medic's workers connect. Without a guard that
is a way into the private network Medic runs in (cloud metadata at 169.254.169.254, an
admin port on localhost, a database on 10.x). The rules:

* only `http` and `https` URLs;
* the host is resolved **once**, and the request is refused if **any** address it
  resolves to is private, loopback, link-local, CGNAT (100.64/10), benchmark
  (198.18/15), multicast, reserved, unspecified, NAT64 (64:ff9b::/96, 64:ff9b:1::/48),
  6to4 (2002::/16), or the IPv4-mapped IPv6 form of one of those;
* unless the URL's host (name or literal IP, case-insensitive, port ignored) is in
  the operator's allow-list (`MEDIC_ALLOWED_WEBHOOK_HOSTS`);
* the connection goes to an address that was checked, never through a second DNS
  lookup (which an attacker's DNS server could answer differently: DNS rebinding):
  the URL is rewritten to the IP, the `Host` header carries the name, and for https
  the TLS handshake still sends and verifies the name (httpx's `sni_hostname`);
* redirects are never followed; a 3xx comes back to the caller as it is.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[IPAddress]]

SCHEMES = ("http", "https")

# Ranges refused on top of what `ipaddress` flags (private, loopback, link-local,
# multicast, reserved, unspecified, not global): listed so the rule does not depend
# on the Python version's tables, and because some are "global" to `ipaddress`.
FORBIDDEN_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.ip_network("0.0.0.0/8"),  # "this network"
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("100.64.0.0/10"),  # CGNAT, shared address space
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("169.254.0.0/16"),  # link-local, cloud metadata
    ipaddress.ip_network("172.16.0.0/12"),
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.ip_network("192.168.0.0/16"),
    ipaddress.ip_network("198.18.0.0/15"),  # benchmarking
    ipaddress.ip_network("224.0.0.0/4"),  # multicast
    ipaddress.ip_network("240.0.0.0/4"),  # reserved, broadcast
    ipaddress.ip_network("::/128"),
    ipaddress.ip_network("::1/128"),
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64: reaches any IPv4 address
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64
    ipaddress.ip_network("2002::/16"),  # 6to4: embeds any IPv4 address
    ipaddress.ip_network("fc00::/7"),  # unique local
    ipaddress.ip_network("fe80::/10"),  # link-local
    ipaddress.ip_network("fec0::/10"),  # site-local (deprecated)
    ipaddress.ip_network("ff00::/8"),  # multicast
)


class BlockedDestination(Exception):
    """The URL may not be requested (scheme, a forbidden address). Not worth retrying;
    the message says why, and never contains credentials from the URL."""


class HostLookupFailed(Exception):
    """The host did not resolve. Possibly temporary (DNS hiccup), so worth a retry."""


def is_forbidden_address(address: IPAddress | str) -> bool:
    """True when `address` is not a public unicast address a webhook may reach."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_forbidden_address(ip.ipv4_mapped)
        ip = ipaddress.IPv6Address(ip.packed)  # drop a %zone suffix before comparing
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
        or any(ip in network for network in FORBIDDEN_NETWORKS if network.version == ip.version)
    )


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order, without duplicates."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostLookupFailed(f"cannot resolve {host}: {exc}") from None
    addresses: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(str(sockaddr[0]))
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise HostLookupFailed(f"cannot resolve {host}: no IPv4 or IPv6 address")
    return addresses


@dataclass(frozen=True)
class PinnedTarget:
    """A URL that passed the guard, and the checked addresses to connect to instead of
    its host name."""

    url: httpx.URL
    addresses: tuple[IPAddress, ...]
    allow_listed: bool

    @property
    def host_is_ip(self) -> bool:
        return _literal_ip(self.url.host) is not None

    @property
    def host_header(self) -> str:
        """The `Host` header: the name and port as the URL gave them."""
        return self.url.netloc.decode("ascii")

    @property
    def sni_hostname(self) -> str | None:
        """The name TLS sends and verifies; None for plain http or a literal IP."""
        if self.url.scheme != "https" or self.host_is_ip:
            return None
        return self.url.raw_host.decode("ascii")

    def url_for(self, address: IPAddress) -> httpx.URL:
        """The URL with its host replaced by `address` (one of the checked addresses)."""
        if address not in self.addresses:
            raise ValueError(f"{address} was not checked for {self.url.host}")
        return self.url.copy_with(host=str(address))


def check_url(
    url: str | httpx.URL,
    allowed_hosts: Iterable[str] = (),
    *,
    resolver: Resolver = resolve_host,
) -> PinnedTarget:
    """Check `url` against the rules above and resolve its host once.

    Raises BlockedDestination when the URL may not be requested, HostLookupFailed when
    its host does not resolve. `allowed_hosts` are host names or IPs (any case; a port or
    IPv6 brackets are ignored) that may resolve to forbidden addresses.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise BlockedDestination(f"not a valid URL: {exc}") from None
    if parsed.scheme not in SCHEMES:
        shown = parsed.scheme or "none"
        raise BlockedDestination(f"scheme {shown!r} is not allowed; use http or https")
    host = parsed.raw_host.decode("ascii").rstrip(".").lower()
    if not host:
        raise BlockedDestination("the URL has no host")
    allow_listed = _is_allow_listed(parsed.host, host, allowed_hosts)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    literal = _literal_ip(parsed.host)
    addresses = [literal] if literal is not None else list(resolver(host, port))
    if not allow_listed:
        for address in addresses:
            if is_forbidden_address(address):
                shown = host if literal is not None else f"{host} resolves to {address}, which"
                raise BlockedDestination(
                    f"{shown} is a private or reserved address; add the host to "
                    "MEDIC_ALLOWED_WEBHOOK_HOSTS to allow it"
                )
    return PinnedTarget(url=parsed, addresses=tuple(addresses), allow_listed=allow_listed)


def guarded_request(
    client: httpx.Client,
    method: str,
    url: str | httpx.URL,
    allowed_hosts: Iterable[str] = (),
    *,
    resolver: Resolver = resolve_host,
    stream: bool = False,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request through the guard, never following a redirect.

    `kwargs` go to `client.build_request` (content, json, headers, params, timeout,
    extensions…). Raises BlockedDestination; raises httpx.ConnectError when the host
    does not resolve or no checked address accepts a connection (each is tried in the
    resolver's order, which is safe: nothing was sent yet); other httpx errors pass
    through. With `stream=True` the caller reads and closes the response.

    Connections are pooled by address, so give each destination its own client (the
    senders open one per delivery): a client shared between host names on one address
    could reuse a TLS connection verified for another name.
    """
    if kwargs.pop("follow_redirects", False):
        raise ValueError("guarded_request never follows redirects; check each hop instead")
    try:
        target = check_url(url, allowed_hosts, resolver=resolver)
    except HostLookupFailed as exc:
        raise httpx.ConnectError(str(exc)) from None
    headers = httpx.Headers(kwargs.pop("headers", None))
    extensions = dict(kwargs.pop("extensions", None) or {})
    if not target.host_is_ip:
        headers["Host"] = target.host_header
        if target.sni_hostname is not None:
            extensions["sni_hostname"] = target.sni_hostname
    failure: httpx.ConnectError | None = None
    for address in target.addresses:
        request = client.build_request(
            method, target.url_for(address), headers=headers, extensions=extensions, **kwargs
        )
        try:
            return client.send(request, stream=stream, follow_redirects=False)
        except httpx.ConnectError as exc:
            failure = exc
    assert failure is not None, "check_url returns at least one address"
    raise failure


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _is_allow_listed(host: str, ascii_host: str, allowed_hosts: Iterable[str]) -> bool:
    """Compare names case-insensitively and IPs by value (so `::0001` matches `::1`)."""
    names = {host.rstrip(".").lower(), ascii_host}
    literal = _literal_ip(host)
    for entry in allowed_hosts:
        entry = _strip_port(entry.strip().lower()).rstrip(".")
        if not entry:
            continue
        entry_ip = _literal_ip(entry)
        if entry_ip is not None:
            if literal is not None and _same_ip(entry_ip, literal):
                return True
        elif literal is None and entry in names:
            return True
    return False


def _strip_port(entry: str) -> str:
    if entry.startswith("["):  # [::1] or [::1]:8080
        return entry[1:].split("]", 1)[0]
    if entry.count(":") == 1:  # name:8080 or 10.0.0.1:8080; a bare IPv6 has several
        return entry.split(":", 1)[0]
    return entry


def _same_ip(a: IPAddress, b: IPAddress) -> bool:
    def plain(ip: IPAddress) -> IPAddress:
        if isinstance(ip, ipaddress.IPv6Address):
            return ip.ipv4_mapped or ipaddress.IPv6Address(ip.packed)
        return ip

    return plain(a) == plain(b)
