"""bundle_common.listen against Go's net.SplitHostPort tests (src/net/ipsock_test.go: splitJoinTests and
splitFailureTests), and the ports a listen address may name."""

from __future__ import annotations

import pytest

from bundle_common.listen import (
    ListenAddress,
    ListenAddressError,
    join_host_port,
    parse_listen_address,
    split_host_port,
)

# (host, port, joined), from splitJoinTests
SPLIT_JOIN = [
    ("www.google.com", "80", "www.google.com:80"),
    ("127.0.0.1", "1234", "127.0.0.1:1234"),
    ("::1", "80", "[::1]:80"),
    ("fe80::1%lo0", "80", "[fe80::1%lo0]:80"),
    ("localhost%lo0", "80", "[localhost%lo0]:80"),
    ("", "0", ":0"),
    ("google.com", "https%foo", "google.com:https%foo"),
    ("127.0.0.1", "", "127.0.0.1:"),
    ("www.google.com", "", "www.google.com:"),
]

# (address, Go's reason), from splitFailureTests
SPLIT_FAILURES = [
    ("www.google.com", "missing port in address"),
    ("127.0.0.1", "missing port in address"),
    ("[::1]", "missing port in address"),
    ("[fe80::1%lo0]", "missing port in address"),
    ("[localhost%lo0]", "missing port in address"),
    ("localhost%lo0", "missing port in address"),
    ("::1", "too many colons in address"),
    ("fe80::1%lo0", "too many colons in address"),
    ("fe80::1%lo0:80", "too many colons in address"),
    ("[foo:bar]", "missing port in address"),
    ("[foo:bar]baz", "missing port in address"),
    ("[foo]bar:baz", "missing port in address"),
    ("[foo]:[bar]:baz", "too many colons in address"),
    ("[foo]:[bar]baz", "unexpected '[' in address"),
    ("foo[bar]:baz", "unexpected '[' in address"),
    ("foo]bar:baz", "unexpected ']' in address"),
    ("[::1:80", "missing ']' in address"),
]


@pytest.mark.parametrize(("host", "port", "joined"), SPLIT_JOIN, ids=[case[2] for case in SPLIT_JOIN])
def test_split_host_port_and_join_host_port_are_gos(host: str, port: str, joined: str) -> None:
    assert split_host_port(joined) == (host, port)
    assert join_host_port(host, port) == joined


@pytest.mark.parametrize(("address", "why"), SPLIT_FAILURES, ids=[case[0] for case in SPLIT_FAILURES])
def test_split_host_port_refuses_what_go_refuses_with_its_reason(address: str, why: str) -> None:
    with pytest.raises(ListenAddressError) as caught:
        split_host_port(address)
    assert str(caught.value) == f"{address!r} is not HOST:PORT ({why})"


@pytest.mark.parametrize(
    ("address", "host", "port", "bind_host"),
    [
        (":9100", "", 9100, "0.0.0.0"),
        ("127.0.0.1:9100", "127.0.0.1", 9100, "127.0.0.1"),
        ("[::1]:9100", "::1", 9100, "::1"),
        ("localhost:9100", "localhost", 9100, "localhost"),
        ("[fe80::1%eth0]:8000", "fe80::1%eth0", 8000, "fe80::1%eth0"),
        ("127.0.0.1:0", "127.0.0.1", 0, "127.0.0.1"),
        (":65535", "", 65535, "0.0.0.0"),
    ],
)
def test_parse_listen_address_reads_exporter_toolkit_addresses(
    address: str, host: str, port: int, bind_host: str
) -> None:
    parsed = parse_listen_address(address)
    assert parsed == ListenAddress(host, port)
    assert parsed.bind_host == bind_host
    assert str(parsed) == address


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("nonsense", "missing port in address"),
        ("127.0.0.1:", "missing port number"),
        (":http", "port 'http' is not a number"),
        (":-1", "port '-1' is not a number"),
        (":+80", "port '+80' is not a number"),
        (":٩١٠٠", "port '٩١٠٠' is not a number"),  # Arabic-Indic digits: str.isdigit() alone takes them
        (":65536", "port 65536 is outside 0-65535"),
        (":" + "9" * 5000, f"port {'9' * 5000} is outside 0-65535"),
        ("::1:9100", "too many colons in address"),
    ],
)
def test_parse_listen_address_refuses_bad_ports_with_a_reason(address: str, why: str) -> None:
    with pytest.raises(ListenAddressError) as caught:
        parse_listen_address(address)
    assert str(caught.value) == f"{address!r} is not HOST:PORT ({why})"
