"""Major-incident classification per Commission Delegated Regulation (EU) 2024/1772.

Why the result carries every figure: a classification is a legal conclusion that a
supervisor may challenge months later, so each criterion records the numbers it compared,
the threshold and the article, and the verdict says which rule of Art. 8 decided it.

Rules implemented (CDR 2024/1772; every threshold is a strict "higher than"):

* Art. 9(1) clients, financial counterparts and transactions: affected clients > 10 % of
  the clients using the affected service (a) or > 100 000 (b); affected counterparts > 30 %
  (c); affected transactions > 10 % of the daily average number (d) or value (e); a
  relevant client or counterpart (Art. 1(3)) affected (f).
* Art. 9(2) reputational impact: any of Art. 2(a)-(d).
* Art. 9(3) duration > 24 h (a) or downtime of ICT services supporting critical or
  important functions > 2 h (b).
* Art. 9(4) geographical spread: impact in two or more Member States (the RTS value, not
  the "more than two" of DORA Art. 18(1)(c)).
* Art. 9(5) data losses: (a) an impact on data that harms business objectives or
  regulatory compliance, or (b) a successful, malicious and unauthorised access to network
  and information systems that may result in data losses.
* Art. 9(6) economic impact: costs and losses > EUR 100 000.
* Art. 6 critical services affected (the gate): (a) ICT services or systems supporting
  critical or important functions, (b) authorised or supervised financial services, or
  (c) a successful, malicious and unauthorised access. The input flag
  ``critical_services_affected`` is (a)/(b); a malicious access is (c) by itself.
* Art. 8(1): major = gate AND (9(5)(b) met OR two or more *other* thresholds met).
* Art. 8(2): non-major recurring incidents with the same apparent root cause, occurring at
  least twice within 6 months, that collectively meet Art. 8(1) count as one major incident
  (not for microenterprises or DORA Art. 16(1) entities); assessed monthly.
* Art. 10: a cyber threat is significant when (a), (b) and (c) all hold.

Ratios are compared in exact arithmetic (``Fraction``), so 10 % of 1 000 clients is not
met by 100 and is met by 101, with no floating-point surprises at the boundary.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, Field

from agents.incident.deadlines import add_months, zone
from agents.incident.models import (
    Clients,
    CyberThreat,
    DataLosses,
    EntityType,
    FinancialCounterparts,
    HistoricalIncident,
    Incident,
    Reputational,
    Transactions,
)

RTS = "CDR (EU) 2024/1772"

CriterionCode = Literal[
    "clients_financial_counterparts_transactions",
    "reputational",
    "duration_downtime",
    "geographical_spread",
    "data_losses",
    "economic_impact",
]
CRITERIA: tuple[CriterionCode, ...] = (
    "clients_financial_counterparts_transactions",
    "reputational",
    "duration_downtime",
    "geographical_spread",
    "data_losses",
    "economic_impact",
)
#: Art. 2(1) types DORA Art. 16(1) may place in the simplified regime from the type alone
ART_16_1_TYPES = frozenset(
    {EntityType.exempted_payment_institution, EntityType.exempted_electronic_money_institution}
)

CLIENT_SHARE = Fraction(10, 100)
CLIENT_ABSOLUTE = 100_000
COUNTERPART_SHARE = Fraction(30, 100)
TRANSACTION_SHARE = Fraction(10, 100)
DURATION_HOURS = 24
DOWNTIME_HOURS = 2
MEMBER_STATES = 2  # "two or more"
ECONOMIC_EUR = 100_000


class Condition(BaseModel):
    """One test inside a criterion, e.g. Art. 9(1)(a), with the figures it compared."""

    article: str
    test: str
    figures: dict[str, Any]
    met: bool


class CriterionResult(BaseModel):
    """One Art. 9 criterion: met when any of its conditions is met."""

    code: CriterionCode
    article: str
    title: str
    met: bool
    conditions: list[Condition]
    explanation: str


class Gate(BaseModel):
    """Art. 6 'critical services affected', the condition every major incident needs."""

    article: str = f"Art. 6 and 8(1) {RTS}"
    met: bool
    critical_services_affected: bool
    malicious_unauthorised_access: bool
    explanation: str


class RecurringResult(BaseModel):
    """Art. 8(2) check of the incident against its history."""

    article: str = f"Art. 8(2) {RTS}"
    applicable: bool
    major: bool
    root_cause: str | None = None
    incident_ids: list[str] = Field(default_factory=list)
    window_start: datetime | None = None
    window_end: datetime | None = None
    collective: Classification | None = None
    explanation: str


class Classification(BaseModel):
    """The verdict of Art. 8 with every criterion explained."""

    incident_id: str
    major: bool
    decided_by: str
    gate: Gate
    malicious_access_path: bool
    other_thresholds_met: int
    criteria_met: list[CriterionCode]
    criteria: list[CriterionResult]
    recurring: RecurringResult | None = None
    explanation: str
    legal_basis: str = f"{RTS} Art. 6, 8 and 9"


def _share(part: float, whole: float) -> Fraction | None:
    return None if whole <= 0 else Fraction(str(part)) / Fraction(str(whole))


def _pct(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value * 100), 4)


def _above(value: Fraction | None, limit: Fraction) -> bool:
    return value is not None and value > limit


def _clients(c: Clients, fc: FinancialCounterparts, t: Transactions) -> CriterionResult:
    art = f"Art. 9(1) {RTS}"
    client_share = _share(c.affected, c.total)
    fc_share = _share(fc.affected, fc.total)
    tx_share = _share(t.affected_count, t.daily_average_count)
    value_share = _share(t.affected_value_eur, t.daily_average_value_eur)
    conds = [
        Condition(
            article="Art. 9(1)(a)",
            test="affected clients > 10 % of all clients using the affected service",
            figures={
                "affected": c.affected,
                "total": c.total,
                "percent": _pct(client_share),
                "threshold_percent": 10,
            },
            met=_above(client_share, CLIENT_SHARE),
        ),
        Condition(
            article="Art. 9(1)(b)",
            test="affected clients using the affected service > 100 000",
            figures={"affected": c.affected, "threshold": CLIENT_ABSOLUTE},
            met=c.affected > CLIENT_ABSOLUTE,
        ),
        Condition(
            article="Art. 9(1)(c)",
            test="affected financial counterparts > 30 % of counterparts for the service",
            figures={
                "affected": fc.affected,
                "total": fc.total,
                "percent": _pct(fc_share),
                "threshold_percent": 30,
            },
            met=_above(fc_share, COUNTERPART_SHARE),
        ),
        Condition(
            article="Art. 9(1)(d)",
            test="affected transactions > 10 % of the daily average number",
            figures={
                "affected": t.affected_count,
                "daily_average": t.daily_average_count,
                "percent": _pct(tx_share),
                "threshold_percent": 10,
            },
            met=_above(tx_share, TRANSACTION_SHARE),
        ),
        Condition(
            article="Art. 9(1)(e)",
            test="value of affected transactions > 10 % of the daily average value",
            figures={
                "affected_eur": t.affected_value_eur,
                "daily_average_eur": t.daily_average_value_eur,
                "percent": _pct(value_share),
                "threshold_percent": 10,
            },
            met=_above(value_share, TRANSACTION_SHARE),
        ),
        Condition(
            article="Art. 9(1)(f)",
            test="a client or financial counterpart identified as relevant (Art. 1(3)) affected",
            figures={"relevant_affected": c.relevant_affected},
            met=c.relevant_affected,
        ),
    ]
    return _criterion(
        "clients_financial_counterparts_transactions",
        art,
        "Clients, financial counterparts and transactions",
        conds,
    )


def _reputational(r: Reputational) -> CriterionResult:
    conds = [
        Condition(
            article="Art. 2(a)",
            test="reflected in the media",
            figures={"media_coverage": r.media_coverage},
            met=r.media_coverage,
        ),
        Condition(
            article="Art. 2(b)",
            test="repeated complaints from different clients or counterparts",
            figures={"repeated_complaints": r.repeated_complaints},
            met=r.repeated_complaints,
        ),
        Condition(
            article="Art. 2(c)",
            test="likely not to meet regulatory requirements",
            figures={"regulatory_breach_likely": r.regulatory_breach_likely},
            met=r.regulatory_breach_likely,
        ),
        Condition(
            article="Art. 2(d)",
            test="likely to lose clients or counterparts with material business impact",
            figures={"client_loss_likely": r.client_loss_likely},
            met=r.client_loss_likely,
        ),
    ]
    return _criterion("reputational", f"Art. 9(2) {RTS}", "Reputational impact", conds)


def _duration(duration_h: float, downtime_h: float) -> CriterionResult:
    conds = [
        Condition(
            article="Art. 9(3)(a)",
            test="incident duration > 24 h",
            figures={"duration_hours": duration_h, "threshold_hours": DURATION_HOURS},
            met=Fraction(str(duration_h)) > DURATION_HOURS,
        ),
        Condition(
            article="Art. 9(3)(b)",
            test="downtime of ICT services supporting critical or important functions > 2 h",
            figures={"downtime_hours": downtime_h, "threshold_hours": DOWNTIME_HOURS},
            met=Fraction(str(downtime_h)) > DOWNTIME_HOURS,
        ),
    ]
    return _criterion(
        "duration_downtime", f"Art. 9(3) {RTS}", "Duration and service downtime", conds
    )


def _spread(states: list[str]) -> CriterionResult:
    conds = [
        Condition(
            article="Art. 9(4)",
            test="impact in two or more Member States (Art. 4)",
            figures={
                "member_states": sorted(states),
                "count": len(states),
                "threshold": MEMBER_STATES,
            },
            met=len(states) >= MEMBER_STATES,
        )
    ]
    return _criterion("geographical_spread", f"Art. 9(4) {RTS}", "Geographical spread", conds)


def _data(d: DataLosses, malicious: bool) -> CriterionResult:
    conds = [
        Condition(
            article="Art. 9(5)(a)",
            test="data impact (Art. 5) harming business objectives or regulatory compliance",
            figures={"business_or_compliance_impact": d.business_or_compliance_impact},
            met=d.business_or_compliance_impact,
        ),
        Condition(
            article="Art. 9(5)(b)",
            test="successful, malicious and unauthorised access that may result in data losses",
            figures={"malicious_unauthorised_access": malicious},
            met=malicious,
        ),
    ]
    return _criterion("data_losses", f"Art. 9(5) {RTS}", "Data losses", conds)


def _economic(eur: float) -> CriterionResult:
    conds = [
        Condition(
            article="Art. 9(6)",
            test="gross direct and indirect costs and losses (Art. 7) > EUR 100 000",
            figures={"economic_impact_eur": eur, "threshold_eur": ECONOMIC_EUR},
            met=Fraction(str(eur)) > ECONOMIC_EUR,
        )
    ]
    return _criterion("economic_impact", f"Art. 9(6) {RTS}", "Economic impact", conds)


def _criterion(
    code: CriterionCode, article: str, title: str, conds: list[Condition]
) -> CriterionResult:
    met = [c for c in conds if c.met]
    if met:
        why = "met: " + "; ".join(f"{c.article} {c.test} ({_figs(c.figures)})" for c in met)
    else:
        why = "not met: " + "; ".join(f"{c.article} ({_figs(c.figures)})" for c in conds)
    return CriterionResult(
        code=code, article=article, title=title, met=bool(met), conditions=conds, explanation=why
    )


def _figs(figures: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in figures.items() if v is not None)


def assess_criteria(incident: Incident) -> list[CriterionResult]:
    """The six Art. 9 criteria, in the order of the RTS."""
    return [
        _clients(incident.clients, incident.financial_counterparts, incident.transactions),
        _reputational(incident.reputational),
        _duration(incident.duration_hours, incident.downtime_hours),
        _spread(incident.member_states_affected),
        _data(incident.data_losses, incident.malicious_unauthorised_access),
        _economic(incident.economic_impact_eur),
    ]


def _gate(incident: Incident) -> Gate:
    cs, mal = incident.critical_services_affected, incident.malicious_unauthorised_access
    if cs and mal:
        why = "critical services affected (Art. 6(a)/(b)) and a malicious access (Art. 6(c))"
    elif cs:
        why = "critical services affected (Art. 6(a)/(b))"
    elif mal:
        why = (
            "a successful, malicious and unauthorised access is itself a critical-service "
            "impact (Art. 6(c))"
        )
    else:
        why = (
            "no ICT service supporting critical or important functions, no authorised or "
            "supervised financial service and no malicious access affected (Art. 6): the "
            "incident cannot be major whatever thresholds it meets (Art. 8(1))"
        )
    return Gate(
        met=cs or mal,
        critical_services_affected=cs,
        malicious_unauthorised_access=mal,
        explanation=why,
    )


def classify(incident: Incident) -> Classification:
    """Art. 8(1) verdict for one incident (no history; see :func:`classify_with_history`)."""
    criteria = assess_criteria(incident)
    gate = _gate(incident)
    malicious = incident.malicious_unauthorised_access
    # Art. 8(1)(b): "two or more of the *other* thresholds": 9(5) counts here through (a) only
    other = sum(1 for c in criteria if c.met and c.code != "data_losses")
    if incident.data_losses.business_or_compliance_impact:
        other += 1
    met_codes = [c.code for c in criteria if c.met]
    if not gate.met:
        major, decided = False, "Art. 8(1): critical-services gate (Art. 6) not met"
    elif malicious:
        major, decided = True, "Art. 8(1)(a): malicious unauthorised access (Art. 9(5)(b))"
    elif other >= 2:
        major, decided = True, f"Art. 8(1)(b): {other} materiality thresholds met (two or more)"
    else:
        major = False
        decided = f"Art. 8(1)(b) not met: {other} materiality threshold(s) met, two are needed"
    listed = ", ".join(met_codes) or "none"
    explanation = (
        f"{incident.incident_id}: {'MAJOR' if major else 'not major'} ({decided}). "
        f"Gate: {gate.explanation}. Thresholds met: {listed}."
    )
    if not major and gate.met is False and len(met_codes) >= 2:
        explanation += " The thresholds alone are not enough without the gate."
    return Classification(
        incident_id=incident.incident_id,
        major=major,
        decided_by=decided,
        gate=gate,
        malicious_access_path=gate.met and malicious,
        other_thresholds_met=other,
        criteria_met=met_codes,
        criteria=criteria,
        explanation=explanation,
    )


# ----------------------------------------------------------------- recurring (Art. 8(2))
def aggregate(incidents: list[Incident], incident_id: str) -> Incident:
    """The collective impact of several incidents, as one incident for Art. 8(1).

    Counts, amounts, durations and downtimes add up (the incidents happened one after the
    other); the denominators (clients, counterparts, daily averages) are the largest
    reported, so a share is never inflated by adding the same client base twice; every
    yes/no flag holds when it holds for any incident; Member States are the union. Summed
    affected clients or counterparts are capped at the base (the same client hit twice is
    still one client).
    """
    last = max(incidents, key=lambda i: i.detected_at)
    clients_total = max(i.clients.total for i in incidents)
    fc_total = max(i.financial_counterparts.total for i in incidents)
    return Incident(
        incident_id=incident_id,
        entity=last.entity,
        detected_at=last.detected_at,
        critical_services_affected=any(i.critical_services_affected for i in incidents),
        malicious_unauthorised_access=any(i.malicious_unauthorised_access for i in incidents),
        clients=Clients(
            affected=_capped(sum(i.clients.affected for i in incidents), clients_total),
            total=clients_total,
            relevant_affected=any(i.clients.relevant_affected for i in incidents),
        ),
        financial_counterparts=FinancialCounterparts(
            affected=_capped(sum(i.financial_counterparts.affected for i in incidents), fc_total),
            total=fc_total,
        ),
        transactions=Transactions(
            affected_count=sum(i.transactions.affected_count for i in incidents),
            daily_average_count=max(i.transactions.daily_average_count for i in incidents),
            affected_value_eur=sum(i.transactions.affected_value_eur for i in incidents),
            daily_average_value_eur=max(i.transactions.daily_average_value_eur for i in incidents),
        ),
        reputational=Reputational(
            media_coverage=any(i.reputational.media_coverage for i in incidents),
            repeated_complaints=any(i.reputational.repeated_complaints for i in incidents),
            regulatory_breach_likely=any(
                i.reputational.regulatory_breach_likely for i in incidents
            ),
            client_loss_likely=any(i.reputational.client_loss_likely for i in incidents),
        ),
        duration_hours=sum(i.duration_hours for i in incidents),
        downtime_hours=sum(i.downtime_hours for i in incidents),
        member_states_affected=sorted({s for i in incidents for s in i.member_states_affected}),
        data_losses=DataLosses(
            business_or_compliance_impact=any(
                i.data_losses.business_or_compliance_impact for i in incidents
            )
        ),
        economic_impact_eur=sum(i.economic_impact_eur for i in incidents),
    )


def _capped(value: int, total: int) -> int:
    return min(value, total) if total else value


def recurring_check(
    incident: Incident,
    root_cause: str | None,
    history: list[HistoricalIncident],
    occurred_at: datetime | None = None,
) -> RecurringResult:
    """Art. 8(2) for ``incident``: with the non-major incidents of the same apparent root
    cause in the 6 months up to it, is the group collectively major under Art. 8(1)?"""
    entity = incident.entity
    if entity.microenterprise or entity.type in ART_16_1_TYPES:
        who = "microenterprises" if entity.microenterprise else "DORA Art. 16(1) entities"
        return RecurringResult(
            applicable=False,
            major=False,
            explanation=f"Art. 8(2) does not apply to {who} (last subparagraph).",
        )
    if not root_cause:
        return RecurringResult(
            applicable=True,
            major=False,
            explanation="no apparent root cause given for the incident: recurrence not assessed",
        )
    # "within 6 months" in calendar months of the entity's Member State
    end = (occurred_at or incident.detected_at).astimezone(zone(entity.member_state))
    start = add_months(end, -6)
    key = root_cause.strip().casefold()
    group = [
        h
        for h in history
        if h.apparent_root_cause.strip().casefold() == key
        and start <= h.when <= end
        and h.incident.incident_id != incident.incident_id
        and not classify(h.incident).major  # only incidents that are not major individually
    ]
    members = [h.incident for h in group] + [incident]
    ids = [h.incident.incident_id for h in sorted(group, key=lambda h: h.when)]
    ids.append(incident.incident_id)
    if len(members) < 2:
        return RecurringResult(
            applicable=True,
            major=False,
            root_cause=root_cause,
            incident_ids=ids,
            window_start=start,
            window_end=end,
            explanation=(
                f"no other non-major incident with root cause {root_cause!r} between "
                f"{start.isoformat()} and {end.isoformat()} (Art. 8(2)(a) needs two occurrences)"
            ),
        )
    collective_incident = aggregate(members, f"{incident.incident_id}+recurring")
    collective = classify(collective_incident)
    firsts = min([h.when for h in group] + [end])
    why = (
        f"{len(members)} incidents with apparent root cause {root_cause!r} between "
        f"{firsts.isoformat()} and {end.isoformat()} (within 6 months, Art. 8(2)(a)-(b)); "
        f"collectively {'MAJOR' if collective.major else 'not major'}: {collective.decided_by} "
        f"(Art. 8(2)(c))"
    )
    return RecurringResult(
        applicable=True,
        major=collective.major,
        root_cause=root_cause,
        incident_ids=ids,
        window_start=start,
        window_end=end,
        collective=collective,
        explanation=why,
    )


def classify_with_history(
    incident: Incident,
    root_cause: str | None = None,
    history: list[HistoricalIncident] | None = None,
) -> Classification:
    """Art. 8(1) for the incident, then Art. 8(2) over its history when it is not major alone."""
    result = classify(incident)
    if history is None or result.major:
        return result
    rec = recurring_check(incident, root_cause, history)
    result.recurring = rec
    if rec.major:
        result.major = True
        result.decided_by = "Art. 8(2): recurring incidents collectively major"
        result.explanation = (
            f"{incident.incident_id}: MAJOR as a recurring incident. {rec.explanation}"
        )
    else:
        result.explanation += f" Recurring check: {rec.explanation}"
    return result


class MonthlyRecurringCheck(BaseModel):
    """The monthly Art. 8(2) assessment over the incident register."""

    article: str = f"Art. 8(2) {RTS} (assessed monthly)"
    as_of: datetime
    window_start: datetime
    groups: list[RecurringResult]
    major_groups: int
    explanation: str


def monthly_recurring_check(
    history: list[HistoricalIncident], as_of: datetime
) -> MonthlyRecurringCheck:
    """Every apparent root cause with two or more non-major incidents in the 6 months up to
    ``as_of``, and whether each group collectively meets Art. 8(1).

    The latest incident of a group stands in for "the incident" of :func:`recurring_check`;
    the 6-month window is taken in the Member State of that incident's entity.
    """
    by_cause: dict[str, list[HistoricalIncident]] = {}
    for h in history:
        by_cause.setdefault(h.apparent_root_cause.strip().casefold(), []).append(h)
    groups: list[RecurringResult] = []
    starts: list[datetime] = []
    for items in by_cause.values():
        ms = items[0].incident.entity.member_state
        end = as_of.astimezone(zone(ms))
        start = add_months(end, -6)
        starts.append(start)
        inside = [h for h in items if start <= h.when <= end and not classify(h.incident).major]
        if len(inside) < 2:
            continue
        inside.sort(key=lambda h: h.when)
        latest = inside[-1]
        result = recurring_check(
            latest.incident, latest.apparent_root_cause, inside[:-1], latest.when
        )
        if result.applicable:
            groups.append(result)
    start = min(starts) if starts else add_months(as_of, -6)
    major = sum(1 for g in groups if g.major)
    why = (
        f"{len(groups)} root cause(s) with two or more non-major incidents since "
        f"{start.isoformat()}; {major} collectively major (report as one major incident, "
        "aggregated: CIR 2025/302 Art. 3)"
    )
    return MonthlyRecurringCheck(
        as_of=as_of, window_start=start, groups=groups, major_groups=major, explanation=why
    )


# ----------------------------------------------------------------- cyber threats (Art. 10)
class ThreatAssessment(BaseModel):
    threat_id: str
    significant: bool
    conditions: list[Condition]
    potential_criteria: list[str]
    explanation: str
    notification: str = (
        "voluntary: DORA Art. 19(2); content per CDR 2025/301 Art. 6, template CIR 2025/302 "
        "Annex III"
    )
    legal_basis: str = f"Art. 10 {RTS}"


def assess_threat(threat: CyberThreat) -> ThreatAssessment:
    """Art. 10: significant only when (a), (b) and (c) all hold."""
    scope, prob, pot = threat.could_affect, threat.probability, threat.potential_criteria
    a = Condition(
        article="Art. 10(a)",
        test="could affect critical or important functions, or other financial entities, "
        "third-party providers, clients or financial counterparts",
        figures=scope.model_dump(),
        met=any(scope.model_dump().values()),
    )
    elements = {
        "exploitable_vulnerabilities": prob.exploitable_vulnerabilities,
        "threat_actor_capability_and_intent": prob.threat_actor_capability_and_intent,
        "persistence_or_past_incidents": prob.persistence_or_past_incidents,
    }
    b = Condition(
        article="Art. 10(b)",
        test="high probability of materialisation, taking into account at least (i) "
        "vulnerabilities, (ii) threat actors' capabilities and intent, (iii) persistence and "
        "past incidents",
        figures={"high": prob.high, **elements, "rationale": prob.rationale or None},
        met=prob.high,
    )
    core = {
        "critical_services (Art. 6)": pot.critical_services,
        "clients_financial_counterparts_transactions (Art. 9(1))": (
            pot.clients_financial_counterparts_transactions
        ),
        "geographical_spread (Art. 9(4))": pot.geographical_spread,
    }
    additional = {
        "reputational (Art. 9(2))": pot.reputational,
        "duration_downtime (Art. 9(3))": pot.duration_downtime,
        "data_losses (Art. 9(5))": pot.data_losses,
        "economic_impact (Art. 9(6))": pot.economic_impact,
    }
    core_met = any(core.values())
    extra_met = pot.consider_additional_thresholds and any(additional.values())
    c = Condition(
        article="Art. 10(c)",
        test="could meet the critical-services criterion, the 9(1) or the 9(4) threshold "
        "(9(2), 9(3), 9(5), 9(6) may also be considered)",
        figures={
            **core,
            **additional,
            "consider_additional_thresholds": pot.consider_additional_thresholds,
        },
        met=core_met or extra_met,
    )
    conds = [a, b, c]
    significant = all(x.met for x in conds)
    potential = [k.split(" ")[0] for k, v in {**core, **additional}.items() if v]
    failed = [x.article for x in conds if not x.met]
    why = (
        f"{threat.threat_id}: significant cyber threat (Art. 10(a), (b) and (c) all met)"
        if significant
        else f"{threat.threat_id}: not significant; not met: {', '.join(failed)}"
    )
    if extra_met and not core_met:
        why += (
            "; (c) met only through thresholds the entity chose to consider (Art. 10 last subpara.)"
        )
    return ThreatAssessment(
        threat_id=threat.threat_id,
        significant=significant,
        conditions=conds,
        potential_criteria=potential,
        explanation=why,
    )


RecurringResult.model_rebuild()

__all__ = [
    "CRITERIA",
    "Classification",
    "Condition",
    "CriterionResult",
    "Gate",
    "RecurringResult",
    "ThreatAssessment",
    "aggregate",
    "assess_criteria",
    "assess_threat",
    "classify",
    "classify_with_history",
    "monthly_recurring_check",
    "recurring_check",
]
