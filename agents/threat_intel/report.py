"""The threat watch report: ranked threats, the Art. 10 assessment and notification data."""

from __future__ import annotations

from agents.ict_risk.html import Kpi, ReportView, Section, Table
from agents.threat_intel.significance import ThreatWatch


def build_view(w: ThreatWatch, *, generated_at: str, run_id: str) -> ReportView:
    s = w.summary
    sections = [
        Section(
            id="ranking",
            heading="Threats ranked by relevance to critical or important functions",
            reference="DORA Art. 13(1) (threat intelligence); CDR 2024/1772 Art. 10",
            paragraphs=[
                f"{s['threats']} threats from {s['feeds']} feed(s); {s['relevant']} match the "
                f"ICT asset inventory, {s['significant']} are significant cyber threats."
            ],
            tables=[
                Table(
                    columns=[
                        "rank",
                        "threat",
                        "kind",
                        "relevance",
                        "matched assets",
                        "critical functions",
                        "significant",
                        "why",
                    ],
                    rows=[
                        {
                            "rank": r.rank,
                            "threat": r.name,
                            "kind": r.kind,
                            "relevance": r.relevance,
                            "matched assets": ", ".join(r.matched_assets) or "-",
                            "critical functions": ", ".join(r.affected_cif) or "-",
                            "significant": "yes" if r.significant else "no",
                            "why": r.explanation,
                        }
                        for r in w.threats
                    ],
                )
            ],
        )
    ]
    for r in w.threats:
        if not r.matched_assets and not r.lookalike_domains and not r.significant:
            continue
        sections.append(
            Section(
                id=f"threat-{r.rank}",
                heading=f"{r.rank}. {r.name}",
                reference="CDR 2024/1772 Art. 10(a)-(c)"
                + ("; voluntary notification DORA Art. 19(2)" if r.significant else ""),
                paragraphs=[r.explanation]
                + [
                    f"{c.article}: {'met' if c.met else 'not met'}. " + "; ".join(c.evidence)
                    for c in r.conditions
                ]
                + (
                    [f"Techniques without an asset mapping: {', '.join(r.unmapped_techniques)}."]
                    if r.unmapped_techniques
                    else []
                ),
                tables=[
                    Table(
                        caption="Matches against the ICT asset inventory",
                        columns=["asset", "match", "detail", "weight"],
                        rows=[
                            {
                                "asset": m.asset_id,
                                "match": m.kind,
                                "detail": m.detail,
                                "weight": m.weight,
                            }
                            for m in r.matches
                        ],
                    )
                ]
                if r.matches
                else [],
            )
        )
    return ReportView(
        title=f"Threat intelligence watch: {w.entity}",
        subtitle=f"Feeds assessed against the ICT asset inventory as of {w.as_of.isoformat()} (DORA Art. 13, 45; CDR 2024/1772 Art. 10).",
        generated_at=generated_at,
        run_id=run_id,
        kpis=[
            Kpi(id="threats", label="Threats assessed", value=str(s["threats"])),
            Kpi(id="relevant", label="Matching our assets", value=str(s["relevant"])),
            Kpi(id="significant", label="Significant cyber threats", value=str(s["significant"])),
            Kpi(
                id="ioc",
                label="Indicators on our infrastructure",
                value=str(s["indicator_matches"]),
            ),
        ],
        sections=sections,
        provenance=[("as of", w.as_of.isoformat())]
        + [(f"{x['role']} {x['path']}", x["sha256"]) for x in w.sources],
    )
