"""Extraction: sniffing, every error code, PDF pages, text pseudo-pages."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pytest

import server.rag.extract as extract
from server.rag.extract import ExtractError, OpenedDocument, open_document, sniff_content_type
from tests.pdfs import (
    make_big_pdf, make_encrypted_pdf, make_image_only_pdf, make_pdf, make_two_column_pdf, page_text, truncate,
)

PDF = "application/pdf"
NO_PAGES_PDF = b"%PDF-1.4\n1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n2 0 obj\n<</Type/Pages/Count 0/Kids[]>>\nendobj\ntrailer\n<</Root 1 0 R>>\n%%EOF\n"


def error_code(call: object) -> str:
    assert callable(call)
    with pytest.raises(ExtractError) as info:
        call()
    assert info.value.message and str(info.value) == info.value.message
    return info.value.code


def open_pdf(path: Path, max_pages: int = 100) -> OpenedDocument:
    return open_document(path, PDF, max_pages=max_pages)


# --- sniffing -------------------------------------------------------------------------------


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("head", "filename", "expected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "x.pdf", PDF),
        (b"\r\n\r\n" + b"junk " * 50 + b"%PDF-1.4\n", None, PDF),  # header within the first 1024 bytes
        (b"%PDF-" + bytes(range(256)), "x.bin", PDF),
        (b"Hello, world.\nSecond line.\n", "notes.txt", "text/plain"),
        (b"# Title\n\nSome *markdown*.\n", "README.md", "text/markdown"),
        (b"# Title\n", "Guide.MARKDOWN", "text/markdown"),
        (b"# Title\n", None, "text/plain"),
        ("Caf\u00e9 cr\u00e8me \u2014 \u65e5\u672c".encode(), "menu.txt", "text/plain"),
        ("Caf\u00e9".encode()[:-1], "cut.txt", "text/plain"),  # a character cut by the end of the head
        (b"\xef\xbb\xbfBOM text", "bom.txt", "text/plain"),
        ("UTF-16 text\n".encode("utf-16"), "u16.md", "text/markdown"),
        (b"\xfe\xff" + "UTF-16 BE\n".encode("utf-16-be"), "u16be.txt", "text/plain"),
        (b"x" * 2000 + b"%PDF-1.4", "late.txt", "text/plain"),  # magic too far in: not a PDF
    ],
)
def test_sniff_supported(head: bytes, filename: str | None, expected: str) -> None:
    assert sniff_content_type(head, filename) == expected


@pytest.mark.parametrize(
    ("head", "filename", "named"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "scan.pdf", "PNG image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", None, "JPEG image"),
        (zip_bytes(), "archive.zip", "ZIP archive"),
        (zip_bytes(), "Report.DOCX", "Word document"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "setup.exe", "Windows executable"),
        (b"\x7fELF\x02\x01\x01\x00", None, "ELF executable"),
        (b"{\\rtf1\\ansi Hello}", "letter.rtf", "RTF document"),
        (random.Random(7).randbytes(4096), "noise.bin", "binary data"),
        (b"text with a NUL\x00 byte", "x.txt", "binary data"),
        (b"\x01\x02\x03\x04\x05\x06 mostly controls", None, "binary data"),
    ],
)
def test_sniff_unsupported(head: bytes, filename: str | None, named: str) -> None:
    with pytest.raises(ExtractError) as info:
        sniff_content_type(head, filename)
    assert info.value.code == "unsupported_type"
    assert named in info.value.message


def test_sniff_empty() -> None:
    assert error_code(lambda: sniff_content_type(b"", "x.pdf")) == "empty_file"


# --- PDF errors -----------------------------------------------------------------------------


def test_open_rejects_unsupported_type_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"")
    assert error_code(lambda: open_document(path, "image/png", max_pages=5)) == "unsupported_type"
    assert error_code(lambda: open_pdf(path)) == "empty_file"
    assert error_code(lambda: open_document(path, "text/plain", max_pages=5)) == "empty_file"


def test_encrypted_pdf(tmp_path: Path) -> None:
    path = make_encrypted_pdf(tmp_path / "secret.pdf")
    with pytest.raises(ExtractError) as info:
        open_pdf(path)
    assert info.value.code == "pdf_encrypted"
    assert info.value.message == "The PDF is password-protected; upload an unprotected copy."


@pytest.mark.parametrize("body", [b"%PDF-", b"%PDF-1.7\n" + random.Random(3).randbytes(5000), b"%PDF-garbage\n" * 40])
def test_garbage_after_magic_is_corrupt(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "garbage.pdf"
    path.write_bytes(body)
    assert sniff_content_type(body[:1024], path.name) == PDF
    assert error_code(lambda: open_pdf(path)) == "pdf_corrupt"


def test_no_pages(tmp_path: Path) -> None:
    path = tmp_path / "empty-tree.pdf"
    path.write_bytes(NO_PAGES_PDF)
    assert error_code(lambda: open_pdf(path)) == "no_pages"


def test_too_many_pages_names_the_limit(tmp_path: Path) -> None:
    path = make_big_pdf(tmp_path / "three.pdf", 3)
    with pytest.raises(ExtractError) as info:
        open_pdf(path, max_pages=2)
    assert info.value.code == "too_many_pages"
    assert "3 pages" in info.value.message and "limit is 2" in info.value.message
    assert "DOCMAN_MAX_PAGES" in info.value.message
    with open_pdf(path, max_pages=3) as doc:  # the limit itself is allowed
        assert doc.page_count == 3


def test_image_only_pdf_has_no_text_pages(tmp_path: Path) -> None:
    with open_pdf(make_image_only_pdf(tmp_path / "scan.pdf", n_pages=2)) as doc:
        pages = list(doc.pages())
    assert [p.text for p in pages] == ["", ""]
    assert doc.page_count == 2 and doc.text_pages == 0
    error = ExtractError("no_text_layer")
    assert error.message == "No extractable text: the PDF looks scanned (images only); OCR is not enabled."


# --- truncated PDFs: MuPDF repairs what it can ------------------------------------------------


@pytest.fixture
def six_pages(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "six.pdf", [f"Section {n}. " + page_text(n) * 5 for n in range(1, 7)])


def test_truncated_at_an_object_boundary_is_repaired(six_pages: Path, tmp_path: Path) -> None:
    data = six_pages.read_bytes()
    cut = data.rindex(b"endobj", 0, len(data) // 2) + len(b"endobj\n")
    with open_pdf(truncate(six_pages, tmp_path / "cut.pdf", cut)) as doc:
        pages = list(doc.pages())
    assert doc.repaired and "repaired by PyMuPDF" in doc.notes
    assert doc.page_count == 6  # the page tree survived; the later pages' objects did not
    assert "topic-1" in pages[0].text
    assert 0 < doc.text_pages < 6 and pages[-1].text == ""


def test_truncated_inside_an_object_is_corrupt(six_pages: Path, tmp_path: Path) -> None:
    data = six_pages.read_bytes()
    cut = data.index(b"/Length", len(data) // 2) + 3  # mid-dictionary: MuPDF's repair gives up
    assert error_code(lambda: open_pdf(truncate(six_pages, tmp_path / "cut.pdf", cut))) == "pdf_corrupt"


def test_truncated_in_half_is_repaired_or_corrupt(six_pages: Path, tmp_path: Path) -> None:
    path = truncate(six_pages, tmp_path / "half.pdf", six_pages.stat().st_size // 2)
    try:
        doc = open_pdf(path)
    except ExtractError as error:
        assert error.code == "pdf_corrupt"
        return
    with doc:
        list(doc.pages())
    assert doc.repaired and doc.notes[0] == "repaired by PyMuPDF" and doc.text_pages < 6


# --- PDF text ---------------------------------------------------------------------------------


def test_pages_in_order_with_numbers(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "three.pdf", ["First page.", "Second page.", "Third page."])
    with open_pdf(path) as doc:
        assert (doc.page_count, doc.repaired, doc.notes) == (3, False, [])
        pages = list(doc.pages())
    assert [(p.number, p.text) for p in pages] == [(1, "First page."), (2, "Second page."), (3, "Third page.")]
    assert doc.text_pages == 3


def test_hyphens_paragraphs_and_controls(tmp_path: Path) -> None:
    text = "An exam-\nple of hyphen-\nation.\nCOVID-\n19 cases rose.\n\n\n\nA second para\x00graph."
    with open_pdf(make_pdf(tmp_path / "h.pdf", [text])) as doc:
        (page,) = doc.pages()
    assert "An example of hyphenation." in page.text
    assert "COVID-19 cases rose." in page.text
    assert "\n\nA second paragraph." in page.text and "\n\n\n" not in page.text
    assert "\x00" not in page.text


def test_two_columns_are_not_interleaved(tmp_path: Path) -> None:
    left = ["Left column opens with a long paragraph about apples growing in the old orchard."]
    right = ["Right column opens with a long paragraph about bananas shipped from far away."]
    with open_pdf(make_two_column_pdf(tmp_path / "cols.pdf", left, right)) as doc:
        (page,) = doc.pages()
    flat = " ".join(page.text.split())
    assert left[0] in flat and right[0] in flat


def test_resume_from_a_page_and_laziness(tmp_path: Path) -> None:
    with open_pdf(make_big_pdf(tmp_path / "fifty.pdf", 50)) as doc:
        assert [p.number for p in doc.pages(start=48)] == [48, 49, 50]
        it = doc.pages()
        first = next(it)
        assert first.text == page_text(1) and doc.text_pages == 4  # 3 above + 1
        assert list(doc.pages(start=51)) == []
        with pytest.raises(ValueError):
            next(doc.pages(start=0))
    with pytest.raises(ValueError):
        next(doc.pages())  # closed


def test_a_failing_page_gets_empty_text_and_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = extract._page_text

    def flaky(doc: object, index: int) -> str:
        if index == 1:
            raise RuntimeError("broken content stream")
        return real(doc, index)  # type: ignore[arg-type]

    monkeypatch.setattr(extract, "_page_text", flaky)
    with open_pdf(make_big_pdf(tmp_path / "three.pdf", 3)) as doc:
        pages = list(doc.pages())
    assert [p.text == "" for p in pages] == [False, True, False]
    assert doc.notes == ["page 2: text extraction failed (RuntimeError)"] and doc.text_pages == 2


# --- text and Markdown ------------------------------------------------------------------------


def paragraphs(n: int) -> list[str]:
    return [f"Paragraph {i} " + " ".join(f"word{i}-{j}" for j in range(40)) + "." for i in range(n)]


def test_text_pseudo_pages_cut_at_paragraphs(tmp_path: Path) -> None:
    paras = paragraphs(40)  # ~450 characters each, ~18,000 in all
    path = tmp_path / "long.txt"
    path.write_text("\r\n\r\n".join(paras) + "\r\n", encoding="utf-8")
    with open_document(path, "text/plain", max_pages=1) as doc:  # max_pages is for PDFs
        pages = list(doc.pages())
        assert [p.number for p in pages] == list(range(1, doc.page_count + 1))
        assert [p.number for p in doc.pages(start=3)] == list(range(3, doc.page_count + 1))
    assert 4 <= doc.page_count <= 7
    assert all(len(p.text) <= extract.PAGE_CHARS * 3 // 2 for p in pages)
    assert [q for p in pages for q in p.text.split("\n\n")] == paras  # whole paragraphs, in order


def test_markdown_bom_and_utf16(tmp_path: Path) -> None:
    md = tmp_path / "doc.md"
    md.write_bytes("\ufeff# Heading\n\n    indented code\n\nText\x07 with a bell.\n".encode())
    with open_document(md, "text/markdown", max_pages=1) as doc:
        (page,) = doc.pages()
    assert page.text == "# Heading\n\n    indented code\n\nText with a bell."
    u16 = tmp_path / "u16.txt"
    u16.write_bytes("Grüße aus Köln.\n".encode("utf-16"))
    with open_document(u16, "text/plain", max_pages=1) as doc:
        assert [p.text for p in doc.pages()] == ["Grüße aus Köln."]


def test_one_endless_line_is_cut_at_spaces(tmp_path: Path) -> None:
    words = [f"w{i}" for i in range(5000)]
    path = tmp_path / "line.txt"
    path.write_text(" ".join(words), encoding="utf-8")
    with open_document(path, "text/plain", max_pages=1) as doc:
        pages = list(doc.pages())
    assert len(pages) > 5 and all(len(p.text) <= extract.PAGE_CHARS * 3 // 2 for p in pages)
    assert [w for p in pages for w in p.text.split()] == words


def test_text_decode_error_further_in(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine text\n" * 20000 + b"\xff\xfe\xfa broken")
    assert sniff_content_type(path.read_bytes()[:4096], path.name) == "text/plain"
    assert error_code(lambda: open_document(path, "text/plain", max_pages=1)) == "text_decode_error"


def test_whitespace_only_text_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text(" \n\n\t\n", encoding="utf-8")
    assert error_code(lambda: open_document(path, "text/plain", max_pages=1)) == "empty_file"
