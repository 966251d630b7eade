"""Listen addresses (`:9100`, `127.0.0.1:9100`, `[::1]:9100`, `localhost:9100`) as Prometheus exporters read
`--web.listen-address`: exporter-toolkit hands each one to Go's net.Listen, which splits it with
net.SplitHostPort (mirrored here, with Go's messages).

Two deliberate differences from Go: the port must be a number 0-65535 (Go would also look up a service
name such as `http`, and take an empty port as 0), and an empty host, which Go binds on every address,
binds on every IPv4 address (`bind_host`).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PORT = 65535
EVERY_IPV4_ADDRESS = "0.0.0.0"  # noqa: S104 - what an empty host asks for, as in node_exporter's `:9100`


class ListenAddressError(ValueError):
    """Not HOST:PORT; the message quotes the value and says why."""


def split_host_port(hostport: str) -> tuple[str, str]:
    """Go's net.SplitHostPort: `host:port`, `[host]:port` or `[host%zone]:port` into host and port."""

    def invalid(why: str) -> ListenAddressError:
        return ListenAddressError(f"{hostport!r} is not HOST:PORT ({why})")

    colon = hostport.rfind(":")  # the port starts after the last colon
    if colon < 0:
        raise invalid("missing port in address")
    after_open, after_close = 0, 0  # where a '[' resp. ']' may no longer appear
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            raise invalid("missing ']' in address")
        if close + 1 == len(hostport):
            raise invalid("missing port in address")
        if close + 1 != colon:  # ']' not followed by the last colon
            raise invalid(
                "too many colons in address" if hostport[close + 1] == ":" else "missing port in address"
            )
        host = hostport[1:close]
        after_open, after_close = 1, close + 1
    else:
        host = hostport[:colon]
        if ":" in host:
            raise invalid("too many colons in address")
    if "[" in hostport[after_open:]:
        raise invalid("unexpected '[' in address")
    if "]" in hostport[after_close:]:
        raise invalid("unexpected ']' in address")
    return host, hostport[colon + 1 :]


def join_host_port(host: str, port: int | str) -> str:
    """Go's net.JoinHostPort: brackets around a host with a colon or a zone."""
    return f"[{host}]:{port}" if ":" in host or "%" in host else f"{host}:{port}"


@dataclass(frozen=True)
class ListenAddress:
    host: str  # "" for every address
    port: int  # 0 for any free port

    @property
    def bind_host(self) -> str:
        return self.host or EVERY_IPV4_ADDRESS

    def __str__(self) -> str:
        return join_host_port(self.host, self.port)


def parse_listen_address(value: str) -> ListenAddress:
    """`value` as a listen address; ListenAddressError saying what is wrong otherwise."""
    host, port = split_host_port(value)
    if not (port.isascii() and port.isdigit()):
        why = "missing port number" if not port else f"port {port!r} is not a number"
        raise ListenAddressError(f"{value!r} is not HOST:PORT ({why})")
    if len(port.lstrip("0")) > len(str(MAX_PORT)) or int(port) > MAX_PORT:
        raise ListenAddressError(f"{value!r} is not HOST:PORT (port {port} is outside 0-{MAX_PORT})")
    return ListenAddress(host, int(port))
