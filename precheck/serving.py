"""Which dtype flag to pass to an embedding server, from what the scan verified.

A pure function of the Report. The servers' accepted values and refusals, and the versions they
were read from, are in docs/serving.md; the advice never claims more than the scan measured.
"""
from __future__ import annotations

from .report import Report, ServingAdvice

# vLLM refuses --dtype float16 for these model types (vllm/config/model.py, _FLOAT16_NOT_SUPPORTED_MODELS).
VLLM_NO_FLOAT16 = ("gemma2", "gemma3", "gemma3_text", "plamo2", "glm4")
# A fix that changes how the model runs, which no dtype flag can ask a server for.
_CODE_FIXES = ("cast", "autocast", "keep-fp32")
_OWN_CODE = "which the server cannot apply: it loads the weights with its own code"


def _clean(report: Report, dtype: str) -> bool:
    verdict = next((v for v in report.verdict.dtypes if v.dtype == dtype), None)
    return verdict is not None and verdict.passed


def _passed(report: Report, dtype: str) -> str:
    return f"{dtype} passed ({report.result(dtype, 'load').headline()})"


def _failed(report: Report, dtype: str) -> str:
    """Why a dtype is not served: failed, failed unless a code fix is applied, or not scanned."""
    if dtype not in report.settings.dtypes:
        return f"{dtype} was not scanned"
    verdict = next(v for v in report.verdict.dtypes if v.dtype == dtype)
    if verdict.status == "unsupported":
        return f"{dtype} could not run on the scanning device ({report.environment.device}), so it is unverified"
    best = report.recommended_fix(dtype)
    if best is not None and best.strategy in _CODE_FIXES:
        return f"{dtype} works only with the {best.strategy} fix, {_OWN_CODE}"
    return f"{dtype} failed ({verdict.status})"


def serving_advice(report: Report) -> list[ServingAdvice]:
    """One entry per server (text-embeddings-inference, vLLM, infinity): the 16-bit dtype that passed
    as loaded where the server has it, else float32, the one dtype every scan verifies."""
    tei, vllm, infinity = "text-embeddings-inference", "vllm", "infinity"
    if report.model.kind == "multi-vector-encoder":
        return []  # which servers take late-interaction models is not verified (docs/multi-vector.md)
    if _clean(report, "float16"):
        why = _passed(report, "float16")
        return [
            ServingAdvice(tei, "--dtype float16", "float16", f"{why}; CPU (ort) images run float32 only"),
            ServingAdvice(vllm, "--dtype float16", "float16",
                          f"{why}; vLLM refuses float16 for {', '.join(VLLM_NO_FLOAT16)} models"),
            ServingAdvice(infinity, "--dtype float16", "float16", why),
        ]
    no_fp16 = _failed(report, "float16")
    if _clean(report, "bfloat16"):
        why = f"{no_fp16}; {_passed(report, 'bfloat16')}"
        return [
            ServingAdvice(tei, "--dtype float32", "float32",
                          f"{no_fp16}; the candle and ort backends have no bfloat16 (only the python backend "
                          "does); CUDA images default to float16"),
            ServingAdvice(vllm, "--dtype bfloat16", "bfloat16",
                          f"{why}; --dtype auto would pick float16 for a float32 model"),
            ServingAdvice(infinity, "--dtype bfloat16", "bfloat16", why),
        ]
    why = f"{no_fp16}; {_failed(report, 'bfloat16')}"
    return [
        ServingAdvice(tei, "--dtype float32", "float32", f"{why}; CUDA images default to float16"),
        ServingAdvice(vllm, "--dtype float32", "float32", f"{why}; --dtype auto would pick float16"),
        ServingAdvice(infinity, "--dtype float32", "float32", f"{why}; --dtype auto picks 16 bits on a GPU"),
    ]
