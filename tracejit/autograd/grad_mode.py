"""Grad mode: a module-level flag, read on every op, so it must stay a plain global."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_enabled = [True]


def is_grad_enabled() -> bool:
    return _enabled[0]


class _Mode:
    """Context manager and decorator that sets grad mode and restores it."""

    mode = True

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # a bare decorator, @no_grad / @inference_mode, as PyTorch allows
        if (cls is not set_grad_enabled and len(args) == 1 and not kwargs
                and callable(args[0]) and not isinstance(args[0], bool)):
            return cls()(args[0])
        return super().__new__(cls)

    def __enter__(self) -> None:
        self._prev = _enabled[0]
        _enabled[0] = self.mode

    def __exit__(self, *exc: object) -> None:
        _enabled[0] = self._prev

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_Mode):  # noqa: N801
    mode = False


class enable_grad(_Mode):  # noqa: N801
    mode = True


class inference_mode(_Mode):  # noqa: N801
    """Behaves as no_grad (tracejit has no separate inference tensors)."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode

    def __call__(self, fn: Callable) -> Callable:  # type: ignore[override]
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = _enabled[0]
            _enabled[0] = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _enabled[0] = prev

        return wrapper


class set_grad_enabled(_Mode):  # noqa: N801
    """Sets the mode at construction (as a plain call) and restores it on exit."""

    def __init__(self, mode: bool) -> None:
        self._prev = _enabled[0]
        self.mode = bool(mode)
        _enabled[0] = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _enabled[0] = self._prev

    def __call__(self, fn: Callable) -> Callable:
        """As a decorator: undo the switch made at construction, apply it per call instead."""
        _enabled[0] = self._prev
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = _enabled[0]
            _enabled[0] = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _enabled[0] = prev

        return wrapper
