"""Devices: cpu, and cuda when a CUDA runtime (pycuda + driver, or the simulator) exists."""
from __future__ import annotations


class device:  # noqa: N801 - PyTorch's name
    """A device name and index, comparable and hashable like torch.device."""

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device() expected a string or device, got {type!r}")
        name, _, idx = type.partition(":")
        if name not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {type}"
            )
        self.type = name
        self.index = int(idx) if idx else index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"


cpu = device("cpu")


def as_device(d: object) -> device:
    """Resolve a device argument; cuda raises when no CUDA runtime is available."""
    if d is None:
        return cpu
    dev = d if isinstance(d, device) else device(d) if isinstance(d, str) else None
    if dev is None:
        if isinstance(d, int):
            dev = device("cuda", d)
        else:
            raise TypeError(f"expected a device, got {d!r}")
    if dev.type == "cuda":
        from .codegen.cuda import device_count, is_available

        if is_available():
            if dev.index not in (None, 0) and dev.index >= device_count():
                raise RuntimeError(f"CUDA error: invalid device ordinal (cuda:{dev.index})")
            return dev
        raise RuntimeError(
            "Torch not compiled with CUDA enabled: tracejit found no CUDA runtime "
            "(the CUDA backend needs pycuda and an NVIDIA driver; TRACEJIT_CUDA_SIM=1 selects "
            "its CPU simulator)"
        )
    return dev
