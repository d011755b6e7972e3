"""Threat-led penetration testing: is it mandatory, when, with whom, and the phase plan.

*Who* (RTS 2025/1190 Art. 2(2)): the TLPT authority requires TLPT of the entities listed
there unless its Art. 2(1) assessment says TLPT is not justified; it may also identify
others on the Art. 2(1) factors. Never microenterprises or DORA Art. 16(1) entities. All
money and share thresholds are strict "exceeds", in *each* of the 2 preceding calendar
years where the RTS says so. For (re)insurers, the life/composite total-assets criterion
(g)(iii) is read as applying only to life or composite undertakings (its wording), so a
non-life undertaking enters the subset on (g)(i) and (g)(ii) alone.

*When* (DORA Art. 26(1)): at least every 3 years; the next test is due 3 years after the
end of the previous active red-team phase (an assumption: the authority may set the
frequency and the reference point).

*Phases* (RTS 2025/1190 Arts. 9-12): initiation information within 3 months of the
authority's notification (Art. 9(2)); board-approved scope specification within 6 months
(Art. 9(6)); threat intelligence and red-team plan (no legal limit, planned durations are
inputs); active red teaming at least 12 weeks (Art. 11(5)); red-team report within 4
weeks (Art. 12(2)); blue-team report, replay and purple teaming within 10 weeks of the end
of active testing (Art. 12(4)-(5)); summary report within 8 weeks of the authority's
confirmation that both reports are complete (Art. 12(7)) and the remediation plan within
8 weeks of that same notice (Art. 13(1)); then the attestation (DORA Art. 26(7), RTS Art.
14).

*Testers* (DORA Art. 26(8), Art. 27; RTS 2025/1190 Art. 15): internal testers need the
authority's approval and an external threat intelligence provider; external testers
every third test; significant credit institutions use external testers only.
"""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, Field

from agents.resilience.models import TlptProfile

BN = 1_000_000_000.0
PAYMENT_THRESHOLD_EUR = 150 * BN
EMONEY_THRESHOLD_EUR = 40 * BN
TRADING_SHARE_PCT = 5.0
INS_SUBSET_GWP = 1.5 * BN
INS_SUBSET_TP = 10 * BN
INS_SUBSET_ASSETS_PCT = 3.5
INS_GWP = 3 * BN
INS_TP = 30 * BN
INS_ASSETS_PCT = 10.0
MIN_RED_TEAM_WEEKS = 12


class TlptDecision(BaseModel):
    required: bool
    basis: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    external_testers_required: bool = False
    tester_reasons: list[str] = Field(default_factory=list)
    next_due: date | None = None
    phases: list[dict[str, str]] = Field(default_factory=list)


def criteria_met(p: TlptProfile) -> tuple[list[str], list[str]]:
    """(criteria of RTS 2025/1190 Art. 2(2) that are met, reasons incl. those not met)."""
    met: list[str] = []
    why: list[str] = []
    t = p.entity_type
    if t == "credit_institution":
        if p.gsii or p.osii or p.part_of_gsii_or_osii:
            met.append("RTS 2025/1190 Art. 2(2)(a): G-SII, O-SII or part of one")
        else:
            why.append(
                "Credit institution that is neither a G-SII nor an O-SII nor part of one (Art. 2(2)(a))."
            )
    elif t == "payment_institution":
        f = p.payment_transactions_eur
        if f and f.both_exceed(PAYMENT_THRESHOLD_EUR):
            met.append(
                "RTS 2025/1190 Art. 2(2)(b): payment transactions > EUR 150 bn in each of the 2 preceding years"
            )
        else:
            why.append(
                "Payment transactions did not exceed EUR 150 bn in each of the 2 preceding calendar years (Art. 2(2)(b))."
            )
    elif t == "electronic_money_institution":
        f, e = p.payment_transactions_eur, p.emoney_outstanding_eur
        if f and f.both_exceed(PAYMENT_THRESHOLD_EUR):
            met.append(
                "RTS 2025/1190 Art. 2(2)(c): payment transactions > EUR 150 bn in each of the 2 preceding years"
            )
        elif e and e.both_exceed(EMONEY_THRESHOLD_EUR):
            met.append(
                "RTS 2025/1190 Art. 2(2)(c): e-money outstanding > EUR 40 bn in each of the 2 preceding years"
            )
        else:
            why.append(
                "Neither EUR 150 bn of payment transactions nor EUR 40 bn of e-money outstanding in each of the 2 preceding years (Art. 2(2)(c))."
            )
    elif t == "central_securities_depository":
        met.append("RTS 2025/1190 Art. 2(2)(d): central securities depository")
    elif t == "central_counterparty":
        met.append("RTS 2025/1190 Art. 2(2)(e): central counterparty")
    elif t == "trading_venue":
        share = p.eu_turnover_share_pct
        if not p.electronic_trading_system:
            why.append("Trading venue without an electronic trading system (Art. 2(2)(f)).")
        elif p.national_turnover_leader_both_years:
            met.append(
                "RTS 2025/1190 Art. 2(2)(f)(i): highest national turnover share in each of the 2 preceding years"
            )
        elif share and share.both_exceed(TRADING_SHARE_PCT):
            met.append(
                "RTS 2025/1190 Art. 2(2)(f)(ii): EU turnover share > 5 % in each of the 2 preceding years"
            )
        else:
            why.append("Electronic trading venue below the turnover criteria of Art. 2(2)(f).")
    elif t in ("insurance_undertaking", "reinsurance_undertaking"):
        gwp = p.gross_written_premium_eur or 0.0
        tp = p.technical_provisions_eur or 0.0
        assets = p.total_assets_share_pct or 0.0
        subset = (
            gwp > INS_SUBSET_GWP
            and tp > INS_SUBSET_TP
            and (not p.life_or_composite or assets > INS_SUBSET_ASSETS_PCT)
        )
        if not subset:
            why.append(
                "Not in the Art. 2(2)(g) subset (GWP > EUR 1.5 bn and technical provisions > EUR 10 bn"
                " and, for life or composite undertakings, total assets > 3.5 % of the national total)."
            )
        elif gwp > INS_GWP or tp > INS_TP or assets > INS_ASSETS_PCT:
            met.append(
                "RTS 2025/1190 Art. 2(2)(g): in the subset and GWP > EUR 3 bn, technical provisions "
                "> EUR 30 bn or total assets > 10 % of the national total"
            )
        else:
            why.append(
                "In the Art. 2(2)(g) subset but below each of GWP EUR 3 bn, TP EUR 30 bn and 10 % of assets."
            )
    else:
        why.append(f"Entity type {t!r} is not listed in RTS 2025/1190 Art. 2(2).")
    return met, why


def decide(
    p: TlptProfile, as_of: date, *, ti_weeks: int = 8, plan_weeks: int = 4, red_team_weeks: int = 12
) -> TlptDecision:
    """Mandatory TLPT, tester rule, next due date and phase plan (module docstring)."""
    if p.microenterprise or p.simplified_regime:
        return TlptDecision(
            required=False,
            reasons=[
                "Microenterprises and DORA Art. 16(1) entities are outside the TLPT duty (DORA Art. 26(1), 16(1))."
            ],
        )
    met, why = criteria_met(p)
    required = bool(met)
    if met and p.authority_assessment_not_justified:
        required = False
        why.append(
            "The TLPT authority's Art. 2(1) assessment found TLPT not justified (RTS 2025/1190 Art. 2(2))."
        )
    if not met and p.identified_by_tlpt_authority:
        required = True
        met.append(
            "RTS 2025/1190 Art. 2(1): identified by the TLPT authority on impact, systemic and ICT-risk factors"
        )
    decision = TlptDecision(required=required, basis=met, reasons=why)
    if not required:
        return decision
    ext, tester_why = external_testers_required(p)
    decision.external_testers_required = ext
    decision.tester_reasons = tester_why
    last = max((t.red_team_end for t in p.past_tlpts), default=None)
    decision.next_due = last + relativedelta(years=3) if last else None
    decision.phases = phase_plan(
        p.tlpt_notification,
        decision.next_due,
        as_of,
        ti_weeks=ti_weeks,
        plan_weeks=plan_weeks,
        red_team_weeks=max(red_team_weeks, MIN_RED_TEAM_WEEKS),
    )
    return decision


def external_testers_required(p: TlptProfile) -> tuple[bool, list[str]]:
    """DORA Art. 26(8): external testers every third test; significant CIs external only."""
    if p.significant_credit_institution:
        return True, [
            "Significant credit institution (ECB-supervised): external testers only (DORA Art. 26(8), second subparagraph)."
        ]
    history = sorted(p.past_tlpts, key=lambda t: t.red_team_end)
    last_two = [t.tester_type for t in history[-2:]]
    if len(last_two) == 2 and all(t == "internal" for t in last_two):
        return True, [
            "The two previous TLPTs used internal testers: the next must use external testers "
            "(every third test, DORA Art. 26(8))."
        ]
    reasons = []
    if p.planned_tester_type == "internal":
        reasons.append(
            "Internal testers are possible only with the competent authority's approval, a "
            "threat intelligence provider external to the entity and the conditions of RTS "
            "2025/1190 Art. 15 (a policy; a test lead and at least two more members, all employed "
            "for the preceding 12 months) (DORA Art. 26(8), 27(2))."
        )
    return False, reasons


def phase_plan(
    notification: date | None,
    next_due: date | None,
    as_of: date,
    *,
    ti_weeks: int,
    plan_weeks: int,
    red_team_weeks: int,
) -> list[dict[str, str]]:
    """Dated phases from the authority's notification (or an assumed one) to the attestation.

    Without a notification the plan assumes one so that active testing ends before the
    next due date (or one starting today when no previous test is known), and says so.
    """
    assumed = notification is None
    weeks = timedelta(weeks=ti_weeks + plan_weeks + red_team_weeks)
    if notification is None:
        notification = as_of
        if next_due is not None:
            # months do not subtract exactly (31 Aug - 6 months + 6 months != 31 Aug): step back
            # until active testing ends on or before the due date
            guess = next_due - weeks - relativedelta(months=6)
            while guess + relativedelta(months=6) + weeks > next_due:
                guess -= timedelta(days=1)
            notification = max(as_of, guess)
    w = timedelta(weeks=1)
    initiation = notification + relativedelta(months=3)
    scope = notification + relativedelta(months=6)
    ti_end = scope + ti_weeks * w
    rt_start = ti_end + plan_weeks * w
    rt_end = rt_start + red_team_weeks * w
    rows = [
        (
            "Preparation",
            "TLPT authority notification" + (" (assumed)" if assumed else ""),
            notification,
            "RTS 2025/1190 Art. 9(1)",
        ),
        (
            "Preparation",
            "Initiation information (project charter, control team lead, tester model, channels, code name)",
            initiation,
            "RTS 2025/1190 Art. 9(2): within 3 months",
        ),
        (
            "Preparation",
            "Scope specification approved by the management body",
            scope,
            "RTS 2025/1190 Art. 9(6): within 6 months",
        ),
        (
            "Testing",
            "Targeted threat intelligence report (at least 3 scenarios, at most 1 not threat-led)",
            ti_end,
            "RTS 2025/1190 Art. 10(3)-(5); planned duration",
        ),
        (
            "Testing",
            "Red team test plan approved",
            rt_start,
            "RTS 2025/1190 Art. 11(1)-(3); planned duration",
        ),
        (
            "Testing",
            f"Active red team testing ends ({red_team_weeks} weeks, weekly progress reports)",
            rt_end,
            "RTS 2025/1190 Art. 11(5), 11(7): at least 12 weeks",
        ),
        (
            "Closure",
            "Red team test report",
            rt_end + 4 * w,
            "RTS 2025/1190 Art. 12(2): within 4 weeks",
        ),
        (
            "Closure",
            "Blue team test report, replay and purple teaming",
            rt_end + 10 * w,
            "RTS 2025/1190 Art. 12(4)-(5): within 10 weeks",
        ),
        (
            "Closure",
            "Summary report (8 weeks after the authority confirms the red and blue team "
            "reports; planned from the blue team deadline)",
            rt_end + 18 * w,
            "RTS 2025/1190 Art. 12(7): within 8 weeks of the authority's notice",
        ),
        (
            "Closure",
            "Remediation plan (same 8 weeks from the authority's Art. 12(7) notice)",
            rt_end + 18 * w,
            "RTS 2025/1190 Art. 13(1): within 8 weeks of the Art. 12(7) notification",
        ),
        (
            "Closure",
            "Attestation by the TLPT authority",
            rt_end + 18 * w,
            "DORA Art. 26(7); RTS 2025/1190 Art. 14 and Annex VIII",
        ),
    ]
    return [
        {"phase": ph, "milestone": m, "date": d.isoformat(), "reference": ref}
        for ph, m, d, ref in rows
    ]
