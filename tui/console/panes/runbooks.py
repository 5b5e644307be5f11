"""Runbooks: the guide's markdown, a Run action asking for its params, coloured verdicts, `f` to fix."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Markdown, OptionList, Static
from textual.widgets.option_list import Option

from shared.models.ops import RunbookDetail, RunbookInfo, RunbookRun, RunbookRunRequest, RunbookStep
from tui.common.dialogs import ConfirmScreen, FormScreen
from tui.console.panes.base import Pane

VERDICT_STYLE = {"pass": "bold green", "warn": "bold yellow", "fail": "bold red", "skip": "dim"}
PARAM_LABELS = {"document_id": "Document id", "text": "Text that should be found in search"}
CONFIRM_FIXES = {"rebuild_index"}


def verdict(v: str) -> Text:
    return Text(f" {v.upper():<4} ", style=f"{VERDICT_STYLE.get(v, '')} reverse")


def step_prompt(step: RunbookStep) -> Group:
    lines = [Text.assemble(verdict(step.check.verdict), " ", (step.check.title, "bold"), f" — {step.check.detail}")]
    if step.resolution and step.check.verdict in ("fail", "warn"):
        lines.append(Text(f"       → {step.resolution}", style="italic"))
    if step.fix:
        lines.append(Text(f"       [f] fix: {step.fix}", style="bold cyan"))
    return Group(*lines)


class RunbooksPane(Pane):
    INTERVAL = 3600.0
    FOCUS = "#runbook-list"
    BINDINGS = [
        Binding("x", "run", "Run checks"),
        Binding("f", "fix", "Apply fix"),
    ]
    DEFAULT_CSS = """
    RunbooksPane #runbook-list { width: 28; height: 1fr; }
    RunbooksPane #runbook-body { width: 1fr; }
    RunbooksPane #run-summary { height: auto; padding: 0 1; }
    RunbooksPane #run-steps { height: auto; max-height: 50%; }
    RunbooksPane #run-steps.hidden, RunbooksPane #run-summary.hidden { display: none; }
    RunbooksPane #runbook-doc { height: 1fr; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.runbooks: list[RunbookInfo] = []
        self.current: RunbookDetail | None = None
        self.last_run: RunbookRun | None = None
        self.params: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield OptionList(id="runbook-list")
            with Vertical(id="runbook-body"):
                yield Static("", id="run-summary", classes="hidden")
                yield OptionList(id="run-steps", classes="hidden")
                with VerticalScroll(id="runbook-doc"):
                    yield Markdown("Choose a runbook on the left; **x** runs its checks.", id="runbook-markdown")
        yield Static("", classes="pane-status")

    async def fetch(self) -> None:
        self.runbooks = await self.client.runbooks()
        listing = self.query_one("#runbook-list", OptionList)
        listing.clear_options()
        listing.add_options(Option(r.title, id=r.id) for r in self.runbooks)
        if self.runbooks and self.current is None:
            listing.highlighted = 0  # shows the first runbook's guide
        self.set_status(f"{len(self.runbooks)} runbooks · x run · f fix")

    @on(OptionList.OptionHighlighted, "#runbook-list")
    @on(OptionList.OptionSelected, "#runbook-list")
    def _chosen(self, event: OptionList.OptionHighlighted | OptionList.OptionSelected) -> None:
        if event.option.id and (self.current is None or self.current.id != event.option.id):
            self.load(event.option.id)

    @work(exclusive=True, group="runbook", exit_on_error=False)
    async def load(self, runbook_id: str) -> None:
        self.current = await self.client.runbook(runbook_id)
        self.last_run = None
        self.query_one("#run-summary").add_class("hidden")
        self.query_one("#run-steps").add_class("hidden")
        await self.query_one("#runbook-markdown", Markdown).update(self.current.markdown)
        self.query_one("#runbook-doc", VerticalScroll).scroll_home(animate=False)

    def select(self, runbook_id: str) -> None:
        listing = self.query_one("#runbook-list", OptionList)
        index = next((i for i, r in enumerate(self.runbooks) if r.id == runbook_id), None)
        if index is not None:
            listing.highlighted = index
        self.load(runbook_id)

    def action_run(self) -> None:
        runbook = self.current
        if runbook is None:
            self.app.notify("Choose a runbook first.", severity="warning")
            return
        if not runbook.params:
            self.run_checks(runbook.id, RunbookRunRequest())
            return
        fields = [(p, PARAM_LABELS.get(p, p), self.params.get(p, "")) for p in runbook.params]

        def entered(values: dict[str, str] | None) -> None:
            if values is not None:
                self.params.update(values)
                self.run_checks(
                    runbook.id,
                    RunbookRunRequest(document_id=values.get("document_id") or None, text=values.get("text") or None),
                )

        self.app.push_screen(FormScreen(f"Run: {runbook.title}", fields, submit="Run"), entered)

    @work(exclusive=True, group="run", exit_on_error=False)
    async def run_checks(self, runbook_id: str, request: RunbookRunRequest) -> None:
        self.set_status(f"running {runbook_id}…")
        self.show_run(await self.client.run_runbook(runbook_id, request))

    def show_run(self, run: RunbookRun) -> None:
        self.last_run = run
        summary = self.query_one("#run-summary", Static)
        summary.update(Text.assemble(verdict(run.verdict), " ", (run.summary, "bold")))
        summary.remove_class("hidden")
        steps = self.query_one("#run-steps", OptionList)
        steps.clear_options()
        steps.add_options(Option(step_prompt(step), id=str(i)) for i, step in enumerate(run.steps))
        steps.remove_class("hidden")
        first_fix = next((i for i, s in enumerate(run.steps) if s.fix), 0)
        steps.highlighted = first_fix if run.steps else None
        steps.focus()
        self.set_status(
            f"{run.runbook}: {run.verdict}"
            + (" · f applies the highlighted fix" if any(s.fix for s in run.steps) else "")
        )

    def _chosen_fix(self) -> str | None:
        if self.last_run is None:
            return None
        steps = self.last_run.steps
        index = self.query_one("#run-steps", OptionList).highlighted
        if index is not None and 0 <= index < len(steps) and steps[index].fix:
            return steps[index].fix
        return next((s.fix for s in steps if s.fix), None)

    def action_fix(self) -> None:
        fix = self._chosen_fix()
        if fix is None:
            self.app.notify("No fix to apply: run the checks first (x).", severity="warning")
            return
        document_id = self.params.get("document_id") or None
        if fix not in CONFIRM_FIXES:
            self.apply_fix(fix, document_id)
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.apply_fix(fix, document_id)

        self.app.push_screen(
            ConfirmScreen(f"Apply the fix “{fix}”? The index is rebuilt from the database.", yes="Apply"), confirmed
        )

    @work(group="fix", exit_on_error=False)
    async def apply_fix(self, fix: str, document_id: str | None) -> None:
        self.set_status(f"applying {fix}…")
        result = await self.client.fix(fix, document_id)
        self.app.notify(
            result.detail,
            title=f"{fix}: {'done' if result.ok else 'failed'}",
            severity="information" if result.ok else "error",
        )
        self.set_status(f"{fix}: {'ok' if result.ok else 'failed'} — {result.detail}", error=not result.ok)
