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
   the fit never saw (the threshold with the best F1 over those predictions);
3. fits the final model on all tuning sets and writes it with those figures.

The held-out sets are never read. Needs scikit-learn (``pip install -e '.[dev]'``).

    .venv/bin/python scripts/train_evidence_model.py [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agents.analysis import analysis_signals  # noqa: E402
from agents.catalog import load_catalog  # noqa: E402
from agents.evidence_model import DEFAULT_MODEL_PATH, EvidenceModel, Signals  # noqa: E402
from bench.analyzer_quality import HELD_OUT, SETS, labeled_documents  # noqa: E402

#: tuning sets measured but not fitted on: dev7 is written mostly in German, and its
#: misses come from vocabulary the English catalog does not have, not from how the
#: signals are weighed; fitting on it only lowers the threshold for English documents
NOT_FITTED = ("dev7",)
#: L2 strength (inverse) of the logistic regression; chosen by leave-one-set-out F1
C = 0.05
VERSION = "1"


def _rows(eval_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    catalog = load_catalog()
    names = Signals.names()
    xs: list[np.ndarray] = []
    ys: list[int] = []
    for doc in labeled_documents(eval_dir, catalog):
        for rid, signals in analysis_signals(doc.documents, doc.profile, catalog):
            xs.append(signals.vector(names))
            ys.append(int(rid in doc.expected))
    return np.array(xs), np.array(ys)


def _creditable(x: np.ndarray) -> np.ndarray:
    """Rows with a quotable passage: credited by the rules, on topic, or a weak match."""
    names = Signals.names()
    columns = [names.index(n) for n in ("rule_credited", "on_topic", "weak_evidence")]
    return np.asarray((x[:, columns] > 0).any(axis=1))


def _fit(x: np.ndarray, y: np.ndarray):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000)).fit(x, y)


def _prf(y: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    truth = y.astype(bool)
    tp = int((truth & predicted).sum())
    fp = int((~truth & predicted).sum())
    fn = int((truth & ~predicted).sum())
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print figures, write nothing")
    args = parser.parse_args()
    tuning = [name for name in SETS if name not in HELD_OUT and name not in NOT_FITTED]
    data = {name: _rows(SETS[name]) for name in tuning}
    # leave one set (one author) out: out-of-fold probabilities for every tuning row
    oof: dict[str, np.ndarray] = {}
    for name in tuning:
        x = np.vstack([data[n][0] for n in tuning if n != name])
        y = np.concatenate([data[n][1] for n in tuning if n != name])
        oof[name] = _fit(x, y).predict_proba(data[name][0])[:, 1]
    # the analyzer can only credit a requirement it has a passage to quote for
    for name in tuning:
        oof[name] = np.where(_creditable(data[name][0]), oof[name], 0.0)
    y_all = np.concatenate([data[n][1] for n in tuning])
    p_all = np.concatenate([oof[n] for n in tuning])
    thresholds = np.round(np.arange(0.15, 0.80, 0.01), 2)
    threshold = float(max(thresholds, key=lambda t: _prf(y_all, p_all >= t)[2]))
    rules = np.concatenate([data[n][0][:, 0] for n in tuning]) > 0.5  # rule_credited
    metrics: dict[str, object] = {"threshold_chosen_on": "leave-one-set-out predictions"}
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
                    (round(v, 3) for v in _prf(data[n][1], oof[n] >= threshold)),
                    strict=True,
                )
            )
            for n in tuning
        },
    }
    print(f"rules alone          P {rp:.3f} R {rr:.3f} F1 {rf:.3f}")
    print(f"leave-one-set-out    P {lp:.3f} R {lr:.3f} F1 {lf:.3f}  (threshold {threshold:.2f})")
    for n in tuning:
        p, r, f = _prf(data[n][1], oof[n] >= threshold)
        print(f"  {n:8s} P {p:.3f} R {r:.3f} F1 {f:.3f}")
    final = _fit(np.vstack([data[n][0] for n in tuning]), y_all)
    scaler, lr_model = final.steps[0][1], final.steps[1][1]
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    model = EvidenceModel(
        version=VERSION,
        features=Signals.names(),
        mean=scaler.mean_,
        scale=scale,
        coef=lr_model.coef_[0],
        intercept=float(lr_model.intercept_[0]),
        threshold=threshold,
        trained_on=tuple(tuning),
        metrics=metrics,
    )
    print("\nweights (standardised), largest first:")
    for name, weight in sorted(
        zip(model.features, model.coef, strict=True), key=lambda t: -abs(t[1])
    ):
        print(f"  {name:18s} {weight:+.3f}")
    if not args.dry_run:
        DEFAULT_MODEL_PATH.write_text(
            json.dumps(model.to_json(), indent=2) + "\n", encoding="utf-8"
        )
        print(f"\nwrote {DEFAULT_MODEL_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
