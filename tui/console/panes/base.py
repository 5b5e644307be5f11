"""A console pane that polls one endpoint: failures show in its status line, not as pop-ups."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Static

from tui.common.errors import UsesClient
from tui.errors import ClientError, NotSignedIn


class Pane(UsesClient, Vertical):
    INTERVAL: ClassVar[float] = 5.0  # seconds between polls; the app's `poll_scale` multiplies it
    FOCUS: ClassVar[str] = ""  # the widget to focus when the pane is shown
    DEFAULT_CSS = """
    Pane .pane-status { height: 1; color: $text-muted; padding: 0 1; }
    Pane .pane-status.-error { color: $error; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._timer: Timer | None = None

    def start(self) -> None:
        """Begin polling (called once signed in)."""
        if self._timer is None:
            scale = float(getattr(self.app, "poll_scale", 1.0))
            self._timer = self.set_interval(self.INTERVAL * scale, self.poll)
        self.poll()

    @work(exclusive=True, group="poll", exit_on_error=False)
    async def poll(self) -> None:
        try:
            await self.fetch()
        except NotSignedIn:
            raise
        except ClientError as exc:
            self.set_status(str(exc), error=True)

    async def fetch(self) -> None:
        """Get and show the pane's data."""

    def set_status(self, text: str, *, error: bool = False) -> None:
        for status in self.query(".pane-status").results(Static):
            status.update(text)
            status.set_class(error, "-error")
