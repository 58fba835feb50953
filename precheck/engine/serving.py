"""Which dtype flag to pass to an embedding server, from what the scan verified.

A pure function of the Report. The servers' accepted values and refusals, and the versions they
were read from, are in docs/serving.md; the advice never claims more than the scan measured.
"""
from __future__ import annotations

from dataclasses import replace

from ..kinds import kind_for
from ..data.report import Report, ServingAdvice
from ..words import a

# vLLM refuses --dtype float16 for these model types (vllm/config/model.py, _FLOAT16_NOT_SUPPORTED_MODELS).
VLLM_NO_FLOAT16 = ("gemma2", "gemma3", "gemma3_text", "plamo2", "glm4")
# text-embeddings-inference's candle backend starts these model types in float32 only, on every device
# ("Gemma3 is only supported in fp32 precision", backends/candle/src/lib.rs): EmbeddingGemma's type.
TEI_FLOAT32_ONLY = ("gemma3_text",)
# ...and these only on CUDA, in float16, with flash attention ("Qwen2 is only supported on Cuda devices in
# fp16 with flash attention v2 enabled"): float32 does not start for them anywhere.
TEI_CUDA_FLOAT16_ONLY = ("mistral", "qwen2")
# Fixes that change how the model runs, which no dtype flag can ask a server for. A `cast` is not one:
# a server loads every weight in the dtype it is given, which is what the scan's cast run did.
_CODE_FIXES = ("autocast", "keep-fp32")
_OWN_CODE = "which the server cannot apply: it loads the weights with its own code"
TEI, VLLM, INFINITY = "text-embeddings-inference", "vllm", "infinity"


def _verdict(report: Report, dtype: str):
    return next((v for v in report.verdict.dtypes if v.dtype == dtype), None)


def _run(report: Report, dtype: str, strategy: str):
    return next((r for r in report.results if r.dtype == dtype and r.strategy == strategy), None)


def verified_as_served(report: Report, dtype: str) -> str | None:
    """Why a server may run `dtype`: it passed as loaded, or with every weight cast to it (a server
    loads every weight in the dtype it is asked for); None when neither was verified."""
    verdict, kind = _verdict(report, dtype), kind_for(report.model.kind)
    if verdict is not None and verdict.passed:
        return f"{dtype} passed ({kind.headline(report.result(dtype, 'load'))})"
    cast = _run(report, dtype, "cast")
    if cast is not None and cast.status == "ok":
        return (f"{dtype} passed with every weight cast to {dtype} ({kind.headline(cast)}), as a server loads it "
                f"(as loaded by sentence-transformers it failed: {verdict.status if verdict else 'not run'})")
    return None


def _failed(report: Report, dtype: str) -> str:
    """Why a dtype is not served: failed, failed unless a code fix is applied, or not scanned."""
    if dtype not in report.settings.dtypes:
        return f"{dtype} was not scanned"
    verdict = _verdict(report, dtype)
    if verdict.status == "unsupported":
        return f"{dtype} could not run on the scanning device ({report.environment.device}), so it is unverified"
    best = report.recommended_fix(dtype)
    if best is not None and best.strategy in _CODE_FIXES:
        return f"{dtype} works only with the {best.strategy} fix, {_OWN_CODE}"
    return f"{dtype} failed ({verdict.status})"


def _advice(server: str, dtype: str, note: str) -> ServingAdvice:
    return ServingAdvice(server, f"--dtype {dtype}", dtype, note)


def _text_embeddings_inference(model_type: str | None, fp16: str | None, bf16: str | None, no_fp16: str,
                               no_bf16: str) -> ServingAdvice:
    if model_type in TEI_FLOAT32_ONLY:
        verified = fp16 or bf16 or f"{no_fp16}; {no_bf16}"
        return _advice(TEI, "float32", f"text-embeddings-inference starts {model_type} models in float32 only, "
                                       f"whatever the scan verified ({verified})")
    if model_type in TEI_CUDA_FLOAT16_ONLY:
        only = f"text-embeddings-inference runs {model_type} models only in float16, on CUDA with flash attention"
        if fp16:
            return _advice(TEI, "float16", f"{fp16}; {only}")
        # No flag to give: float32, the usual way out, does not start for this model type.
        return ServingAdvice(TEI, "", None, f"no dtype flag serves it: {only}, and {no_fp16}")
    if fp16:
        return _advice(TEI, "float16", f"{fp16}; CPU (ort) images run float32 only")
    return _advice(TEI, "float32", f"{no_fp16}; " + (
        "the candle and ort backends have no bfloat16 (only the python backend does); CUDA images default "
        "to float16" if bf16 else f"{no_bf16}; CUDA images default to float16"))


def _pooled_advice(pooling: str, tei: ServingAdvice) -> list[ServingAdvice]:
    """A model served through a pooling mode of its own (SPLADE): text-embeddings-inference's
    --pooling, with the dtype it verified; vLLM and infinity are not verified for it, so no flag."""
    flag = f"--pooling {pooling}" + (f" {tei.flag}" if tei.flag else "")
    unverified = f"not verified for {pooling} models: precheck gives no flag it has not read in the server's source"
    return [ServingAdvice(TEI, flag, tei.dtype, f"{tei.note}; sparse vectors come from /embed_sparse"),
            ServingAdvice(VLLM, "", None, unverified), ServingAdvice(INFINITY, "", None, unverified)]


def serving_advice(report: Report) -> list[ServingAdvice]:
    """At most one entry per server (text-embeddings-inference, vLLM, infinity): the 16-bit dtype
    verified as the server runs it, where the server has it and accepts it for this model type, else
    float32; and what it does with each quantized precision that passed, in the same entry. A scan of
    quantized precisions only advises no 16-bit or float32 flag: it verified none."""
    kind = kind_for(report.model.kind)
    if not kind.served:
        return []  # which servers take it is not verified (multi-vector encoders: docs/multi-vector.md)
    sixteen = _sixteen_bit_advice(report, kind) \
        if any(d in report.settings.dtypes for d in ("float16", "bfloat16")) else []
    quantized = {entry.server: entry for entry in quantized_advice(report)}
    merged = [replace(entry, note=f"{entry.note}; {quantized.pop(entry.server).note}")
              if entry.server in quantized else entry for entry in sixteen]
    return merged + list(quantized.values())


def _sixteen_bit_advice(report: Report, kind) -> list[ServingAdvice]:
    """One entry per server for float16 and bfloat16, as the scan verified them (the rule in docs/serving.md)."""
    fp16, bf16 = verified_as_served(report, "float16"), verified_as_served(report, "bfloat16")
    model_type = report.model.model_type
    no_fp16 = _failed(report, "float16") if fp16 is None else ""
    no_bf16 = _failed(report, "bfloat16") if bf16 is None else ""
    if kind.tei_pooling is not None:
        return _pooled_advice(kind.tei_pooling, _text_embeddings_inference(model_type, fp16, bf16, no_fp16, no_bf16))
    refused = model_type in VLLM_NO_FLOAT16
    advice = [_text_embeddings_inference(model_type, fp16, bf16, no_fp16, no_bf16)]
    vllm_refusal = f"vLLM refuses float16 for {model_type} models (numerical instability)"
    if fp16 and not refused:
        this = a(model_type) if model_type else "a model of another type"
        advice.append(_advice(VLLM, "float16", f"{fp16}; vLLM refuses float16 for {', '.join(VLLM_NO_FLOAT16)} "
                                               f"models, and this is {this}"))
    elif bf16:
        why = vllm_refusal if refused and fp16 else no_fp16
        advice.append(_advice(VLLM, "bfloat16", f"{why}; {bf16}; --dtype auto would pick float16 for a float32 model"))
    else:
        why = f"{vllm_refusal}; {no_bf16}" if refused and fp16 else f"{no_fp16}; {no_bf16}"
        advice.append(_advice(VLLM, "float32", f"{why}; --dtype auto would pick float16"))
    if fp16:
        advice.append(_advice(INFINITY, "float16", fp16))
    elif bf16:
        advice.append(_advice(INFINITY, "bfloat16", f"{no_fp16}; {bf16}"))
    else:
        advice.append(_advice(INFINITY, "float32", f"{no_fp16}; {no_bf16}; --dtype auto picks 16 bits on a GPU"))
    return advice


# What each server does with a quantized embedder (docs/serving.md, "Quantized precisions"). The scan
# verifies the transformers layers a quantization_config makes; a server quantizes with its own code.
_TEI_NO_QUANTIZED = ("text-embeddings-inference has no bitsandbytes or torchao load (quantized models are "
                     "not supported: huggingface/text-embeddings-inference#7)")
_VLLM_BNB = ("not verified: vLLM quantizes in flight to 4-bit with --quantization bitsandbytes (docs.vllm.ai, "
             "features/quantization/bnb), with its own kernels and its own 4-bit type and compute dtype; "
             "whether its pooling runner takes it for this architecture was not checked, so no flag is advised")
_NOT_VERIFIED = "not verified: no flag of {server} was checked to load {dtype} as transformers quantizes it"


def quantized_advice(report: Report) -> list[ServingAdvice]:
    """What each server does with the quantized precisions that passed, one entry per server (none when
    none passed). No flag: none was verified to load a precision as the scan did, so none is advised;
    the note says why, or "not verified"."""
    from ..dtypes import is_quantized

    passed = [v.dtype for v in report.verdict.dtypes if is_quantized(v.dtype) and v.passed]
    if not passed:
        return []
    named = f"{', '.join(passed)} passed"
    others = [d for d in passed if d != "nf4"]
    vllm = ([f"nf4: {_VLLM_BNB}"] if "nf4" in passed else []) + \
        ([f"{', '.join(others)}: " + _NOT_VERIFIED.format(server="vLLM", dtype=" or ".join(others))] if others else [])
    return [ServingAdvice(TEI, "", None, f"{named}; {_TEI_NO_QUANTIZED}: serve it from your own process "
                                          "(precheck.load), or a 16-bit dtype"),
            ServingAdvice(VLLM, "", None, f"{named}; " + "; ".join(vllm)),
            ServingAdvice(INFINITY, "", None, f"{named}; " + _NOT_VERIFIED.format(
                server="infinity", dtype=" or ".join(passed)))]
