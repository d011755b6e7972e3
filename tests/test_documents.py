"""Document ingestion on real files written by the tests (fpdf2, pypdf, python-docx).

No mocks: every reader runs its real library on a real file, so a library upgrade that
changes text extraction shows up here rather than as a quietly worse assessment.
"""

from __future__ import annotations

import hashlib
import pickle
import tracemalloc
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from pypdf import PdfWriter

from agents.contracts import DocumentInfo
from agents.documents import (
    MAX_SECTION_CHARS,
    DocumentReadError,
    DocumentSet,
    Section,
    iter_sections,
    load_documents,
    resolve_paths,
)
from dora.errors import DataValidationError

BODY = (
    "The ICT risk management function shall review all access rights at least every six "
    "months for systems that support critical or important functions. "
)


# ---------------------------------------------------------------- file builders
def _pdf_heading(pdf: FPDF, text: str) -> None:
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 9, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)


def _pdf_para(pdf: FPDF, text: str) -> None:
    pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


class _FooterPDF(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        self.cell(0, 5, f"Nordhafen Bank AG - Internal - Page {self.page_no()} of {{nb}}")


def write_policy_pdf(path: Path) -> Path:
    """Three pages: a wrapped title, headings on pages 1 and 2, page 3 continues the last
    heading, and a "Page n of m" footer on every page."""
    pdf = _FooterPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    _pdf_heading(pdf, "NORDHAFEN BANK AG")
    _pdf_heading(pdf, "ICT ACCESS MANAGEMENT")
    _pdf_heading(pdf, "POLICY")
    _pdf_para(pdf, "Version 1.0, approved by the Management Board.")
    _pdf_heading(pdf, "1 Purpose and scope")
    _pdf_para(pdf, "This policy applies to all staff of Nordhafen Bank AG.")
    _pdf_heading(pdf, "2 Governance")
    _pdf_para(pdf, "The management body approves this policy at least annually.")
    pdf.add_page()
    _pdf_para(pdf, "The CISO reports to the management body every quarter.")
    _pdf_heading(pdf, "2.1 Access reviews")
    _pdf_para(pdf, BODY * 3)
    pdf.add_page()
    _pdf_para(pdf, "Privileged accounts are reviewed monthly.")
    pdf.output(str(path))
    return path


def write_docx(path: Path) -> Path:
    d = docx.Document()
    d.add_paragraph("ICT Security Policy", style="Title")
    d.add_paragraph("Owner: Chief Information Security Officer (CISO).")
    d.add_heading("Governance", level=1)
    d.add_paragraph("The management body approves this policy.")
    d.add_heading("Roles", level=2)
    d.add_paragraph("The CISO is responsible for the ICT security programme.")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Role"
    table.cell(0, 1).text = "Review frequency"
    table.cell(1, 0).text = "CISO"
    table.cell(1, 1).text = "at least annually"
    d.add_heading("3 Backup", level=1)
    d.add_paragraph("Backups are taken daily.")
    d.save(str(path))
    return path


MARKDOWN = """\
# ICT Risk Management Framework

Approved by the management body on 12 March 2025.

## 1 Purpose

The framework applies to all ICT assets.

## Risk assessment

### Methodology

Risks are assessed **at least annually** and after every major incident.

| Risk | Owner |
|------|-------|
| Ransomware | CISO |

```text
risk = likelihood x impact
```

### 2.5 Risk tolerance

The risk appetite statement is set by the board.
"""

HTML = """\
<!doctype html>
<html><head><title>Access Control</title>
<style>p { color: red; }</style><script>var secret = "do not index";</script></head>
<body>
<nav>Intranet home</nav>
<h1>Access Control Policy</h1>
<h2>1. Scope</h2><p>Applies to <b>all</b> information systems.</p>
<h2>Access reviews</h2>
<ul><li>Privileged access: every six months</li><li>Standard access: annually</li></ul>
<h3>Review evidence</h3>
<table><tr><th>System</th><th>Frequency</th></tr>
<tr><td>Core banking</td><td>6 months</td></tr></table>
<script>track();</script>
</body></html>
"""

TEXT = """\
NORDHAFEN BANK AG
ICT CHANGE MANAGEMENT POLICY

Version 2.1, approved 2025.

1 Purpose
This policy sets the rules for changes to
ICT systems in production.

2.1 Emergency changes
Emergency changes are approved by the CAB chair.
- documented within 24 hours
- reviewed at the next CAB meeting

1. The CISO shall be informed of every emergency change.
"""


# ---------------------------------------------------------------- PDF
def test_pdf_pages_headings_and_locations(tmp_path: Path) -> None:
    path = write_policy_pdf(tmp_path / "policy.pdf")
    sections = list(iter_sections(path))
    by_loc = {s.location: s for s in sections}

    # the title wrapped over three lines is one heading; page footers are not text
    title = by_loc["p. 1, § NORDHAFEN BANK AG ICT ACCESS MANAGEMENT POLICY"]
    assert title.text == "Version 1.0, approved by the Management Board."
    assert not any("Page " in s.text for s in sections)

    assert by_loc["p. 1, § 1 Purpose and scope"].page == 1
    assert "all staff" in by_loc["p. 1, § 1 Purpose and scope"].text
    assert by_loc["p. 1, § 2 Governance"].heading == "2 Governance"
    # page 2 starts under the heading carried over from page 1
    carried = by_loc["p. 2, § 2 Governance"]
    assert carried.page == 2 and "every quarter" in carried.text
    reviews = by_loc["p. 2, § 2.1 Access reviews"]
    assert reviews.heading == "2.1 Access reviews"
    # wrapped lines are joined, so phrases that cross a line break still match
    assert "critical or important functions" in reviews.text
    assert "\n" not in reviews.text.split("\n\n")[0]
    third = by_loc["p. 3, § 2.1 Access reviews"]
    assert third.page == 3 and "monthly" in third.text
    assert [s.page for s in sections] == sorted(s.page or 0 for s in sections)

    result = load_documents([path])
    (doc,) = result.documents
    assert doc.info.format == "pdf"
    assert doc.info.pages == 3
    assert doc.info.sections == len(sections)
    assert doc.info.characters == sum(len(s.text) for s in sections)
    assert doc.info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert doc.info.status == "ok" and doc.info.finding is None


def test_encrypted_pdf_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    plain = write_policy_pdf(tmp_path / "plain.pdf")
    locked = tmp_path / "locked.pdf"
    writer = PdfWriter(clone_from=str(plain))
    writer.encrypt("s3cret", algorithm="AES-256")
    writer.write(str(locked))

    result = load_documents([locked])
    assert result.documents == []
    (finding,) = result.findings
    assert finding.status == "error"
    assert finding.format == "pdf"
    assert finding.finding == "encrypted PDF: cannot be read without a password"
    assert finding.sha256 == hashlib.sha256(locked.read_bytes()).hexdigest()

    with pytest.raises(DataValidationError, match=r"locked\.pdf: encrypted PDF"):
        load_documents([locked], on_error="halt")


def test_pdf_with_only_an_owner_password_is_read(tmp_path: Path) -> None:
    """'Protected' PDFs that only restrict printing open with an empty user password."""
    plain = write_policy_pdf(tmp_path / "plain.pdf")
    restricted = tmp_path / "restricted.pdf"
    writer = PdfWriter(clone_from=str(plain))
    writer.encrypt("", owner_password="owner", algorithm="AES-128")
    writer.write(str(restricted))

    (doc,) = load_documents([restricted]).documents
    assert doc.info.pages == 3
    assert any(s.heading == "2.1 Access reviews" for s in doc.sections)


def test_corrupt_and_truncated_pdfs(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(write_policy_pdf(tmp_path / "full.pdf").read_bytes()[:300])

    result = load_documents([garbage, truncated])
    assert result.documents == []
    assert [Path(f.path).name for f in result.findings] == ["garbage.pdf", "truncated.pdf"]
    for f in result.findings:
        assert f.status == "error"
        assert f.finding is not None and f.finding.startswith(("corrupt PDF", "unreadable PDF"))


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 50, 50)  # a drawing, no text: like a scan
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))
    (finding,) = load_documents([path]).findings
    assert finding.finding is not None
    assert finding.finding.startswith("empty document") and "OCR" in finding.finding


# ---------------------------------------------------------------- DOCX
def test_docx_headings_hierarchy_and_tables(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "security.docx")
    sections = list(iter_sections(path))
    locations = [s.location for s in sections]
    assert locations == [
        "§ ICT Security Policy",
        "§ 1 Governance",
        "§ 1.1 Roles",
        "§ 3 Backup",
    ]
    roles = sections[2]
    assert roles.heading == "Roles" and roles.page is None
    assert "responsible for the ICT security programme" in roles.text
    assert "Role | Review frequency" in roles.text
    assert "CISO | at least annually" in roles.text
    assert "daily" in sections[3].text

    (doc,) = load_documents([path]).documents
    assert doc.info.format == "docx" and doc.info.pages is None
    assert doc.info.sections == 4


def test_docx_corrupt_and_encrypted(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.docx"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip archive" * 3)
    encrypted = tmp_path / "encrypted.docx"
    # password-protected Office files are OLE compound files, not zip packages
    encrypted.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)

    findings = {Path(f.path).name: f.finding or "" for f in load_documents([tmp_path]).findings}
    assert findings["corrupt.docx"].startswith("corrupt DOCX")
    assert findings["encrypted.docx"].startswith("encrypted or legacy Word file")


# ---------------------------------------------------------------- Markdown
def test_markdown_heading_hierarchy(tmp_path: Path) -> None:
    path = tmp_path / "rmf.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    sections = list(iter_sections(path))
    assert [s.location for s in sections] == [
        "§ ICT Risk Management Framework",
        "§ 1 Purpose",
        "§ 2.1 Methodology",
        "§ 2.5 Risk tolerance",
    ]
    method = sections[2]
    assert method.heading == "Methodology"
    assert "at least annually" in method.text and "**" not in method.text
    assert "Ransomware | CISO" in method.text
    assert "risk = likelihood x impact" in method.text
    assert all(s.page is None for s in sections)


def test_markdown_text_before_first_heading_cites_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.markdown"
    path.write_text("Preamble paragraph.\n\nSecond paragraph.\n\n## Scope\n\nAll.\n")
    sections = list(iter_sections(path))
    assert sections[0].heading is None and sections[0].location == "line 1"
    assert sections[0].text == "Preamble paragraph.\n\nSecond paragraph."
    assert sections[1].location == "§ 1 Scope"


# ---------------------------------------------------------------- HTML
def test_html_headings_and_script_stripped(tmp_path: Path) -> None:
    path = tmp_path / "access.html"
    path.write_text(HTML, encoding="utf-8")
    sections = list(iter_sections(path))
    all_text = "\n".join(s.text for s in sections)
    assert "do not index" not in all_text and "track()" not in all_text
    assert "color: red" not in all_text
    locations = {s.location: s for s in sections}
    assert locations["para. 1"].text == "Intranet home"  # before the first heading
    assert "all information systems" in locations["§ 1. Scope"].text
    reviews = locations["§ 2 Access reviews"]
    assert "Privileged access: every six months" in reviews.text
    evidence = locations["§ 2.1 Review evidence"]
    assert evidence.heading == "Review evidence"
    assert "Core banking | 6 months" in evidence.text


# ---------------------------------------------------------------- plain text
def test_text_numbered_heading_heuristics(tmp_path: Path) -> None:
    path = tmp_path / "change.txt"
    path.write_text(TEXT, encoding="utf-8")
    sections = list(iter_sections(path))
    assert [s.heading for s in sections] == [
        "NORDHAFEN BANK AG – ICT CHANGE MANAGEMENT POLICY",
        "1 Purpose",
        "2.1 Emergency changes",
    ]
    purpose = sections[1]
    assert purpose.location == "§ 1 Purpose"
    assert "changes to ICT systems in production" in purpose.text  # wrapped line joined
    emergency = sections[2]
    assert "\n- documented within 24 hours\n- reviewed" in emergency.text
    # a numbered *obligation* is body text, not a heading
    assert "1. The CISO shall be informed" in emergency.text


def test_text_legacy_encoding_and_binary(tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.txt"
    text = "1 Geltungsbereich\nGilt für alle Mitarbeiter der Bank – ohne Ausnahme.\n"
    legacy.write_bytes(text.encode("cp1252"))
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02MZ\x90\x00" * 50)
    result = load_documents([legacy, binary])
    (doc,) = result.documents
    assert "für alle Mitarbeiter der Bank – ohne" in doc.sections[0].text
    (finding,) = result.findings
    assert finding.finding is not None and "binary content" in finding.finding


# ---------------------------------------------------------------- bounded sections
def test_long_sections_are_chunked_with_same_location(tmp_path: Path) -> None:
    paragraphs = [f"Paragraph {i}. " + BODY * 6 for i in range(40)]
    path = tmp_path / "long.md"
    path.write_text("## 4 Backup and restore\n\n" + "\n\n".join(paragraphs) + "\n")
    sections = list(iter_sections(path))
    assert len(sections) > 5
    assert all(len(s.text) <= MAX_SECTION_CHARS for s in sections)
    assert {s.location for s in sections} == {"§ 4 Backup and restore"}
    joined = "\n\n".join(s.text for s in sections)
    for i in range(40):
        assert f"Paragraph {i}." in joined


def test_one_giant_paragraph_is_split(tmp_path: Path) -> None:
    path = tmp_path / "blob.txt"
    path.write_text("1 Scope\n" + "x" * 9000 + " " + "word " * 2000 + "\n")
    sections = list(iter_sections(path))
    assert all(0 < len(s.text) <= MAX_SECTION_CHARS for s in sections)
    assert sum(s.text.count("x") for s in sections) == 9000
    assert {s.location for s in sections} == {"§ 1 Scope"}


def test_iter_sections_streams_large_text_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    block = "\n".join(f"{n} Control area {n}\n{BODY * 4}\n" for n in range(1, 60))
    with path.open("w", encoding="utf-8") as fh:
        while fh.tell() < 12_000_000:
            fh.write(block)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        count = 0
        for section in iter_sections(path):
            count += 1
            assert len(section.text) <= MAX_SECTION_CHARS
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count > 1000
    assert peak < size / 3, f"peak {peak} bytes for a {size} byte file: not streaming"


# ---------------------------------------------------------------- findings
def test_empty_unsupported_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "empty.md").write_bytes(b"")
    (tmp_path / "blank.txt").write_text("\n\n   \n")
    (tmp_path / "setup.exe").write_bytes(b"MZ\x90\x00")
    (tmp_path / "data.xyz").write_text("hello")
    result = load_documents(["empty.md", "blank.txt", "setup.exe", "data.xyz"], base=tmp_path)
    findings = {Path(f.path).name: f for f in result.findings}
    assert result.documents == []
    assert findings["empty.md"].finding == "empty file (0 bytes)"
    assert (findings["blank.txt"].finding or "").startswith("empty document")
    assert (findings["setup.exe"].finding or "").startswith("unsupported file type '.exe'")
    assert (findings["data.xyz"].finding or "").startswith("unsupported file type '.xyz'")
    assert findings["setup.exe"].format is None
    assert all(f.status == "error" for f in findings.values())
    assert result.infos == result.findings

    with pytest.raises(DataValidationError, match=r"setup\.exe: unsupported file type"):
        load_documents(["setup.exe"], base=tmp_path, on_error="halt")


def test_halt_stops_at_first_bad_file_but_record_keeps_going(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\ntext\n")
    (tmp_path / "b.docx").write_bytes(b"not a docx")
    (tmp_path / "c.txt").write_text("1 C\nbody\n")
    recorded = load_documents([tmp_path])
    assert [Path(d.info.path).name for d in recorded.documents] == ["a.md", "c.txt"]
    assert [Path(f.path).name for f in recorded.findings] == ["b.docx"]
    assert [Path(i.path).name for i in recorded.infos] == ["a.md", "c.txt", "b.docx"]
    with pytest.raises(DocumentReadError) as info:
        load_documents([tmp_path], on_error="halt")
    assert info.value.path.endswith("b.docx")
    assert str(info.value).startswith(str(tmp_path / "b.docx") + ": corrupt DOCX")


def test_document_read_error_pickles() -> None:
    err = DocumentReadError("/x/policy.pdf", "encrypted PDF: cannot be read without a password")
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, DocumentReadError)
    assert back.path == err.path and back.reason == err.reason and str(back) == str(err)


def test_models_round_trip_as_json(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "p.docx")
    result = load_documents([path])
    again = DocumentSet.model_validate(result.model_dump(mode="json"))
    assert again == result
    assert isinstance(again.documents[0].info, DocumentInfo)
    assert isinstance(again.documents[0].sections[0], Section)


# ---------------------------------------------------------------- path resolution
@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    (tmp_path / "policies" / "sub").mkdir(parents=True)
    (tmp_path / "policies" / ".git").mkdir()
    for rel in ("policies/b.md", "policies/a.txt", "policies/sub/c.html", "policies/sub/d.pdf"):
        (tmp_path / rel).write_text("x")
    (tmp_path / "policies" / "budget.xlsx").write_text("x")
    (tmp_path / "policies" / "~$draft.docx").write_text("x")
    (tmp_path / "policies" / ".git" / "notes.md").write_text("x")
    (tmp_path / "other.md").write_text("x")
    return tmp_path


def _rel(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def test_resolve_folder_recursive_sorted_supported_only(tree: Path) -> None:
    assert _rel(resolve_paths(["policies"], base=tree), tree) == [
        "policies/a.txt",
        "policies/b.md",
        "policies/sub/c.html",
        "policies/sub/d.pdf",
    ]
    assert all(p.is_absolute() for p in resolve_paths(["policies"], base=tree))


def test_resolve_globs_files_and_dedup(tree: Path) -> None:
    got = resolve_paths(["**/*.md", "policies/b.md", str(tree / "policies/sub/*.pdf")], base=tree)
    assert _rel(got, tree) == ["other.md", "policies/b.md", "policies/sub/d.pdf"]
    # an explicitly named unsupported file is kept so it becomes a finding
    assert _rel(resolve_paths(["policies/budget.xlsx"], base=tree), tree) == [
        "policies/budget.xlsx"
    ]
    # a glob over a folder name expands the folder
    assert _rel(resolve_paths(["polic*"], base=tree), tree)[0] == "policies/a.txt"


def test_resolve_names_every_spec_that_matches_nothing(tree: Path) -> None:
    with pytest.raises(DataValidationError) as info:
        resolve_paths(["policies", "missing.pdf", "nothing/*.docx"], base=tree)
    message = str(info.value)
    assert "'missing.pdf'" in message and "'nothing/*.docx'" in message
    assert "'policies'" not in message
    (tree / "empty").mkdir()
    with pytest.raises(DataValidationError, match="'empty'"):
        load_documents(["empty"], base=tree)


# ---------------------------------------------------------------- the sample policy set
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_sample_policy_set_reads_cleanly() -> None:
    """The committed samples are what the main workflow reads: all must ingest, in 5 formats."""
    result = load_documents([EXAMPLES / "policies"])
    assert result.findings == []
    formats = [d.info.format for d in result.documents]
    for fmt, minimum in {"markdown": 2, "docx": 2, "pdf": 2, "html": 1, "text": 1}.items():
        assert formats.count(fmt) >= minimum, (fmt, formats)
    for doc in result.documents:
        assert doc.info.sections >= 8, doc.info.path
        # every passage is citable; only the HTML page's breadcrumb precedes a heading
        prefixes = ("§ ", "p. ", "para. ") if doc.info.format == "html" else ("§ ", "p. ")
        assert all(s.location.startswith(prefixes) for s in doc.sections), doc.info.path
        assert not any("Page " in s.text for s in doc.sections)
        if doc.info.format == "pdf":
            assert doc.info.pages is not None and 1 <= doc.info.pages <= 6


def test_sample_binaries_are_up_to_date() -> None:
    """examples/make_samples.py is deterministic, so the committed DOCX/PDF match the sources."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("make_samples", EXAMPLES / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_samples"] = module  # dataclasses resolve their module by name
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["make_samples"]
    assert module.main(["--check"]) == 0


def test_sample_entity_and_financial_data_match_contracts() -> None:
    import json

    import pandas as pd
    import yaml

    from agents.contracts import EntityProfile, FinancialData

    profile = EntityProfile.model_validate(
        yaml.safe_load((EXAMPLES / "entity-profile.yaml").read_text(encoding="utf-8"))
    )
    assert not profile.microenterprise and not profile.simplified_regime
    from_json = FinancialData.model_validate(
        json.loads((EXAMPLES / "financial_data.json").read_text(encoding="utf-8"))
    )
    rows = pd.read_csv(EXAMPLES / "financial_data.csv").to_dict(orient="records")
    assert len(rows) == 1
    from_csv = FinancialData.model_validate(rows[0])
    assert from_json.model_dump() == from_csv.model_dump()
    assert from_json.total_assets_eur == profile.total_assets_eur
    assert from_json.annual_revenue_eur == profile.annual_revenue_eur


def test_plain_text_runbook_headings_steps_and_control_lines(tmp_path: Path) -> None:
    """Runbooks in plain text: "=== 3. TRIAGE (first 30 minutes) ===" and "STEP 4 Restore
    service" are headings wherever they stand, a wrapped numbered step is not a heading,
    and "Owner: ..." / history rows stay lines of their own instead of one run-on line."""
    path = tmp_path / "runbook.txt"
    path.write_text(
        "ACME RUNBOOK\n\nDoc ID: RB-1\nOwner: Head of SRE\nv1.0 2025-01-15 First issue\n"
        "v1.1 2025-09-03 Added payments path\n\n"
        "=== 3. TRIAGE (first 30 minutes) ===\nAck the page within 15 min.\n"
        "=== 4. RECOVERY ===\n"
        " 1. Restore services per the service's recovery procedure in Confluence\n"
        "    (restore procedures themselves are not in this runbook).\n\n"
        "STEP 5 Escalate\n\nPage the executive on call within 15 minutes.\n\n"
        "----------  ----------\nSEV1 rows\n",
        encoding="utf-8",
    )
    sections = list(iter_sections(path))
    locations = [s.location for s in sections]
    assert "§ 3. TRIAGE (first 30 minutes)" in locations
    assert "§ 4. RECOVERY" in locations
    assert "§ STEP 5 Escalate" in locations
    assert not any("Restore services" in loc or "-----" in loc for loc in locations)
    recovery = next(s for s in sections if s.location == "§ 4. RECOVERY")
    assert "Restore services" in recovery.text
    control = sections[0].text.split("\n")
    assert "Owner: Head of SRE" in control
    assert "v1.1 2025-09-03 Added payments path" in control
