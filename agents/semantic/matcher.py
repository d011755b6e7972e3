"""A semantic second opinion on the lexical policy analysis.

Why: the lexical analyzer finds the right passages but cannot tell a sentence that
*states* an obligation from one that merely *mentions* its words (a list of topics, a
definition, a reference to another document); and it misses terse or paraphrased
statements whose words are not the catalog's. A sentence embedding compares meaning:
each requirement's obligation (our own words) against each sentence of the passages the
lexical stage chose (its evidence, or its closest ICT passages when it found none).

What it may change, with the similarity and the sentence in the rationale:

* ``covered``/``partial`` -> ``missing`` when the closest sentence of the evidence is
  clearly closer to another requirement of the catalog (``reject_margin``): the match
  was on words, not on this duty;
* ``missing`` -> ``partial`` when a sentence of the closest ICT passages is closer to
  this requirement than to any other and similar enough (``accept_margin``,
  ``accept_similarity``), quoted as the evidence. Never ``covered``: a paraphrase found
  by similarity is shown for a person to confirm, not counted as full coverage.

The thresholds were chosen on the tuning sets only (``bench/analyzer_quality.py
--semantic``); the held-out sets were never used to pick them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.catalog import Catalog, Requirement
from agents.contracts import Evidence, RequirementAssessment
from agents.semantic.minilm import F32, MiniLMEncoder

#: reject lexical coverage when the evidence's closest sentence is this much closer to
#: another requirement than to this one (chosen on the tuning sets)
REJECT_MARGIN = -0.30
#: accept a missing requirement when one sentence is closer to it than to any other
#: requirement by this margin ...
ACCEPT_MARGIN = 0.05
#: ... and at least this similar to its obligation (chosen on the tuning sets)
ACCEPT_SIMILARITY = 0.60
#: sentences whose embeddings are kept between calls (a policy set has a few thousand)
CACHE_SIZE = 50_000


def _units(text: str) -> list[str]:
    from agents.analysis import _units as units

    return [u for u, _structured in units(text) if len(u) >= 12]


@dataclass(frozen=True)
class Closest:
    """The sentence of the passages closest to a requirement, and how it ranks."""

    similarity: float
    #: similarity minus the best *other* requirement's on the same sentence (< 0: the
    #: sentence is closer to another requirement)
    margin: float
    #: how many requirements are closer to that sentence than this one (0: the closest)
    rank: int
    sentence: str
    passage: Any


class SemanticMatcher:
    """Refines one requirement assessment at a time; thread-safe, caches embeddings.

    Raw similarity alone separates poorly (a sentence about incident *reporting* is
    fairly similar to the incident *classification* duty); what separates is whether the
    sentence is closer to this requirement than to every other one in the catalog, so
    each sentence is compared with all requirements at once.
    """

    def __init__(
        self,
        encoder: MiniLMEncoder,
        catalog: Catalog,
        *,
        reject_margin: float = REJECT_MARGIN,
        accept_margin: float = ACCEPT_MARGIN,
        accept_similarity: float = ACCEPT_SIMILARITY,
    ) -> None:
        self.encoder = encoder
        self.catalog_version = catalog.version
        self.reject_margin = reject_margin
        self.accept_margin = accept_margin
        self.accept_similarity = accept_similarity
        reqs = catalog.requirements
        self._index = {r.id: i for i, r in enumerate(reqs)}
        # the duty in our words and its title: what a sentence stating it resembles
        self._obligations = encoder.encode([r.obligation for r in reqs])
        self._titles = encoder.encode([r.title for r in reqs])
        self._sentences: OrderedDict[str, F32] = OrderedDict()
        self._lock = threading.Lock()

    def _sentence_vectors(self, texts: list[str]) -> F32:
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._sentences]
        if todo:
            encoded = self.encoder.encode(todo)
            with self._lock:
                for text, vec in zip(todo, encoded, strict=True):
                    self._sentences[text] = vec
                while len(self._sentences) > CACHE_SIZE:
                    self._sentences.popitem(last=False)
        with self._lock:
            return np.stack([self._sentences[t] for t in texts])

    def closest(self, req: Requirement, passages: Sequence[Any]) -> Closest | None:
        """The sentence of ``passages`` closest to ``req``, or None without sentences."""
        j = self._index.get(req.id)
        units = [(u, p) for p in passages for u in _units(p.text)]
        if j is None or not units:
            return None
        vectors = self._sentence_vectors([u for u, _ in units])
        sims = np.maximum(vectors @ self._obligations.T, vectors @ self._titles.T)
        column = sims[:, j]
        k = int(np.argmax(column))
        row = sims[k]
        others = np.delete(row, j)
        return Closest(
            similarity=float(column[k]),
            margin=float(column[k] - others.max()) if others.size else 1.0,
            rank=int((others > column[k]).sum()),
            sentence=units[k][0],
            passage=units[k][1],
        )

    def refine(
        self, req: Requirement, assessment: RequirementAssessment, passages: Sequence[Any]
    ) -> RequirementAssessment:
        if assessment.coverage == "not_applicable":
            return assessment
        best = self.closest(req, passages)
        if best is None:
            return assessment
        quoted = best.sentence if len(best.sentence) <= 200 else best.sentence[:197] + "..."
        if assessment.coverage in ("covered", "partial") and best.margin < self.reject_margin:
            return assessment.model_copy(
                update={
                    "coverage": "missing",
                    "score": round(min(assessment.score, 0.35), 4),
                    "rationale": (
                        f"{assessment.rationale} Semantic check: the closest sentence of the "
                        f"matching text is about another requirement ({best.rank} are closer "
                        f"to it; similarity {best.similarity:.2f}: '{quoted}')."
                    ),
                }
            )
        if (
            assessment.coverage == "missing"
            and best.rank == 0
            and best.margin >= self.accept_margin
            and best.similarity >= self.accept_similarity
        ):
            evidence = Evidence(
                document=best.passage.document,
                location=best.passage.location,
                quote=best.sentence[:300],
                reason=(
                    f"semantic match: closer to this obligation than to any other requirement "
                    f"(similarity {best.similarity:.2f}, margin {best.margin:.2f})"
                ),
                score=round(best.similarity, 4),
            )
            return assessment.model_copy(
                update={
                    "coverage": "partial",
                    "score": round(max(assessment.score, 0.5), 4),
                    "evidence": [evidence],
                    "rationale": (
                        f"{assessment.rationale} Semantic check: a sentence states this "
                        f"obligation in other words (similarity {best.similarity:.2f}); "
                        "confirm it."
                    ),
                }
            )
        return assessment


_default: SemanticMatcher | None = None
_default_lock = threading.Lock()


def default_matcher(catalog: Catalog) -> SemanticMatcher | None:
    """The process-wide matcher for ``catalog`` on the installed model (None: no model)."""
    global _default
    from agents.semantic.minilm import default_encoder

    with _default_lock:
        if _default is None or _default.catalog_version != catalog.version:
            encoder = default_encoder()
            if encoder is None:
                return None
            _default = SemanticMatcher(encoder, catalog)
        return _default


def reset_default_matcher() -> None:
    """Forget the process-wide matcher (tests, or after changing the model folder)."""
    global _default
    with _default_lock:
        _default = None
