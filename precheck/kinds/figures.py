"""How a kind's runs read in words, from the figures it is measured by (Kind.figures): the headline
figure a verdict, a fix or the ci table shows, and a passing run's verdict line."""
from __future__ import annotations

from ..compare.sparse import TOP_K

# The headline a kind's figures give, in order of preference: scores rank, so a kind with scores is
# headlined by their rank correlation; a kind with cosines only by the worst cosine.
_HEADLINES = (("score", "spearman", "Spearman {:.4f}"), ("cosine", "min_cosine", "min cosine {:.6f}"))


class ReadsFigures:
    """The wording every kind shares, driven by its own `figures`; each kind mixes it in."""

    figures: tuple[str, ...]

    def _headlines(self) -> list[tuple[str, str]]:
        return [(field, text) for figure, field, text in _HEADLINES if figure in self.figures]

    def headline_value(self, result) -> float | None:
        return next((getattr(result, field) for field, _ in self._headlines()
                     if getattr(result, field) is not None), None)

    def headline(self, result) -> str:
        headlines = self._headlines()
        field, text = next(((f, t) for f, t in headlines if getattr(result, f) is not None), headlines[-1])
        return text.format(getattr(result, field))

    def verdict_figures(self, result) -> str:
        scores = "score" in self.figures
        parts = [self.headline(result)]
        if scores:
            parts.append(f"max |score diff| {result.max_abs_diff:.2e}")
            if "cosine" in self.figures and result.min_cosine is not None:
                # Scores and per-token vectors both (multi-vector encoders): the cosine is a token's.
                parts.append(f"min token cosine {result.min_cosine:.6f}")
        if result.top1_agreement is not None:
            parts.append(f"top passage kept for {result.top1_agreement:.0%} of queries" if scores
                         else f"top-1 agreement {result.top1_agreement:.0%}")
        if "terms" in self.figures and result.topk_overlap is not None:
            parts.append(f"top-{TOP_K} terms kept {result.topk_overlap:.0%} (worst text), "
                         f"active dims change up to {result.active_dims_change:.1%}")
        return ", ".join(parts)
