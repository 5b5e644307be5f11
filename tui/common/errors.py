"""One place that turns a failed worker into something the user sees."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.worker import Worker, WorkerState

from tui.client import DocmanClient
from tui.errors import ClientError, NotSignedIn


def report(app: App[Any], error: BaseException) -> None:
    """Notify the user; a lost session sends them back to the sign-in screen."""
    if isinstance(error, NotSignedIn) and hasattr(app, "sign_in_again"):
        app.sign_in_again(str(error))
    elif isinstance(error, ClientError):
        app.notify(str(error), title="Request failed", severity="error", timeout=8)
    else:
        app.notify(f"{type(error).__name__}: {error}", title="Unexpected error", severity="error", timeout=10)


class ReportsWorkerErrors:
    """Mixin for widgets and screens: their failed workers are reported instead of crashing the app.

    Their workers use `exit_on_error=False`; this is the one `Worker.StateChanged` handler.
    """

    app: App[Any]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            report(self.app, event.worker.error)


class UsesClient(ReportsWorkerErrors):
    """Mixin for widgets and screens that call the server through the app's client."""

    @property
    def client(self) -> DocmanClient:
        return self.app.api  # type: ignore[attr-defined,no-any-return]
