"""Fit the analyzer's evidence model on the tuning sets and write agents/data/evidence_model.json.

Why a script and not a notebook: the model is data the analyzer ships, so refitting it
must be one repeatable command whose figures land in the file's ``metrics``.

What it does:

1. runs the rule analysis (``agents.analysis.analysis_signals``) over every document of
   the tuning sets (``bench/analyzer_quality.py``: every set not held out, except the
   German one, see ``NOT_FITTED``), one document
   at a time as they are labeled, and pairs each applicable requirement's signals with
   its label;
2. leave-one-set-out: for each tuning set (each written by a different author), fits on
   the others and predicts it, so the threshold is chosen on predictions for documents
   the fit never saw (the threshold with the widest margin to the quality goal over
   those predictions, see ``_threshold``);
3. fits the final model on all tuning sets and writes it with those figures.

With ``--semantic`` it fits the model the semantic mode uses
(``agents/data/evidence_model_semantic.json``): the same, plus the signals of the
optional semantic matcher (needs its model: ``scripts/setup.sh --semantic``; about three
times slower, the embeddings are computed for every candidate passage).

The held-out sets are never read. Needs scikit-learn (``pip install -e '.[dev]'``).

    .venv/bin/python scripts/train_evidence_model.py [--dry-run] [--semantic]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agents.analysis import SemanticCheck, analysis_signals, semantic_check  # noqa: E402
from agents.catalog import load_catalog  # noqa: E402
from agents.evidence_model import (  # noqa: E402
    DEFAULT_MODEL_PATH,
    SEMANTIC_MODEL_PATH,
    EvidenceModel,
    Signals,
)
from bench.analyzer_quality import (  # noqa: E402
    GOAL_PRECISION,
    GOAL_RECALL,
    HELD_OUT,
    SETS,
    labeled_documents,
)

#: tuning sets measured but not fitted on: dev7 is written mostly in German, and its
#: misses come from vocabulary the English catalog does not have, not from how the
#: signals are weighed; fitting on it only lowers the threshold for English documents
NOT_FITTED = ("dev7",)
#: L2 strength (inverse) of the logistic regression; chosen by leave-one-set-out F1 (0.05: 0.815)
C = 0.1
#: value of a quote-word feature when present (its scale against the standardised
#: numeric signals, so C regularises words harder than signals); chosen like C
WORD_VALUE = 0.7
#: a quote word is weighed only when quotes of this many tuning sets (authors) and this
#: many candidate rows use it: no entity names, no one author's house style
WORD_MIN_SETS, WORD_MIN_ROWS = 3, 5
#: pseudo-count pulling a requirement's rate towards the overall rate
PRIOR_SMOOTHING = 5.0
VERSION = "11"
#: the semantic mode's model: the same fit with the semantic matcher's signals
SEMANTIC_VERSION = "11-semantic"
#: the signals the analysis observes; the model appends the requirement prior it supplies
OBSERVED = tuple(n for n in Signals.names(semantic=False) if n != "requirement_prior")
#: ... and with the semantic matcher
OBSERVED_SEMANTIC = tuple(n for n in Signals.names() if n != "requirement_prior")


@dataclass
class _Set:
    """One tuning set's candidate rows: numeric signals, labels, requirement ids, quote words."""

    x: np.ndarray
    y: np.ndarray
    ids: list[str]
    terms: list[frozenset[str]]
    creditable: np.ndarray
    #: per requirement: creditable rows (``seen``) and those labeled covered (``hits``);
    #: counted once, so the priors of any group of sets are sums, not a pass over rows
    seen: Counter[str] = field(default_factory=Counter)
    hits: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        for rid, label, ok in zip(self.ids, self.y, self.creditable, strict=True):
            if ok:
                self.seen[rid] += 1
                self.hits[rid] += int(label)


def _observed(semantic: SemanticCheck | None) -> tuple[str, ...]:
    """The signals fitted on: the semantic ones only when the matcher computes them."""
    return OBSERVED if semantic is None else OBSERVED_SEMANTIC


def _rows(eval_dir: Path, semantic: SemanticCheck | None = None) -> _Set:
    catalog = load_catalog()
    names = _observed(semantic)
    xs: list[np.ndarray] = []
    ys: list[int] = []
    ids: list[str] = []
    terms: list[frozenset[str]] = []
    for doc in labeled_documents(eval_dir, catalog):
        for rid, signals in analysis_signals(doc.documents, doc.profile, catalog, semantic):
            xs.append(signals.vector(names))
            ys.append(int(rid in doc.expected))
            ids.append(rid)
            terms.append(signals.terms)
    x = np.array(xs)
    # the analyzer can only credit a requirement it has a passage to quote for
    columns = [names.index(n) for n in ("rule_credited", "on_topic", "weak_evidence")]
    return _Set(x, np.array(ys), ids, terms, np.asarray((x[:, columns] > 0).any(axis=1)))


def _counts(sets: list[_Set]) -> tuple[Counter[str], Counter[str]]:
    """(hits, seen) per requirement over ``sets``."""
    hits: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for one in sets:
        hits.update(one.hits)
        seen.update(one.seen)
    return hits, seen


def _priors(hits: Counter[str], seen: Counter[str]) -> tuple[dict[str, float], float]:
    """Smoothed share of each requirement's creditable rows that are labeled as covered."""
    overall = sum(hits.values()) / max(sum(seen.values()), 1)
    rates = {
        rid: (hits[rid] + PRIOR_SMOOTHING * overall) / (seen[rid] + PRIOR_SMOOTHING) for rid in seen
    }
    return rates, overall


def _vocabulary(sets: list[_Set]) -> list[str]:
    in_sets: Counter[str] = Counter()
    in_rows: Counter[str] = Counter()
    for one in sets:
        words = set()
        for terms, ok in zip(one.terms, one.creditable, strict=True):
            if ok:
                in_rows.update(terms)
                words |= terms
        in_sets.update(words)
    return sorted(
        w for w, n in in_sets.items() if n >= WORD_MIN_SETS and in_rows[w] >= WORD_MIN_ROWS
    )


def _design(
    one: _Set, prior: np.ndarray, vocab: dict[str, int]
) -> tuple[np.ndarray, sparse.csr_matrix]:
    """(numeric signals with the prior appended, binary quote-word matrix).

    The word matrix is sparse: a quote has a handful of the vocabulary's words, and a
    dense matrix over every candidate row of every set made each fit slow and large."""
    rows: list[int] = []
    cols: list[int] = []
    for i, terms in enumerate(one.terms):
        for t in terms:
            if t in vocab:
                rows.append(i)
                cols.append(vocab[t])
    words = sparse.csr_matrix(
        (np.full(len(rows), WORD_VALUE), (rows, cols)), shape=(len(one.ids), len(vocab))
    )
    return np.column_stack([one.x, prior]), words


def _prior_column(one: _Set, hits: Counter[str], seen: Counter[str]) -> np.ndarray:
    """The requirement prior of each of ``one``'s rows, rated by the sets counted in
    ``hits`` and ``seen`` (never ``one`` itself)."""
    rates, overall = _priors(hits, seen)
    return np.array([rates.get(rid, overall) for rid in one.ids])


@dataclass
class _Fitted:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    words: dict[str, float]
    intercept: float

    def predict(self, numeric: np.ndarray, words: sparse.csr_matrix) -> np.ndarray:
        k = len(self.mean)
        z = (numeric - self.mean) / self.scale
        logit = z @ self.coef[:k] + words @ self.coef[k:] + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-logit)))


def _fit(train: list[_Set]) -> tuple[_Fitted, list[str]]:
    """Fit on ``train``; each set's prior column comes from the *other* training sets, so
    the prior's weight is learned as it will be used: on requirements rated by others."""
    from sklearn.linear_model import LogisticRegression

    vocab_list = _vocabulary(train)
    vocab = {w: i for i, w in enumerate(vocab_list)}
    hits, seen = _counts(train)
    # each set's prior is rated by the other training sets: the totals less its own counts
    parts = [_design(s, _prior_column(s, hits - s.hits, seen - s.seen), vocab) for s in train]
    numeric = np.vstack([p[0] for p in parts])
    words = sparse.vstack([p[1] for p in parts]).tocsr()
    y = np.concatenate([s.y for s in train])
    mean = numeric.mean(axis=0)
    scale = numeric.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    design = sparse.hstack([sparse.csr_matrix((numeric - mean) / scale), words]).tocsr()
    lr = LogisticRegression(C=C, max_iter=5000).fit(design, y)
    coef = lr.coef_[0]
    k = numeric.shape[1]
    word_weights = {w: float(coef[k + i] * WORD_VALUE) for w, i in vocab.items()}
    fitted = _Fitted(mean, scale, coef, word_weights, float(lr.intercept_[0]))
    return fitted, vocab_list


def _predict(fitted: _Fitted, vocab: list[str], one: _Set, others: list[_Set]) -> np.ndarray:
    numeric, words = _design(
        one, _prior_column(one, *_counts(others)), {w: i for i, w in enumerate(vocab)}
    )
    p = fitted.predict(numeric, words)
    return np.where(one.creditable, p, 0.0)


def _prf(y: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    truth = y.astype(bool)
    tp = int((truth & predicted).sum())
    fp = int((~truth & predicted).sum())
    fn = int((truth & ~predicted).sum())
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


#: the thresholds tried, on the leave-one-set-out predictions
THRESHOLDS = np.round(np.arange(0.15, 0.80, 0.01), 2)


def _threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold that leaves the widest margin to both halves of the quality goal.

    Why not the best F1: F1 is indifferent to trading a point of precision for a point of
    recall, but the goal is not: precision >= 0.85 *and* recall >= 0.80. The best-F1
    threshold of models 5 sat where leave-one-author-out precision was 0.838, below its
    target, with recall 0.041 above its own; fresh rounds then missed on precision, never
    on recall. So the threshold maximises the smaller of the two margins
    (``min(P - 0.85, R - 0.80)``), and F1 only breaks ties.
    """

    def margin(t: float) -> tuple[float, float]:
        precision, recall, f1 = _prf(y, p >= t)
        return round(min(precision - GOAL_PRECISION, recall - GOAL_RECALL), 4), f1

    return float(max(THRESHOLDS, key=margin))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print figures, write nothing")
    parser.add_argument(
        "--semantic",
        action="store_true",
        help="fit the semantic mode's model (with the semantic matcher's signals)",
    )
    parser.add_argument(
        "--sets",
        help="comma-separated tuning sets to use (default: all of them); for trying a "
        "change quickly, not for the model the analyzer ships",
    )
    args = parser.parse_args()
    tuning = [name for name in SETS if name not in HELD_OUT and name not in NOT_FITTED]
    if args.sets:
        chosen = [name.strip() for name in args.sets.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in tuning]
        if unknown or len(chosen) < 2:
            parser.error(
                f"--sets needs at least two tuning sets out of {', '.join(tuning)}"
                + (f"; not tuning sets: {', '.join(unknown)}" if unknown else "")
            )
        tuning = chosen
    semantic = semantic_check(load_catalog()) if args.semantic else None
    data = {name: _rows(SETS[name], semantic) for name in tuning}
    # leave one set (one author) out: out-of-fold probabilities for every tuning row
    oof: dict[str, np.ndarray] = {}
    for name in tuning:
        train = [data[n] for n in tuning if n != name]
        fitted, vocab = _fit(train)
        oof[name] = _predict(fitted, vocab, data[name], train)
    y_all = np.concatenate([data[n].y for n in tuning])
    p_all = np.concatenate([oof[n] for n in tuning])
    print("threshold  precision  recall  F1   (leave-one-set-out)")
    for t in THRESHOLDS[::3]:
        precision, recall, f1 = _prf(y_all, p_all >= t)
        print(f"  {t:.2f}      {precision:.3f}     {recall:.3f}  {f1:.3f}")
    threshold = _threshold(y_all, p_all)
    rules = np.concatenate([data[n].x[:, 0] for n in tuning]) > 0.5  # rule_credited
    metrics: dict[str, object] = {
        "threshold_chosen_on": "leave-one-set-out predictions",
        "threshold_rule": f"widest margin to the goal (precision >= {GOAL_PRECISION}, "
        f"recall >= {GOAL_RECALL}), then best F1",
    }
    rp, rr, rf = _prf(y_all, rules)
    lp, lr, lf = _prf(y_all, p_all >= threshold)
    metrics["rules"] = {"precision": round(rp, 3), "recall": round(rr, 3), "f1": round(rf, 3)}
    metrics["leave_one_set_out"] = {
        "precision": round(lp, 3),
        "recall": round(lr, 3),
        "f1": round(lf, 3),
        "per_set": {
            n: dict(
                zip(
                    ("precision", "recall", "f1"),
                    (round(v, 3) for v in _prf(data[n].y, oof[n] >= threshold)),
                    strict=True,
                )
            )
            for n in tuning
        },
    }
    print(f"rules alone          P {rp:.3f} R {rr:.3f} F1 {rf:.3f}")
    print(f"leave-one-set-out    P {lp:.3f} R {lr:.3f} F1 {lf:.3f}  (threshold {threshold:.2f})")
    for n in tuning:
        p, r, f = _prf(data[n].y, oof[n] >= threshold)
        print(f"  {n:8s} P {p:.3f} R {r:.3f} F1 {f:.3f}")
    sets = [data[n] for n in tuning]
    final, _ = _fit(sets)
    priors, overall = _priors(*_counts(sets))
    features = (*_observed(semantic), "requirement_prior")
    k = len(features)
    model = EvidenceModel(
        version=VERSION if semantic is None else SEMANTIC_VERSION,
        features=features,
        mean=final.mean,
        scale=final.scale,
        coef=final.coef[:k],
        intercept=final.intercept,
        threshold=threshold,
        trained_on=tuple(tuning),
        metrics=metrics,
        words={w: c for w, c in final.words.items() if abs(c) >= 0.01},
        priors=priors,
        prior_default=overall,
    )
    print("\nweights (standardised), largest first:")
    for name, weight in sorted(
        zip(model.features, model.coef, strict=True), key=lambda t: -abs(t[1])
    ):
        print(f"  {name:18s} {weight:+.3f}")
    ranked = sorted(model.words.items(), key=lambda t: -abs(t[1]))
    print(f"\nquote words ({len(model.words)}), largest first:")
    print("  " + ", ".join(f"{w} {c:+.2f}" for w, c in ranked[:30]))
    if not args.dry_run:
        path = DEFAULT_MODEL_PATH if semantic is None else SEMANTIC_MODEL_PATH
        path.write_text(json.dumps(model.to_json(), indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
