"""What the --storage tests of both environments share: the precisions asked and a quick scan's
options, and a row of the storage table."""
from __future__ import annotations

ALL = "float32,float16,int8,uint8,binary,ubinary"
# A tiny random model in float16 drifts past 0.999; the storage figures, not the dtype gate, are tested here.
FAST = ("-d", "fp16", "--no-fix", "--min-cosine", "0.9")


def storage_row(report, model_dtype, precision):
    return next(r for r in report["storage"]["results"]
                if r["model_dtype"] == model_dtype and r["precision"] == precision)
