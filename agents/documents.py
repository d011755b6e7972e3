"""Document ingestion: turn policy files (PDF, DOCX, Markdown, HTML, text) into citable sections.

The policy analyzer needs two things from a document: the text, cut into passages
small enough to score, and *where* each passage is, so every finding can cite
"p. 4" or "§ 3.2 Access reviews" back to the auditor. This module provides both,
and nothing else: no scoring, no DORA knowledge.

Design choices and why:

* **One reader per format, each a maintained library** (pypdf, python-docx,
  markdown-it-py, beautifulsoup4). Hand-rolled parsers break on the first odd file a
  bank sends; these libraries have seen far more odd files than we ever will.
* **Streaming** (:func:`iter_sections`): PDFs are read page by page, text files line
  by line, Markdown in blocks; a single section never holds more than
  :data:`MAX_SECTION_CHARS` characters (longer ones are split into chunks that keep
  the same location). A 900-page outsourcing contract therefore costs one page of
  memory at a time, not the whole book. HTML and DOCX are parsed whole by their
  libraries, so they are refused above :data:`MAX_WHOLE_PARSE_BYTES`.
* **A bad file is a finding, not a crash** (:func:`load_documents`): a corrupt,
  encrypted, empty or unsupported file becomes a :class:`DocumentInfo` with
  ``status="error"`` and a sentence a compliance officer understands. An assessment
  that silently skipped the encrypted incident policy would report a gap that is in
  fact a missing input; recording it keeps the report honest. ``on_error="halt"``
  turns the same message into a :class:`~dora.errors.DataValidationError`.
* **Locations follow the document's own numbering** when headings carry numbers
  ("2.1 Access reviews" → ``§ 2.1 Access reviews``); unnumbered heading hierarchies
  (Markdown, DOCX, HTML) are numbered from their levels so citations stay unique.
"""

from __future__ import annotations

import codecs
import glob
import hashlib
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.contracts import DocumentInfo
from dora.errors import DataValidationError

__all__ = [
    "FORMATS",
    "MAX_SECTION_CHARS",
    "MAX_WHOLE_PARSE_BYTES",
    "Document",
    "DocumentReadError",
    "DocumentSet",
    "Section",
    "detect_format",
    "iter_sections",
    "load_documents",
    "resolve_paths",
]

#: cap on one section's text; longer sections are split into chunks with the same location.
#: ~4000 characters is one dense page: long enough to keep a requirement and its
#: frequency together, short enough that a quote stays readable in a report.
MAX_SECTION_CHARS = 4000

#: HTML and DOCX are parsed whole by their libraries; refuse files that would not fit
#: comfortably in a worker's memory rather than let the pod be OOM-killed.
MAX_WHOLE_PARSE_BYTES = 50 * 1024 * 1024

#: file extension -> format name (the ``DocumentInfo.format`` values)
FORMATS: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".text": "text",
}

_HASH_CHUNK = 1024 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc, or an encrypted Office file


# ---------------------------------------------------------------- public models
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Section(_Model):
    """One citable passage of a document.

    ``location`` is what a report prints next to a quote: ``"p. 3"`` or
    ``"p. 3, § 2.1 Access reviews"`` for PDFs, ``"§ 2.1 Access reviews"`` for
    documents with headings, ``"line 12"`` / ``"para. 4"`` for text before any heading.
    """

    heading: str | None = None
    page: int | None = None
    text: str
    location: str


class Document(_Model):
    """A document that was read successfully, with its sections in reading order."""

    info: DocumentInfo
    sections: list[Section] = Field(default_factory=list)


class DocumentSet(_Model):
    """Everything :func:`load_documents` produced: readable documents and the files that failed.

    ``findings`` holds one ``status="error"`` :class:`DocumentInfo` per file that could
    not be read, so the report can say *which* input was unusable and why.
    """

    documents: list[Document] = Field(default_factory=list)
    findings: list[DocumentInfo] = Field(default_factory=list)

    @property
    def infos(self) -> list[DocumentInfo]:
        """Every input file's info (read ones first, then failures), e.g. for AnalysisResults."""
        return [d.info for d in self.documents] + list(self.findings)


class DocumentReadError(DataValidationError):
    """A document could not be read; ``reason`` is the human sentence for the finding."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # picklable with both arguments (Prefect ships task failures across processes)
        return (type(self), (self.path, self.reason))


# ---------------------------------------------------------------- path resolution
def _is_glob(spec: str) -> bool:
    return any(ch in spec for ch in "*?[")


def _folder_files(folder: Path) -> list[Path]:
    """Supported files below ``folder``, sorted; hidden entries and Office lock files skipped.

    Folders are "take what is readable": a policy share also holds spreadsheets,
    ``.DS_Store`` and ``~$draft.docx`` lock files that would only produce noise findings.
    """
    found: list[Path] = []
    for p in folder.rglob("*"):
        rel = p.relative_to(folder)
        if any(part.startswith((".", "~$")) for part in rel.parts):
            continue
        if p.is_file() and p.suffix.lower() in FORMATS:
            found.append(p)
    return sorted(found, key=lambda q: q.relative_to(folder).as_posix())


def resolve_paths(specs: Iterable[str | Path], base: Path | None = None) -> list[Path]:
    """Expand files, folders and glob patterns into an ordered, de-duplicated file list.

    * a file is taken as is, whatever its extension (so an unsupported file the user
      named explicitly becomes a finding instead of vanishing);
    * a folder contributes its supported files, recursively, sorted;
    * a glob (``*``, ``?``, ``[``; ``**`` recurses) contributes every matching file,
      sorted; matching folders are expanded like folders.

    Relative specs are resolved against ``base`` (default: the current directory).
    Every spec that matches nothing is named in one :class:`DataValidationError`,
    because a typo in an input path must not shrink the assessment unnoticed.
    """
    root = (base if base is not None else Path.cwd()).expanduser().absolute()
    out: list[Path] = []
    seen: set[Path] = set()
    unmatched: list[str] = []

    def add(p: Path) -> None:
        if p not in seen:
            seen.add(p)
            out.append(p)

    for raw in specs:
        spec = str(raw)
        matches = _expand(spec, root) if spec.strip() else []
        if not matches:
            unmatched.append(spec)
        for p in matches:
            add(p)
    if unmatched:
        names = ", ".join(f"'{s}'" for s in unmatched)
        raise DataValidationError(
            f"no document matches {names} (looked in {root}; supported: "
            f"{', '.join(sorted(FORMATS))})"
        )
    return out


def _expand(spec: str, root: Path) -> list[Path]:
    """The files one spec stands for (see :func:`resolve_paths`)."""
    expanded = Path(spec).expanduser()
    if not _is_glob(spec):
        p = expanded if expanded.is_absolute() else root / expanded
        if p.is_dir():
            return _folder_files(p)
        return [p] if p.is_file() else []
    if expanded.is_absolute():
        hits = glob.glob(str(expanded), recursive=True)
    else:
        hits = [str(root / m) for m in glob.glob(spec, root_dir=root, recursive=True)]
    files: list[Path] = []
    for m in sorted(hits):
        mp = Path(m)
        if mp.is_dir():
            files.extend(_folder_files(mp))
        elif mp.is_file():
            files.append(mp)
    return files


# ---------------------------------------------------------------- helpers
def detect_format(path: Path) -> str | None:
    """Format name from the file extension, or None when unsupported."""
    return FORMATS.get(path.suffix.lower())


def _sha256(path: Path) -> str:
    """SHA-256 of the file, read in 1 MiB chunks (the audit trail pins exact inputs)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_HASH_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


_WS = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def _clean(text: str) -> str:
    """Collapse runs of spaces inside lines and trim each line; keeps line breaks."""
    lines = (_WS.sub(" ", ln).strip() for ln in text.replace("\r\n", "\n").split("\n"))
    return "\n".join(ln for ln in lines if ln)


_NUMBERED = re.compile(
    r"^(?P<num>\d{1,2}(?:\.\d{1,3}){0,5})[.)]?\s+(?P<title>[A-ZÄÖÜ][^\n]{1,118})$"
)
_KEYWORD = re.compile(
    r"^(?P<kw>Article|Art\.|Section|Chapter|Part|Annex|Appendix|Schedule|Title|Step|STEP)\s+"
    r"(?P<num>[0-9IVXLC]{1,6}[A-Za-z]?(?:\.\d{1,3})*)\b\.?\s*[:.\-–—]?\s*(?P<title>[^\n]{0,118})$"
)
_OBLIGATION = re.compile(r"\b(shall|must|will|should|may)\b", re.IGNORECASE)
_BULLET = re.compile(r"^(?:[•▪●◦·\-–—*]\s|\(?[a-z0-9ivx]{1,4}\)\s)")


def _explicit_number(heading: str) -> tuple[int, ...] | str | None:
    """The number a heading carries: ``(2, 1)`` for "2.1 Scope", "Annex A" for keyword forms."""
    m = _NUMBERED.match(heading)
    if m:
        return tuple(int(x) for x in m.group("num").split("."))
    m = _KEYWORD.match(heading)
    if m:
        return f"{m.group('kw')} {m.group('num')}"
    return None


def _looks_like_heading(line: str) -> bool:
    """Heuristic heading test for text without markup (plain text, PDF text layers).

    Accepts numbered headings ("2.1 Access reviews", "3) Scope", "Article 5 Governance")
    and short all-caps lines ("PURPOSE AND SCOPE"). Rejects numbered *sentences*
    ("1. The CISO shall review ...") by length, trailing punctuation and obligation
    verbs, because those are requirements the analyzer must see as body text.
    """
    s = line.strip()
    if not s or len(s) > 120 or s[-1] in ".,;:" or _OBLIGATION.search(s):
        return False
    words = s.split()
    if _NUMBERED.match(s) or _KEYWORD.match(s):
        return len(words) <= 14
    letters = [c for c in s if c.isalpha()]
    return len(letters) >= 4 and all(c.isupper() for c in letters) and len(words) <= 12


class _Outline:
    """Turns a stream of (level, heading) into ``§ n.n Heading`` locations.

    Numbers written in the heading win (and re-synchronise the counters); unnumbered
    headings are numbered from their level, so "Backup" under "3 Operations" becomes
    ``§ 3.1 Backup``. A leading unnumbered top-level heading is the document title and
    gets no number, which matches how policies are written (title, then 1, 2, 3 ...).
    """

    def __init__(self) -> None:
        self._stack: list[tuple[int, tuple[int, ...] | None]] = []
        self._last: dict[tuple[int, ...], int] = {}
        self._seen = False

    def location(self, level: int, heading: str) -> str:
        first = not self._seen
        self._seen = True
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        parent = self._stack[-1][1] if self._stack else ()
        explicit = _explicit_number(heading)
        if isinstance(explicit, tuple):
            self._last[explicit[:-1]] = explicit[-1]
            self._stack.append((level, explicit))
            return f"§ {heading}"
        if explicit is not None or parent is None:
            # "Annex A ..." or a child of one: cite as written, children stay unnumbered
            self._stack.append((level, None))
            return f"§ {heading}"
        if first and level <= 1:
            self._stack.append((level, ()))
            return f"§ {heading}"
        n = self._last.get(parent, 0) + 1
        self._last[parent] = n
        parts = (*parent, n)
        self._stack.append((level, parts))
        return f"§ {'.'.join(map(str, parts))} {heading}"


class _Sections:
    """Accumulates paragraphs under the current heading and emits bounded :class:`Section` s.

    Readers call :meth:`heading` when a heading starts and :meth:`add` per paragraph;
    both yield finished sections. Text before any heading uses the reference of the
    paragraph the chunk starts at ("line 12", "para. 3") because there is no heading
    to cite; under a heading every chunk keeps the heading's location.
    """

    def __init__(self, max_chars: int = MAX_SECTION_CHARS) -> None:
        self.max_chars = max_chars
        self.heading_text: str | None = None
        self.page: int | None = None
        self.location: str | None = None
        self._parts: list[str] = []
        self._size = 0
        self._ref: str | None = None

    def heading(
        self, text: str | None, location: str | None, page: int | None
    ) -> Iterator[Section]:
        yield from self.flush()
        self.heading_text = text
        self.location = location
        self.page = page

    def set_page(self, page: int, location: str | None) -> Iterator[Section]:
        """New PDF page: close the running section so no section spans two pages."""
        yield from self.flush()
        self.page = page
        self.location = location

    def add(self, text: str, ref: str) -> Iterator[Section]:
        text = text.strip()
        while text:
            if not self._parts:
                self._ref = ref
            sep = 2 if self._parts else 0
            room = self.max_chars - self._size - sep
            if len(text) <= room:
                self._parts.append(text)
                self._size += sep + len(text)
                return
            if self._parts and room < self.max_chars // 4:
                # not worth squeezing a sliver in: close this chunk, start a fresh one
                yield from self.flush()
                continue
            cut = _cut_point(text, room)
            self._parts.append(text[:cut].rstrip())
            yield from self.flush()
            text = text[cut:].lstrip()

    def flush(self) -> Iterator[Section]:
        if self._parts:
            body = "\n\n".join(self._parts)
            location = self.location or self._ref or "beginning of document"
            yield Section(heading=self.heading_text, page=self.page, text=body, location=location)
        self._parts = []
        self._size = 0
        self._ref = None


def _cut_point(text: str, limit: int) -> int:
    """Where to split ``text`` to stay within ``limit``: a sentence end, else a space."""
    if len(text) <= limit:
        return len(text)
    window = text[:limit]
    for sep in ("\n", ". ", "; ", ", ", " "):
        i = window.rfind(sep)
        if i >= limit // 2:
            return i + len(sep)
    return limit


# ---------------------------------------------------------------- text decoding
def _choose_encoding(path: Path) -> str:
    """Pick a text encoding by validating the whole file incrementally (bounded memory).

    UTF-8 (with or without BOM) first, UTF-16 when a BOM says so, else Windows-1252,
    which is what German Office exports produce and which decodes any byte.
    NUL bytes without a UTF-16 BOM mean the file is binary, not text.
    """
    with path.open("rb") as fh:
        head = fh.read(4096)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        if b"\x00" in head:
            raise ValueError("binary content, not a text file")
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for chunk in iter(lambda: fh.read(_HASH_CHUNK), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def _read_lines(path: Path) -> Iterator[str]:
    encoding = _choose_encoding(path)
    with path.open("r", encoding=encoding, errors="replace", newline=None) as fh:
        yield from fh


# ---------------------------------------------------------------- readers
class _Source:
    """An opened document: its format, page count once known, and its section stream."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.format = fmt
        self.pages: int | None = None

    def sections(self) -> Iterator[Section]:
        reader: Callable[[], Iterator[Section]] = {
            "pdf": self._pdf,
            "docx": self._docx,
            "markdown": self._markdown,
            "html": self._html,
            "text": self._text,
        }[self.format]
        yield from reader()

    def sections_checked(self) -> Iterator[Section]:
        """Sections, with every reader failure turned into one kind of error."""
        produced = 0
        try:
            for section in self.sections():
                produced += 1
                yield section
        except DocumentReadError:
            raise
        except ValueError as exc:
            raise DocumentReadError(str(self.path), str(exc)) from exc
        except (OSError, MemoryError) as exc:
            raise DocumentReadError(str(self.path), f"cannot read file: {exc}") from exc
        except Exception as exc:  # a library choking on a malformed file: still a finding
            reason = f"unreadable {self.format.upper()} file ({type(exc).__name__}: {exc})"
            raise DocumentReadError(str(self.path), reason) from exc
        if produced == 0:
            hint = (
                " (a scanned PDF without a text layer needs OCR first)"
                if self.format == "pdf"
                else ""
            )
            raise DocumentReadError(str(self.path), f"empty document: no readable text found{hint}")

    # ------------------------------------------------------------ PDF
    def _pdf(self) -> Iterator[Section]:
        from pypdf import PdfReader
        from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

        try:
            reader = PdfReader(self.path, strict=False)
        except (PdfReadError, ValueError, OSError) as exc:
            raise ValueError(f"corrupt PDF: {exc}") from exc
        if reader.is_encrypted:
            try:
                # many "protected" PDFs only restrict printing: they open with an empty password
                ok = reader.decrypt("")
            except (DependencyError, NotImplementedError) as exc:
                raise ValueError(f"encrypted PDF: cannot be decrypted here ({exc})") from exc
            if not ok:
                raise ValueError("encrypted PDF: cannot be read without a password")
        try:
            self.pages = len(reader.pages)
        except FileNotDecryptedError as exc:
            raise ValueError("encrypted PDF: cannot be read without a password") from exc
        acc = _Sections()
        for index in range(self.pages):
            page_no = index + 1
            page = reader.pages[index]
            text = page.extract_text() or ""
            loc = _pdf_location(page_no, acc.heading_text)
            yield from acc.set_page(page_no, loc)
            yield from _pdf_page(acc, page_no, text)
            del page
        yield from acc.flush()

    # ------------------------------------------------------------ DOCX
    def _docx(self) -> Iterator[Section]:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
        from docx.table import Table

        _check_size(self.path, "DOCX")
        with self.path.open("rb") as fh:
            magic = fh.read(8)
        if magic == _OLE_MAGIC:
            raise ValueError(
                "encrypted or legacy Word file: password-protected .docx and old .doc "
                "files cannot be read; save it as an unprotected .docx"
            )
        try:
            document = docx.Document(str(self.path))
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise ValueError(f"corrupt DOCX: not a valid Word document ({exc})") from exc
        outline = _Outline()
        acc = _Sections()
        para = 0
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                for row_text in _docx_table_rows(block):
                    para += 1
                    yield from acc.add(row_text, f"para. {para}")
                continue
            text = _clean(block.text)
            if not text:
                continue
            para += 1
            level = _docx_heading_level(block.style.name if block.style is not None else "")
            if level is not None:
                yield from acc.heading(text, outline.location(level, text), None)
            else:
                yield from acc.add(text, f"para. {para}")
        yield from acc.flush()

    # ------------------------------------------------------------ Markdown
    def _markdown(self) -> Iterator[Section]:
        from markdown_it import MarkdownIt

        md = MarkdownIt("commonmark").enable("table")
        outline = _Outline()
        acc = _Sections()
        for start_line, block in _markdown_blocks(self.path):
            yield from _markdown_block(md, block, start_line, outline, acc)
        yield from acc.flush()

    # ------------------------------------------------------------ HTML
    def _html(self) -> Iterator[Section]:
        from bs4 import BeautifulSoup

        _check_size(self.path, "HTML")
        with self.path.open("rb") as fh:
            soup = BeautifulSoup(fh, "lxml")
        for tag in soup(["script", "style", "noscript", "template", "head", "svg"]):
            tag.decompose()
        root = soup.body or soup
        outline = _Outline()
        acc = _Sections()
        state = {"para": 0}
        buffer: list[str] = []
        yield from _html_walk(root, outline, acc, buffer, state)
        yield from _html_paragraph(acc, buffer, state)
        yield from acc.flush()

    # ------------------------------------------------------------ plain text
    def _text(self) -> Iterator[Section]:
        acc = _Sections()
        block: list[str] = []
        block_start = 1
        for line_no, raw in enumerate(_read_lines(self.path), start=1):
            line = raw.rstrip("\n")
            title = _decorated_heading(line)
            if title:
                # "=== 3. TRIAGE (first 30 minutes) ===" is a heading wherever it stands
                if block:
                    yield from _text_block(acc, block, block_start)
                    block = []
                yield from acc.heading(title, f"§ {title}", None)
                continue
            if line.strip():
                if not block:
                    block_start = line_no
                block.append(line)
            elif block:
                yield from _text_block(acc, block, block_start)
                block = []
        if block:
            yield from _text_block(acc, block, block_start)
        yield from acc.flush()


def _check_size(path: Path, kind: str) -> None:
    size = path.stat().st_size
    if size > MAX_WHOLE_PARSE_BYTES:
        raise ValueError(
            f"{kind} file too large to parse safely ({size / 1e6:.0f} MB > "
            f"{MAX_WHOLE_PARSE_BYTES / 1e6:.0f} MB); split it or convert it to PDF"
        )


# ---------------------------------------------------------------- PDF helpers
def _pdf_location(page: int, heading: str | None) -> str:
    return f"p. {page}, § {heading}" if heading else f"p. {page}"


_PAGE_MARK = re.compile(
    r"^(?:.{0,80}\b(?:page|seite|p\.)\s*\d+(?:\s*(?:of|von|/)\s*\d+)?\b.{0,40}"
    r"|[-–\s]*\d{1,4}[-–\s]*|\d{1,4}\s*/\s*\d{1,4})$",
    re.IGNORECASE,
)


def _strip_page_marks(lines: list[str]) -> list[str]:
    """Drop a running header/footer line that carries the page number ("Page 2 of 5", "- 3 -").

    Only the first and last line of a page are candidates: body text that mentions a
    page ("see page 4 of the contract") sits in between and is kept.
    """
    if lines and _PAGE_MARK.match(lines[-1]):
        lines = lines[:-1]
    if lines and _PAGE_MARK.match(lines[0]):
        lines = lines[1:]
    return lines


def _pdf_page(acc: _Sections, page_no: int, text: str) -> Iterator[Section]:
    """Split one page's text layer into headed sections and rebuilt paragraphs.

    A text layer has lines, not paragraphs: wrapped lines are joined with spaces (so
    "access rights" split across a line break still matches), and a paragraph ends
    after a short line that ends a sentence, or before a bullet. Consecutive all-caps
    heading lines are one wrapped title, not several empty sections.
    """
    lines = _strip_page_marks([ln for ln in _clean(text).split("\n") if ln])
    if not lines:
        return
    full = max(len(ln) for ln in lines)
    para: list[str] = []
    caps_title: str | None = None

    def emit() -> Iterator[Section]:
        if para:
            yield from acc.add(" ".join(para), f"p. {page_no}")
            para.clear()

    for line in lines:
        if _looks_like_heading(line):
            yield from emit()
            unnumbered = _explicit_number(line) is None
            heading = f"{caps_title} {line}" if caps_title is not None and unnumbered else line
            caps_title = heading if unnumbered else None
            yield from acc.heading(heading, _pdf_location(page_no, heading), page_no)
            continue
        caps_title = None
        if para and _BULLET.match(line):
            yield from emit()
        para.append(line)
        if line[-1] in ".:;!?" and len(line) < 0.85 * full:
            yield from emit()
    yield from emit()


# ---------------------------------------------------------------- DOCX helpers
def _docx_heading_level(style_name: str) -> int | None:
    """Level from Word's built-in styles ("Heading 2" -> 2, "Title" -> 0), else None."""
    name = style_name.strip().lower()
    if name == "title":
        return 0
    m = re.match(r"^(?:heading|überschrift)\s*(\d)$", name)
    return int(m.group(1)) if m else None


def _docx_table_rows(table: Any) -> Iterator[str]:
    """Table rows as "cell | cell" lines; merged cells (repeated by python-docx) once."""
    for row in table.rows:
        cells: list[str] = []
        last: Any = None
        for cell in row.cells:
            if cell._tc is last:  # horizontally merged: same underlying cell
                continue
            last = cell._tc
            cells.append(_clean(cell.text).replace("\n", " "))
        line = " | ".join(c for c in cells)
        if line.strip(" |"):
            yield line


# ---------------------------------------------------------------- Markdown helpers
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_MD_BLOCK_CHARS = 256 * 1024


def _markdown_blocks(path: Path) -> Iterator[tuple[int, str]]:
    """Cut a Markdown file into parseable blocks of ~256 KB at blank lines outside code fences.

    markdown-it needs whole blocks; cutting at a blank line outside a fence never
    changes how headings, paragraphs or tables parse, so memory stays bounded.
    """
    buf: list[str] = []
    size = 0
    start = 1
    fence: str | None = None
    for line_no, line in enumerate(_read_lines(path), start=1):
        if not buf:
            start = line_no
        buf.append(line)
        size += len(line)
        m = _FENCE.match(line)
        if m:
            marker = m.group(1)
            if fence is None:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = None
        if size >= _MD_BLOCK_CHARS and fence is None and not line.strip():
            yield start, "".join(buf)
            buf, size = [], 0
    if buf:
        yield start, "".join(buf)


def _md_inline_text(token: Any) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content or "")
    return _clean("".join(parts))


def _markdown_block(
    md: Any, block: str, start_line: int, outline: _Outline, acc: _Sections
) -> Iterator[Section]:
    tokens = md.parse(block)
    heading_level: int | None = None
    row: list[str] | None = None
    in_head = False
    for tok in tokens:
        line = start_line + (tok.map[0] if tok.map else 0)
        if tok.type == "heading_open":
            heading_level = int(tok.tag[1])
        elif tok.type == "heading_close":
            heading_level = None
        elif tok.type in ("thead_open", "thead_close"):
            # the header row names the columns and states nothing: kept out of the text,
            # so "| Service | Provider | Exit plan | Last test |" is never quoted as evidence
            in_head = tok.type == "thead_open"
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "tr_close":
            if row is not None and any(row) and not in_head:
                yield from acc.add(" | ".join(row), f"line {line}")
            row = None
        elif tok.type == "inline":
            text = _md_inline_text(tok)
            if heading_level is not None:
                if text:
                    yield from acc.heading(text, outline.location(heading_level, text), None)
            elif row is not None:
                row.append(text)
            elif text:
                yield from acc.add(text, f"line {line}")
        elif tok.type in ("fence", "code_block"):
            yield from acc.add(_clean(tok.content), f"line {line}")
        elif tok.type == "html_block":
            from bs4 import BeautifulSoup

            html_text = BeautifulSoup(tok.content, "lxml").get_text("\n")
            yield from acc.add(_clean(html_text), f"line {line}")


# ---------------------------------------------------------------- HTML helpers
_HTML_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_HTML_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "tfoot",
        "thead",
        "tr",
        "ul",
        "br",
    ]
)


def _html_paragraph(acc: _Sections, buffer: list[str], state: dict[str, int]) -> Iterator[Section]:
    text = _clean("".join(buffer))
    buffer.clear()
    if text:
        state["para"] += 1
        yield from acc.add(text, f"para. {state['para']}")


def _html_walk(
    node: Any, outline: _Outline, acc: _Sections, buffer: list[str], state: dict[str, int]
) -> Iterator[Section]:
    """Depth-first walk: headings open sections, block elements end paragraphs."""
    from bs4 import Comment, NavigableString, Tag

    for child in node.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            buffer.append(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name in _HTML_HEADINGS:
            yield from _html_paragraph(acc, buffer, state)
            text = _clean(child.get_text(" "))
            if text:
                level = _HTML_HEADINGS[name]
                yield from acc.heading(text, outline.location(level, text), None)
            continue
        if name in ("td", "th"):
            buffer.append(" | ")
        is_block = name in _HTML_BLOCKS
        if is_block and name != "tr":
            yield from _html_paragraph(acc, buffer, state)
        yield from _html_walk(child, outline, acc, buffer, state)
        if is_block:
            if name == "tr":
                row = _clean("".join(buffer)).strip(" |").strip()
                buffer.clear()
                buffer.append(row)
            yield from _html_paragraph(acc, buffer, state)


# ---------------------------------------------------------------- text helpers
_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")
#: a plain-text version-history row: "v4.1  2025-09-03  Added payment-related path"
#: (also what the analyzer files under document control)
HISTORY_ROW = r"v?\d+\.\d+(?:\.\d+)?\s+(?:\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4})\b"
#: a line of its own, not a wrapped one: "Owner: CISO", "Review:  yearly", a history row
_KEY_VALUE_LINE = re.compile(rf"^(?:[A-Z][\w./-]*(?: [\w./-]+){{0,3}}:\s|{HISTORY_ROW})")
#: a numbered first line this long, continued in lower case on the next line, is a
#: wrapped step of a procedure rather than a title ("1 Scope" stays a title)
WRAPPED_STEP_WORDS = 6
#: a line that continues the sentence of the line before it
_CONTINUATION = re.compile(r"^[a-z(]")
#: a plain-text heading set off by rule characters: "=== 5. CLASSIFICATION ===",
#: "### Backup", "*** Scope ***", "--- Escalation ---"
_DECORATED_HEADING = re.compile(
    r"^\s*(?P<rule>={2,}|#{1,6}|\*{3,}|-{3,}|~{3,})\s+(?P<title>[^\n]{2,100}?)"
    r"\s*(?:(?P=rule)|={2,}|\*{3,}|-{3,}|~{3,})?\s*$"
)


def _decorated_heading(line: str) -> str | None:
    """The title of a rule-decorated heading line, or None (a rule alone, a sentence)."""
    m = _DECORATED_HEADING.match(line)
    if not m:
        return None
    title = m.group("title").strip()
    if title[-1] in ".,;:" or sum(c.isalpha() for c in title) < 2:
        return None
    return title


def _text_block(acc: _Sections, block: list[str], start_line: int) -> Iterator[Section]:
    """One blank-line-separated block: an optional heading line, then body lines.

    Hard-wrapped lines are joined with spaces; list items keep their own line.
    """
    lines = [_WS.sub(" ", ln).strip() for ln in block]
    first = lines[0]
    body_start = 0
    body_line = start_line
    caps = 0
    while caps < min(len(lines), 3) and _looks_like_heading(lines[caps]):
        if _explicit_number(lines[caps]) is not None:
            break
        caps += 1
    if caps >= 2:
        # a title block ("NORDHAFEN BANK AG" / "BACKUP POLICY"): one heading, not two
        title = " – ".join(lines[:caps])
        yield from acc.heading(title, f"§ {title}", None)
        body_start, body_line = caps, start_line + caps
    elif len(lines) >= 2 and _UNDERLINE.match(lines[1]) and len(first) <= 120:
        yield from acc.heading(first, f"§ {first}", None)
        body_start, body_line = 2, start_line + 2
    elif _looks_like_heading(first) and not (
        # a numbered step wrapped onto the next line ("1. Restore services per the
        # recovery procedure" / "(restore procedures are not in this runbook).")
        len(lines) >= 2
        and len(first.split()) >= WRAPPED_STEP_WORDS
        and _explicit_number(first) is not None
        and _CONTINUATION.match(lines[1])
    ):
        yield from acc.heading(first, f"§ {first}", None)
        body_start, body_line = 1, start_line + 1
    body: list[str] = []
    for ln in lines[body_start:]:
        if body and (_BULLET.match(ln) or _KEY_VALUE_LINE.match(ln)):
            body.append("\n" + ln)
        else:
            body.append((" " if body else "") + ln)
    text = "".join(body).strip()
    if text:
        yield from acc.add(text, f"line {body_line}")


# ---------------------------------------------------------------- public functions
def iter_sections(path: Path) -> Iterator[Section]:
    """Stream the sections of one document, in reading order, with bounded memory.

    Raises :class:`DocumentReadError` (a :class:`DataValidationError`) with a human
    reason when the file is unsupported, empty, corrupt or encrypted.
    """
    yield from _open(Path(path)).sections_checked()


def _open(path: Path) -> _Source:
    name = str(path)
    if not path.exists():
        raise DocumentReadError(name, "file not found")
    if not path.is_file():
        raise DocumentReadError(name, "not a regular file")
    fmt = detect_format(path)
    if fmt is None:
        kind = path.suffix.lower() or "(no extension)"
        raise DocumentReadError(
            name,
            f"unsupported file type '{kind}': supported are {', '.join(sorted(FORMATS))}",
        )
    if path.stat().st_size == 0:
        raise DocumentReadError(name, "empty file (0 bytes)")
    return _Source(path, fmt)


def _read_document(path: Path) -> Document:
    info = DocumentInfo(path=str(path), format=detect_format(path))
    if path.is_file():
        info.sha256 = _sha256(path)
    source = _open(path)
    sections = list(source.sections_checked())
    info.pages = source.pages
    info.sections = len(sections)
    info.characters = sum(len(s.text) for s in sections)
    return Document(info=info, sections=sections)


def load_documents(
    specs: Iterable[str | Path],
    base: Path | None = None,
    on_error: Literal["record", "halt"] = "record",
) -> DocumentSet:
    """Resolve ``specs`` and read every file, recording unreadable ones as findings.

    ``on_error="record"`` (default) keeps going and lists each failure in
    ``DocumentSet.findings``; ``"halt"`` raises :class:`DocumentReadError` (a
    :class:`DataValidationError`) naming the file at the first failure, for runs where
    an incomplete input set must stop the assessment. Specs that match nothing always
    raise (see :func:`resolve_paths`).
    """
    if on_error not in ("record", "halt"):
        raise DataValidationError(f"on_error must be 'record' or 'halt', not {on_error!r}")
    result = DocumentSet()
    for path in resolve_paths(specs, base):
        try:
            result.documents.append(_read_document(path))
        except DocumentReadError as exc:
            if on_error == "halt":
                raise
            sha = None
            try:
                sha = _sha256(path) if path.is_file() else None
            except OSError:
                sha = None
            result.findings.append(
                DocumentInfo(
                    path=str(path),
                    sha256=sha,
                    format=detect_format(path),
                    status="error",
                    finding=exc.reason,
                )
            )
    return result
