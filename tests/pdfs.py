"""Small PDFs made on the spot with PyMuPDF, so no test depends on files outside the repo."""

from __future__ import annotations

from pathlib import Path

import pymupdf

USER_PASSWORD = "user-secret"
OWNER_PASSWORD = "owner-secret"
_BOX = pymupdf.Rect(54, 54, 558, 738)  # US Letter less 3/4 inch margins


def page_text(number: int) -> str:
    """The text `make_big_pdf` puts on page `number`: unique, so citations can be checked."""
    return f"Page {number} talks about topic-{number}. It mentions marker-{number} twice: marker-{number}."


def make_pdf(path: Path, pages: list[str], *, fontsize: float = 10) -> Path:
    """One page per string; text is wrapped in a box and must fit on its page."""
    doc = pymupdf.open()
    try:
        for text in pages:
            page = doc.new_page(width=612, height=792)
            if text and page.insert_textbox(_BOX, text, fontsize=fontsize) < 0:
                raise ValueError(f"text does not fit on one page at {fontsize}pt: {text[:40]!r}...")
        doc.save(path)
    finally:
        doc.close()
    return path


def make_encrypted_pdf(path: Path, text: str = "Secret content.") -> Path:
    """An AES-256 PDF that needs USER_PASSWORD to open."""
    doc = pymupdf.open()
    try:
        doc.new_page().insert_text((72, 72), text)
        doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw=OWNER_PASSWORD, user_pw=USER_PASSWORD)
    finally:
        doc.close()
    return path


def make_image_only_pdf(path: Path, n_pages: int = 2) -> Path:
    """Pages holding nothing but a picture, like a scan without OCR."""
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 64, 64), False)
    pix.clear_with(200)
    doc = pymupdf.open()
    try:
        for _ in range(n_pages):
            doc.new_page().insert_image(pymupdf.Rect(72, 72, 540, 540), pixmap=pix)
        doc.save(path)
    finally:
        doc.close()
    return path


def make_big_pdf(path: Path, n_pages: int) -> Path:
    """`n_pages` short pages, page N holding `page_text(N)`; a thousand pages take about a second."""
    doc = pymupdf.open()
    try:
        for number in range(1, n_pages + 1):
            doc.new_page().insert_text((72, 72), page_text(number), fontsize=10)
        doc.save(path, garbage=1, deflate=True)
    finally:
        doc.close()
    return path


def make_two_column_pdf(path: Path, left: list[str], right: list[str]) -> Path:
    """One page with two columns of paragraphs, written left column first."""
    doc = pymupdf.open()
    try:
        page = doc.new_page(width=612, height=792)
        page.insert_textbox(pymupdf.Rect(54, 72, 296, 720), "\n\n".join(left), fontsize=10)
        page.insert_textbox(pymupdf.Rect(316, 72, 558, 720), "\n\n".join(right), fontsize=10)
        doc.save(path)
    finally:
        doc.close()
    return path


def truncate(source: Path, target: Path, size: int) -> Path:
    """Copy the first `size` bytes of `source` to `target`."""
    target.write_bytes(source.read_bytes()[:size])
    return target
