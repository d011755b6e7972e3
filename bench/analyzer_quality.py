"""Precision and recall of the policy analyzer on the labeled set in tests/eval/.

Each document is analysed on its own; a requirement counts as *found* when the analyzer
marks it ``covered`` or ``partial``. Precision and recall are micro-averaged over all
(document, requirement) pairs. Goal: precision >= 0.85, recall >= 0.80.

    .venv/bin/python bench/analyzer_quality.py [--verbose]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agents.analysis import analyze  # noqa: E402
from agents.catalog import load_catalog  # noqa: E402
from agents.contracts import EntityProfile  # noqa: E402
from agents.documents import load_documents  # noqa: E402

EVAL_DIR = ROOT / "tests" / "eval"


@dataclass
class DocResult:
    path: str
    expected: set[str]
    found: set[str]
    false_positives: set[str] = field(default_factory=set)
    false_negatives: set[str] = field(default_factory=set)


@dataclass
class Quality:
    precision: float
    recall: float
    documents: list[DocResult]

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(eval_dir: Path = EVAL_DIR) -> Quality:
    """Run the analyzer over every labeled document and compare with the labels."""
    labels = yaml.safe_load((eval_dir / "labels.yaml").read_text(encoding="utf-8"))
    catalog = load_catalog()
    known = {r.id for r in catalog.requirements}
    tp = fp = fn = 0
    docs: list[DocResult] = []
    for entry in labels["documents"]:
        expected = set(entry["covers"])
        unknown = expected - known
        if unknown:
            raise ValueError(f"{entry['path']}: labels name unknown requirements {sorted(unknown)}")
        profile = EntityProfile(**entry.get("profile", {}))
        results = analyze(load_documents([eval_dir / entry["path"]]), profile, catalog)
        found = {
            a.requirement_id for a in results.requirements if a.coverage in ("covered", "partial")
        }
        doc = DocResult(entry["path"], expected, found, found - expected, expected - found)
        tp += len(found & expected)
        fp += len(doc.false_positives)
        fn += len(doc.false_negatives)
        docs.append(doc)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return Quality(precision, recall, docs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list false positives/negatives")
    args = parser.parse_args()
    quality = evaluate()
    for doc in quality.documents:
        print(
            f"{doc.path:45s} expected {len(doc.expected):3d} found {len(doc.found):3d} "
            f"FP {len(doc.false_positives):2d} FN {len(doc.false_negatives):2d}"
        )
        if args.verbose:
            if doc.false_positives:
                print("    FP:", ", ".join(sorted(doc.false_positives)))
            if doc.false_negatives:
                print("    FN:", ", ".join(sorted(doc.false_negatives)))
    print(f"precision {quality.precision:.3f}")
    print(f"recall    {quality.recall:.3f}")
    print(f"f1        {quality.f1:.3f}")
    ok = quality.precision >= 0.85 and quality.recall >= 0.80
    print("goal (precision >= 0.85, recall >= 0.80):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
