"""What the add-on's modal operators (Generate, Test engine, Install engine) share: their event
timer, their status-bar text, and one clear report for a bug, so none of them is left running."""

from __future__ import annotations

import traceback


def remove_timer(context, op) -> None:
    """Remove the operator's event timer once (a second call does nothing)."""
    timer, op._timer = getattr(op, "_timer", None), None
    if timer is None:
        return
    try:
        context.window_manager.event_timer_remove(timer)
    except (AttributeError, ReferenceError, RuntimeError, ValueError):
        pass


def clear_status(context, workspace) -> None:
    """Remove our status-bar text and redraw, tolerating a window or workspace that went away."""
    try:
        workspace.status_text_set(None)
    except (AttributeError, ReferenceError, RuntimeError, TypeError):
        pass
    for area in getattr(context.screen, "areas", ()):
        area.tag_redraw()


def report_unexpected(op, what: str, exc: Exception) -> set:
    """One clear error for a bug in the add-on, the traceback in the system console."""
    traceback.print_exc()
    op.report({"ERROR"}, f"{what} stopped on an unexpected error ({type(exc).__name__}: {exc}); "
                         "the details are in the system console")
    return {"CANCELLED"}
