"""The fixed review frequencies the legal text prescribes, each with its source.

Only frequencies written in DORA (Reg. 2022/2554) or RTS 2024/1774 are used; where the
text says "regularly" or "periodically" (e.g. firewall reviews of systems that do not
support critical or important functions, RTS Art. 13 second subparagraph) no frequency is
invented and nothing is flagged.

Boundary rule: "at least every N" means the next review is due on the same calendar day N
later (``last + N``); a review is *overdue* from the day after the due date. Months are
calendar months (31 Jan + 6 months = 31 Jul; 31 Aug + 6 months = 28/29 Feb).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta


@dataclass(frozen=True)
class Frequency:
    """A review obligation: what, how often, for which assets, and where it is written."""

    key: str
    title: str
    months: int = 0
    days: int = 0
    applies_to: str = "all"  # "all", "cif", "non_cif", "legacy", "accepted_risk", "risk"
    reference: str = ""

    def due(self, last: date) -> date:
        return last + relativedelta(months=self.months) + timedelta(days=self.days)

    def overdue(self, last: date | None, as_of: date) -> bool:
        """True when never done (``None``) or ``as_of`` is after the due date."""
        return last is None or as_of > self.due(last)

    @property
    def label(self) -> str:
        if self.days == 7 and not self.months:
            return "weekly"
        if self.months == 12:
            return "yearly"
        if self.months == 6:
            return "every 6 months"
        return f"{self.months} months {self.days} days"


CLASSIFICATION_REVIEW = Frequency(
    "classification_review",
    "Review of the identification and classification of the ICT asset",
    months=12,
    reference="DORA Art. 8(1) (adequacy of the classification reviewed at least yearly)",
)
VULNERABILITY_SCAN = Frequency(
    "vulnerability_scan",
    "Automated vulnerability scan",
    days=7,
    applies_to="cif",
    reference="RTS 2024/1774 Art. 10(2) (automated vulnerability scanning at least weekly "
    "for ICT assets supporting critical or important functions)",
)
FIREWALL_REVIEW = Frequency(
    "firewall_review",
    "Review of firewall rules and connection filters",
    months=6,
    applies_to="cif",
    reference="RTS 2024/1774 Art. 13, second subparagraph (at least every 6 months for ICT "
    "systems supporting critical or important functions)",
)
ACCESS_REVIEW_CIF = Frequency(
    "access_review",
    "Review of access rights",
    months=6,
    applies_to="cif",
    reference="RTS 2024/1774 Art. 21(e)(iv) (at least every 6 months for ICT systems "
    "supporting critical or important functions)",
)
ACCESS_REVIEW_OTHER = Frequency(
    "access_review",
    "Review of access rights",
    months=12,
    applies_to="non_cif",
    reference="RTS 2024/1774 Art. 21(e)(iv) (at least once a year for other ICT systems)",
)
LEGACY_ASSESSMENT = Frequency(
    "legacy_assessment",
    "Specific ICT risk assessment of a legacy ICT system",
    months=12,
    applies_to="legacy",
    reference="DORA Art. 8(7) (legacy ICT systems assessed at least yearly; not for "
    "microenterprises)",
)
RISK_SCENARIO_REVIEW = Frequency(
    "risk_assessment",
    "Review of the ICT risk scenario",
    months=12,
    applies_to="risk",
    reference="DORA Art. 8(2) (risk scenarios reviewed on a regular basis and at least yearly)",
)
ACCEPTED_RISK_REVIEW = Frequency(
    "accepted_risk_review",
    "Review of an accepted residual ICT risk",
    months=12,
    applies_to="accepted_risk",
    reference="RTS 2024/1774 Art. 3(d)(iv) (accepted residual ICT risks reviewed at least "
    "once a year)",
)

ASSET_FREQUENCIES: tuple[Frequency, ...] = (
    CLASSIFICATION_REVIEW,
    VULNERABILITY_SCAN,
    FIREWALL_REVIEW,
    ACCESS_REVIEW_CIF,
    ACCESS_REVIEW_OTHER,
    LEGACY_ASSESSMENT,
)
RISK_FREQUENCIES: tuple[Frequency, ...] = (RISK_SCENARIO_REVIEW, ACCEPTED_RISK_REVIEW)
