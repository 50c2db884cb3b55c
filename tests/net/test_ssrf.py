"""The SSRF guard: which addresses a user-aimed request may reach, the allow-list, and
that the connection goes to the address that was checked."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
import trustme

from medic.net.ssrf import (
    BlockedDestination,
    HostLookupFailed,
    IPAddress,
    check_url,
    guarded_request,
    is_forbidden_address,
)
from medic.net.tls import client_ssl_context
from tests.fakes.receiver import Receiver

FORBIDDEN = [
    # IPv4
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.255",
    "100.64.0.1",  # CGNAT
    "100.127.255.254",
    "127.0.0.1",
    "127.8.9.10",
    "169.254.169.254",  # cloud metadata
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.8",
    "192.0.2.10",  # documentation
    "192.168.1.1",
    "198.18.0.1",  # benchmarking
    "198.19.255.255",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    # IPv6
    "::",
    "::1",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "ff0e::1",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8: still refused, it reaches any IPv4
    "64:ff9b:1::1",
    "2002:a00:1::1",  # 6to4
    "2002:808:808::1",
    "2001:db8::1",  # documentation
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    # IPv4-mapped IPv6 of forbidden IPv4
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:100.64.0.1",
    "::ffff:198.18.0.1",
    "::ffff:224.0.0.1",
    "::ffff:0.0.0.0",
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",  # just below CGNAT
    "100.128.0.0",  # just above
    "198.17.255.255",  # just below benchmarking
    "198.20.0.0",
    "2001:4860:4860::8888",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_private_and_special_addresses_are_forbidden(address: str) -> None:
    assert is_forbidden_address(address)
    assert is_forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_unicast_addresses_are_allowed(address: str) -> None:
    assert not is_forbidden_address(address)


class resolving:
    """A resolver answering `addresses` for any name, counting its calls."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = [ipaddress.ip_address(address) for address in addresses]
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        self.calls.append(host)
        return self.addresses


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1/hook", "https://[::1]:8443/", "http://[::ffff:127.0.0.1]/"]
)
def test_literal_private_ip_is_refused_and_the_message_names_the_allow_list(url: str) -> None:
    with pytest.raises(BlockedDestination, match="MEDIC_ALLOWED_WEBHOOK_HOSTS"):
        check_url(url, [])


def test_a_name_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(BlockedDestination, match="localhost resolves to"):
        check_url("http://localhost:8080/hook", [])


def test_a_name_is_refused_when_any_of_its_addresses_is_private() -> None:
    resolver = resolving("8.8.8.8", "10.0.0.1")
    with pytest.raises(BlockedDestination, match=r"hooks\.example resolves to 10\.0\.0\.1"):
        check_url("https://hooks.example/x", [], resolver=resolver)


def test_a_name_resolving_only_to_public_addresses_is_accepted() -> None:
    resolver = resolving("8.8.8.8", "2001:4860:4860::8888")
    target = check_url("https://hooks.example/x", [], resolver=resolver)
    assert [str(a) for a in target.addresses] == ["8.8.8.8", "2001:4860:4860::8888"]
    assert not target.allow_listed


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://localhost:8080/", ["localhost"]),
        ("http://LocalHost:8080/", ["localhost"]),
        ("http://localhost:8080/", ["LOCALHOST:9999"]),  # the port is ignored
        ("http://127.0.0.1:5000/", ["127.0.0.1"]),
        ("http://[::1]:5000/", ["[::1]"]),
        ("http://[::1]:5000/", ["0:0:0:0:0:0:0:1"]),  # IPs compare by value
        ("http://[::ffff:127.0.0.1]/", ["127.0.0.1"]),
    ],
)
def test_allow_listed_hosts_may_be_private(url: str, allowed: list[str]) -> None:
    target = check_url(url, allowed)
    assert target.allow_listed
    assert all(is_forbidden_address(a) for a in target.addresses)


def test_allow_listing_an_ip_does_not_allow_names_that_resolve_to_it() -> None:
    with pytest.raises(BlockedDestination):
        check_url("http://localhost/", ["127.0.0.1", "::1"])


def test_allow_listing_one_name_does_not_allow_another() -> None:
    with pytest.raises(BlockedDestination):
        check_url("http://10.0.0.2/", ["10.0.0.1", "internal.example"])


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/file",
        "file:///etc/passwd",
        "gopher://example.com:70/_",
        "dict://127.0.0.1:6379/info",
        "javascript:alert(1)",
        "example.com/hook",
        "//example.com/hook",
    ],
)
def test_only_http_and_https_are_allowed(url: str) -> None:
    with pytest.raises(BlockedDestination, match="scheme"):
        check_url(url, ["example.com", "127.0.0.1"], resolver=resolving("8.8.8.8"))


def test_a_url_without_a_host_is_refused() -> None:
    with pytest.raises(BlockedDestination, match="no host"):
        check_url("http:///hook", [])


def test_an_unresolvable_host_is_a_lookup_failure_and_a_connect_error_on_request() -> None:
    def nowhere(host: str, port: int) -> Sequence[IPAddress]:
        raise HostLookupFailed(f"cannot resolve {host}")

    with pytest.raises(HostLookupFailed):
        check_url("https://nowhere.example/", [], resolver=nowhere)
    with httpx.Client() as client, pytest.raises(httpx.ConnectError, match="cannot resolve"):
        guarded_request(client, "POST", "https://nowhere.example/", [], resolver=nowhere)


def test_the_request_goes_to_the_checked_address_with_the_name_in_host_and_sni() -> None:
    seen: list[httpx.Request] = []

    def transport(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    resolver = resolving("93.184.215.14")
    with httpx.Client(transport=httpx.MockTransport(transport)) as client:
        response = guarded_request(
            client, "POST", "https://Hooks.Example:8443/in?x=1", [], resolver=resolver
        )
        guarded_request(client, "GET", "http://hooks.example/plain", [], resolver=resolver)
    assert response.status_code == 200
    secure, plain = seen
    assert str(secure.url) == "https://93.184.215.14:8443/in?x=1"
    assert secure.headers["host"] == "hooks.example:8443"
    assert secure.extensions["sni_hostname"] == "hooks.example"
    assert str(plain.url) == "http://93.184.215.14/plain"
    assert plain.headers["host"] == "hooks.example"
    assert "sni_hostname" not in plain.extensions
    assert resolver.calls == ["hooks.example", "hooks.example"]  # once per request


def test_pinned_request_reaches_the_checked_address_over_the_network(
    webhook_receiver: Receiver,
) -> None:
    resolver = resolving("127.0.0.1")
    url = f"http://hooks.example:{webhook_receiver.port}/in"
    with httpx.Client(trust_env=False) as client:
        response = guarded_request(
            client, "POST", url, ["hooks.example"], resolver=resolver, content=b"{}"
        )
    assert response.status_code == 200
    [request] = webhook_receiver.requests
    assert request.headers["host"] == f"hooks.example:{webhook_receiver.port}"
    assert request.path == "/in"
    assert resolver.calls == ["hooks.example"]


def test_the_next_checked_address_is_tried_when_one_refuses_connections(
    webhook_receiver: Receiver,
) -> None:
    resolver = resolving("::1", "127.0.0.1")  # the receiver listens on IPv4 only
    url = f"http://hooks.example:{webhook_receiver.port}/in"
    with httpx.Client(trust_env=False) as client:
        response = guarded_request(client, "GET", url, ["hooks.example"], resolver=resolver)
    assert response.status_code == 200


@pytest.fixture
def tls_ca(tmp_path: Path) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


def test_https_to_a_pinned_address_verifies_the_certificate_for_the_name(
    tls_ca: tuple[trustme.CA, Path],
) -> None:
    ca, ca_path = tls_ca
    receiver = Receiver(tls=ca.issue_cert("hooks.example"))  # not valid for 127.0.0.1
    try:
        url = f"https://hooks.example:{receiver.port}/in"
        with httpx.Client(verify=client_ssl_context(ca_path), trust_env=False) as client:
            response = guarded_request(
                client, "POST", url, ["hooks.example"], resolver=resolving("127.0.0.1")
            )
        assert response.status_code == 200
        assert receiver.requests[0].headers["host"] == f"hooks.example:{receiver.port}"
    finally:
        receiver.close()


def test_https_refuses_a_certificate_for_another_name(tls_ca: tuple[trustme.CA, Path]) -> None:
    ca, ca_path = tls_ca
    receiver = Receiver(tls=ca.issue_cert("other.example"))
    try:
        url = f"https://hooks.example:{receiver.port}/in"
        with (
            httpx.Client(verify=client_ssl_context(ca_path), trust_env=False) as client,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            guarded_request(client, "GET", url, ["hooks.example"], resolver=resolving("127.0.0.1"))
        assert receiver.requests == []
    finally:
        receiver.close()


def test_redirects_are_returned_not_followed(webhook_receiver: Receiver) -> None:
    webhook_receiver.redirect("http://169.254.169.254/latest/meta-data/")
    with httpx.Client(trust_env=False) as client:
        response = guarded_request(client, "POST", webhook_receiver.url + "/in", ["127.0.0.1"])
        with pytest.raises(ValueError, match="never follows redirects"):
            guarded_request(
                client, "GET", webhook_receiver.url, ["127.0.0.1"], follow_redirects=True
            )
    assert response.status_code == 302
    assert response.headers["location"] == "http://169.254.169.254/latest/meta-data/"
    assert len(webhook_receiver.requests) == 1
