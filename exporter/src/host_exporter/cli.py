"""`host-exporter`: node_exporter's flag names where they mean the same thing, plus an optional config file.

A bad flag or config value prints one line naming it and exits with status 2.
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import ssl
import sys
from pathlib import Path
from typing import Any, NoReturn

from bundle_common.durations import DurationError, parse_duration
from bundle_common.listen import ListenAddressError, join_host_port, parse_listen_address
from host_exporter import __version__
from host_exporter.collectors.base import HostPaths
from host_exporter.config import ConfigError, load_config_file, parse_process_groups
from host_exporter.registry import COLLECTORS, CollectorSettings, build_registry
from host_exporter.web.server import ExporterServer
from host_exporter.web.webconfig import WebConfig, load_web_config

LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
log = logging.getLogger("host_exporter")


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="host-exporter", description="Prometheus exporter for host metrics.")
    add = parser.add_argument
    add("--version", action="version", version=f"host-exporter {__version__}")
    add("--config.file", dest="config_file", type=Path, help="optional YAML config file; flags override it")
    add("--web.listen-address", dest="listen_address", help="address to listen on (default :9100)")
    add(
        "--web.telemetry-path",
        dest="telemetry_path",
        help="path under which to expose metrics (default /metrics)",
    )
    add("--web.config.file", dest="web_config_file", help="exporter-toolkit web config: TLS and basic auth")
    add("--path.procfs", dest="procfs", help="procfs mount point (default /proc)")
    add("--path.sysfs", dest="sysfs", help="sysfs mount point (default /sys)")
    add("--path.rootfs", dest="rootfs", help="root filesystem mount point (default /)")
    add(
        "--collector.textfile.directory",
        dest="textfile_directory",
        help="directory of *.prom files to expose",
    )
    add(
        "--collector.filesystem.mount-points-exclude",
        dest="mount_points_exclude",
        help="regexp of mount points",
    )
    add("--collector.filesystem.fs-types-exclude", dest="fs_types_exclude", help="regexp of filesystem types")
    add(
        "--collector.filesystem.mount-timeout",
        dest="mount_timeout",
        help="how long to wait for a mount point's statvfs before marking it stuck (default 5s)",
    )
    add(
        "--collector.diskstats.device-exclude", dest="diskstats_device_exclude", help="regexp of disk devices"
    )
    add(
        "--collector.netdev.device-exclude",
        dest="netdev_device_exclude",
        help="regexp of net devices to exclude",
    )
    add(
        "--collector.netdev.device-include",
        dest="netdev_device_include",
        help="regexp of net devices to include",
    )
    add(
        "--collector.disable-defaults",
        dest="disable_defaults",
        action="store_true",
        help="start with none enabled",
    )
    add(
        "--log.level",
        dest="log_level",
        choices=sorted(LOG_LEVELS),
        help="debug, info, warn or error (default info)",
    )
    for spec in COLLECTORS:
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


def listen_address(key: str, value: str) -> tuple[str, int]:
    """The (host, port) to bind for a `--web.listen-address` value, read as exporter-toolkit reads it."""
    try:
        address = parse_listen_address(value)
    except ListenAddressError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    return address.bind_host, address.port


def duration_seconds(key: str, value: str) -> float:
    """A Prometheus duration (5s, 500ms, 1m30s), as node_exporter's duration flags take it, in seconds."""
    try:
        seconds = parse_duration(value).total_seconds()
    except DurationError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if seconds <= 0:
        raise ConfigError(f"{key}: must be longer than 0s")
    return seconds


def _get(config: dict[str, Any], *keys: str) -> Any:
    node: Any = config
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def enabled_collectors(args: argparse.Namespace, config: dict[str, Any]) -> list[str]:
    enabled = {spec.name for spec in COLLECTORS if spec.default and not args.disable_defaults}
    known = {spec.name for spec in COLLECTORS}
    for key, switch_on in (("enabled", True), ("disabled", False)):
        for name in _get(config, "collectors", key) or []:
            if name not in known:
                raise ConfigError(
                    f"collectors.{key}: unknown collector {name!r} (known: {', '.join(sorted(known))})"
                )
            (enabled.add if switch_on else enabled.discard)(name)
    for spec in COLLECTORS:
        flag = getattr(args, f"collector_{spec.name}")
        if flag is True:
            enabled.add(spec.name)
        elif flag is False:
            enabled.discard(spec.name)
    return sorted(enabled)


def collector_settings(args: argparse.Namespace, config: dict[str, Any]) -> CollectorSettings:
    def pick(flag: str | None, *keys: str) -> Any:
        return flag if flag is not None else _get(config, *keys)

    defaults = CollectorSettings()
    paths = HostPaths(
        procfs=Path(pick(args.procfs, "path", "procfs") or "/proc"),
        sysfs=Path(pick(args.sysfs, "path", "sysfs") or "/sys"),
        rootfs=Path(pick(args.rootfs, "path", "rootfs") or "/"),
    )
    textfile = pick(args.textfile_directory, "collectors", "textfile", "directory")
    if args.mount_timeout is not None:
        mount_timeout = duration_seconds("--collector.filesystem.mount-timeout", args.mount_timeout)
    else:
        configured = _get(config, "collectors", "filesystem", "mount_timeout")
        mount_timeout = duration_seconds("collectors.filesystem.mount_timeout", configured or "5s")
    return CollectorSettings(
        paths=paths,
        textfile_directory=Path(textfile) if textfile else None,
        mount_points_exclude=pick(
            args.mount_points_exclude, "collectors", "filesystem", "mount_points_exclude"
        )
        or defaults.mount_points_exclude,
        fs_types_exclude=pick(args.fs_types_exclude, "collectors", "filesystem", "fs_types_exclude")
        or defaults.fs_types_exclude,
        mount_timeout=mount_timeout,
        diskstats_device_exclude=pick(
            args.diskstats_device_exclude, "collectors", "diskstats", "device_exclude"
        )
        or defaults.diskstats_device_exclude,
        netdev_device_exclude=pick(args.netdev_device_exclude, "collectors", "netdev", "device_exclude")
        or "",
        netdev_device_include=pick(args.netdev_device_include, "collectors", "netdev", "device_include")
        or "",
        process_groups=parse_process_groups(_get(config, "process_groups") or []),
    )


def check_regexes(settings: CollectorSettings) -> None:
    for flag, value in (
        ("--collector.filesystem.mount-points-exclude", settings.mount_points_exclude),
        ("--collector.filesystem.fs-types-exclude", settings.fs_types_exclude),
        ("--collector.diskstats.device-exclude", settings.diskstats_device_exclude),
        ("--collector.netdev.device-exclude", settings.netdev_device_exclude),
        ("--collector.netdev.device-include", settings.netdev_device_include),
    ):
        try:
            re.compile(value)
        except re.error as exc:
            raise ConfigError(f"{flag}: not a valid regular expression: {exc}") from None


def prepare(argv: list[str] | None) -> tuple[ExporterServer, str]:
    """Everything that can fail on bad input, done before the server starts; returns it and its URL."""
    args = build_parser().parse_args(argv)
    config = load_config_file(args.config_file) if args.config_file else {}
    level = args.log_level or config.get("log_level") or "info"
    if level not in LOG_LEVELS:
        raise ConfigError(f"log_level: {level!r} is not one of {', '.join(LOG_LEVELS)}")
    logging.basicConfig(level=LOG_LEVELS[level], format="ts=%(asctime)s level=%(levelname)s msg=%(message)s")
    settings = collector_settings(args, config)
    check_regexes(settings)
    enabled = enabled_collectors(args, config)
    web_file = args.web_config_file or _get(config, "web", "config_file")
    web = load_web_config(Path(web_file)) if web_file else WebConfig()
    telemetry_path = args.telemetry_path or _get(config, "web", "telemetry_path") or "/metrics"
    if not telemetry_path.startswith("/") or telemetry_path == "/":
        raise ConfigError(f"--web.telemetry-path: {telemetry_path!r} must start with / and not be / itself")
    if args.listen_address is not None:
        address = listen_address("--web.listen-address", args.listen_address)
    else:
        address = listen_address("web.listen_address", _get(config, "web", "listen_address") or ":9100")
    try:
        tls = web.tls.context() if web.tls else None
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"tls_server_config: cannot load the certificate and key: {exc}") from None
    registry = build_registry(enabled, settings)
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
