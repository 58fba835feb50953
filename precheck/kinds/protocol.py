"""What a model kind must provide: the contract between kinds/ and the scan, diagnosis, fixes and
views, which ask the kind instead of guessing it from the report (docs/architecture.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol


class Kind(Protocol):
    """One kind of sentence-transformers model (embedder, cross-encoder, sparse or multi-vector encoder)."""

    name: ClassVar[str]  # as the report, --kind and [tool.precheck] spell it
    class_name: ClassVar[str]  # the sentence-transformers class that loads it
    run_call: ClassVar[str]  # the line of user code that runs it, for snippets
    run_method: ClassVar[str]  # the method run_call calls (takes the encode options)
    items_label: ClassVar[str]  # "texts" or "pairs": what one probe item is
    probe_option: ClassVar[str]  # the file option that replaces the built-in items: "texts" or "pairs"
    # The figures its runs are measured by: "cosine" (min/mean cosine per item), "score" (Spearman
    # and max |diff| of scores), "terms" (top-k terms kept, active dimensions).
    figures: ClassVar[tuple[str, ...]]
    # Whether run()'s outputs are the scores themselves ([items, labels], the first label ranks): a
    # drift diagnosis then counts the ties half precision makes of them (diagnosis/diagnose.py).
    outputs_are_scores: ClassVar[bool]
    # Whether its outputs are one dense embedding per text, which --storage quantizes and searches.
    dense_embeddings: ClassVar[bool]
    # Whether the serving advice (engine/serving.py) covers it: which servers take it is verified.
    served: ClassVar[bool]
    # The constructor argument that sets its window ("max_length"), or None when --max-seq-length
    # is set on the loaded model instead (loading/load_arguments.py, repair/plans.py's snippets).
    max_length_argument: ClassVar[str | None]
    # How `precheck train-check` trains it (training/): "scores" (the pair's logit, binary
    # cross-entropy, through the transformers model under the wrapper), "embeddings" (cosine of the
    # two texts' embeddings, MSE: CosineSimilarityLoss), or None: train-check does not train it.
    trains_by: ClassVar[str | None]
    # The transformers head (architecture class-name suffix) a plain checkpoint of this kind carries,
    # and what it is, for a folder without modules.json (loading/raw_checkpoint.py); "" for none.
    head_suffix: ClassVar[str]
    head_words: ClassVar[str]
    # text-embeddings-inference's --pooling for this kind when it is not the model's own dense pooling
    # ("splade" for SPLADE sparse encoders), or None; servers with no such mode are "not verified".
    tei_pooling: ClassVar[str | None]
    # How --eval scores a labelled set with it (evaluation/kind_runs.py): True when queries and documents
    # are encoded apart and each query is scored against the whole corpus (eval_encode, eval_scores);
    # False when the model scores each (query, document) pair itself, so that each query reranks its
    # candidates (evaluation/rerank.py, eval_pair_scores).
    eval_ranks_corpus: ClassVar[bool]
    # How --eval also measures the installed library's own scoring of this kind's half-precision outputs
    # against float32 scoring (ties, the metric under each): "similarity" (the model's similarity on its
    # embeddings, evaluation/scoring_precision.py), "predict" (predict()'s activation, predict_scoring.py),
    # or None (not measured yet).
    eval_stack_scoring: ClassVar[str | None]

    # From `figures`, by kinds/figures.py's ReadsFigures, which every kind mixes in:
    def headline_value(self, result: Any) -> float | None:
        """The figure a run is headlined by (Spearman when it has scores, else min cosine), None
        when it was not measured: the ci table's column, the defaults' load-against-cast comparison."""

    def headline(self, result: Any) -> str:
        """That figure in words ("Spearman 0.9990", "min cosine 0.999990"): verdicts, fixes, serving."""

    def verdict_figures(self, result: Any) -> str:
        """A passing run's verdict line: the headline, then the kind's other figures."""

    def api_shape(self) -> tuple[str, str]:
        """(the nn.Module behind the loaded object in user code, its class) for snippets."""

    def default_items(self, model: Any) -> list:
        """The built-in probe items for this loaded model."""

    def read_items(self, path: Path) -> list:
        """Probe items from the user's file (--texts or --pairs)."""

    def run(self, model: Any, items: list, batch_size: int, **encode_options: Any) -> tuple[Any, float]:
        """(outputs as one float32 tensor, seconds): the model run as users run it."""

    def compare(self, reference: Any, candidate: Any, items: list) -> Any:
        """The figures of `candidate` against the float32 `reference` (compare.py's Comparison)."""

    def token_count(self, model: Any, item: Any) -> int:
        """How many tokens the model sees for one item (long items reach overflow first)."""

    def window(self, model: Any) -> int | None:
        """The tokens the model takes per item (max_seq_length, max_length); longer items are cut."""

    def token_lengths(self, model: Any, items: list) -> list[int]:
        """Each item's tokens before any cut (a pair's two sides together, or its longer side when
        they are encoded apart): the report says which items the window cut (engine/moved.py)."""

    def eval_encode(self, model: Any, texts: list[str], role: str, batch_size: int, encode_kwargs: dict) -> Any:
        """--eval's texts as this kind scores them, in float32 (role: "query", "document", or "" for a
        scored pair's sentence): kinds/eval_scoring.py's dense rows, sparse rows or token vectors."""

    def eval_scores(self, queries: Any, documents: Any, pairwise: bool = False) -> Any:
        """float32 scores (a torch tensor) of eval_encode's query rows against every document row
        ([queries, documents]), or with `pairwise` of row i against row i."""

    def eval_pair_scores(self, model: Any, pairs: list, batch_size: int, encode_kwargs: dict) -> Any:
        """Each (text, text) pair's score, as --eval ranks and correlates it (one number per pair)."""
