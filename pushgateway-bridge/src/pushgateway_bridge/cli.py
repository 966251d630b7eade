"""pushgateway-bridge --web.listen-address HOST:PORT --config FILE"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from pathlib import Path

import uvicorn

from pushgateway_bridge.core.config import ConfigError, load_settings
from pushgateway_bridge.main import create_app


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"--web.listen-address must be HOST:PORT, got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104  (":8000" means every address, as asked)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pushgateway-bridge", description=__doc__)
    parser.add_argument(
        "--web.listen-address",
        dest="listen",
        type=parse_listen,
        default=("127.0.0.1", 8000),
        help="HOST:PORT to listen on (default 127.0.0.1:8000)",
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="YAML config file (BRIDGE_* env overrides it)"
    )
    args = parser.parse_args(argv)
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
        app = create_app(settings)
    except OSError as exc:
        print(f"pushgateway-bridge: cannot open data_dir {settings.data_dir}: {exc}", file=sys.stderr)
        return 2
    host, port = args.listen
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"  # the `fast` extra
    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=1,
        http=http,
        loop=loop,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        lifespan="on",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
