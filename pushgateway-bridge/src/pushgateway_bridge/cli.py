"""pushgateway-bridge --web.listen-address HOST:PORT [--web.listen-address HOST:PORT ...] --config FILE"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import socket
import sys
from pathlib import Path

import uvicorn

from bundle_common.listen import ListenAddress, ListenAddressError, join_host_port, parse_listen_address
from pushgateway_bridge import collector
from pushgateway_bridge.api.routes.notifications_ws import RedactTokens
from pushgateway_bridge.configfile import ConfigError
from pushgateway_bridge.main import create_app
from pushgateway_bridge.settings import load_settings

DEFAULT_LISTEN_ADDRESS = "127.0.0.1:8000"
STARTUP_FAILURE = 3  # uvicorn's status when the application does not start
log = logging.getLogger("pushgateway_bridge")


def listen_address(value: str) -> ListenAddress:
    try:
        return parse_listen_address(value)
    except ListenAddressError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pushgateway-bridge", description=__doc__)
    parser.add_argument(
        "--web.listen-address",
        dest="listen",
        type=listen_address,
        action="append",
        metavar="HOST:PORT",
        help="HOST:PORT to listen on; repeat it to serve every API on several addresses, as "
        f"exporter-toolkit does (default {DEFAULT_LISTEN_ADDRESS})",
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="YAML config file (BRIDGE_* env overrides it)"
    )
    return parser


def listen(address: ListenAddress) -> socket.socket:
    """A listening socket on `address`; a host name listens on its first IPv4 address, as Go's net.Listen."""
    found = socket.getaddrinfo(
        address.bind_host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    family, _, _, _, sockaddr = min(found, key=lambda info: info[0] != socket.AF_INET)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart while old connections linger
        sock.bind(sockaddr)
        sock.listen(2048)  # uvicorn's default backlog
    except OSError:
        sock.close()
        raise
    return sock


def open_sockets(addresses: list[ListenAddress]) -> list[socket.socket]:
    """One socket per address, all bound before serving starts; ConfigError naming the one that fails."""
    sockets: list[socket.socket] = []
    try:
        for address in addresses:
            try:
                sockets.append(listen(address))
            except OSError as exc:
                raise ConfigError(
                    "--web.listen-address", f"cannot listen on {address}: {exc.strerror or exc}"
                ) from None
    except ConfigError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    addresses = args.listen or [parse_listen_address(DEFAULT_LISTEN_ADDRESS)]
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"pushgateway-bridge: bad config: {exc.key}: {exc.reason}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per push would drown the log
    try:
        sockets = open_sockets(addresses)
    except ConfigError as exc:
        print(f"pushgateway-bridge: {exc.key}: {exc.reason}", file=sys.stderr)
        return 2
    try:
        app = create_app(settings)
    except ConfigError as exc:  # a file the settings name (notifications_file, integrations_file)
        print(f"pushgateway-bridge: bad config: {exc.key}: {exc.reason}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"pushgateway-bridge: cannot open data_dir {settings.data_dir}: {exc}", file=sys.stderr)
        return 2
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"  # the `fast` extra
    config = uvicorn.Config(
        app,
        workers=1,
        http=http,
        loop=loop,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        lifespan="on",
        # The bridge reads no client address or scheme: uvicorn's rewriting of them from X-Forwarded-*
        # (trusted from 127.0.0.1 by default) served only the debug access log, for 3 % of a heartbeat's
        # throughput (bench/README.md, eighth round).
        proxy_headers=False,
        # The notification WebSocket: pings drop dead peers within about 40 s; no per-message deflate
        # (it doubles an idle connection's memory, 34 -> 67 KiB measured); clients send nothing we read.
        ws="websockets-sansio",
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        ws_per_message_deflate=False,
        ws_max_size=65_536,
    )
    # uvicorn logs each WebSocket's path and query: a browser's `?token=<key>` must not reach the log.
    logging.getLogger("uvicorn.error").addFilter(RedactTokens())
    server = uvicorn.Server(config)
    for sock in sockets:
        host, port = sock.getsockname()[:2]
        log.info("listening on http://%s", join_host_port(host, port))
    collector.settle()
    server.run(sockets=sockets)  # one server, one event loop and one app for every address
    return 0 if server.started else STARTUP_FAILURE


if __name__ == "__main__":
    sys.exit(main())
