"""Text extraction, page by page: PDFs through PyMuPDF, text/Markdown as ~3000-character pseudo-pages.

Synchronous on purpose (the ingest worker calls it from a thread). Nothing here holds a whole
document in memory: PDF pages are loaded, read and dropped one at a time, text files are streamed.
MuPDF is not thread-safe, so every PyMuPDF call made here holds `MUPDF_LOCK`.
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import pymupdf

ErrorCode = Literal[
    "empty_file", "unsupported_type", "pdf_encrypted", "pdf_corrupt",
    "no_pages", "too_many_pages", "no_text_layer", "text_decode_error",
]

MESSAGES: dict[ErrorCode, str] = {
    "empty_file": "The file is empty.",
    "unsupported_type": "Unsupported file type; upload a PDF, plain text or Markdown file.",
    "pdf_encrypted": "The PDF is password-protected; upload an unprotected copy.",
    "pdf_corrupt": "The PDF is damaged and could not be opened.",
    "no_pages": "The PDF has no pages.",
    "too_many_pages": "The PDF has too many pages.",
    "no_text_layer": "No extractable text: the PDF looks scanned (images only); OCR is not enabled.",
    "text_decode_error": "The text file is not valid UTF-8 or UTF-16.",
}

SUPPORTED_TYPES = {"application/pdf", "text/plain", "text/markdown"}
MUPDF_LOCK = threading.RLock()  # share it with any other code that calls PyMuPDF

PAGE_CHARS = 3000  # target size of a text file's pseudo-page
_MIN_CHARS, _MAX_CHARS = PAGE_CHARS // 3, PAGE_CHARS * 3 // 2
_READ_CHARS = 65536


class ExtractError(Exception):
    """A document that cannot be extracted; `code` is stable, `message` is for people."""

    def __init__(self, code: ErrorCode, message: str | None = None) -> None:
        self.code: ErrorCode = code
        self.message: str = message or MESSAGES[code]
        super().__init__(self.message)


@dataclass(frozen=True, slots=True)
class Page:
    number: int  # 1-based
    text: str


# --- sniffing ---------------------------------------------------------------------------------

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"), (b"GIF89a", "a GIF image"), (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"), (b"PK\x03\x04", "a ZIP archive"), (b"PK\x05\x06", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"), (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"), (b"\xd0\xcf\x11\xe0", "a legacy Office document (.doc/.xls/.ppt)"),
    (b"MZ", "a Windows executable"), (b"\x7fELF", "an ELF executable"), (b"{\\rtf", "an RTF document"),
)
_ZIP_KINDS = {".docx": "a Word document", ".xlsx": "an Excel workbook", ".pptx": "a PowerPoint file",
              ".odt": "an OpenDocument file", ".epub": "an EPUB book"}


def sniff_content_type(head: bytes, filename: str | None) -> str:
    """Decide a supported content type from the first bytes (not the name, except .md vs .txt)."""
    if not head:
        raise ExtractError("empty_file")
    if b"%PDF-" in head[:1024]:
        return "application/pdf"
    if not head.startswith(b"{\\rtf") and _looks_like_text(head):
        name = (filename or "").lower()
        return "text/markdown" if name.endswith((".md", ".markdown")) else "text/plain"
    raise ExtractError("unsupported_type", f"Unsupported file type: this looks like {_describe(head, filename)}; "
                       "upload a PDF, plain text or Markdown file.")


def _text_encoding(head: bytes) -> str:
    return "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"


def _looks_like_text(head: bytes) -> bool:
    try:  # incremental: a multi-byte character cut at the end of `head` is fine
        text = codecs.getincrementaldecoder(_text_encoding(head))().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    controls = sum(1 for c in text if c < " " and c not in "\t\n\r\f")
    return "\x00" not in text and controls * 100 <= len(text)


def _describe(head: bytes, filename: str | None) -> str:
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            if "ZIP" in kind:
                return _ZIP_KINDS.get(Path(filename or "").suffix.lower(), kind)
            return kind
    return "binary data"


# --- normalisation ----------------------------------------------------------------------------

_TRANSLATE = str.maketrans({
    "\r": "\n", "\t": " ", "\f": "\n\n", "\v": "\n", "\u00a0": " ", "\u00ad": "",
    "\u2028": "\n", "\u2029": "\n\n", "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl",
    "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st",
})
_CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]")
_HYPHEN_BREAK = re.compile(r"(?<=\w)-[ ]*\n[ ]*(?=\w)")
_SPACES = re.compile(r" {2,}")
_BLANKS = re.compile(r"\n{3,}")


def normalise(text: str, *, layout: bool) -> str:
    """Clean extracted text; paragraphs stay separated by one blank line.

    `layout` (PDF text): also join words hyphenated at line ends and collapse runs of spaces.
    """
    text = _CONTROLS.sub("", text.replace("\r\n", "\n").translate(_TRANSLATE))
    if layout:
        # "exam-\nple" -> "example"; "COVID-\n19" -> "COVID-19" (keep the hyphen unless lower case follows)
        text = _HYPHEN_BREAK.sub(lambda m: "" if m.string[m.end()].islower() else "-", text)
        text = _SPACES.sub(" ", text)
    lines = (line.strip() if layout else line.rstrip() for line in text.split("\n"))
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip("\n")


# --- opened documents -------------------------------------------------------------------------


class OpenedDocument:
    """An open document; iterate `pages()` inside a `with` block."""

    def __init__(self, page_count: int, *, repaired: bool = False, notes: list[str] | None = None) -> None:
        self.page_count = page_count
        self.repaired = repaired
        self.notes: list[str] = notes if notes is not None else []
        self.text_pages = 0  # pages with some text among those yielded so far

    def pages(self, start: int = 1) -> Iterator[Page]:
        """Yield pages `start`..`page_count` lazily; counts non-empty ones in `text_pages`."""
        if start < 1:
            raise ValueError("pages start at 1")
        for page in self._pages(start):
            if page.text:
                self.text_pages += 1
            yield page

    def _pages(self, start: int) -> Iterator[Page]:
        raise NotImplementedError

    def close(self) -> None:
        """Release resources; idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class _PdfDocument(OpenedDocument):
    def __init__(self, doc: pymupdf.Document) -> None:
        repaired = bool(doc.is_repaired)
        super().__init__(doc.page_count, repaired=repaired, notes=["repaired by PyMuPDF"] if repaired else [])
        self._doc: pymupdf.Document | None = doc

    def _pages(self, start: int) -> Iterator[Page]:
        for index in range(start - 1, self.page_count):
            if self._doc is None:
                raise ValueError("document is closed")
            try:
                with MUPDF_LOCK:
                    text = _page_text(self._doc, index)
            except Exception as exc:  # one bad page must not sink the document
                text = ""
                self.notes.append(f"page {index + 1}: text extraction failed ({type(exc).__name__})")
            yield Page(index + 1, normalise(text, layout=True))

    def close(self) -> None:
        if self._doc is not None:
            with MUPDF_LOCK:
                self._doc.close()
            self._doc = None


def _page_text(doc: pymupdf.Document, index: int) -> str:
    """Text blocks in content order, separated by blank lines; the page is dropped afterwards.

    Not `get_text("text", sort=True)`: that merges words sharing a baseline, so the lines
    of a two-column page come out interleaved. Blocks keep each paragraph whole.
    """
    page = doc.load_page(index)
    try:
        blocks = page.get_text("blocks")
        return "\n\n".join(b[4] for b in blocks if b[6] == 0)
    finally:
        del page


class _TextDocument(OpenedDocument):
    def __init__(self, path: Path, encoding: str) -> None:
        self._path, self._encoding = path, encoding
        try:
            count = sum(1 for _ in _pseudo_pages(path, encoding))
        except UnicodeDecodeError as exc:
            raise ExtractError("text_decode_error", f"The text file is not valid {exc.encoding.upper()} "
                               "further in; save it as UTF-8 and upload it again.") from exc
        if count == 0:
            raise ExtractError("empty_file", "The file contains only whitespace.")
        super().__init__(count)

    def _pages(self, start: int) -> Iterator[Page]:
        for number, text in enumerate(_pseudo_pages(self._path, self._encoding), start=1):
            if number >= start:
                yield Page(number, text)


def _pseudo_pages(path: Path, encoding: str) -> Iterator[str]:
    """Stream a text file as normalised ~PAGE_CHARS pieces cut at paragraph breaks; skip blank ones."""
    buf = ""
    with path.open(encoding=encoding, errors="strict", newline=None) as f:
        while block := f.read(_READ_CHARS):
            buf += block
            while len(buf) > _MAX_CHARS:
                cut = _cut(buf)
                if text := normalise(buf[:cut], layout=False):
                    yield text
                buf = buf[cut:]
    while buf:
        cut = _cut(buf) if len(buf) > _MAX_CHARS else len(buf)
        if text := normalise(buf[:cut], layout=False):
            yield text
        buf = buf[cut:]


_PARA_BREAK = re.compile(r"\n[ \t]*\n")


def _cut(buf: str) -> int:
    """Where to end a pseudo-page: the first paragraph break past PAGE_CHARS, else the best earlier one."""
    window = buf[:_MAX_CHARS]
    breaks = [m.end() for m in _PARA_BREAK.finditer(window, _MIN_CHARS)]
    after = [b for b in breaks if b >= PAGE_CHARS]
    if after:
        return after[0]
    if breaks:
        return breaks[-1]
    for sep in ("\n", " "):
        if (i := window.rfind(sep, _MIN_CHARS)) != -1:
            return i + 1
    return len(window)


def open_document(path: Path, content_type: str, *, max_pages: int) -> OpenedDocument:
    """Open `path` for page-by-page extraction; raises ExtractError for documents we cannot read."""
    if content_type not in SUPPORTED_TYPES:
        raise ExtractError("unsupported_type", f"Unsupported file type {content_type!r}; "
                           "upload a PDF, plain text or Markdown file.")
    if path.stat().st_size == 0:
        raise ExtractError("empty_file")
    if content_type != "application/pdf":
        with path.open("rb") as f:
            head = f.read(4)
        return _TextDocument(path, _text_encoding(head))
    with MUPDF_LOCK:
        try:
            doc = pymupdf.open(path, filetype="pdf")
        except Exception as exc:  # FileDataError and friends: MuPDF could not even repair it
            raise ExtractError("pdf_corrupt") from exc
        try:
            return _checked_pdf(doc, max_pages)
        except BaseException:
            doc.close()
            raise


def _checked_pdf(doc: pymupdf.Document, max_pages: int) -> _PdfDocument:
    if doc.needs_pass:
        raise ExtractError("pdf_encrypted")
    try:
        count = doc.page_count
    except Exception as exc:
        raise ExtractError("pdf_corrupt") from exc
    if count == 0:
        raise ExtractError("no_pages")
    if count > max_pages:
        raise ExtractError("too_many_pages", f"The PDF has {count} pages; the limit is {max_pages} "
                           "(DOCMAN_MAX_PAGES). Split the document or ask an operator to raise the limit.")
    return _PdfDocument(doc)
