"""Settings, each declared once as an Option: its flag, its config-file key, its kind, default and help.

The flags (`add_flags`), the config file's keys (host_exporter.config) and the README's tables
(host_exporter.readme) are all made from these declarations, and a value is checked in one place, by its
option's kind, whether it comes from a flag, the config file or the default.

A value comes from the flag when given, else from the config file, else from the default; an empty value
("") counts as not given. A config value is checked even where a flag overrides it.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from bundle_common.durations import parse_duration
from bundle_common.listen import parse_listen_address
from host_exporter.errors import ConfigError

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)  # an Option[list[X]] serves where an Option[Sequence[X]] is read


@dataclass(frozen=True)
class Kind(Generic[T_co]):
    """What an option holds: `parse(where, raw)` turns a flag's text or a YAML value into it, or raises a
    ConfigError naming `where` (the flag or the config key)."""

    name: str  # as --help and the README show it
    parse: Callable[[str, Any], T_co]
    choices: tuple[str, ...] | None = None  # argparse then refuses any other flag value itself


def text_kind(name: str, convert: Callable[[str], T], choices: tuple[str, ...] | None = None) -> Kind[T]:
    """A kind written as a string in the config file too; `convert` raises ValueError saying why not."""

    def parse(where: str, raw: Any) -> T:
        if not isinstance(raw, str):
            raise ConfigError(f"{where}: expected str, got {type(raw).__name__}")
        try:
            return convert(raw)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    return Kind(name, parse, choices)


def _regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return text  # collectors take the text (tests and callers give them text too) and compile it


def _seconds(text: str) -> float:
    seconds = parse_duration(text).total_seconds()  # DurationError is a ValueError that quotes the value
    if seconds <= 0:
        raise ValueError("must be longer than 0s")
    return seconds


def _bind_address(text: str) -> tuple[str, int]:
    address = parse_listen_address(text)  # ListenAddressError is a ValueError that quotes the value
    return address.bind_host, address.port


def _url_path(text: str) -> str:
    if not text.startswith("/") or text == "/":
        raise ValueError(f"{text!r} must start with / and not be / itself")
    return text


def _strings(where: str, raw: Any) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ConfigError(f"{where}: expected a list of strings")
    return raw


def one_of(*choices: str) -> Kind[str]:
    def check(text: str) -> str:
        if text not in choices:
            raise ValueError(f"{text!r} is not one of {', '.join(choices)}")
        return text

    return text_kind("|".join(choices), check, choices)


REGEX = text_kind("regexp", _regex)
DURATION = text_kind("duration", _seconds)  # Prometheus' grammar (5s, 500ms, 1m30s), in seconds
PATH = text_kind("path", Path)
OPTIONAL_PATH = text_kind("path", lambda text: Path(text) if text else None)
HOST_PORT = text_kind("host:port", _bind_address)  # as exporter-toolkit reads --web.listen-address
URL_PATH = text_kind("path", _url_path)
STRINGS = Kind("list of strings", _strings)


@dataclass(frozen=True, eq=False)  # eq=False: options are told apart by identity, as OptionValues' keys
class Option(Generic[T_co]):
    """One setting. `config_key` defaults to the flag with `collectors.` for `collector.` and `_` for `-`
    (--collector.filesystem.mount-timeout: collectors.filesystem.mount_timeout)."""

    flag: str | None  # without the leading --; None for a setting only the config file has
    kind: Kind[T_co]
    default: Any  # as a flag or the config file would write it; "" or [] for none
    help: str
    config_key: str | None = None

    def __post_init__(self) -> None:
        if self.flag is None and self.config_key is None:
            raise ValueError(f"option {self.help!r} needs a flag or a config key")

    @property
    def key(self) -> str:
        if self.config_key is not None:
            return self.config_key
        name = cast(str, self.flag).replace("-", "_")
        return f"collectors.{name.removeprefix('collector.')}" if name.startswith("collector.") else name

    @property
    def where(self) -> str:
        """How a message names the option when its value comes from the command line or the default."""
        return f"--{self.flag}" if self.flag else self.key


class OptionValues:
    """Each option's value, typed by its option: `values[MOUNT_TIMEOUT]` is a float."""

    def __init__(self, values: Mapping[Option[Any], Any]) -> None:
        self._values = dict(values)

    def __getitem__(self, option: Option[T]) -> T:
        return cast(T, self._values[option])


def add_flags(parser: argparse.ArgumentParser, options: Iterable[Option[Any]]) -> None:
    for option in options:
        if option.flag is None:
            continue
        default = f" (default: {option.default})" if option.default else ""
        parser.add_argument(
            f"--{option.flag}",
            dest=option.key,
            metavar=None if option.kind.choices else option.kind.name.upper(),
            choices=option.kind.choices,
            help=f"{option.help}{default}".replace("%", "%%"),  # argparse %-formats help
        )


def _given(raw: Any) -> bool:
    return raw is not None and raw != ""


def resolve(
    options: Iterable[Option[Any]], flags: Mapping[str, Any], config: Mapping[str, Any]
) -> OptionValues:
    """Every option's value. `flags`: argparse's values by config key (as add_flags names them);
    `config`: the config file's values by config key (host_exporter.config.load_config_file)."""
    values: dict[Option[Any], Any] = {}
    for option in options:
        raw_config = config.get(option.key)
        from_config = option.kind.parse(option.key, raw_config) if _given(raw_config) else None
        from_flag = flags.get(option.key) if option.flag else None
        if _given(from_flag):
            values[option] = option.kind.parse(option.where, from_flag)
        elif _given(raw_config):
            values[option] = from_config
        else:
            values[option] = option.kind.parse(option.where, option.default)
    return OptionValues(values)
