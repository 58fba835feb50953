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


def train(model, output: Path, callbacks: list, steps: int = 6, save_steps: int = 2):
    """Fine-tune `model` for `steps` steps of 4 pairs (MultipleNegativesRankingLoss), saving every `save_steps`."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    data = Dataset.from_dict({"anchor": [a for a, _ in PAIRS], "positive": [p for _, p in PAIRS]})
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output), max_steps=steps, per_device_train_batch_size=4, learning_rate=1e-4,
        save_strategy="steps", save_steps=save_steps, logging_steps=1, report_to="none", seed=0,
        disable_tqdm=True, use_cpu=True)
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


def minilm_object(kind: str, folder: Path, layers: int = 2):
    """A `kind` model of MiniLM's first `layers` layers (its real weights), saved to `folder` and loaded
    from there, as a user loads the model they fine-tune. A cross-encoder's head and a SPLADE model's
    masked-LM transform are fresh (seed 0)."""
    import torch
    import transformers
    from sentence_transformers import CrossEncoder, SentenceTransformer, SparseEncoder
    from transformers import AutoTokenizer, BertForMaskedLM

    from fixture_models import plain_model_path
    from sparse_models import _splade

    torch.manual_seed(0)
    layered = {"num_hidden_layers": layers}
    if kind == "sentence-transformer":
        SentenceTransformer(str(plain_model_path()), device="cpu", config_kwargs=layered).save(str(folder))
        return SentenceTransformer(str(folder), device="cpu")
    if kind == "cross-encoder":
        CrossEncoder(str(plain_model_path()), num_labels=1, device="cpu", config_kwargs=layered).save(str(folder))
        return CrossEncoder(str(folder), device="cpu")
    transformers.logging.set_verbosity_error()  # the fresh head's "newly initialized" report is expected
    BertForMaskedLM.from_pretrained(str(plain_model_path()), **layered).save_pretrained(str(folder / "mlm"))
    AutoTokenizer.from_pretrained(str(plain_model_path())).save_pretrained(str(folder / "mlm"))
    _splade(folder / "mlm").save(str(folder / "splade"))
    return SparseEncoder(str(folder / "splade"), device="cpu")


def train_kind(kind: str, model, output: Path, callbacks: list, steps: int = 4, save_steps: int = 2):
    """`train` with the trainer, arguments and a loss of `kind`'s own: SentenceTransformerTrainer
    (MultipleNegativesRankingLoss), CrossEncoderTrainer (BinaryCrossEntropyLoss on labelled pairs) or
    SparseEncoderTrainer (SpladeLoss over SparseMultipleNegativesRankingLoss)."""
    if kind == "sentence-transformer":
        return train(model, output, callbacks, steps, save_steps)
    from datasets import Dataset

    common = dict(output_dir=str(output), max_steps=steps, per_device_train_batch_size=4, learning_rate=1e-4,
                  save_strategy="steps", save_steps=save_steps, logging_steps=1, report_to="none", seed=0,
                  disable_tqdm=True, use_cpu=True)
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
