"""Regenerate the binary sample policies (DOCX, PDF) from their text sources.

The sample policy set in ``examples/policies/`` mixes formats on purpose, because a
real bank's policy share does: some documents are Word files, some are PDFs exported
from Word, some live on the intranet. The Word and PDF files are generated from the
plain-text sources in ``examples/sources/`` so that their content can be reviewed in
a diff and changed without an office suite. The output is byte-for-byte reproducible
(fixed creation dates and zip timestamps), so regenerating without changing a
source leaves ``git status`` clean.

Usage::

    .venv/bin/python examples/make_samples.py           # write examples/policies/*.docx|pdf
    .venv/bin/python examples/make_samples.py --check   # fail if the committed files are stale

Source format (a small Markdown subset): ``# Title``, ``## 1 Heading``,
``### 1.1 Heading``, paragraphs separated by blank lines, ``- `` bullet lists and
``| a | b |`` tables whose first row is the header.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
POLICIES = HERE / "policies"
BANK = "Nordhafen Bank AG"

#: source file stem -> output format
OUTPUTS: dict[str, str] = {
    "02-ict-risk-management-framework": "docx",
    "03-business-continuity-and-ict-response-recovery": "pdf",
    "04-ict-incident-management": "docx",
    "05-ict-third-party-risk-policy": "pdf",
}

#: fixed timestamp so regenerated files are identical to the committed ones
FIXED_TIME = datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)


# ---------------------------------------------------------------- source model
@dataclass
class Block:
    """One block of a source document."""

    kind: str  # "h1", "h2", "para", "bullets", "table"
    text: str = ""
    items: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Source:
    title: str
    blocks: list[Block]

    def meta(self, key: str) -> str:
        """A value from the metadata table (the first table), e.g. 'Document ID'."""
        for block in self.blocks:
            if block.kind == "table":
                for row in block.rows:
                    if row and row[0] == key:
                        return row[1]
                break
        return ""


def parse(path: Path) -> Source:
    """Parse the Markdown subset described in the module docstring."""
    title = ""
    blocks: list[Block] = []
    chunks = path.read_text(encoding="utf-8").split("\n\n")
    for chunk in chunks:
        lines = [ln.rstrip() for ln in chunk.strip("\n").split("\n") if ln.strip()]
        if not lines:
            continue
        first = lines[0]
        if first.startswith("# "):
            title = first[2:].strip()
        elif first.startswith("## "):
            blocks.append(Block("h1", first[3:].strip()))
        elif first.startswith("### "):
            blocks.append(Block("h2", first[4:].strip()))
        elif first.startswith("|"):
            rows = [
                [c.strip() for c in ln.strip().strip("|").split("|")]
                for ln in lines
                if not set(ln.replace("|", "").strip()) <= {"-", ":", " "}
            ]
            blocks.append(Block("table", rows=rows))
        elif first.startswith("- "):
            items: list[str] = []
            for ln in lines:
                if ln.startswith("- "):
                    items.append(ln[2:].strip())
                else:
                    items[-1] += " " + ln.strip()
            blocks.append(Block("bullets", items=items))
        else:
            blocks.append(Block("para", " ".join(ln.strip() for ln in lines)))
    if not title:
        raise SystemExit(f"{path}: no '# Title' line")
    return Source(title, blocks)


# ---------------------------------------------------------------- DOCX
def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps: python-docx stamps entries with 'now'."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def render_docx(source: Source) -> bytes:
    """A Word document with real Heading styles and tables, as a bank's template would have."""
    import docx
    from docx.shared import Pt

    document = docx.Document()
    props = document.core_properties
    props.title = source.title
    props.author = BANK
    props.last_modified_by = BANK
    props.subject = source.meta("Document ID")
    props.created = FIXED_TIME.replace(tzinfo=None)
    props.modified = FIXED_TIME.replace(tzinfo=None)
    props.last_printed = FIXED_TIME.replace(tzinfo=None)
    props.revision = 1

    style = document.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(10.5)

    footer = document.sections[0].footer.paragraphs[0]
    footer.text = f"{BANK} · {source.meta('Document ID')} · Internal"
    header = document.sections[0].header.paragraphs[0]
    header.text = BANK

    document.add_heading(source.title, level=0)
    for block in source.blocks:
        if block.kind == "h1":
            document.add_heading(block.text, level=1)
        elif block.kind == "h2":
            document.add_heading(block.text, level=2)
        elif block.kind == "para":
            document.add_paragraph(block.text)
        elif block.kind == "bullets":
            for item in block.items:
                document.add_paragraph(item, style="List Bullet")
        elif block.kind == "table":
            table = document.add_table(rows=0, cols=len(block.rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(block.rows):
                cells = table.add_row().cells
                for cell, value in zip(cells, row, strict=False):
                    cell.text = value
                    if r == 0:
                        for run in cell.paragraphs[0].runs:
                            run.bold = True
            document.add_paragraph()
    buf = io.BytesIO()
    document.save(buf)
    return _normalise_zip(buf.getvalue())


# ---------------------------------------------------------------- PDF
_LATIN1 = str.maketrans(
    {
        "–": "-",
        "—": "-",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "€": "EUR",
        "…": "...",
        "·": "-",
        "›": ">",
    }
)


def _latin1(text: str) -> str:
    """The PDF core fonts are Latin-1; map typographic characters to plain ones."""
    return text.translate(_LATIN1)


def render_pdf(source: Source) -> bytes:
    """A PDF laid out like a Word export: title block, numbered bold headings, footer."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    doc_id = source.meta("Document ID")
    version = source.meta("Version")

    class PolicyPDF(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Helvetica", "", 8)
            self.set_text_color(110)
            text = f"{BANK} - {doc_id} v{version} - Internal - Page {self.page_no()} of {{nb}}"
            self.cell(0, 5, _latin1(text), align="C")
            self.set_text_color(0)

    pdf = PolicyPDF(format="A4")
    pdf.set_creation_date(FIXED_TIME)
    pdf.set_title(source.title)
    pdf.set_author(BANK)
    pdf.set_subject(doc_id)
    pdf.set_margins(22, 20, 22)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()

    pdf.set_font("Helvetica", "B", 9)
    pdf.set_text_color(0, 70, 120)
    pdf.cell(0, 5, BANK.upper(), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 8, _latin1(source.title.upper()), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.ln(3)

    for block in source.blocks:
        if block.kind == "h1":
            pdf.ln(2)
            pdf.set_font("Helvetica", "B", 12)
            pdf.multi_cell(0, 7, _latin1(block.text), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif block.kind == "h2":
            pdf.set_font("Helvetica", "B", 10.5)
            pdf.multi_cell(0, 6, _latin1(block.text), new_x="LMARGIN", new_y="NEXT")
        elif block.kind == "para":
            pdf.set_font("Helvetica", "", 10)
            pdf.multi_cell(0, 5, _latin1(block.text), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif block.kind == "bullets":
            pdf.set_font("Helvetica", "", 10)
            for item in block.items:
                pdf.set_x(pdf.l_margin + 4)
                pdf.multi_cell(0, 5, _latin1(f"- {item}"), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif block.kind == "table":
            pdf.set_font("Helvetica", "", 9)
            with pdf.table(
                headings_style=FontFace(emphasis="BOLD", fill_color=(225, 232, 240)),
                line_height=5,
                padding=1.2,
            ) as table:
                for row in block.rows:
                    line = table.row()
                    for value in row:
                        line.cell(_latin1(value))
            pdf.ln(3)
    return bytes(pdf.output())


# ---------------------------------------------------------------- main
def build() -> dict[Path, bytes]:
    """Render every source; returns output path -> bytes."""
    outputs: dict[Path, bytes] = {}
    for stem, fmt in OUTPUTS.items():
        source = parse(SOURCES / f"{stem}.md")
        data = render_docx(source) if fmt == "docx" else render_pdf(source)
        outputs[POLICIES / f"{stem}.{fmt}"] = data
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if outputs are out of date")
    args = parser.parse_args(argv)
    POLICIES.mkdir(parents=True, exist_ok=True)
    stale: list[str] = []
    for path, data in build().items():
        rel = path.relative_to(HERE.parent)
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(str(rel))
            continue
        path.write_bytes(data)
        print(f"wrote {rel} ({len(data):,} bytes)")
    if stale:
        print("out of date (run examples/make_samples.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
