"""A comparison board as one self-contained HTML document, to send to a client or a colleague.

Everything is inside the one file, so it opens in any browser, offline, years later, and shows exactly what the
studio showed: pictures as ``data:image/png;base64,…`` URIs, one ``<audio controls src="data:audio/wav;base64,…">``
per clip, the texts, a table per checkpoint (step, when it was saved, its validation metrics, the best one
marked) and each run's settings. Inline CSS only: no stylesheet, font, script or picture is fetched from
anywhere, and there is no script at all.

No web address of any kind appears in the document, not even by accident: text from a model, a prompt or a run
name that holds one is written with its "p" as a character reference (the browser shows the same word, the file
holds no link to follow), and in the base64 of an embedded file every "htt"+"p" gets a line break inserted
before the "p", which URL parsing removes again (WHATWG URL: ASCII tab and newline are stripped from any URL,
data: URLs included). So a search of the file for "http" finds nothing, and a reviewer can trust that check.

Every text goes through :func:`html.escape`; control characters a model may write are replaced. Cell files are
read through the project's path guard (:func:`studio.core.safe_paths.inside`) and size-capped: a board handed over
with a run folder is data from someone else like any other.
"""

from __future__ import annotations

import base64
import html
import re
import struct
from datetime import datetime
from pathlib import Path

from studio.core import words
from studio.core.atomic import atomic_write_text
from studio.core.compare.cells import FILE_CAP
from studio.core.jobs import JobError
from studio.core.safe_paths import inside

_WEB = re.compile(r"(htt)([pP])", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PIXELATED_BELOW = 160  # pictures smaller than the cell are enlarged with hard pixel edges, not blurred
MIME = {"image": "image/png", "audio": "audio/wav"}
WHAT = {"image": "pictures", "text": "texts", "audio": "spoken sentences"}
FOOTER = (
    "Every checkpoint rendered the same seeds, prompts or sentences with the same settings, so the columns differ by "
    "their training alone. Made with AIGC Studio."
)

CSS = """
:root { color-scheme: light; --ink: #1d232b; --muted: #5f6b7a; --line: #d9dee5; --soft: #f4f6f9; --accent: #2f6fdf; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 28px 40px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 2px; }
.sub, .muted { color: var(--muted); }
.runs { display: flex; flex-wrap: wrap; gap: 16px; margin: 18px 0 22px; }
.run { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: var(--soft);
       min-width: 280px; }
.settings { border-collapse: collapse; margin-top: 8px; font-size: 12px; }
.settings td { padding: 1px 10px 1px 0; vertical-align: top; }
.settings td:first-child { color: var(--muted); }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; }
table.board { border-collapse: separate; border-spacing: 0; }
.board th, .board td { padding: 10px; border-bottom: 1px solid var(--line); vertical-align: top; text-align: left; }
.board thead th { background: var(--soft); position: sticky; top: 0; min-width: 180px; }
.board th.label { max-width: 220px; font-weight: 600; background: var(--soft); white-space: pre-wrap;
                  overflow-wrap: anywhere; }
.col.best { box-shadow: inset 0 3px 0 var(--accent); }
.step { font-size: 15px; font-weight: 700; }
.badge { display: inline-block; margin-left: 6px; padding: 0 6px; border-radius: 9px; background: var(--accent);
         color: #fff; font-size: 11px; font-weight: 600; vertical-align: 2px; }
.runname { font-size: 12px; color: var(--muted); }
.metrics { border-collapse: collapse; margin-top: 6px; font-size: 12px; font-weight: 400; }
.metrics td { padding: 0 8px 0 0; border: 0; }
.metrics td:first-child { color: var(--muted); }
img { display: block; width: 160px; height: auto; border-radius: 4px; }
img.px { image-rendering: pixelated; }
td.text { white-space: pre-wrap; overflow-wrap: anywhere; min-width: 220px; max-width: 320px; font-size: 13px; }
.prompt { color: var(--muted); }
audio { width: 220px; display: block; }
.secs { font-size: 12px; color: var(--muted); margin-top: 2px; }
td.missing { color: var(--muted); font-style: italic; }
.error { margin-top: 6px; max-width: 220px; color: #b3261e; font-size: 12px; font-weight: 400; white-space: normal; }
footer { margin-top: 18px; font-size: 12px; color: var(--muted); }
"""


def text(value: object) -> str:
    """``value`` as HTML text: escaped, control characters replaced, and no "http" left (module docstring)."""
    escaped = html.escape(_CONTROL.sub("\ufffd", str(value)), quote=True)
    return _WEB.sub(lambda m: m.group(1) + f"&#{ord(m.group(2))};", escaped)


def data_uri(mime: str, data: bytes) -> str:
    """A data: URI of ``data`` whose text holds no "http" (a line break, which URL parsing drops, splits it)."""
    encoded = base64.b64encode(data).decode("ascii")
    return f"data:{mime};base64," + _WEB.sub(lambda m: f"{m.group(1)}\n{m.group(2)}", encoded)


def board_html(project_root: str | Path, board: dict) -> str:
    """The board (as :class:`~studio.core.compare.board.RenderBoard` returns it) as one HTML document."""
    root = Path(project_root)
    modality = str(board.get("modality") or "image")
    columns, rows = list(board.get("columns") or []), list(board.get("rows") or [])
    board_runs = {str(run.get("run_id")): run for run in board.get("runs") or []}
    names = [str(run.get("name") or run.get("run_id")) for run in board_runs.values()]
    title = f"Checkpoint comparison · {' vs '.join(names)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{text(title)}</title><style>{CSS}</style></head><body>",
        "<header><h1>Checkpoint comparison</h1>",
        f'<p class="sub">{text(_subtitle(board, modality, len(columns), len(rows)))}</p></header>',
        '<section class="runs">',
        *(_run_card(run, board) for run in board_runs.values()),
        "</section>",
        '<div class="scroll"><table class="board"><thead><tr>',
        f'<th class="label">{text(_corner(modality))}</th>',
        *(_column_head(column, board_runs, len(board_runs) > 1) for column in columns),
        "</tr></thead><tbody>",
    ]
    cells = board.get("cells") or []
    for r, row in enumerate(rows):
        parts.append(f'<tr><th class="label">{text(row.get("label", ""))}</th>')
        for c, column in enumerate(columns):
            cell = cells[c][r] if c < len(cells) and r < len(cells[c]) else None
            parts.append(_cell(root, modality, cell, row, column))
        parts.append("</tr>")
    parts += [
        "</tbody></table></div>",
        f"<footer>{text(FOOTER)}</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_board_html(project_root: str | Path, board: dict, out: str | Path) -> Path:
    """Write :func:`board_html` to ``out`` atomically (its folder is made when missing); returns the path."""
    out = Path(out)
    if out.is_dir():
        raise JobError(f"{out} is a folder; give the HTML file to write, e.g. {out / 'board.html'}.")
    return atomic_write_text(out, board_html(project_root, board))


# -- parts -----------------------------------------------------------------------------------------------------------
def _subtitle(board: dict, modality: str, columns: int, rows: int) -> str:
    return (
        f"{words.count(columns, 'checkpoint')} × {words.count(rows, _row_noun(modality))}, "
        f"{WHAT.get(modality, modality)} made by AIGC Studio on {_when(board.get('created'))}"
    )


def _row_noun(modality: str) -> str:
    return {"image": "seed", "text": "prompt", "audio": "sentence"}.get(modality, "row")


def _corner(modality: str) -> str:
    return {"image": "Seed", "text": "Prompt", "audio": "Sentence"}.get(modality, "")


def _run_card(run: dict, board: dict) -> str:
    facts = [str(run.get("family_title") or run.get("family") or ""), f"dataset “{run.get('dataset', '')}”"]
    if run.get("class"):
        facts.append(f"class “{run['class']}”")
    settings = _dict(run.get("settings"))
    rows = "".join(f"<tr><td>{text(key)}</td><td>{text(_value(value))}</td></tr>" for key, value in settings.items())
    rows += "".join(
        f"<tr><td>{text(key)}</td><td>{text(value)}</td></tr>" for key, value in _render_settings(board).items()
    )
    return (
        f'<div class="run"><h2>{text(run.get("name") or run.get("run_id"))}</h2>'
        f'<div class="muted">{text(" · ".join(facts))}</div>'
        f'<div class="muted">run {text(run.get("run_id"))}, started {text(_when(run.get("created")))}</div>'
        f'<table class="settings">{rows}</table></div>'
    )


def _render_settings(board: dict) -> dict:
    """How the cells were made, for the settings table (the board's own fixed choices)."""
    render = _dict(board.get("render"))
    out = {"rendered on": str(render.get("device", "cpu"))}
    sampling = render.get("sampling")
    if isinstance(sampling, dict):
        out["sampling"] = (
            f"temperature {_value(sampling.get('temperature'))}, top-p {_value(sampling.get('top_p'))}, "
            f"repetition penalty {_value(sampling.get('repetition_penalty'))}, "
            f"{sampling.get('max_tokens')} tokens, seed {sampling.get('seed')}"
        )
    if render.get("vocoder") == "griffinlim":
        out["sound"] = "Griffin-Lim (the same for every checkpoint)"
    return out


def _column_head(column: dict, board_runs: dict, two_runs: bool) -> str:
    best = bool(column.get("best"))
    step = column.get("step")
    step_text = f"Step {step:,}" if isinstance(step, int) else f"Step {step}"
    head = f'<th class="col{" best" if best else ""}"><div class="step">{text(step_text)}'
    head += '<span class="badge">Best</span></div>' if best else "</div>"
    if two_runs:
        run = board_runs.get(str(column.get("run_id")), {})
        head += f'<div class="runname">{text(run.get("name") or column.get("run_id"))}</div>'
    metrics = [("saved", _when(column.get("created")))]
    values = _dict(column.get("metrics"))
    metrics += [(_metric_name(key), _value(value)) for key, value in values.items()]
    rows = "".join(f"<tr><td>{text(key)}</td><td>{text(value)}</td></tr>" for key, value in metrics)
    error = f'<div class="error">{text(column["error"])}</div>' if column.get("error") else ""
    return head + f'<table class="metrics">{rows}</table>{error}</th>'


def _metric_name(key: object) -> str:
    """ "val_loss" -> "val loss": the validation prefix stays, so it is never read as the training loss."""
    return str(key).replace("_", " ")


def _cell(root: Path, modality: str, cell: object, row: dict, column: dict) -> str:
    if not isinstance(cell, dict):
        return '<td class="missing">Not rendered</td>'
    where = f"{row.get('label', '')}, step {column.get('step')}"
    if modality == "text":
        prompt = row.get("prompt")
        shown = f'<span class="prompt">{text(prompt)}</span>' if isinstance(prompt, str) and prompt else ""
        return f'<td class="text">{shown}{text(cell.get("text", ""))}</td>'
    data = _read(root, cell.get("file"))
    if data is None:
        return '<td class="missing">The file of this cell is missing</td>'
    if modality == "image":
        size = _png_width(data)
        pixelated = ' class="px"' if 0 < size < PIXELATED_BELOW else ""
        return f'<td><img{pixelated} src="{data_uri(MIME["image"], data)}" alt="{text(where)}"></td>'
    seconds = cell.get("seconds")
    length = f"{seconds:.1f} s" if isinstance(seconds, (int, float)) else ""
    return (
        f'<td><audio controls preload="metadata" src="{data_uri(MIME["audio"], data)}" title="{text(where)}"></audio>'
        f'<div class="secs">{text(length)}</div></td>'
    )


def _read(root: Path, relative: object) -> bytes | None:
    """A cell's file, read inside the project and size-capped; None when missing, outside or oversized."""
    try:
        path = inside(root, relative)
        if not path.is_file() or path.stat().st_size > FILE_CAP:
            return None
        return path.read_bytes()
    except (OSError, JobError):
        return None


def _png_width(data: bytes) -> int:
    """The width in the PNG's IHDR chunk (0 when it is not a PNG)."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n":
        return 0
    return int(struct.unpack(">I", data[16:20])[0])


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _when(value: object) -> str:
    """ "2026-03-01 14:05" in the reader's local time from an ISO 8601 time ("" stays "", other text as it is)."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value
