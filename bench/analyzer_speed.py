"""Throughput and memory of the policy analyzer on a generated 500-page corpus.

Generates Markdown policies (one "page" = ~3,000 characters of policy-like prose with
headings, frequencies and roles), then measures in this process:

* the baseline: plain tokenisation (``agents.analysis.tokenize``) of the same corpus;
* the full analysis: document loading + retrieval + evidence rules for every requirement.

Prints pages/second, peak traced memory (tracemalloc) and the ratio to the baseline.

    .venv/bin/python bench/analyzer_speed.py [--pages 500]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agents.analysis import analyze, tokenize  # noqa: E402
from agents.catalog import load_catalog  # noqa: E402
from agents.contracts import EntityProfile  # noqa: E402
from agents.documents import load_documents  # noqa: E402

PAGE_CHARS = 3000
PAGES_PER_DOC = 25

_SUBJECTS = [
    "Access rights to critical applications",
    "Backups of customer databases",
    "The incident manager",
    "Firewall rules for internet-facing systems",
    "The business continuity plan",
    "Contracts with ICT suppliers",
    "Vulnerability scans",
    "The ICT risk management framework",
    "Security awareness training",
    "Encryption keys",
    "Change requests",
    "The register of ICT contracts",
    "Log data from servers",
]
_VERBS = ["are reviewed", "must be approved", "shall be tested", "are recorded", "are monitored"]
_WHO = [
    "by the CISO",
    "by the Management Board",
    "by the ICT risk function",
    "by line managers",
    "by Internal Audit",
    "by the service owner",
]
_WHEN = [
    "at least annually",
    "every six months",
    "weekly",
    "after every major change",
    "quarterly",
    "once a year",
]
_FILLER = (
    "The procedure is documented in the operations manual and exceptions are recorded "
    "with a justification and an expiry date. "
)


def make_corpus(folder: Path, pages: int, seed: int = 7) -> list[Path]:
    """Write ``pages`` pages of synthetic policy text into Markdown files under ``folder``."""
    rng = random.Random(seed)
    files: list[Path] = []
    for d in range(0, pages, PAGES_PER_DOC):
        lines = [f"# Synthetic policy {d // PAGES_PER_DOC + 1}", ""]
        for p in range(d, min(d + PAGES_PER_DOC, pages)):
            lines.append(f"## {p + 1} Section on {rng.choice(_SUBJECTS).lower()}")
            lines.append("")
            page: list[str] = []
            size = 0
            while size < PAGE_CHARS:
                s = (
                    f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_WHO)} "
                    f"{rng.choice(_WHEN)}. "
                )
                if rng.random() < 0.3:
                    s += _FILLER
                page.append(s)
                size += len(s)
            lines.append("".join(page))
            lines.append("")
        path = folder / f"policy-{d // PAGES_PER_DOC + 1:03d}.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        files.append(path)
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=500)
    args = parser.parse_args()
    catalog = load_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = make_corpus(folder, args.pages)
        chars = sum(f.stat().st_size for f in files)
        print(f"corpus: {args.pages} pages, {len(files)} files, {chars / 1e6:.2f} MB")

        t0 = time.perf_counter()
        n_tokens = sum(len(tokenize(f.read_text(encoding="utf-8"))) for f in files)
        baseline = time.perf_counter() - t0
        print(
            f"baseline (read + tokenize): {baseline:.2f} s, {n_tokens} tokens, "
            f"{args.pages / baseline:.0f} pages/s"
        )

        tracemalloc.start()
        t0 = time.perf_counter()
        results = analyze(load_documents([folder]), EntityProfile(), catalog)
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    found = sum(a.coverage in ("covered", "partial") for a in results.requirements)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"analysis: {elapsed:.2f} s, {args.pages / elapsed:.0f} pages/s "
        f"({len(results.requirements)} requirements, {found} found)"
    )
    print(f"peak traced memory (tracemalloc): {peak / 1e6:.1f} MB; process max RSS {rss:.0f} MB")
    print(f"ratio analysis/baseline time: {elapsed / baseline:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
