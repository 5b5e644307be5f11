"""Pilot tests of both apps against the fake client: behaviour without a server."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Input, Markdown, RichLog

from tests.tui.fake import FakeClient
from tui.chat.app import ChatApp
from tui.chat.screens.citation import CitationScreen
from tui.chat.widgets.citations import CitationList
from tui.chat.widgets.conversations import ConversationList
from tui.chat.widgets.documents import UploadRow
from tui.chat.widgets.messages import AssistantMessage
from tui.console.app import ConsoleApp


def chat_app(client: FakeClient) -> ChatApp:
    return ChatApp(client, connect=lambda url: client)


async def test_chat_streams_an_answer_and_opens_a_citation() -> None:
    client = FakeClient()
    app = chat_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press(*"warranty?", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        answer = app.screen.query(AssistantMessage).last()
        assert "two years" in answer.text
        assert "extractive" in str(answer.query_one(".meta").render())
        citations = app.screen.query_one(CitationList)
        assert [c.n for c in citations.citations] == [1, 2]
        await pilot.press("f3", "enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, CitationScreen)
        assert "highlighted" in str(app.screen.query_one("#cite-status").render())
        await pilot.press("escape")
        assert ("ask-closed", "warranty?") in client.calls


async def test_escape_cancels_generation() -> None:
    client = FakeClient(token_delay=0.5)
    app = chat_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press(*"slow", "enter")
        await pilot.pause(0.7)
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        answer = app.screen.query(AssistantMessage).last()
        assert "stopped" in str(answer.query_one(".meta").render())
        assert ("ask-closed", "slow") in client.calls


async def test_conversations_open_rename_delete_and_history() -> None:
    client = FakeClient()
    app = chat_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("f2", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query(AssistantMessage)
        await pilot.press("up")  # the prompt has focus again: history holds the conversation's question
        assert app.screen.query_one("#prompt", Input).value == "How long is the warranty?"
        await pilot.press("f2", "r")
        await pilot.pause()
        field = app.screen.query_one("#field-title", Input)
        field.value = "Renamed"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        assert ("rename", ("c1", "Renamed")) in client.calls
        await pilot.press("f2", "d", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ("delete", "c1") in client.calls
        assert len(app.screen.query_one(ConversationList).children) == 1


async def test_upload_progress_reaches_ready(tmp_path: Path) -> None:
    client = FakeClient()
    app = chat_app(client)
    file = tmp_path / "guide.pdf"
    file.write_bytes(b"%PDF-1.4")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("f4")
        app.screen.query_one("#upload-path", Input).value = str(file)
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        row = app.screen.query_one(UploadRow)
        assert row.document is not None and row.document.status == "ready"
        assert "ready" in str(row.query_one(".stage").render())
        assert app.screen.query_one("#documents-table", DataTable).row_count == 4


async def test_login_screen_when_signed_out() -> None:
    client = FakeClient()
    client.session.access_token = client.session.refresh_token = None
    app = ChatApp(client, connect=lambda url: client, server="http://fake.test", email="admin@example.com")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.__class__.__name__ == "LoginScreen"
        app.screen.query_one("#password", Input).value = "wrong-password"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Incorrect" in str(app.screen.query_one("#login-error").render())
        app.screen.query_one("#password", Input).value = "right-password"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.id == "chat-screen"


async def test_console_panes_with_fake() -> None:
    client = FakeClient()
    app = ConsoleApp(client, connect=lambda url: client)
    app.poll_scale = 1000
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert app.screen.query_one("#health-table", DataTable).row_count == 5
        await pilot.press("4")
        await pilot.press("r")
        await app.workers.wait_for_complete()
        assert ("reprocess", "doc-2") in client.calls
        await pilot.press("enter")
        await pilot.pause(0.6)
        await app.workers.wait_for_complete()
        log = app.screen.query_one(RichLog)
        assert len(log.lines) == 2  # the two lines of doc-2
        await pilot.press("5")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert "Document Not Found" in app.screen.query_one("#runbook-markdown", Markdown).source
        await pilot.press("x")
        await pilot.pause()
        app.screen.query_one("#field-document_id", Input).value = "doc-2"
        app.screen.query_one("#field-text", Input).value = "invoice"
        await pilot.press("enter", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one("#run-summary").has_class("hidden") is False
        await pilot.press("f")
        await app.workers.wait_for_complete()
        assert ("fix", ("reprocess", "doc-2")) in client.calls


async def test_console_refuses_plain_users() -> None:
    client = FakeClient(role="user")
    app = ConsoleApp(client, connect=lambda url: client)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.__class__.__name__ == "LoginScreen"
        assert "operator role" in str(app.screen.query_one("#login-message").render())


async def test_key_help_and_command_palette() -> None:
    client = FakeClient()
    app = chat_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("f1")
        await pilot.pause()
        assert app.screen.query("HelpPanel")
        await pilot.press("f1")
        await pilot.pause()
        assert not app.screen.query("HelpPanel")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Onboarding")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert app.chat_screen.conversation_id == "c2"
