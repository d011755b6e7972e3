"""The calibrated evidence decision: when do lexical signals mean a policy states a duty?

Why: the evidence rules of ``agents.analysis`` (phrase match, elements, key element,
frequency) are good at finding the passage about a requirement and poor at telling a
policy that *does* something from one that *mentions* it: a list of topics ("due
diligence covers BCP/DR capability, staff qualification ..."), a plan for later, a
passing remark in a document about something else. Independent authors' labeled sets
(``tests/eval``) showed the rules crediting 40-50 % too much on such documents.

What separates the two is mostly *focus*, which hand-set thresholds cannot weigh against
each other: is the requirement central to the document that carries its evidence (its
best BM25 score against the document's best), are neighbouring duties of the same article
also evidenced there, is the section heading about it, is the quoted sentence one
statement or a comma list, is the passage evidence for many requirements at once. A
logistic regression over these signals, fitted on the tuning sets only
(``scripts/train_evidence_model.py``), weighs them; its coefficients are data in
``agents/data/evidence_model.json`` and every decision can be explained as the signed
contribution of each signal, which the assessment's rationale shows.

It is deterministic (a dot product), needs no model download and runs by default; the
rule decision is one of its inputs, so it refines the rules rather than replacing them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from dora.errors import ConfigurationError

DEFAULT_MODEL_PATH = Path(__file__).parent / "data" / "evidence_model.json"
#: the model fitted with the semantic signals too, used when the optional semantic
#: matcher runs (``analyze(..., semantic=...)``); the default analysis never reads it
SEMANTIC_MODEL_PATH = Path(__file__).parent / "data" / "evidence_model_semantic.json"


@dataclass
class Signals:
    """What the lexical analysis saw for one requirement, as numbers (the model's input).

    Per-requirement signals come from ``_assess``; the focus signals (``bm25_*``,
    ``same_article``, ``document_found``, ``article_share``, ``shared``) need every
    requirement's result and are filled in afterwards, per *evidence document* (the
    document whose passage scores best for the requirement), so a folder of policies is
    judged document by document as the labeled sets are.
    """

    #: the rules' decision: credited at all, and fully
    rule_credited: float = 0.0
    rule_covered: float = 0.0
    #: the rules' score and best phrase match (share of a search phrase's weighted terms)
    score: float = 0.0
    relevance: float = 0.0
    #: key element shown together in one sentence window; share of elements shown
    key_shown: float = 0.0
    elements: float = 0.0
    #: the requirement has a frequency and the text states none or a slower one
    frequency_short: float = 0.0
    #: passages at or above the on-topic relevance, and at or above 0.8
    on_topic: float = 0.0
    on_topic_strong: float = 0.0
    #: the best passage: share of matched terms in its heading / in the quoted sentence
    heading_share: float = 0.0
    quote_share: float = 0.0
    #: the quoted sentence: commas per ten words (lists), a colon, a number with a unit,
    #: a frequency, an obligation verb, a named role, log length in words, a table row
    quote_commas: float = 0.0
    quote_colon: float = 0.0
    quote_number: float = 0.0
    quote_frequency: float = 0.0
    quote_verb: float = 0.0
    quote_role: float = 0.0
    quote_length: float = 0.0
    quote_table: float = 0.0
    #: the quoted sentence names another document (elided as ``[…]``): "patches are
    #: deployed according to the […]" leans on that document for the substance
    quote_reference: float = 0.0
    #: the best passage sits under a scope, purpose or introduction heading
    heading_scope: float = 0.0
    #: log of how many other requirements the best passage is on-topic evidence for
    shared: float = 0.0
    #: log length of the best passage in tokens
    passage_length: float = 0.0
    #: the requirement's best BM25 score in its evidence document, relative to the best
    #: requirement's there, and the share of requirements that score higher there
    bm25_relative: float = 0.0
    bm25_rank: float = 1.0
    #: no passage reached the on-topic bar: the signals describe the closest one below it
    weak_evidence: float = 0.0
    #: ... and further off still: no search phrase matched half its terms, but the key
    #: words of the duty stand together in one sentence window of the passage
    keyed_weak: float = 0.0
    #: share of the evidence document's passages that use ICT wording (an AML or claims
    #: policy that mentions a system now and then is not ICT evidence)
    document_ict_share: float = 0.0
    #: the evidence document's voice: share of its passages that speak as "we" (a
    #: founder's or an engineering team's pages rather than "the Bank shall"); the
    #: labelers credit plain statements of practice there more readily than the rule
    #: signals alone suggest
    document_we_share: float = 0.0
    #: the evidence document's title says it is of the kind the requirement's duty
    #: belongs in (the incident procedure for an incident duty), or of another kind only
    kind_match: float = 0.0
    kind_other: float = 0.0
    #: the requirement states a frequency; it comes from RTS 2024/1774
    has_frequency: float = 0.0
    rts: float = 0.0
    #: other requirements of the same article the rules credit in the evidence document
    #: (log), all requirements credited there (log), and the first as a share of the second
    same_article: float = 0.0
    document_found: float = 0.0
    article_share: float = 0.0
    #: only with the optional semantic matcher (all-MiniLM-L6-v2): the closest sentence of
    #: the candidate passages to the requirement's obligation, its cosine similarity, the
    #: margin over the best *other* requirement on that sentence (< 0: the sentence is
    #: about another duty) and log(1 + how many requirements are closer to it). Meaning,
    #: not words: "we go through the incident numbers every month" is close to reviewing
    #: incident trends although it shares few words with it.
    semantic_similarity: float = field(default=0.0, metadata={"semantic": True})
    semantic_margin: float = field(default=-1.0, metadata={"semantic": True})
    semantic_rank: float = field(default=4.0, metadata={"semantic": True})
    #: how often this requirement's candidate evidence was a duty met in the labeled
    #: sets (smoothed rate): some requirements are mostly met where they are matched
    #: (a backup frequency), others mostly mentioned (the management body's duties).
    #: Filled from the model (``EvidenceModel.observe``), not by the analysis.
    requirement_prior: float = 0.0
    #: words the model may weigh beside the numeric signals (not part of the vector):
    #: the stemmed words of the quoted evidence ("plan", "provid", "shall"), those of
    #: its section heading as ``h:stem``, and the requirement's article as ``a:DORA Art. 9``
    #: (some articles are credited more readily than others by the labelers)
    terms: frozenset[str] = field(default_factory=frozenset, metadata={"numeric": False})

    @classmethod
    def names(cls, *, semantic: bool = True) -> tuple[str, ...]:
        """The numeric signals; ``semantic=False`` leaves out those only the semantic
        matcher fills (what the default, lexical model is fitted on)."""
        return tuple(
            f.name
            for f in fields(cls)
            if f.metadata.get("numeric", True) and (semantic or not f.metadata.get("semantic"))
        )

    def vector(self, names: tuple[str, ...]) -> np.ndarray:
        return np.array([getattr(self, n) for n in names], dtype=np.float64)


def log_count(n: float) -> float:
    return math.log1p(max(n, 0.0))


@dataclass(frozen=True)
class EvidenceModel:
    """A standardised logistic regression with a decision threshold (see module doc)."""

    version: str
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    trained_on: tuple[str, ...] = ()
    metrics: dict[str, Any] | None = None
    #: log-odds weight of each term of ``Signals.terms`` that the model knows
    words: dict[str, float] = field(default_factory=dict)
    #: smoothed per-requirement rate (``Signals.requirement_prior``) and the rate for a
    #: requirement the labeled sets never matched
    priors: dict[str, float] = field(default_factory=dict)
    prior_default: float = 0.0

    def observe(self, requirement_id: str, signals: Signals) -> Signals:
        """Fill the signals the model itself knows about a requirement (its prior rate)."""
        signals.requirement_prior = self.priors.get(requirement_id, self.prior_default)
        return signals

    def probability(self, signals: Signals) -> float:
        z = (signals.vector(self.features) - self.mean) / self.scale
        logit = float(z @ self.coef) + self.intercept
        logit += sum(self.words.get(t, 0.0) for t in signals.terms)
        return 1.0 / (1.0 + math.exp(-max(min(logit, 40.0), -40.0)))

    def contributions(self, signals: Signals) -> list[tuple[str, float]]:
        """Each signal's (and each weighed quote word's, as ``word:stem``) signed push on
        the log-odds, largest first."""
        z = (signals.vector(self.features) - self.mean) / self.scale
        parts = [(n, float(c)) for n, c in zip(self.features, z * self.coef, strict=True)]
        parts += [(f"word:{t}", self.words[t]) for t in sorted(signals.terms & self.words.keys())]
        return sorted(parts, key=lambda p: -abs(p[1]))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "features": list(self.features),
            "mean": [round(float(x), 8) for x in self.mean],
            "scale": [round(float(x), 8) for x in self.scale],
            "coef": [round(float(x), 8) for x in self.coef],
            "intercept": round(self.intercept, 8),
            "threshold": round(self.threshold, 4),
            "trained_on": list(self.trained_on),
            "metrics": self.metrics or {},
            "prior_default": round(self.prior_default, 6),
            "priors": {k: round(v, 6) for k, v in sorted(self.priors.items())},
            "words": {k: round(v, 6) for k, v in sorted(self.words.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], origin: str = "<data>") -> EvidenceModel:
        try:
            features = tuple(str(f) for f in data["features"])
            unknown = set(features) - set(Signals.names())
            if unknown:
                raise ValueError(f"unknown signals {sorted(unknown)}")
            arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "coef")]
            if any(a.shape != (len(features),) for a in arrays):
                raise ValueError("mean, scale and coef must have one value per feature")
            if np.any(arrays[1] <= 0):
                raise ValueError("scale must be positive")
            return cls(
                version=str(data["version"]),
                features=features,
                mean=arrays[0],
                scale=arrays[1],
                coef=arrays[2],
                intercept=float(data["intercept"]),
                threshold=float(data["threshold"]),
                trained_on=tuple(data.get("trained_on", ())),
                metrics=dict(data.get("metrics", {})),
                words=_weights(data.get("words", {}), "words"),
                priors=_weights(data.get("priors", {}), "priors"),
                prior_default=float(data.get("prior_default", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid evidence model {origin}: {exc}") from exc


def _weights(value: Any, name: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a mapping of names to numbers")
    return {str(k): float(v) for k, v in value.items()}


@lru_cache(maxsize=4)
def load_evidence_model(path: str | None = None) -> EvidenceModel:
    """The evidence model at ``path`` (default: the one shipped with the analyzer)."""
    source = Path(path) if path else DEFAULT_MODEL_PATH
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read evidence model {source}: {exc}") from exc
    return EvidenceModel.from_json(data, origin=str(source))
