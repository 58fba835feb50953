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
