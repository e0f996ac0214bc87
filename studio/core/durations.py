"""How the studio words a length of time, in one place: the CLI's progress line, the status bar's ETA, the
Training monitor's "time left" tile and the preset cards' estimates all read the same way."""

from __future__ import annotations


def format_duration(seconds: float | None) -> str:
    """``42 s``, ``3 min 10 s``, ``2 h 05 min``; ``—`` when unknown (None, NaN or negative)."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def format_rough_duration(seconds: float) -> str:
    """An estimate, worded no more precisely than it is: ``≈ 45 s``, ``≈ 12 min``, ``≈ 2 h 10 min``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"≈ {seconds} s"
    if seconds < 3600:
        return f"≈ {round(seconds / 60)} min"
    return f"≈ {seconds // 3600} h {seconds % 3600 // 60:02d} min"
