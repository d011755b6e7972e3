"""Export of a validated register as an xBRL-CSV report package for the EBA DORA taxonomy.

Layout (dora-facts.md §4.3, after [CA-RoI] and the EBA DORA 4.0 module as encoded by [XB])::

    <stem>.zip
      <stem>/META-INF/reportPackage.json
      <stem>/reports/report.json            extends the DORA 4.0 module
      <stem>/reports/parameters.csv         entityID rs:<LEI>.CON|IND, refPeriod, baseCurrency, decimals
      <stem>/reports/FilingIndicators.csv   templateID,reported
      <stem>/reports/b_01.01.csv ... b_99.01.csv   one per table, taxonomy column codes c0010...

``<stem>`` follows the EBA sample file name
``<LEI>.CON_<country>_DORA010100_DORA_<reference date>_<yyyyMMddHHmmssfff>``.

Values use the taxonomy's members where the facts file documents them (``eba_GA:DE``,
``eba_CU:EUR``, ``eba_TA:S01``, ``eba_BT:x28``, ``eba_CO:x1``); other closed lists are
already EBA members after validation (see ``data/enumerations.yaml`` for which are
unconfirmed). Approximations, said plainly: the report-package document type, the
decimals parameters and the types of code (``eba_qCO:qx2000`` for LEI, ``qx2002`` for
EUID) follow ciso-assistant and are not checked against the EBA filing rules; link
columns are exported as ``true``; no EBA validation rule beyond ours is run.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from agents.roi.loader import Register
from agents.roi.templates import TEMPLATES, ColumnSpec, TemplateSpec
from agents.roi.validate import NOT_APPLICABLE

__all__ = [
    "DORA_MODULE",
    "ExportResult",
    "default_reference_date",
    "export_package",
    "package_stem",
]

DORA_MODULE = "http://www.eba.europa.eu/eu/fr/xbrl/crr/fws/dora/4.0/mod/dora.json"
REPORT_PACKAGE_TYPE = "https://xbrl.org/report-package/2023"
XBRL_CSV_TYPE = "https://xbrl.org/2021/xbrl-csv"
CODE_TYPE_MEMBERS = {"LEI": "eba_qCO:qx2000", "EUID": "eba_qCO:qx2002"}


def default_reference_date(reporting_date: str | None) -> str:
    """The reference date: the reporting date when it is a 31 December (or the first
    collection's 31 March 2025), else 31 December of the preceding year (ESAs Joint
    Decision of 8 Nov 2024, Art. 4; dora-facts.md §4.3)."""
    if not reporting_date:
        raise ValueError("no reporting date in B_01.01.0060; pass a reference date")
    day = dt.date.fromisoformat(reporting_date)
    if (day.month, day.day) == (12, 31) or day == dt.date(2025, 3, 31):
        return day.isoformat()
    return dt.date(day.year - 1, 12, 31).isoformat()


def package_stem(
    lei: str, country: str, reference_date: str, created: dt.datetime, level: str
) -> str:
    stamp = created.strftime("%Y%m%d%H%M%S") + f"{created.microsecond // 1000:03d}"
    return f"{lei}.{level}_{country}_DORA010100_DORA_{reference_date}_{stamp}"


def _value(col: ColumnSpec, value: Any) -> str:
    if value is None or value == "":
        return ""
    if value == NOT_APPLICABLE:
        return NOT_APPLICABLE
    if col.kind == "country":
        return f"eba_GA:{value}"
    if col.kind == "currency":
        return f"eba_CU:{value}"
    if col.kind == "service":
        return f"eba_TA:{value}"
    if col.kind == "code_type":
        return CODE_TYPE_MEMBERS.get(str(value), str(value))
    if col.kind == "amount":
        number = float(value)
        return str(int(number)) if number.is_integer() else f"{number:.2f}"
    return str(value)


def _table_csv(spec: TemplateSpec, register: Register) -> str:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    header = [spec.taxonomy_code(c.code) for c in spec.columns]
    if spec.link_column:
        header.append(spec.link_column)
    out.writerow(header)
    for row in register.rows(spec.code):
        cells = [_value(c, row.get(c.code)) for c in spec.columns]
        if spec.link_column:
            cells.append("true")
        out.writerow(cells)
    return buffer.getvalue()


class ExportResult(dict[str, Any]):
    """path, stem, files (inside the zip), reference_date, entity_id, tables, approximations."""


APPROXIMATIONS = [
    "report package documentType https://xbrl.org/report-package/2023 and parameters "
    "decimalsInteger=0, decimalsMonetary=-3 follow ciso-assistant, not checked against the "
    "EBA filing rules",
    "type-of-code members eba_qCO:qx2000 (LEI) and eba_qCO:qx2002 (EUID) are UNCONFIRMED; "
    "other types (e.g. DE_VAT) are written as given",
    "link columns b_02.03.c0030, b_03.01.c0030, b_03.03.c0031 are written as 'true'",
    "members of entity type, hierarchy, termination reason, reliance, branch, type of person "
    "and non-substitutability reason come from ciso-assistant (UNCONFIRMED)",
    "the EBA's own validation rules are not run; only this tool's checks",
]


def export_package(
    register: Register,
    out: str | Path,
    *,
    reference_date: str | None = None,
    level: str = "IND",
    created: dt.datetime | None = None,
) -> ExportResult:
    """Write the xBRL-CSV package for ``register`` (already validated) to ``out``.

    ``out`` may be a ``.zip`` path or a directory (the package is then named by the EBA
    convention inside it). ``level`` is ``IND`` (individual) or ``CON`` (consolidated).
    """
    if level not in ("IND", "CON"):
        raise ValueError(f"level must be IND or CON, got {level!r}")
    entity = register.rows("B_01.01")
    if not entity:
        raise ValueError("B_01.01 is empty: the entity's LEI is needed for the package")
    lei = str(entity[0].get("0010"))
    country = str(entity[0].get("0030")) or "XX"
    reporting = entity[0].get("0060")
    ref = reference_date or default_reference_date(
        reporting if isinstance(reporting, str) else None
    )
    dt.date.fromisoformat(ref)
    created = created or dt.datetime.now(dt.UTC)
    stem = package_stem(lei, country, ref, created, level)
    target = Path(out)
    if target.suffix.lower() != ".zip":
        target.mkdir(parents=True, exist_ok=True)
        target = target / f"{stem}.zip"
    else:
        target.parent.mkdir(parents=True, exist_ok=True)

    currency = "EUR"
    for row in register.rows("B_01.02"):
        if str(row.get("0010")) == lei and row.get("0100"):
            currency = str(row.get("0100"))
    files: dict[str, str] = {
        "META-INF/reportPackage.json": json.dumps(
            {"documentInfo": {"documentType": REPORT_PACKAGE_TYPE}}, indent=2
        ),
        "reports/report.json": json.dumps(
            {"documentInfo": {"documentType": XBRL_CSV_TYPE, "extends": [DORA_MODULE]}}, indent=2
        ),
    }
    params = io.StringIO()
    writer = csv.writer(params, lineterminator="\n")
    writer.writerows(
        [
            ("name", "value"),
            ("entityID", f"rs:{lei}.{level}"),
            ("refPeriod", ref),
            ("baseCurrency", f"iso4217:{currency}"),
            ("decimalsInteger", "0"),
            ("decimalsMonetary", "-3"),
        ]
    )
    files["reports/parameters.csv"] = params.getvalue()
    indicators = io.StringIO()
    writer = csv.writer(indicators, lineterminator="\n")
    writer.writerow(("templateID", "reported"))
    tables: dict[str, int] = {}
    for code, spec in TEMPLATES.items():
        reported = bool(register.rows(code))
        writer.writerow((code, "true" if reported else "false"))
        files[f"reports/{spec.csv_name}"] = _table_csv(spec, register)
        tables[spec.csv_name] = len(register.rows(code))
    files["reports/FilingIndicators.csv"] = indicators.getvalue()

    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            zf.writestr(f"{stem}/{name}", files[name])
    return ExportResult(
        path=str(target),
        stem=stem,
        files=[f"{stem}/{n}" for n in sorted(files)],
        reference_date=ref,
        entity_id=f"rs:{lei}.{level}",
        tables=tables,
        approximations=APPROXIMATIONS,
    )
