"""Analysis of a validated register: concentration risk, exit plans, Art. 30 checklist.

Why these measures (DORA Art. 29(1) asks the entity to weigh, before contracting, the
substitutability of providers, repeated reliance on the same or closely connected
providers, subcontracting chains and third-country law):

* **Share and Herfindahl-Hirschman index.** Basis: the annual expense of the contractual
  arrangements (B_02.01.0050) whose ICT services support a critical or important function
  (B_02.02.0050 -> B_06.01.0060 = Yes), attributed to the direct provider (B_02.02.0030),
  each arrangement counted once however many functions it serves. If arrangements are in
  different currencies the basis falls back to the number of such services. HHI =
  sum over providers of (share in %)^2, 0..10 000. Bands (a convention, DORA sets none;
  the defaults follow the US DOJ/FTC 2010 guidelines): below 1 500 unconcentrated,
  1 500-2 500 moderate, from 2 500 high. ``high`` is true from the high band or when one
  provider holds at least ``top_share_limit`` (default 50 %).
* **Reliance on the same provider across functions**: providers behind two or more
  critical or important functions.
* **Substitutability**: the worst B_07.01.0050 assessment per provider.
* **Subcontracting chains**: the deepest rank in B_05.02.0050 per arrangement and service.
* **Third-country exposure**: providers of critical services, direct or in the chain,
  headquartered outside the EU (B_05.01.0080), and their share of the basis.
* **Exit plans** (Art. 28(8)): every service supporting a critical or important function
  whose B_07.01.0080 is not "Yes" (or that has no assessment).
* **Art. 30 checklist**: see ``provisions.py``.
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd

from agents.roi.codelists import EU_MEMBER_STATES
from agents.roi.loader import Register
from agents.roi.models import (
    AnalysisResult,
    ConcentrationResult,
    ExitPlanFinding,
    ProviderShare,
    ProvisionCheck,
)
from agents.roi.provisions import ART_30_2, ART_30_3, parse_flag
from agents.roi.validate import NO, OVERARCHING, YES

__all__ = ["HHI_HIGH", "HHI_MODERATE", "analyse", "hhi", "hhi_band"]

Band = Literal["unconcentrated", "moderate", "high"]
HHI_MODERATE = 1500.0
HHI_HIGH = 2500.0
#: worst first: not substitutable, highly complex, medium, easily (B_07.01.0050)
SUBSTITUTABILITY_ORDER = ["eba_ZZ:x959", "eba_ZZ:x960", "eba_ZZ:x961", "eba_ZZ:x962"]
SUBSTITUTABILITY_LABEL = {
    "eba_ZZ:x959": "not substitutable",
    "eba_ZZ:x960": "highly complex",
    "eba_ZZ:x961": "medium complexity",
    "eba_ZZ:x962": "easily substitutable",
}


def hhi(shares: list[float]) -> float:
    """Herfindahl-Hirschman index of fractional shares, on the 0..10 000 scale."""
    return float(sum((s * 100.0) ** 2 for s in shares))


def hhi_band(value: float, moderate: float = HHI_MODERATE, high: float = HHI_HIGH) -> Band:
    if value >= high:
        return "high"
    if value >= moderate:
        return "moderate"
    return "unconcentrated"


def _frame(register: Register, code: str, columns: dict[str, str]) -> pd.DataFrame:
    """A template's normalised values as a DataFrame with readable column names."""
    records = [
        {name: row.get(col) for col, name in columns.items()} | {"_row": row.number}
        for row in register.rows(code)
    ]
    return pd.DataFrame(records, columns=[*columns.values(), "_row"])


def _frames(register: Register) -> dict[str, pd.DataFrame]:
    return {
        "arrangements": _frame(
            register,
            "B_02.01",
            {
                "0010": "ref",
                "0020": "type",
                "0030": "parent",
                "0040": "currency",
                "0050": "expense",
            },
        ),
        "services": _frame(
            register,
            "B_02.02",
            {
                "0010": "ref",
                "0020": "entity",
                "0030": "provider",
                "0050": "function",
                "0060": "service",
                "0150": "data_at_rest",
                "0160": "processing",
            },
        ),
        "functions": _frame(
            register,
            "B_06.01",
            {"0010": "function", "0030": "name", "0040": "entity", "0060": "critical"},
        ),
        "providers": _frame(
            register, "B_05.01", {"0010": "provider", "0050": "name", "0080": "country"}
        ),
        "assessments": _frame(
            register,
            "B_07.01",
            {
                "0010": "ref",
                "0020": "provider",
                "0040": "service",
                "0050": "substitutability",
                "0080": "exit_plan",
            },
        ),
        "chains": _frame(
            register,
            "B_05.02",
            {
                "0010": "ref",
                "0020": "service",
                "0030": "provider",
                "0050": "rank",
                "0060": "recipient",
            },
        ),
    }


def _concentration(
    f: dict[str, pd.DataFrame], moderate: float, high: float, top_share_limit: float
) -> ConcentrationResult:
    functions, services = f["functions"], f["services"]
    critical = set(functions.loc[functions["critical"] == YES, "function"].astype(str))
    cif = services[services["function"].astype(str).isin(critical)]
    arrangements = f["arrangements"].drop_duplicates("ref").set_index("ref")
    providers = f["providers"].drop_duplicates("provider").set_index("provider")

    currencies = set(arrangements["currency"].dropna().astype(str)) if len(arrangements) else set()
    per_arrangement = cif[["ref", "provider"]].drop_duplicates()
    use_expense = len(currencies) <= 1
    if use_expense:
        expense = pd.to_numeric(arrangements["expense"], errors="coerce").fillna(0.0)
        per_arrangement = per_arrangement.assign(
            weight=per_arrangement["ref"].map(expense).fillna(0.0).astype(float)
        )
        if float(per_arrangement["weight"].sum()) <= 0:
            use_expense = False
    if use_expense:
        currency = next(iter(currencies), "EUR")
        basis = (
            f"annual expense ({currency}, B_02.01.0050) of the contractual arrangements "
            "supporting critical or important functions, by direct provider"
        )
        weights = per_arrangement.groupby("provider")["weight"].sum()
    else:
        basis = (
            "number of ICT services (B_02.02 rows) supporting critical or important "
            "functions, by direct provider (expenses are missing or in several currencies)"
        )
        weights = cif.groupby("provider").size().astype(float)
    total = float(weights.sum())

    assessments = f["assessments"]
    worst: dict[str, str] = {}
    for provider, group in assessments.groupby("provider"):
        ranks = [
            SUBSTITUTABILITY_ORDER.index(v)
            for v in group["substitutability"]
            if v in SUBSTITUTABILITY_ORDER
        ]
        if ranks:
            worst[str(provider)] = SUBSTITUTABILITY_ORDER[min(ranks)]

    def country_of(code: str) -> str | None:
        if code in providers.index:
            value = providers.at[code, "country"]
            return str(value) if isinstance(value, str) and value else None
        return None

    def name_of(code: str) -> str:
        if code in providers.index:
            return str(providers.at[code, "name"])
        return code

    shares: list[ProviderShare] = []
    for provider, weight in weights.sort_values(ascending=False).items():
        code = str(provider)
        rows = cif[cif["provider"] == code]
        funcs = sorted(set(rows["function"].astype(str)))
        country = country_of(code)
        shares.append(
            ProviderShare(
                provider=code,
                name=name_of(code),
                country=country,
                third_country=country is not None and country not in EU_MEMBER_STATES,
                critical_functions=len(funcs),
                functions=funcs,
                arrangements=int(rows["ref"].nunique()),
                annual_expense_eur=round(float(weight), 2) if use_expense else 0.0,
                share=round(float(weight) / total, 6) if total else 0.0,
                substitutability=SUBSTITUTABILITY_LABEL.get(worst.get(code, "")),
            )
        )
    shares.sort(key=lambda s: (-s.share, s.provider))
    index = hhi([float(w) / total for w in weights]) if total else 0.0

    chains = f["chains"]
    cif_refs = set(cif["ref"].astype(str))
    chain_rows: list[dict[str, Any]] = []
    max_depth = 0
    chain_providers: set[str] = set()
    if len(chains):
        ranked = chains.assign(rank=pd.to_numeric(chains["rank"], errors="coerce"))
        for (ref, service), group in ranked.groupby(["ref", "service"]):
            depth = int(group["rank"].max()) if group["rank"].notna().any() else 0
            max_depth = max(max_depth, depth)
            ordered = group.sort_values("rank")
            supports = str(ref) in cif_refs
            if supports:
                chain_providers |= set(ordered["provider"].astype(str))
            chain_rows.append(
                {
                    "arrangement": str(ref),
                    "service_type": str(service),
                    "depth": depth,
                    "supports_critical_function": supports,
                    "chain": " -> ".join(
                        f"{name_of(str(p))} (rank {int(r)})"
                        for p, r in zip(ordered["provider"], ordered["rank"], strict=True)
                        if pd.notna(r)
                    ),
                }
            )
    chain_rows.sort(key=lambda c: (-int(c["depth"]), str(c["arrangement"])))

    third = sorted(
        {
            code
            for code in set(weights.index.astype(str)) | chain_providers
            if (c := country_of(code)) is not None and c not in EU_MEMBER_STATES
        }
    )
    third_share = sum(s.share for s in shares if s.third_country)
    band = hhi_band(index, moderate, high)
    top = shares[0] if shares else None
    return ConcentrationResult(
        basis=basis,
        hhi=round(index, 1),
        hhi_band=band,
        top_provider=top.provider if top else None,
        top_share=top.share if top else 0.0,
        providers=shares,
        shared_providers=[s for s in shares if s.critical_functions >= 2],
        not_substitutable=sorted(
            p for p, v in worst.items() if v in SUBSTITUTABILITY_ORDER[:2] and p in weights.index
        ),
        max_chain_depth=max_depth,
        chains=chain_rows,
        third_country_providers=third,
        third_country_share=round(third_share, 6),
        high=band == "high" or (top is not None and top.share >= top_share_limit),
    )


def _exit_plans(f: dict[str, pd.DataFrame]) -> list[ExitPlanFinding]:
    functions, services, assessments = f["functions"], f["services"], f["assessments"]
    names = dict(zip(functions["function"].astype(str), functions["name"].astype(str), strict=True))
    critical = set(functions.loc[functions["critical"] == YES, "function"].astype(str))
    plan = {
        (str(r.ref), str(r.provider), str(r.service)): r.exit_plan
        for r in assessments.itertuples(index=False)
    }
    findings: list[ExitPlanFinding] = []
    seen: set[tuple[str, ...]] = set()
    for r in services.itertuples(index=False):
        fid = str(r.function)
        if fid not in critical:
            continue
        key = (str(r.ref), str(r.provider), str(r.service))
        if (fid, *key) in seen:
            continue
        seen.add((fid, *key))
        value = plan.get(key)
        if value == YES:
            continue
        state: Literal["no", "not assessed"] = "no" if value == NO else "not assessed"
        message = (
            f"no exit plan (B_07.01.0080 = No) for ICT service {key[2]} of {key[1]} under "
            f"{key[0]}, which supports critical or important function {fid}"
            if state == "no"
            else f"ICT service {key[2]} of {key[1]} under {key[0]} supports critical or "
            f"important function {fid} but has no B_07.01 assessment with an exit plan"
        )
        findings.append(
            ExitPlanFinding(
                function_id=fid,
                function_name=names.get(fid, fid),
                arrangement=key[0],
                provider=key[1],
                service_type=key[2],
                exit_plan=state,
                message=message + " (DORA Art. 28(8))",
            )
        )
    return findings


def _provisions(register: Register, f: dict[str, pd.DataFrame]) -> list[ProvisionCheck]:
    functions, services, arrangements = f["functions"], f["services"], f["arrangements"]
    critical_functions = set(functions.loc[functions["critical"] == YES, "function"].astype(str))
    cif_refs = set(
        services.loc[services["function"].astype(str).isin(critical_functions), "ref"].astype(str)
    )
    provider_of = services.drop_duplicates("ref").set_index("ref")["provider"].astype(str).to_dict()
    parents = {
        str(r.ref): str(r.parent)
        for r in arrangements.itertuples(index=False)
        if isinstance(r.parent, str) and r.parent
    }
    overarching = set(arrangements.loc[arrangements["type"] == OVERARCHING, "ref"].astype(str))
    recorded: dict[str, dict[str, bool | None]] = {}
    for row in register.provisions or []:
        ref = (row.values.get("arrangement") or "").strip()
        if ref:
            recorded[ref] = {p: parse_flag(row.values.get(p, "")) for p in (*ART_30_2, *ART_30_3)}
    checks: list[ProvisionCheck] = []
    for ref in arrangements["ref"].astype(str):
        if ref in overarching and ref not in provider_of:
            continue  # master agreement: checked through its subsequent arrangements
        critical = ref in cif_refs
        required = [*ART_30_2, *(ART_30_3 if critical else ())]
        flags = recorded.get(ref) or recorded.get(parents.get(ref, ""))
        if flags is None:
            checks.append(
                ProvisionCheck(
                    arrangement=ref,
                    provider=provider_of.get(ref, ""),
                    critical=critical,
                    missing=required,
                    present=[],
                    not_recorded=True,
                )
            )
            continue
        checks.append(
            ProvisionCheck(
                arrangement=ref,
                provider=provider_of.get(ref, ""),
                critical=critical,
                missing=[p for p in required if flags.get(p) is not True],
                present=[p for p in required if flags.get(p) is True],
                not_recorded=False,
            )
        )
    return checks


def analyse(
    register: Register,
    *,
    hhi_moderate: float = HHI_MODERATE,
    hhi_high: float = HHI_HIGH,
    top_share_limit: float = 0.5,
) -> AnalysisResult:
    """Concentration, exit plans and Art. 30 checklist of a validated register."""
    f = _frames(register)
    concentration = _concentration(f, hhi_moderate, hhi_high, top_share_limit)
    exits = _exit_plans(f)
    provisions = _provisions(register, f)
    functions = f["functions"]
    return AnalysisResult(
        concentration=concentration,
        exit_plans=exits,
        critical_without_exit_plan=len({e.function_id for e in exits}),
        contract_provisions=provisions,
        arrangements_missing_provisions=sum(1 for p in provisions if p.missing),
        critical_functions=int((functions["critical"] == YES).sum()),
        functions=len(functions),
        arrangements=len(f["arrangements"]),
        providers=len(f["providers"]),
    )
