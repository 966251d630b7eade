"""`host-exporter`: node_exporter's flag names where they mean the same thing, plus an optional config file.

The settings are Options (host_exporter.options): the web and log ones here, the paths in
collectors/base.py, each collector's own in its module. A bad flag or config value prints one line naming
it and exits with status 2.
"""

from __future__ import annotations

import argparse
import logging
import signal
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from bundle_common.listen import join_host_port
from host_exporter import __version__
from host_exporter.collectors.base import PATH_OPTIONS, CollectorSpec
from host_exporter.config import load_config_file
from host_exporter.errors import ConfigError
from host_exporter.options import (
    DURATION,
    HOST_PORT,
    OPTIONAL_PATH,
    STRINGS,
    URL_PATH,
    Option,
    OptionValues,
    add_flags,
    one_of,
    resolve,
)
from host_exporter.registry import COLLECTORS, build_registry
from host_exporter.web.server import ExporterServer
from host_exporter.web.webconfig import WebConfig, load_web_config

LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
log = logging.getLogger("host_exporter")

duration_seconds = DURATION.parse  # (flag or key, text) -> seconds; tests/common call it by this name

LISTEN_ADDRESS = Option(
    flag="web.listen-address",
    kind=HOST_PORT,
    default=":9100",
    help="address to listen on, HOST:PORT as exporter-toolkit reads it",
)
TELEMETRY_PATH = Option(
    flag="web.telemetry-path", kind=URL_PATH, default="/metrics", help="path under which to expose metrics"
)
WEB_CONFIG_FILE = Option(
    flag="web.config.file",
    kind=OPTIONAL_PATH,
    default="",
    help="exporter-toolkit web config: TLS and basic auth",
    config_key="web.config_file",
)
LOG_LEVEL = Option(
    flag="log.level",
    kind=one_of(*LOG_LEVELS),
    default="info",
    help="least severe level logged",
    config_key="log_level",
)
ENABLED = Option(
    flag=None,
    kind=STRINGS,
    default=[],
    help="collectors to enable, as `--collector.NAME` does",
    config_key="collectors.enabled",
)
DISABLED = Option(
    flag=None,
    kind=STRINGS,
    default=[],
    help="collectors to disable, as `--no-collector.NAME` does",
    config_key="collectors.disabled",
)
GLOBAL_OPTIONS: tuple[Option[Any], ...] = (
    LISTEN_ADDRESS,
    TELEMETRY_PATH,
    WEB_CONFIG_FILE,
    *PATH_OPTIONS,
    LOG_LEVEL,
    ENABLED,
    DISABLED,
)


def all_options(specs: Sequence[CollectorSpec]) -> tuple[Option[Any], ...]:
    return GLOBAL_OPTIONS + tuple(option for spec in specs for option in spec.options)


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(specs: Sequence[CollectorSpec] = COLLECTORS) -> ArgumentParser:
    parser = ArgumentParser(prog="host-exporter", description="Prometheus exporter for host metrics.")
    parser.add_argument("--version", action="version", version=f"host-exporter {__version__}")
    parser.add_argument(
        "--config.file", dest="config_file", type=Path, help="optional YAML config file; flags override it"
    )
    add_flags(parser, all_options(specs))
    parser.add_argument(
        "--collector.disable-defaults",
        dest="disable_defaults",
        action="store_true",
        help="start with none enabled",
    )
    for spec in specs:
        state = "enabled" if spec.default else "disabled"
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            f"--collector.{spec.name}",
            dest=f"collector_{spec.name}",
            action="store_true",
            default=None,
            help=f"{spec.description} (default: {state})",
        )
        group.add_argument(f"--no-collector.{spec.name}", dest=f"collector_{spec.name}", action="store_false")
    return parser


def enabled_collectors(
    args: argparse.Namespace, values: OptionValues, specs: Sequence[CollectorSpec]
) -> list[str]:
    enabled = {spec.name for spec in specs if spec.default and not args.disable_defaults}
    known = sorted(spec.name for spec in specs)
    for option, switch_on in ((ENABLED, True), (DISABLED, False)):
        for name in values[option]:
            if name not in known:
                raise ConfigError(f"{option.key}: unknown collector {name!r} (known: {', '.join(known)})")
            (enabled.add if switch_on else enabled.discard)(name)
    for spec in specs:
        flag = getattr(args, f"collector_{spec.name}")
        if flag is True:
            enabled.add(spec.name)
        elif flag is False:
            enabled.discard(spec.name)
    return sorted(enabled)


def read_settings(
    argv: list[str] | None, specs: Sequence[CollectorSpec] = COLLECTORS
) -> tuple[OptionValues, list[str]]:
    """Every option's value and the enabled collectors, from the command line and the config file."""
    args = build_parser(specs).parse_args(argv)
    options = all_options(specs)
    config = load_config_file(args.config_file, options) if args.config_file else {}
    values = resolve(options, vars(args), config)
    return values, enabled_collectors(args, values, specs)


def prepare(argv: list[str] | None) -> tuple[ExporterServer, str]:
    """Everything that can fail on bad input, done before the server starts; returns it and its URL."""
    values, enabled = read_settings(argv)
    level = LOG_LEVELS[values[LOG_LEVEL]]
    logging.basicConfig(level=level, format="ts=%(asctime)s level=%(levelname)s msg=%(message)s")
    web_file = values[WEB_CONFIG_FILE]
    web = load_web_config(web_file) if web_file else WebConfig()
    telemetry_path = values[TELEMETRY_PATH]
    address = values[LISTEN_ADDRESS]
    try:
        tls = web.tls.context() if web.tls else None
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"tls_server_config: cannot load the certificate and key: {exc}") from None
    registry = build_registry(enabled, values)
    try:
        server = ExporterServer(address, registry, telemetry_path, web, tls)
    except OSError as exc:
        raise ConfigError(
            f"--web.listen-address: cannot listen on {join_host_port(*address)}: {exc.strerror}"
        ) from None
    scheme = "https" if web.tls else "http"
    log.info("enabled collectors: %s", ", ".join(enabled))
    return server, f"{scheme}://{join_host_port(address[0], server.server_address[1])}{telemetry_path}"


def main(argv: list[str] | None = None) -> int:
    try:
        server, url = prepare(argv)
    except ConfigError as exc:
        print(f"host-exporter: error: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    log.info("listening on %s", url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
