"""`Monitored`: a job (or, nested, a subjob) reported as started, progress, finished or failed events.

Used as a context manager or a decorator. The block's exception is reported and re-raised unchanged;
monitoring problems (bridge down, bad tracing setup) are logged and never reach the block.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import traceback
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Literal, TypeVar, cast
from uuid import UUID, uuid4

from monitoring_sdk import tracing
from monitoring_sdk.emitter import SidecarEmitter
from monitoring_sdk.models import AppRef, Event, Kind
from monitoring_sdk.settings import Settings
from monitoring_sdk.usage import UsageMeter

log = logging.getLogger("monitoring_sdk")
F = TypeVar("F", bound=Callable[..., Any])
_current: ContextVar[Monitored | None] = ContextVar("monitoring_sdk_current", default=None)
_default_lock = threading.Lock()
_default_emitter: SidecarEmitter | None = None


def default_emitter() -> SidecarEmitter:
    """One emitter per process, configured from SIDECAR_URL and SIDECAR_API_KEY."""
    global _default_emitter  # noqa: PLW0603
    with _default_lock:
        if _default_emitter is None:
            _default_emitter = SidecarEmitter()
        return _default_emitter


def current() -> Monitored | None:
    """The innermost `Monitored` block running in this context, if any."""
    return _current.get()


def progress(done: float, total: float | None = None, message: str | None = None) -> None:
    """Report progress of the innermost running `Monitored` block; does nothing outside one."""
    block = _current.get()
    if block is not None:
        block.progress(done, total, message)


class Monitored:
    """Report a block of code as a job; inside another `Monitored` it is a subjob with the parent's id.

    `site_id`, `app` and `emitter` default to the enclosing block's, then to SITE_ID and an emitter
    configured from SIDECAR_URL. `business_key` defaults to the enclosing block's, or to the decorated
    function's name.
    """

    def __init__(
        self,
        site_id: str | None = None,
        app: AppRef | None = None,
        entity_type: str = "job",
        business_key: str | None = None,
        emitter: SidecarEmitter | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        tracer_provider: Any = None,
    ) -> None:
        if not entity_type:
            raise ValueError("entity_type must not be empty")
        self.site_id = site_id
        self.app = app
        self.entity_type = entity_type
        self.business_key = business_key
        self.emitter = emitter
        self.metadata = dict(metadata or {})
        self.tracer_provider = tracer_provider
        self.entity_id: UUID | None = None
        self.parent_id: UUID | None = None
        self.trace_id: str | None = None
        self.span_id: str | None = None
        self._meter: UsageMeter | None = None
        self._span: tracing.JobSpan | None = None
        self._token: Token[Monitored | None] | None = None

    # -- context manager -----------------------------------------------------------------------------

    def __enter__(self) -> Monitored:
        if self.entity_id is not None:
            raise RuntimeError("a Monitored block runs once; create a new Monitored (or use it as decorator)")
        parent = _current.get()
        self._resolve(parent)
        self.entity_id = uuid4()
        self.parent_id = parent.entity_id if parent else None
        self._start_span()
        self._token = _current.set(self)
        self._meter = UsageMeter()
        self._emit("started")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        try:
            usage = self._meter.stop() if self._meter else None
            metadata: dict[str, Any] = {}
            if usage is not None:
                metadata["memory_peak_delta_bytes"] = usage.memory_peak_delta_bytes
            if exc is not None:
                metadata.update(
                    error_type=_qualified_name(type(exc)),
                    error_message=str(exc),
                    stack_trace="".join(traceback.format_exception(type(exc), exc, tb)),
                )
            if self._span is not None:
                self._span.end(exc)
            self._emit(
                "failed" if exc is not None else "finished",
                message=f"{type(exc).__name__}: {exc}" if exc is not None else None,
                duration_s=usage.duration_s if usage else None,
                cpu_seconds=usage.cpu_seconds if usage else None,
                memory_bytes=usage.memory_bytes if usage else None,
                metadata=metadata,
            )
        finally:
            self._reset_current()
        return False  # the block's exception propagates unchanged

    # -- decorator -----------------------------------------------------------------------------------

    def __call__(self, func: F) -> F:
        """Decorate `func`: each call is its own job (or subjob), named by `business_key` or the function."""

        def fresh() -> Monitored:
            return Monitored(
                self.site_id,
                self.app,
                self.entity_type,
                self.business_key or func.__qualname__,
                self.emitter,
                metadata=self.metadata,
                tracer_provider=self.tracer_provider,
            )

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with fresh():
                    return await func(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with fresh():
                return func(*args, **kwargs)

        return cast(F, wrapper)

    # -- reporting -----------------------------------------------------------------------------------

    def progress(self, done: float, total: float | None = None, message: str | None = None) -> None:
        """Report progress as a ratio (`progress(0.4)`) or a count (`progress(40, 100, "rows")`)."""
        try:
            if total is not None:
                ratio = done / total if total > 0 else 0.0
                metadata: dict[str, Any] = {"done": done, "total": total}
            else:
                ratio, metadata = done, {}
            if not 0.0 <= ratio <= 1.0:
                log.warning("monitoring_sdk: progress %s outside 0..1, clamped", ratio)
                ratio = min(1.0, max(0.0, ratio))
            self._emit("progress", progress=float(ratio), message=message, metadata=metadata)
        except Exception:
            log.exception("monitoring_sdk: cannot report progress")

    def _emit(self, kind: Kind, metadata: Mapping[str, Any] | None = None, **fields: Any) -> None:
        if self.entity_id is None:
            log.warning("monitoring_sdk: %s reported outside its block, ignored", kind)
            return
        try:
            event = Event(
                site_id=cast(str, self.site_id),
                app=cast(AppRef, self.app),
                entity_type=self.entity_type,
                business_key=cast(str, self.business_key),
                entity_id=self.entity_id,
                parent_id=self.parent_id,
                kind=kind,
                trace_id=self.trace_id,
                span_id=self.span_id,
                metadata={**self.metadata, **(metadata or {})},
                **fields,
            )
            cast(SidecarEmitter, self.emitter).emit(event)
        except Exception:
            log.exception("monitoring_sdk: cannot report %s event", kind)

    def _resolve(self, parent: Monitored | None) -> None:
        """Fill unset fields from the enclosing block, then from the environment; ValueError if missing."""
        if parent is not None:
            self.site_id = self.site_id or parent.site_id
            self.app = self.app or parent.app
            self.emitter = self.emitter or parent.emitter
            self.business_key = self.business_key or parent.business_key
            if self.tracer_provider is None:
                self.tracer_provider = parent.tracer_provider
        self.emitter = self.emitter or default_emitter()
        self.site_id = self.site_id or self.emitter.site_id or Settings.from_env().site_id
        missing = [name for name in ("site_id", "app", "business_key") if not getattr(self, name)]
        if missing:
            hint = " (set SITE_ID)" if "site_id" in missing else ""
            raise ValueError(f"Monitored needs {', '.join(missing)}{hint}")

    def _start_span(self) -> None:
        app = cast(AppRef, self.app)
        attributes = {
            "monitoring.site_id": cast(str, self.site_id),
            "monitoring.app": app.name,
            "monitoring.entity_type": self.entity_type,
            "monitoring.business_key": cast(str, self.business_key),
            "monitoring.entity_id": str(self.entity_id),
        }
        if self.parent_id:
            attributes["monitoring.parent_id"] = str(self.parent_id)
        self._span = tracing.start_job_span(
            f"{self.entity_type} {self.business_key}",
            attributes,
            tracer_provider=self.tracer_provider,
            service_name=app.name,
            service_version=app.version,
        )
        if self._span is not None:
            self.trace_id, self.span_id = self._span.trace_id, self._span.span_id

    def _reset_current(self) -> None:
        if self._token is None:
            return
        try:
            _current.reset(self._token)
        except ValueError:  # exited in another context (thread or task) than entered
            _current.set(None)
        self._token = None


def _qualified_name(cls: type[BaseException]) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
