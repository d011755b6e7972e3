"""Meaning beside words for the policy analysis: the sentence closest to a duty.

Why: the lexical analyzer finds the right passages but cannot tell a sentence that
*states* an obligation from one that merely *mentions* its words (a list of topics, a
definition, a reference to another document); and it misses terse or paraphrased
statements whose words are not the catalog's. A sentence embedding compares meaning:
each requirement's obligation (our own words) against each sentence of the passages the
lexical stage chose (its evidence, or its closest ICT passages when it found none).

What it gives the analysis: for each requirement, the closest sentence, its similarity,
its margin over the best *other* requirement on that sentence and its rank among them
(:class:`Closest`). These are signals of the evidence model fitted for the semantic mode
(``agents/data/evidence_model_semantic.json``, ``scripts/train_evidence_model.py
--semantic``), which weighs them with the lexical ones: on the tuning sets they raise
leave-one-author-out F1 more than any lexical signal added since the model was built.
Hand-set accept and reject thresholds on similarity, tried first, traded precision for
recall one for one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.catalog import Catalog, Requirement
from agents.semantic.minilm import F32, MiniLMEncoder

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
    """Finds the sentence closest to a requirement; thread-safe, caches embeddings.

    Raw similarity alone separates poorly (a sentence about incident *reporting* is
    fairly similar to the incident *classification* duty); what separates is whether the
    sentence is closer to this requirement than to every other one in the catalog, so
    each sentence is compared with all requirements at once.
    """

    def __init__(self, encoder: MiniLMEncoder, catalog: Catalog) -> None:
        self.encoder = encoder
        self.catalog_version = catalog.version
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
