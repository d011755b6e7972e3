"""HTML and Markdown report of one register-of-information run.

Same approach as the assessment report (``agents/report_generator.py``): one *view* of
already formatted strings is built from the upstream task outputs, and both documents
render that view, so they cannot disagree and every figure is the task output formatted
once (never recomputed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

from agents.roi.models import AnalysisResult, ValidationReport
from agents.roi.provisions import PROVISIONS

__all__ = ["build_view", "write_html", "write_markdown"]

DISCLAIMER = (
    "Generated from the register of information files listed above. Validation covers the "
    "checks described in the tool's documentation (CIR (EU) 2024/2956 formats, code lists, "
    "identifiers, referential integrity), not the EBA's full validation rule set. "
    "Concentration figures describe the register's data; the HHI bands are a convention, "
    "DORA sets no threshold. Review by the ICT third-party risk function is required."
)


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def build_view(
    validation: ValidationReport,
    analysis: AnalysisResult | None,
    export: dict[str, Any] | None,
    *,
    generated_at: str,
    run_id: str,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "entity": validation.entity_name or "(unknown entity)",
        "lei": validation.entity_lei or "",
        "reporting_date": validation.reporting_date or "",
        "generated_at": generated_at,
        "run_id": run_id,
        "directory": validation.directory,
        "valid": validation.valid,
        "errors": validation.error_count,
        "warnings": validation.warning_count,
        "templates": [t.model_dump() for t in validation.templates],
        "issues": [
            {
                "where": i.location(),
                "severity": i.severity,
                "rule": i.rule,
                "message": i.message,
                "reference": i.reference,
            }
            for i in validation.issues
        ],
        "disclaimer": DISCLAIMER,
        "analysis": None,
        "export": export,
    }
    if analysis is not None:
        c = analysis.concentration
        view["analysis"] = {
            "hhi": f"{c.hhi:,.0f}",
            "band": c.hhi_band,
            "high": c.high,
            "basis": c.basis,
            "top": f"{c.top_provider or '-'} ({_pct(c.top_share)})",
            "functions": analysis.functions,
            "critical_functions": analysis.critical_functions,
            "arrangements": analysis.arrangements,
            "providers": [
                {
                    "name": p.name,
                    "code": p.provider,
                    "country": p.country or "",
                    "third": "yes" if p.third_country else "no",
                    "share": _pct(p.share),
                    "expense": f"EUR {p.annual_expense_eur:,.0f}",
                    "functions": ", ".join(p.functions),
                    "substitutability": p.substitutability or "not assessed",
                }
                for p in c.providers
            ],
            "shared": [f"{p.name} ({', '.join(p.functions)})" for p in c.shared_providers],
            "chains": c.chains,
            "max_depth": c.max_chain_depth,
            "third_country": ", ".join(c.third_country_providers) or "none",
            "third_share": _pct(c.third_country_share),
            "exit_plans": [e.model_dump() for e in analysis.exit_plans],
            "critical_without_exit_plan": analysis.critical_without_exit_plan,
            "provisions": [
                {
                    "arrangement": p.arrangement,
                    "critical": "yes" if p.critical else "no",
                    "missing": "not recorded"
                    if p.not_recorded
                    else "; ".join(f"Art. {m}: {PROVISIONS[m]}" for m in p.missing),
                }
                for p in analysis.contract_provisions
                if p.missing
            ],
        }
    return view


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Register of information: {{ v.entity }}</title>
<style>
 body { font-family: "Segoe UI", Helvetica, Arial, sans-serif; color: #1d2633; margin: 2rem auto; max-width: 1100px; line-height: 1.45; }
 h1 { border-bottom: 3px solid #1f4e79; padding-bottom: .3rem; }
 h2 { color: #1f4e79; margin-top: 2.2rem; border-bottom: 1px solid #c9d3df; }
 table { border-collapse: collapse; width: 100%; margin: .8rem 0; font-size: .9rem; }
 th, td { border: 1px solid #c9d3df; padding: .35rem .5rem; vertical-align: top; text-align: left; }
 th { background: #eef2f7; }
 .kpis { display: flex; flex-wrap: wrap; gap: 1rem; }
 .kpi { border: 1px solid #c9d3df; border-radius: 6px; padding: .6rem 1rem; min-width: 11rem; }
 .kpi .value { font-size: 1.35rem; font-weight: 600; }
 .mono { font-family: Consolas, monospace; font-size: .85rem; word-break: break-all; }
 .muted { color: #5b6775; font-size: .9rem; }
 .error { color: #a4161a; font-weight: 600; } .warning { color: #e85d04; }
</style></head><body>
<h1>Register of information: {{ v.entity }}</h1>
<p class="muted">DORA Art. 28(3); Implementing Regulation (EU) 2024/2956. LEI <span class="mono">{{ v.lei }}</span>,
reporting date {{ v.reporting_date }}. Generated {{ v.generated_at }}; run <span class="mono">{{ v.run_id }}</span>.</p>
<h2 id="summary">Summary</h2>
<div class="kpis">
 <div class="kpi"><div>Validation</div><div class="value" id="kpi-valid">{{ "valid" if v.valid else "invalid" }}</div>
 <div>{{ v.errors }} error(s), {{ v.warnings }} warning(s)</div></div>
 {% if v.analysis %}
 <div class="kpi"><div>HHI (critical functions)</div><div class="value" id="kpi-hhi">{{ v.analysis.hhi }}</div><div>{{ v.analysis.band }}</div></div>
 <div class="kpi"><div>Largest provider</div><div class="value">{{ v.analysis.top }}</div></div>
 <div class="kpi"><div>Critical functions without exit plan</div><div class="value" id="kpi-exit">{{ v.analysis.critical_without_exit_plan }}</div></div>
 {% endif %}
</div>
<h2 id="validation">Validation (CIR 2024/2956)</h2>
<p class="muted">Files read from <span class="mono">{{ v.directory }}</span>.</p>
<table><tr><th>Template</th><th>File</th><th>Rows</th><th>Errors</th><th>Warnings</th></tr>
{% for t in v.templates %}<tr><td>{{ t.template }}</td><td class="mono">{{ t.file }}</td><td>{{ t.rows }}</td><td>{{ t.errors }}</td><td>{{ t.warnings }}</td></tr>{% endfor %}
</table>
{% if v.issues %}<table><tr><th>Where</th><th>Severity</th><th>Rule</th><th>Problem</th><th>Basis</th></tr>
{% for i in v.issues %}<tr><td class="mono">{{ i.where }}</td><td class="{{ i.severity }}">{{ i.severity }}</td><td class="mono">{{ i.rule }}</td><td>{{ i.message }}</td><td>{{ i.reference }}</td></tr>{% endfor %}
</table>{% else %}<p>No problems found.</p>{% endif %}
{% if v.analysis %}{% set a = v.analysis %}
<h2 id="concentration">Concentration risk (DORA Art. 29)</h2>
<p>Herfindahl-Hirschman index <b>{{ a.hhi }}</b> ({{ a.band }}{% if a.high %}; flagged as high concentration{% endif %}).
Basis: {{ a.basis }}. {{ a.critical_functions }} of {{ a.functions }} functions are critical or important.</p>
<table><tr><th>Provider</th><th>Code</th><th>HQ</th><th>Third country</th><th>Share</th><th>Annual expense</th><th>Critical functions</th><th>Substitutability</th></tr>
{% for p in a.providers %}<tr><td>{{ p.name }}</td><td class="mono">{{ p.code }}</td><td>{{ p.country }}</td><td>{{ p.third }}</td><td>{{ p.share }}</td><td>{{ p.expense }}</td><td>{{ p.functions }}</td><td>{{ p.substitutability }}</td></tr>{% endfor %}
</table>
<p>Reliance on the same provider across critical functions: {{ a.shared | join("; ") if a.shared else "none" }}.</p>
<p>Third-country providers (direct or in the chain): {{ a.third_country }}; share of the basis held by third-country direct providers {{ a.third_share }}.</p>
<h3>Subcontracting chains (B_05.02)</h3><p>Deepest rank: {{ a.max_depth }}.</p>
<table><tr><th>Arrangement</th><th>Service</th><th>Depth</th><th>Critical</th><th>Chain</th></tr>
{% for c in a.chains %}<tr><td class="mono">{{ c.arrangement }}</td><td>{{ c.service_type }}</td><td>{{ c.depth }}</td><td>{{ "yes" if c.supports_critical_function else "no" }}</td><td>{{ c.chain }}</td></tr>{% endfor %}
</table>
<h2 id="exit-plans">Exit plans (DORA Art. 28(8))</h2>
{% if a.exit_plans %}<table><tr><th>Function</th><th>Arrangement</th><th>Provider</th><th>Service</th><th>Exit plan</th></tr>
{% for e in a.exit_plans %}<tr><td>{{ e.function_id }} {{ e.function_name }}</td><td class="mono">{{ e.arrangement }}</td><td class="mono">{{ e.provider }}</td><td>{{ e.service_type }}</td><td class="error">{{ e.exit_plan }}</td></tr>{% endfor %}
</table>{% else %}<p>Every ICT service supporting a critical or important function has an exit plan.</p>{% endif %}
<h2 id="art30">Contractual provisions (DORA Art. 30)</h2>
{% if a.provisions %}<table><tr><th>Arrangement</th><th>Supports critical function</th><th>Missing provisions</th></tr>
{% for p in a.provisions %}<tr><td class="mono">{{ p.arrangement }}</td><td>{{ p.critical }}</td><td>{{ p.missing }}</td></tr>{% endfor %}
</table>{% else %}<p>All arrangements contain the provisions of Art. 30(2) and, where they support critical or important functions, Art. 30(3).</p>{% endif %}
{% endif %}
{% if v.export %}<h2 id="export">Export</h2>
{% if v.export.exported %}<p>xBRL-CSV package <span class="mono">{{ v.export.path }}</span> (reference date {{ v.export.reference_date }}, entity {{ v.export.entity_id }}).</p>
<p class="muted">Approximations: {{ v.export.approximations | join("; ") }}.</p>
{% else %}<p>Not exported: {{ v.export.reason }}</p>{% endif %}{% endif %}
<p class="muted"><i>{{ v.disclaimer }}</i></p>
</body></html>
"""


def write_html(view: dict[str, Any], path: Path) -> Path:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    path.write_text(env.from_string(_HTML).render(v=view), encoding="utf-8")
    return path


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def write_markdown(view: dict[str, Any], path: Path) -> Path:
    out = [
        f"# Register of information: {view['entity']}",
        "",
        f"DORA Art. 28(3); Implementing Regulation (EU) 2024/2956. LEI `{view['lei']}`, "
        f"reporting date {view['reporting_date']}. Generated {view['generated_at']}.",
        "",
        f"- Validation: **{'valid' if view['valid'] else 'invalid'}**, {view['errors']} error(s), "
        f"{view['warnings']} warning(s)",
    ]
    a = view["analysis"]
    if a:
        out += [
            f"- HHI over critical or important functions: **{a['hhi']}** ({a['band']}); "
            f"largest provider {a['top']}",
            f"- Critical functions without exit plan (Art. 28(8)): "
            f"**{a['critical_without_exit_plan']}**",
            f"- Deepest subcontracting chain: rank {a['max_depth']}; third-country providers: "
            f"{a['third_country']}",
            f"- Arrangements missing Art. 30 provisions: {len(a['provisions'])}",
        ]
    if view["issues"]:
        out += [
            "",
            "## Validation problems",
            "",
            "| Where | Severity | Rule | Problem |",
            "|---|---|---|---|",
        ]
        out += [
            f"| {_cell(i['where'])} | {i['severity']} | {i['rule']} | {_cell(i['message'])} |"
            for i in view["issues"]
        ]
    if a:
        out += [
            "",
            "## Providers of critical or important functions",
            "",
            "| Provider | HQ | Share | Functions | Substitutability |",
            "|---|---|---|---|---|",
        ]
        out += [
            f"| {_cell(p['name'])} | {p['country']} | {p['share']} | {p['functions']} | "
            f"{p['substitutability']} |"
            for p in a["providers"]
        ]
        if a["exit_plans"]:
            out += ["", "## Missing exit plans (DORA Art. 28(8))", ""]
            out += [f"- {e['message']}" for e in a["exit_plans"]]
        if a["provisions"]:
            out += ["", "## Missing contractual provisions (DORA Art. 30)", ""]
            out += [f"- {p['arrangement']}: {p['missing']}" for p in a["provisions"]]
    export = view["export"]
    if export:
        out += ["", "## Export", ""]
        out.append(
            f"xBRL-CSV package `{export['path']}`"
            if export.get("exported")
            else f"Not exported: {export.get('reason')}"
        )
    out += ["", f"*{view['disclaimer']}*", ""]
    path.write_text("\n".join(out), encoding="utf-8")
    return path
