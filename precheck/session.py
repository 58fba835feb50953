"""What diagnosis, repair and the storage step may ask of a scan in progress: a typed interface
(a Protocol) over engine/scan_session.py's ScanSession, so that they depend on these members, not on it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol

from .data.report import ProbeResult

if TYPE_CHECKING:  # names for the type hints only: the engine's modules import this one
    from .kinds.protocol import Kind
    from .loading.load import ResolvedModel
    from .options import ScanOptions


class ScanRun(Protocol):
    """A scan with its float32 reference done: the model, the probe set, how runs are built and measured."""

    options: ScanOptions  # thresholds, load options, batch size
    model: ResolvedModel  # name, path, kind
    device: str
    kind: Kind  # how items are read, run and compared
    items: list  # the probe items every run encodes
    reference: Any  # the float32 outputs the runs are measured against
    headroom: list  # report.Headroom rows: each block's largest |activation| in the float32 encode
    progress: Callable[[str], None]
    buffer_repair: Any  # diagnosis.reference_check.BufferRepair, or None: buffers every load repairs
    kept: dict  # --storage: each dtype's `load` outputs, kept for the storage step
    storage_rows: list  # --storage: the probe items that are searched
    calibration: Any  # --storage: the float32 outputs of the --calibration texts, or None

    def load(self, dtype: str | None, check: bool = True) -> Any:
        """The model loaded as users load it, in `dtype` (None: float32), buffers repaired; with `check`,
        loading/inventory.py's DtypeNotReached when `dtype` reached none of its parameters."""

    def load_reference(self) -> Any:
        """The float32 reference model, placed as the memory plan says."""

    def builder(self, dtype: str, strategy: str) -> Callable[[], Any]:
        """How a scan strategy (`load`, `cast`) makes its model."""

    def run_model(self, model: Any, items: list | None = None) -> tuple[Any, float]:
        """(outputs, seconds) of `model` on the probe items (or `items`), as users call it."""

    def probe(self, dtype: str, strategy: str, build: Callable[[], Any], reuse: bool = False) -> ProbeResult:
        """Build a model, run the probe set, measure it against float32."""
