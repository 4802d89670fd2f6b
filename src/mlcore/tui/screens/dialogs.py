"""The dialogs around a verb: confirm before it runs, and say why the store refused it."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from mlcore import errors
from mlcore.tui import format as fmt
from mlcore.tui.data import rule_results
from mlcore.tui.viewmodels import ActionPreview, RuleResult

__all__ = ["ConfirmScreen", "RefusedScreen", "gate_verdict", "refusal_title", "rule_lines"]


def rule_lines(rules: tuple[RuleResult, ...]) -> list[str]:
    """One line per rule: status, rule, value against threshold, and why.

    >>> rule_lines((RuleResult("general/auc", 0.61, 0.7, "fail", "AUC low", "block", op=">="),
    ...             RuleResult("general/recall", 0.8, 0.95, "waived", waiver="rita: known")))
    ['  fail   general/auc: 0.61 vs >= 0.7 (AUC low)', '  waived general/recall: 0.8 vs 0.95 (waived by rita: known)']
    """
    lines = []
    for r in rules:
        threshold = fmt.value(r.threshold)
        if r.op and r.threshold is not None:
            threshold = f"{r.op} {threshold}"
        why = [r.message] if r.message else []
        if r.severity == "warn" and r.status == "fail":
            why.append("a warning: does not block")
        if r.waiver:
            why.append(f"waived by {r.waiver}")
        line = f"  {r.status or '?':<6} {r.rule}: {fmt.value(r.value)} vs {threshold}"
        lines.append(line + (f" ({'; '.join(why)})" if why else ""))
    return lines


def gate_verdict(rules: tuple[RuleResult, ...]) -> str:
    """The gate's verdict above its rules.

    >>> gate_verdict(()), gate_verdict((RuleResult("approvals", 0, 1, "fail"),))
    ('pass: nothing blocks this release', 'BLOCKED: 1 rule fails')
    """
    blocking = sum(1 for r in rules if r.blocking)
    if not blocking:
        return "pass: nothing blocks this release"
    return (
        f"BLOCKED: {blocking} rule{'s' if blocking > 1 else ''} fail{'' if blocking > 1 else 's'}"
    )


class ConfirmScreen(ModalScreen[str | None]):
    """Who acts, what will change, and for a release the gate; dismissed with the reason.

    Dismisses with the reason typed (``""`` when none was asked or given), or
    None when cancelled.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", key_display="Esc")
    ]

    def __init__(self, preview: ActionPreview) -> None:
        super().__init__()
        self.preview = preview

    def compose(self) -> ComposeResult:
        p = self.preview
        lines = [
            f"as      {p.actor} ({', '.join(p.roles) or 'no role'})",
            f"change  {p.change}",
            *(f"        {note}" for note in p.notes),
        ]
        if p.gate is not None:
            lines += [f"gate    {gate_verdict(p.gate)}", *rule_lines(p.gate)]
        with Vertical(id="confirm", classes="dialog"):
            yield Static(
                f"{p.verb.capitalize()} {p.target.label}?", classes="dialog-title", markup=False
            )
            yield Static("\n".join(lines), id="confirm-body", markup=False)
            if p.warnings:
                yield Static(
                    "\n".join(f"! {w}" for w in p.warnings), id="confirm-warnings", markup=False
                )
            if p.reason_label is not None:
                need = "required" if p.needs_reason else "optional"
                yield Input(placeholder=f"{p.reason_label} ({need})", id="reason")
            with Horizontal(classes="buttons"):
                yield Button("Confirm", id="confirm-yes", variant="primary")
                yield Button("Cancel", id="confirm-no")

    def on_mount(self) -> None:
        fields = self.query("#reason")
        (fields.first() if fields else self.query_one("#confirm-yes")).focus()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#confirm-yes")
    def confirm(self) -> None:
        fields = self.query("#reason").results(Input)
        reason = next((f.value.strip() for f in fields), "")
        if self.preview.needs_reason and not reason:
            self.notify(
                f"{self.preview.verb} needs a {self.preview.reason_label}", severity="warning"
            )
            self.query_one("#reason", Input).focus()
            return
        self.dismiss(reason)

    @on(Button.Pressed, "#confirm-no")
    def action_cancel(self) -> None:
        self.dismiss(None)


def refusal_title(error: BaseException) -> str:
    """The dialog's title for an error the store raised.

    >>> refusal_title(errors.PermissionDenied("bob", "release a version"))
    'Denied'
    """
    if isinstance(error, errors.PermissionDenied):
        return "Denied"
    if isinstance(error, errors.GateFailed):
        return "Blocked by the release gate"
    if isinstance(error, errors.InvalidTransition):
        return "Not allowed in this state"
    if isinstance(error, errors.StoreBusy):
        return "Store busy"
    return "Refused" if isinstance(error, errors.MlcoreError) else "Failed"


class RefusedScreen(ModalScreen[None]):
    """What the store said when it refused (or failed) an action."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "dismiss", "Close", key_display="Esc")
    ]

    def __init__(self, verb: str, label: str, error: BaseException) -> None:
        super().__init__()
        self.verb = verb
        self.label = label
        self.error = error

    def compose(self) -> ComposeResult:
        text = str(self.error) if isinstance(self.error, errors.MlcoreError) else repr(self.error)
        if isinstance(self.error, errors.GateFailed):
            text = "\n".join(
                [
                    f"{self.error.subject}: failing rules",
                    *rule_lines(rule_results(self.error.failures, default_status="fail")),
                ]
            ) + (f"\n{self.error.hint}" if self.error.hint else "")
        with Vertical(id="refused", classes="dialog"):
            yield Static(
                f"{refusal_title(self.error)}: {self.verb} {self.label}",
                classes="dialog-title",
                markup=False,
            )
            yield Static(text, id="refused-body", markup=False)
            yield Static("Esc closes", classes="note", markup=False)
