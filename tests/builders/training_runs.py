"""A real short fine-tuning run of a tiny model with sentence-transformers' own trainer (a few steps, on
the CPU), and a callback that makes one layer's output scale grow with the steps."""
from __future__ import annotations

from pathlib import Path

PAIRS = [("how do I bake bread", "mix flour, water and yeast, then bake"),
         ("what is the capital of France", "Paris is the capital of France"),
         ("why is the sky blue", "sunlight scatters off the air's molecules"),
         ("how far is the moon", "about 384,000 kilometres from the Earth"),
         ("what do cats eat", "cats are carnivores and eat meat"),
         ("who wrote Hamlet", "William Shakespeare wrote Hamlet"),
         ("how does a bicycle stay up", "steering and speed keep it balanced"),
         ("what is float16", "a 16-bit floating point format with a range up to 65504")]


def arguments(output: Path, steps: int, save_steps: int, model_only: bool) -> dict:
    """The training arguments every run here shares. `model_only` (the trainer's save_only_model): each
    checkpoint holds the model, not the optimizer's and scheduler's state (twice the model's size, written at
    each save), which no check reads: for the tests about what happens at a save, not about resuming."""
    return dict(output_dir=str(output), max_steps=steps, per_device_train_batch_size=4, learning_rate=1e-4,
                save_strategy="steps", save_steps=save_steps, save_only_model=model_only, logging_steps=1,
                report_to="none", seed=0, disable_tqdm=True, use_cpu=True)


def train(model, output: Path, callbacks: list, steps: int = 6, save_steps: int = 2, model_only: bool = False):
    """Fine-tune `model` for `steps` steps of 4 pairs (MultipleNegativesRankingLoss), saving every `save_steps`."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    data = Dataset.from_dict({"anchor": [a for a, _ in PAIRS], "positive": [p for _, p in PAIRS]})
    args = SentenceTransformerTrainingArguments(**arguments(output, steps, save_steps, model_only))
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data,
                                         loss=MultipleNegativesRankingLoss(model), callbacks=callbacks)
    trainer.train()
    return trainer


def growing_layer(factor: float, layer: int = 1):
    """A TrainerCallback that multiplies one layer's feed-forward scale by `factor` after every step:
    float32 barely notices; float16 overflows once the scale has grown enough."""
    from transformers import TrainerCallback

    from object_models import scale_feed_forward

    class GrowingLayer(TrainerCallback):
        path = ""

        def on_step_end(self, args, state, control, model=None, **kwargs):
            GrowingLayer.path = scale_feed_forward(model, factor, layer)

    return GrowingLayer()


LABELLED = [(query, passage, 1.0) for query, passage in PAIRS] + \
    [(query, PAIRS[(i + 3) % len(PAIRS)][1], 0.0) for i, (query, _) in enumerate(PAIRS)]


def minilm_folder(kind: str, folder: Path, layers: int = 2, texts=None) -> Path:
    """A `kind` model of MiniLM's first `layers` layers (its real weights), saved to `folder`: what a user
    loads to fine-tune. A cross-encoder's head and a SPLADE model's masked-LM transform are fresh (seed 0).
    With `texts`, its vocabulary cut to their tokens (cut_vocabulary). The folder is only read: several runs
    may load their own object from it."""
    import torch
    import transformers
    from sentence_transformers import CrossEncoder, SentenceTransformer
    from transformers import AutoTokenizer, BertForMaskedLM

    from fixture_models import plain_model_path
    from sparse_models import _splade

    torch.manual_seed(0)
    layered = {"num_hidden_layers": layers}
    if kind == "sentence-transformer":
        SentenceTransformer(str(plain_model_path()), device="cpu", config_kwargs=layered).save(str(folder))
    elif kind == "cross-encoder":
        CrossEncoder(str(plain_model_path()), num_labels=1, device="cpu", config_kwargs=layered).save(str(folder))
    else:
        transformers.logging.set_verbosity_error()  # the fresh head's "newly initialized" report is expected
        BertForMaskedLM.from_pretrained(str(plain_model_path()), **layered).save_pretrained(str(folder / "mlm"))
        AutoTokenizer.from_pretrained(str(plain_model_path())).save_pretrained(str(folder / "mlm"))
        if texts is not None:
            cut_vocabulary(folder / "mlm", texts)
        _splade(folder / "mlm").save(str(folder / "splade"))
        return folder / "splade"
    if texts is not None:
        cut_vocabulary(folder, texts)
    return folder


def load_object(kind: str, path: Path):
    """The `kind` object of the model saved at `path` (minilm_folder's), on the CPU."""
    from sentence_transformers import CrossEncoder, SentenceTransformer, SparseEncoder

    cls = {"sentence-transformer": SentenceTransformer, "cross-encoder": CrossEncoder}.get(kind, SparseEncoder)
    return cls(str(path), device="cpu")


def train_kind(kind: str, model, output: Path, callbacks: list, steps: int = 4, save_steps: int = 2,
               model_only: bool = False):
    """`train` with the trainer, arguments and a loss of `kind`'s own: SentenceTransformerTrainer
    (MultipleNegativesRankingLoss), CrossEncoderTrainer (BinaryCrossEntropyLoss on labelled pairs) or
    SparseEncoderTrainer (SpladeLoss over SparseMultipleNegativesRankingLoss)."""
    if kind == "sentence-transformer":
        return train(model, output, callbacks, steps, save_steps, model_only)
    from datasets import Dataset

    common = arguments(output, steps, save_steps, model_only)
    if kind == "cross-encoder":
        from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
        from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

        data = Dataset.from_dict({"query": [q for q, _, _ in LABELLED], "passage": [p for _, p, _ in LABELLED],
                                  "label": [label for _, _, label in LABELLED]})
        trainer = CrossEncoderTrainer(model=model, args=CrossEncoderTrainingArguments(**common), train_dataset=data,
                                      loss=BinaryCrossEntropyLoss(model), callbacks=callbacks)
    else:
        from sentence_transformers.sparse_encoder import SparseEncoderTrainer, SparseEncoderTrainingArguments
        from sentence_transformers.sparse_encoder.losses import SparseMultipleNegativesRankingLoss, SpladeLoss

        data = Dataset.from_dict({"anchor": [a for a, _ in PAIRS], "positive": [p for _, p in PAIRS]})
        loss = SpladeLoss(model, SparseMultipleNegativesRankingLoss(model), query_regularizer_weight=5e-5,
                          document_regularizer_weight=3e-5)
        trainer = SparseEncoderTrainer(model=model, args=SparseEncoderTrainingArguments(**common), train_dataset=data,
                                       loss=loss, callbacks=callbacks)
    trainer.train()
    return trainer


def cut_vocabulary(folder: Path, texts) -> int:
    """Cut the saved BERT model in `folder` (its tokenizer.json, word embeddings and any masked-LM head) to the
    special tokens and the tokens of `texts`, each keeping its own rows: on those texts the model's outputs, and what
    training does to them, are the whole vocabulary's; a training step no longer updates (nor the optimizer
    walks) 30522 rows of which a batch reads a few dozen. Returns the vocabulary's new size."""
    import json

    from safetensors.torch import load_file, save_file
    from tokenizers import Tokenizer

    path = folder / "tokenizer.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    tokenizer = Tokenizer.from_file(str(path))
    keep = sorted({token["id"] for token in spec["added_tokens"]} |
                  {i for text in texts for i in tokenizer.encode(text).ids})
    new_id = {old: new for new, old in enumerate(keep)}
    token_of = {i: token for token, i in spec["model"]["vocab"].items()}
    spec["model"]["vocab"] = {token_of[old]: new for old, new in new_id.items()}
    for token in spec["added_tokens"]:
        token["id"] = new_id[token["id"]]
    for token in spec["post_processor"]["special_tokens"].values():
        token["ids"] = [new_id[i] for i in token["ids"]]
    if spec.get("padding"):
        spec["padding"]["pad_id"] = new_id[spec["padding"]["pad_id"]]
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    if (folder / "vocab.txt").exists():
        (folder / "vocab.txt").write_text("".join(f"{token_of[old]}\n" for old in keep), encoding="utf-8")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    weights = load_file(str(folder / "model.safetensors"))
    for name, tensor in weights.items():  # the word embeddings, and a masked-LM head's rows and bias
        if tensor.shape[0] == config["vocab_size"]:
            weights[name] = tensor[keep].contiguous()
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config["vocab_size"] = len(keep)
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return len(keep)


def train_check_model(kind: str, folder: Path, texts) -> Path:
    """What `precheck train-check` trains in the tests: a `kind` ("sentence-transformer" or "cross-encoder")
    of MiniLM's first two layers, its real weights, the vocabulary cut to the tokens of `texts` (the training
    rows): each mode's steps cost a fraction of the whole model's, and learn as they would on it."""
    if kind != "sentence-transformer":
        return minilm_folder(kind, folder, texts=texts)
    from fixture_models import build_two_layer_minilm

    build_two_layer_minilm(folder)
    cut_vocabulary(folder, texts)
    return folder
