"""The chat app against the real server over HTTP: sign in, upload, ask, open a citation."""

from __future__ import annotations

import stat
from pathlib import Path

from textual.widgets import DataTable, Input

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.pdfs import make_pdf
from tests.tui.helpers import connector, text_of, until
from tests.tui.live import LiveServer
from tui.chat.app import ChatApp
from tui.chat.screens.citation import CitationScreen
from tui.chat.widgets.citations import CitationList
from tui.chat.widgets.documents import UploadRow
from tui.chat.widgets.messages import AssistantMessage
from tui.client import DocmanClient
from tui.common.login import LoginScreen
from tui.credentials import CredentialStore

FACTS = [
    "The Orion pump operates at a pressure of 40 bar.",
    "The Lyra turbine spins at 12000 revolutions per minute.",
    "The Draco boiler holds 800 litres of water.",
]


async def test_first_run_signs_in_and_saves_the_session(live_server: LiveServer, store: CredentialStore) -> None:
    app = ChatApp(None, connect=connector(store), server=live_server.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen.query("#email"), 10, "sign-in")
        app.screen.query_one("#email", Input).value = ADMIN_EMAIL
        app.screen.query_one("#password", Input).value = "wrong-password-1"
        await pilot.click("#sign-in")
        await until(pilot, lambda: "Incorrect" in text_of(app.screen.query_one("#login-error")), 20, "refusal")
        app.screen.query_one("#password", Input).value = ADMIN_PASSWORD
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.id == "chat-screen" and app.user is not None, 20, "signed in")
        assert app.user is not None and app.user.email == ADMIN_EMAIL
    saved = store.load()
    assert saved is not None and saved.server == live_server.url and saved.refresh_token
    assert stat.S_IMODE(store.file.stat().st_mode) == 0o600
    # the next start uses the saved session: no sign-in screen
    again = ChatApp(DocmanClient(live_server.url, session=saved, store=store), connect=connector(store))
    async with again.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: again.user is not None, 20, "signed in from the saved session")
        assert not isinstance(again.screen, LoginScreen)


async def test_upload_ask_and_open_a_citation(admin: DocmanClient, store: CredentialStore, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "machines.pdf", FACTS)
    app = ChatApp(admin, connect=connector(store))
    async with app.run_test(size=(100, 32)) as pilot:
        await until(pilot, lambda: app.user is not None, 20, "signed in")
        await pilot.press("f4")
        app.screen.query_one("#upload-path", Input).value = str(pdf)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.query(UploadRow), 10, "an upload row")
        row = app.screen.query_one(UploadRow)
        await until(
            pilot,
            lambda: row.document is not None and row.document.status in ("ready", "failed"),
            90,
            "ingestion finished",
        )
        assert row.document is not None and row.document.status == "ready", row.document
        doc_id = row.document.id
        assert "ready: 3 pages" in text_of(row.query_one(".stage"))
        table = app.screen.query_one("#documents-table", DataTable)
        await until(pilot, lambda: any(k.value == doc_id for k in table.rows), 10, "listed")

        await pilot.press("f4")
        app.screen.query_one("#prompt", Input).value = "How fast does the Lyra turbine spin?"
        await pilot.press("enter")
        chat = app.chat_screen
        await until(pilot, lambda: chat.query(AssistantMessage) and not chat.generating, 60, "answer")
        answer = app.screen.query(AssistantMessage).last()
        assert "12000" in answer.text, answer.text
        assert "extractive" in text_of(answer.query_one(".meta"))
        citations = app.screen.query_one(CitationList)
        assert citations.citations and citations.citations[0].document_id == doc_id

        await pilot.press("f3", "enter")
        await until(pilot, lambda: isinstance(app.screen, CitationScreen), 10, "the citation screen")
        screen = app.screen
        await until(pilot, lambda: "Page" in text_of(screen.query_one("#cite-status")), 20, "the page")
        assert "cited passage highlighted" in text_of(screen.query_one("#cite-status"))
        assert "Lyra" in str(screen.query_one("#page-text").render()) or "12000" in text_of(
            screen.query_one("#page-text")
        )
        await pilot.press("escape")
        assert not isinstance(app.screen, CitationScreen)
