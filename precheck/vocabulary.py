"""The names the documents are written in, which the schemas enumerate: the model kinds, the attention
implementations, and which report figure each threshold gates. The code that acts on them imports them from here.
"""
from __future__ import annotations

# As reports and --kind spell them; kinds/ has one class per name, in this order (tests/kinds/test_kind_contract.py).
KIND_NAMES = ("sentence-transformer", "cross-encoder", "sparse-encoder", "multi-vector-encoder")
ATTN_IMPLEMENTATIONS = ("eager", "sdpa", "flash_attention_2")
# Each figure a threshold gates, the option that holds its threshold, and how a miss reads, in the
# order a drift's verdict names them. A figure a run did not measure (None) gates nothing.
# docs/schemas/report.schema.json marks each of these figures with "x-precheck-gate" (data/schema/).
GATES = (("top1_agreement", "min_top1_agreement", "top-1 agreement {} < {}"),
         ("spearman", "min_spearman", "Spearman {} < {}"),
         ("min_cosine", "min_cosine", "min cosine {} < {}"))
# Storage (--storage): recall@10 after rescoring where the index rescores, plain recall@10 where
# nothing is rescored (float32, float16), against StorageCheck.min_recall.
STORAGE_GATES = (("recall_at_10_rescored", "min_recall"), ("recall_at_10", "min_recall"))
