"""The Text writer as a designer drives it: pick a model and a template, fill its fields, Generate and watch
the text stream in, Stop, several variants side by side, brand rules, continue from the cursor, the
history, copy and export — and the empty states that say what to do first.

Most tests use a FAKE generation core (:class:`FakeWriterBackend`): a job that streams words chosen by a
seeded generator (the same prompt, seed and settings always give the same text), one ``ctx.metrics`` call
per piece with ``ctx.check()`` before each, like the real ``GenerateText``, so Stop works mid-stream. The
model list is the real one (:meth:`WriterBackend.list_models` reads run folders; no torch). One test uses
the real core when it is there. Screenshots go to ``tmp_path`` (set ``AIGC_SCREENSHOT_DIR`` to keep them).
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication

from studio.core.gallery.store import Gallery
from studio.core.jobs import JobContext
from studio.core.project import create_project, open_project
from studio.ui.backends.writer import WriterBackend
from studio.ui.main_window import MainWindow
from studio.ui.settings import AppSettings
from studio.ui.widgets.writer.editor import READABLE, brand_check
from studio.ui.widgets.writer.history import entry_of

GPT_RUN = "20261125-201400-gpt"
LSTM_RUN = "20261124-100000-lstm"
WORDS = (
    "soft",
    "linen",
    "shirt",
    "for",
    "summer",
    "days",
    "breathable",
    "organic",
    "cotton",
    "light",
    "cool",
    "cheap",
    "made",
    "to",
    "last",
    "in",
    "every",
    "colour",
    "the",
    "city",
    "and",
    "sea",
)
# the contract's TemplateInfo shape (studio/ui/backends/contracts.py)
PRODUCT = {"name": "product", "label": "Product", "hint": "e.g. linen shirt", "required": False}
AUDIENCE = {"name": "audience", "label": "Audience", "hint": "e.g. city cyclists", "required": False}
TONE = {"name": "tone", "label": "Tone", "hint": "e.g. warm", "required": False}
KEYWORDS = {"name": "keywords", "label": "Keywords", "hint": "e.g. breathable", "required": False}
TEMPLATES = [
    {"id": "product_description", "title": "Product description", "fields": [PRODUCT, AUDIENCE, TONE, KEYWORDS]},
    {"id": "ad_slogan", "title": "Ad slogan", "fields": [PRODUCT, TONE]},
    {"id": "social_post", "title": "Social post", "fields": [PRODUCT, AUDIENCE, TONE]},
    {"id": "customer_service_reply", "title": "Customer-service reply", "fields": [PRODUCT, TONE]},
    {"id": "news_brief", "title": "News brief", "fields": [PRODUCT, KEYWORDS]},
]


# -- the fake generation core -------------------------------------------------------------------------------------
def fake_pieces(prompt: str, settings: dict, variant: int) -> list[str]:
    """What the fake writes: words drawn by a generator seeded from the prompt, settings and variant seed.
    Never-use words are never drawn (the real core masks them at the logit level)."""
    rng = random.Random(f"{prompt}|{settings['seed'] + variant}|{settings['temperature']}|{settings['top_p']}")
    banned = {w.lower() for w in settings.get("banned_words") or []}
    words = [w for w in WORDS if w not in banned]
    lead = "" if not prompt or prompt[-1].isspace() else " "
    return [(" " if i else lead) + rng.choice(words) for i in range(settings["max_tokens"])]


class FakeStreamJob:
    kind = "task"

    def __init__(self, prompt: str, settings: dict, variants: int, delay: float) -> None:
        self.prompt, self.settings, self.variants, self.delay = prompt, dict(settings), variants, delay
        self.title = f"Writing {variants} variant{'s' if variants != 1 else ''}"

    def __call__(self, ctx: JobContext) -> dict:
        pieces = [fake_pieces(self.prompt, self.settings, v) for v in range(self.variants)]
        texts = [""] * self.variants
        for i in range(self.settings["max_tokens"]):
            for v in range(self.variants):  # round robin, as a batched sampler reports them
                ctx.check()
                ctx.metrics({"variant": v, "text": pieces[v][i]})
                texts[v] += pieces[v][i]
            if self.delay:
                time.sleep(self.delay)
        return {"texts": texts, "run_id": "fake", "step": 0}


class FakeWriterBackend:
    """The WriterBackend contract with words from :func:`fake_pieces` instead of a network."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.calls: list[tuple] = []
        self.real = WriterBackend()

    def available(self) -> bool:
        return True

    def list_models(self, root):
        return self.real.list_models(root)  # the real listing: run folders, no torch

    def templates(self):
        return [dict(t) for t in TEMPLATES]

    def build_prompt(self, template_id, fields):
        return (
            f"[{template_id}] Write for {fields.get('audience', 'everyone')} about {fields.get('product', '')}"
            f" in a {fields.get('tone', 'plain')} tone. Keywords: {fields.get('keywords', '')}.\n"
        )

    def load_history(self, root):
        return self.real.load_history(root)

    def save_history(self, root, entries):
        self.real.save_history(root, entries)

    def write_text(self, path, text):
        return self.real.write_text(path, text)

    def generate_job(self, folder, step, prompt, settings, variants):
        self.calls.append(("generate", Path(folder).name, step, prompt, dict(settings), variants))
        return FakeStreamJob(prompt, settings, variants, self.delay)


def expected(prompt: str, settings: dict, variant: int = 0) -> str:
    """The fake's text as the panel shows it (the whitespace it starts with is kept aside, not shown)."""
    return "".join(fake_pieces(prompt, settings, variant)).lstrip()


# -- fixtures -------------------------------------------------------------------------------------------------------
def _shot(widget, tmp_path: Path, name: str) -> Path:
    QApplication.processEvents()
    folder = Path(os.environ.get("AIGC_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    assert widget.grab().save(str(target))
    return target


def make_run(root: Path, run_id: str, family: str = "gpt", steps=(200, 400), tokenizer: str = "char") -> Path:
    """A text run folder as the engine writes it (config with the model description, status, checkpoints)."""
    folder = root / "runs" / run_id
    (folder / "checkpoints").mkdir(parents=True)
    model = {"kind": family, "vocab_size": 64, "block_size": 32, "tokenizer": tokenizer, "eot_id": 0}
    (folder / "config.json").write_text(
        json.dumps(
            {
                "run_id": run_id,
                "family": family,
                "dataset": "shop copy",
                "preset": "fast",
                "config": {},
                "model": model,
                "seed": 0,
                "device": "cpu",
                "created": run_id[:15],
                "schema": 1,
            }
        )
    )
    (folder / "status.json").write_text(json.dumps({"state": "finished", "step": max(steps, default=0)}))
    for step in steps:
        (folder / "checkpoints" / f"step-{step:06d}.json").write_text(json.dumps({"step": step, "metrics": {}}))
        (folder / "checkpoints" / f"step-{step:06d}.safetensors").write_bytes(b"weights")
    return folder


class NoTraining:
    """The Training panel's engine, absent: its catalogue job ends at once instead of importing torch."""

    def available(self) -> bool:
        return False


def _window(qtbot) -> MainWindow:
    window = MainWindow(AppSettings())
    window.panels["training"].backend = NoTraining()
    qtbot.addWidget(window)
    window.confirm_quit_while_training = lambda: True
    window.setFixedSize(QSize(1360, 860))
    with qtbot.waitExposed(window):
        window.show()
    return window


def _open(qtbot, window, fake, root: Path):
    panel = window.panels["text"]
    panel.backend = fake
    window.set_project(open_project(root))
    window.show_panel("text")
    qtbot.waitUntil(
        lambda: panel.models is not None and panel.models_slot.runner is None,
        timeout=5000,
    )
    return panel


@pytest.fixture
def fake():
    return FakeWriterBackend()


@pytest.fixture
def project_root(tmp_path):
    root = create_project(tmp_path / "Linen Shop").root
    make_run(root, GPT_RUN, "gpt", steps=(200, 400))
    make_run(root, LSTM_RUN, "lstm", steps=(300,), tokenizer="bpe")
    return root


@pytest.fixture
def panel(request, qtbot, studio_app, fake, project_root, panel_alone):
    """The writer with the project open: on its own, or inside the whole window for tests marked main_window."""
    if request.node.get_closest_marker("main_window"):
        window = _window(qtbot)
        panel = _open(qtbot, window, fake, project_root)
        panel.window_ = window
    else:
        panel = panel_alone("text", QSize(1360, 860))
        panel.backend = fake
        panel.set_project(open_project(project_root))
        qtbot.waitUntil(lambda: panel.models is not None and panel.models_slot.runner is None, timeout=5000)
    panel.controls.max_tokens.setValue(30)
    return panel


def _press(qtbot, widget, key, modifier=Qt.KeyboardModifier.ControlModifier) -> None:
    widget.setFocus()
    qtbot.keyClick(widget, key, modifier)


def _generate(qtbot, panel, widget=None) -> list[str]:
    with qtbot.waitSignal(panel.generated, timeout=10000) as done:
        _press(qtbot, widget or panel.prompt, Qt.Key.Key_Return)  # Ctrl+Return, from inside the editor
    return done.args[0]


def _kept(qtbot, panel) -> list[dict]:
    """The generations the History lists (kept in the project's gallery), newest first, as writer entries, once
    every recording and listing has ended."""
    qtbot.waitUntil(lambda: not panel.history.busy(), timeout=10000)
    return [entry_of(row) for row in panel.history.rows()]


def _row_text(panel, row: int) -> str:
    """A History row as it reads (title, muted line, first words)."""
    model = panel.history.model_
    return str(model.data(model.index(row), Qt.ItemDataRole.AccessibleTextRole))


def _fill_template(qtbot, panel, values: dict) -> None:
    controls = panel.controls
    controls.template.setCurrentIndex(controls.template.findData("product_description"))
    for name, value in values.items():
        edit = controls.field_edits[name]
        edit.clear()
        qtbot.keyClicks(edit, value)


# -- tests --------------------------------------------------------------------------------------------------------
def test_empty_states_say_what_to_do(qtbot, studio_app, tmp_path, fake, no_starters):
    window = _window(qtbot)
    panel = window.panels["text"]
    panel.backend = fake
    window.show_panel("text")
    assert panel.stack.currentWidget() is panel.empty and "Open a project" in panel.empty.title.text()
    assert not panel.empty.button.isVisible()

    root = create_project(tmp_path / "Empty").root
    make_run(root, "20261125-090000-gan", "gan")  # not a text model: not offered
    _open(qtbot, window, fake, root)
    assert panel.empty.title.text() == "No writer model yet" and panel.empty.button.isVisible()
    assert panel.empty.button.text() == "Go to Training"
    _shot(window, tmp_path, "writer-no-model.png")
    qtbot.mouseClick(panel.empty.button, Qt.MouseButton.LeftButton)
    assert window.current_panel_id == "training"

    make_run(root, "20261125-100000-gpt", "gpt", steps=())  # a run that has not saved a checkpoint yet
    _open(qtbot, window, fake, root)
    assert panel.stack.currentWidget() is panel.content
    assert not panel.controls.generate_button.isEnabled() and not panel.continue_button.isEnabled()
    assert "no checkpoint yet" in panel.controls.hint.text()
    assert not panel.controls.checkpoint.isEnabled()
    _press(qtbot, panel.prompt, Qt.Key.Key_Return)
    assert panel.generate_slot.runner is None and not fake.calls  # nothing runs without a checkpoint


def test_template_fields_build_the_prompt_and_text_streams_in(qtbot, panel, fake, tmp_path, stall_probe):
    _fill_template(
        qtbot, panel, {"product": "linen shirt", "audience": "city cyclists", "tone": "warm", "keywords": "breathable"}
    )
    wanted = fake.build_prompt(
        "product_description",
        {"product": "linen shirt", "audience": "city cyclists", "tone": "warm", "keywords": "breathable"},
    )
    assert panel.prompt.toPlainText() == wanted
    assert "Product description" in panel.prompt_caption.full_text()

    fake.delay = 0.01
    panel.controls.max_tokens.setValue(120)
    view = panel.columns.views[0]
    lengths = []
    view.editor.textChanged.connect(lambda: lengths.append(len(view.text())))
    stall_probe.start()
    _press(qtbot, panel.prompt, Qt.Key.Key_Return)  # Ctrl+Return in the prompt
    runner = panel.generate_slot.runner
    assert runner is not None and panel.controls.stop_button.isEnabled()
    assert panel.controls.generate_button.text() == "Writing…"
    qtbot.waitUntil(lambda: len(view.text().split()) >= 30, timeout=10000)
    assert runner.is_running() and view.badge.text() == "writing…"
    panel.prompt.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(panel.prompt, " Thanks")  # the editor takes typing while text streams
    assert panel.prompt.toPlainText().endswith(" Thanks")
    stall_probe.stop()  # the screenshot is the test's own pause, not the window's
    _shot(panel.window(), tmp_path, "writer-streaming-template.png")
    stall_probe.start()
    with qtbot.waitSignal(panel.generated, timeout=10000) as done:
        pass
    worst = stall_probe.stop()
    print(f"\nworst stall while streaming: {worst * 1000:.1f} ms over {stall_probe.ticks} ticks")
    assert worst < 0.25, f"the GUI thread was blocked for {worst * 1000:.0f} ms"
    assert len(set(lengths)) >= 5  # it grew batch by batch, not all at once at the end
    settings = fake.calls[-1][4]
    assert fake.calls[-1][:4] == ("generate", GPT_RUN, 400, wanted) and fake.calls[-1][5] == 1
    assert done.args[0] == [expected(wanted, settings)] == [view.text()]
    assert not view.badge.isVisible() and view.title.text() == "Variant 1 · seed 42"
    assert panel.controls.generate_button.text() == "Generate" and not panel.progress.isVisible()
    assert panel.details.heading.text() == "Product description · linen shirt"
    assert panel.details.txt_button.isEnabled()
    _shot(panel.window(), tmp_path, "writer-template-done.png")


def test_stop_halts_mid_stream_and_keeps_the_text(qtbot, panel, fake):
    fake.delay = 0.02
    panel.controls.max_tokens.setValue(400)
    panel.prompt.setPlainText("Our linen")
    view = panel.columns.views[0]
    _press(qtbot, panel.prompt, Qt.Key.Key_Return)
    runner = panel.generate_slot.runner
    qtbot.waitUntil(lambda: len(view.text().split()) >= 10, timeout=10000)
    with qtbot.waitSignal(runner.cancelled, timeout=2000):
        _press(qtbot, view.editor, Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier)  # Esc stops
    kept = view.text()
    qtbot.wait(150)
    assert view.text() == kept and 10 <= len(kept.split()) < 400  # halted mid-stream, nothing more arrives
    assert expected("Our linen", fake.calls[-1][4]).startswith(kept)
    assert view.badge.text() == "stopped" and "Stopped" in panel.banner.text.text()
    kept_entries = _kept(qtbot, panel)
    assert kept_entries[0]["state"] == "stopped" and kept_entries[0]["texts"] == [kept]
    assert panel.controls.generate_button.isEnabled() and not panel.controls.stop_button.isEnabled()


def test_same_seed_gives_the_same_text_and_the_dice_another(qtbot, panel, fake):
    panel.prompt.setPlainText("Summer is")
    panel.controls.seed.setValue(1234)
    first = _generate(qtbot, panel)
    second = _generate(qtbot, panel)
    assert first == second and fake.calls[-1][4]["seed"] == 1234
    with qtbot.waitSignal(panel.generated, timeout=10000) as rolled:
        qtbot.mouseClick(panel.controls.dice, Qt.MouseButton.LeftButton)  # a new seed, and generate
    assert fake.calls[-1][4]["seed"] != 1234 and rolled.args[0] != first
    panel.controls.seed.setValue(1234)
    assert _generate(qtbot, panel) == first
    panel.controls.temperature.setValue(120)  # other settings, other text
    assert _generate(qtbot, panel) != first and fake.calls[-1][4]["temperature"] == 1.2


def test_variants_side_by_side(qtbot, panel, fake, tmp_path):
    panel.prompt.setPlainText("New in:")
    qtbot.mouseClick(panel.controls.variant_buttons[3], Qt.MouseButton.LeftButton)
    texts = _generate(qtbot, panel)
    assert fake.calls[-1][5] == 3 and len(texts) == 3 and len(set(texts)) == 3
    views = panel.columns.visible_views()
    assert [v.isVisible() for v in panel.columns.views] == [True, True, True, False]
    assert [v.title.text() for v in views] == ["Variant 1 · seed 42", "Variant 2 · seed 43", "Variant 3 · seed 44"]
    settings = fake.calls[-1][4]
    assert texts == [expected("New in:", settings, v) for v in range(3)]
    corners = lambda: [v.mapTo(panel, v.rect().topLeft()) for v in views]  # noqa: E731
    panel.setFixedSize(QSize(1700, 860))  # a wide window: side by side, each readable
    qtbot.waitUntil(lambda: len({p.y() for p in corners()}) == 1, timeout=3000)
    lefts = corners()
    assert lefts[0].x() < lefts[1].x() < lefts[2].x()
    assert all(v.width() >= READABLE for v in views)
    _shot(panel.window(), tmp_path, "writer-three-variants.png")
    panel.setFixedSize(QSize(1080, 738))  # a 1280×800 window's panel: one under the other, never squeezed
    qtbot.waitUntil(lambda: len({p.x() for p in corners()}) == 1, timeout=3000)
    tops = [p.y() for p in corners()]
    assert tops[0] < tops[1] < tops[2] and all(v.width() >= READABLE for v in views)
    panel.columns.scroll.ensureWidgetVisible(views[2])  # the rows scroll rather than shrink
    _shot(panel.window(), tmp_path, "writer-three-variants-1280x800.png")
    qtbot.mouseClick(panel.controls.variant_buttons[1], Qt.MouseButton.LeftButton)
    assert [v.isVisible() for v in panel.columns.views] == [True, False, False, False]


def test_brand_rules_are_passed_on_and_shown_per_variant(qtbot, panel, fake, tmp_path):
    panel.prompt.setPlainText("Meet the")
    panel.controls.required.setText("linen, organic, velvet")
    panel.controls.banned.setText("cheap")
    panel.controls.max_tokens.setValue(60)
    qtbot.mouseClick(panel.controls.variant_buttons[2], Qt.MouseButton.LeftButton)
    texts = _generate(qtbot, panel)
    settings = fake.calls[-1][4]
    assert settings["required_words"] == ["linen", "organic", "velvet"] and settings["banned_words"] == ["cheap"]
    for view, text in zip(panel.columns.visible_views(), texts, strict=True):
        check = brand_check(text, ["linen", "organic", "velvet"], ["cheap"])
        assert "cheap" not in text.split() and check["banned"] == [] and "velvet" in check["missing"]
        shown = view.rules.text()
        assert view.rules.isVisible() and "○&nbsp;velvet" in shown and "no&nbsp;never-use&nbsp;words" in shown
        assert all(f"✓&nbsp;{w}" in shown for w in check["found"])
        assert f"{len(check['found'])} of 3 present" in view.rules.toolTip()
    _shot(panel.window(), tmp_path, "writer-brand-rules.png")
    view = panel.columns.views[0]
    view.editor.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(view.editor, " Velvet, never cheap.")  # an edit: the checks follow the text
    assert "✓&nbsp;velvet" in view.rules.text() and "✕&nbsp;cheap" in view.rules.text()
    assert "cheap appear" in view.rules.toolTip()
    panel.controls.required.setText("")  # rules changed: the chips follow the rules
    assert "velvet" not in view.rules.text()


def test_continue_from_cursor(qtbot, panel, fake):
    panel.prompt.setPlainText("Soft linen for")
    first = _generate(qtbot, panel)[0]
    view = panel.columns.views[0]
    words = first.split(" ")
    keep = " ".join(words[:4])  # the cursor after the fourth word of the text
    cursor = view.editor.textCursor()
    cursor.setPosition(len(keep))
    view.editor.setTextCursor(cursor)
    with qtbot.waitSignal(panel.generated, timeout=10000) as done:
        _press(
            qtbot,
            view.editor,
            Qt.Key.Key_Return,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
    prompt, settings, variants = fake.calls[-1][3], fake.calls[-1][4], fake.calls[-1][5]
    assert prompt == "Soft linen for " + keep and variants == 1 and settings["seed"] == 42  # the lead space back
    assert done.args[0] == [keep + " " + expected(prompt, settings)] == [view.text()]
    kept = _kept(qtbot, panel)
    assert len(kept) == 2 and kept[0]["texts"] == [view.text()] and kept[0]["continued"]

    panel.prompt.setFocus()  # in the prompt: the prompt up to its cursor
    cursor = panel.prompt.textCursor()
    cursor.setPosition(len("Soft linen"))
    panel.prompt.setTextCursor(cursor)
    with qtbot.waitSignal(panel.generated, timeout=10000):
        qtbot.mouseClick(panel.continue_button, Qt.MouseButton.LeftButton)
    assert fake.calls[-1][3] == "Soft linen" and view.text() == expected("Soft linen", fake.calls[-1][4])


def test_history_keeps_every_generation_and_brings_one_back(qtbot, panel, fake, tmp_path):
    _fill_template(qtbot, panel, {"product": "linen shirt", "tone": "warm"})
    panel.controls.seed.setValue(7)
    first_prompt = panel.prompt.toPlainText()
    first = _generate(qtbot, panel)
    panel.controls.template.setCurrentIndex(0)  # free text now
    panel.prompt.setPlainText("Dear customer,")
    panel.controls.seed.setValue(8)
    qtbot.mouseClick(panel.controls.variant_buttons[2], Qt.MouseButton.LeftButton)
    _generate(qtbot, panel)
    assert len(_kept(qtbot, panel)) == 2
    history = panel.history.view
    assert _row_text(panel, 0).startswith("Dear customer,")
    assert _row_text(panel, 1).startswith("Product description · linen shirt")
    assert "1 variant · seed 7" in _row_text(panel, 1) and "2 variants · seed 8" in _row_text(panel, 0)
    panel.tabs.setCurrentIndex(1)
    _shot(panel.window(), tmp_path, "writer-history.png")
    centre = history.visualRect(panel.history.model_.index(1)).center()
    qtbot.mouseClick(history.viewport(), Qt.MouseButton.LeftButton, pos=centre)  # a click selects
    assert panel.prompt.toPlainText() == "Dear customer,"
    qtbot.mouseDClick(history.viewport(), Qt.MouseButton.LeftButton, pos=centre)  # a double click reopens
    assert panel.prompt.toPlainText() == first_prompt and panel.controls.seed.value() == 7
    assert panel.controls.template_id() == "product_description"
    assert panel.controls.field_edits["product"].text() == "linen shirt"
    assert panel.columns.texts() == first and panel.controls.variants() == 1

    with Gallery(panel.project.root) as gallery:  # kept with the project
        stored = gallery.items(panel="text")
    assert [item.settings["prompt"] for item in stored] == ["Dear customer,", first_prompt]
    reopened = _window(qtbot)
    other = _open(qtbot, reopened, fake, panel.project.root)
    kept = _kept(qtbot, other)
    assert len(kept) == 2 and kept[1]["texts"] == first


def test_copy_and_export_txt_and_md(qtbot, panel, fake, tmp_path):
    panel.prompt.setPlainText("Hello")
    panel.controls.required.setText("linen")
    qtbot.mouseClick(panel.controls.variant_buttons[2], Qt.MouseButton.LeftButton)
    texts = _generate(qtbot, panel)
    qtbot.mouseClick(panel.columns.views[1].copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == texts[1]
    qtbot.mouseClick(panel.details.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == "\n\n".join(texts)

    out = tmp_path / "exports"
    panel.ask_export_path = lambda kind: str(out / f"copy.{kind}")
    with qtbot.waitSignal(panel.exported, timeout=5000) as done:
        _press(qtbot, panel.columns.views[0].editor, Qt.Key.Key_E)  # Ctrl+E: .txt
    txt = Path(done.args[0])
    assert txt == out / "copy.txt"
    assert txt.read_text(encoding="utf-8") == texts[0].strip() + "\n\n———\n\n" + texts[1].strip() + "\n"
    assert "Saved copy.txt" in panel.banner.text.text()
    panel.ask_export_path = lambda kind: str(out / "copy")  # no suffix typed: the right one is added
    with qtbot.waitSignal(panel.exported, timeout=5000) as done:
        qtbot.mouseClick(panel.details.md_button, Qt.MouseButton.LeftButton)
    md = Path(done.args[0]).read_text(encoding="utf-8")
    assert Path(done.args[0]).name == "copy.md"
    assert md.startswith("# Hello\n") and "## Variant 1 (seed 42)" in md and "## Variant 2 (seed 43)" in md
    assert texts[1].strip() in md and "> Hello" in md and "- Must use: linen" in md and "- Seed: 42" in md


@pytest.mark.main_window
def test_models_templates_and_open_in_writer_from_training(no_starters, qtbot, panel, project_root):
    controls = panel.controls
    assert [controls.model.itemData(i) for i in range(controls.model.count())] == [GPT_RUN, LSTM_RUN]
    assert controls.step() == 400 and controls.checkpoint.count() == 2  # newest checkpoint first
    assert controls.facts.text() == "GPT · characters · on shop copy"
    controls.model.setCurrentIndex(1)
    assert controls.step() == 300 and controls.facts.text() == "LSTM · word pieces (BPE) · on shop copy"
    assert [controls.template.itemText(i) for i in range(controls.template.count())] == [
        "Free text",
        "Product description",
        "Ad slogan",
        "Social post",
        "Customer-service reply",
        "News brief",
    ]
    assert not controls.fields_box.isVisible()  # free text: no fields
    controls.template.setCurrentIndex(2)
    assert list(controls.field_edits) == ["product", "tone"] and controls.fields_box.isVisible()
    controls.model.setCurrentIndex(0)
    window = panel.window_
    window.show_panel("training")
    record = project_root / "runs" / LSTM_RUN / "checkpoints" / "step-000300.json"
    window.panels["training"].open_checkpoint("text", str(record))
    assert window.current_panel_id == "text"
    qtbot.waitUntil(lambda: panel.controls.run_id() == LSTM_RUN, timeout=5000)
    assert panel.controls.step() == 300
    older = project_root / "runs" / GPT_RUN / "checkpoints" / "step-000200.json"
    window.panels["training"].open_checkpoint("text", str(older))
    qtbot.waitUntil(lambda: panel.controls.run_id() == GPT_RUN and panel.controls.step() == 200, timeout=5000)
    window.panels["training"].open_checkpoint("image", str(record))  # meant for the canvas: the writer stays
    assert panel.controls.run_id() == GPT_RUN


def test_checkpoint_list_offers_the_writer_for_text_families():
    from studio.ui.widgets.training.checkpoint_list import open_target

    assert open_target("gpt")[:2] == ("text", "Open in writer") and open_target("lstm")[0] == "text"
    assert open_target("gan")[0] == "image"


@pytest.mark.main_window
def test_panel_state_is_remembered(qtbot, panel, fake):
    controls = panel.controls
    controls.model.setCurrentIndex(0)
    controls.checkpoint.setCurrentIndex(controls.checkpoint.findData(200))
    _fill_template(qtbot, panel, {"product": "linen shirt", "tone": "bold"})
    panel.prompt.appendPlainText("Edited by hand.")
    controls.set_settings(
        {
            "temperature": 1.1,
            "top_k": 40,
            "top_p": 0.9,
            "repetition_penalty": 1.3,
            "max_tokens": 77,
            "seed": 777,
            "stop": ["\n\n", "END"],
        }
    )
    controls.required.setText("linen")
    controls.banned.setText("cheap, sale")
    controls.set_variants(4)
    panel.tabs.setCurrentIndex(1)
    state = panel.save_state()
    assert state["run"] == GPT_RUN and state["step"] == 200 and state["template"] == "product_description"
    assert state["settings"]["stop"] == ["\n\n", "END"] and state["variants"] == 4

    window = panel.window_
    window.save_window_state()
    reopened = _window(qtbot)
    other = _open(qtbot, reopened, fake, window.project.root)
    assert other.controls.run_id() == GPT_RUN and other.controls.step() == 200
    assert other.controls.template_id() == "product_description"
    assert other.controls.field_edits["product"].text() == "linen shirt"
    assert other.prompt.toPlainText() == panel.prompt.toPlainText() and "Edited by hand." in other.prompt.toPlainText()
    assert other.controls.settings() == controls.settings() and other.controls.variants() == 4
    assert other.tabs.currentIndex() == 1 and other.columns.count == 4
    _generate(qtbot, other)
    assert fake.calls[-1][1:3] == (GPT_RUN, 200) and fake.calls[-1][4]["seed"] == 777 and fake.calls[-1][5] == 4


# -- the real generation core -------------------------------------------------------------------------------------
def _real_core() -> bool:
    """The text generation core and the GPT network exist (found without importing them)."""
    import importlib.util

    names = (
        "studio.core.generation.text_jobs",
        "studio.core.generation.sampling",
        "studio.core.nets.gpt",
        "studio.core.datasets.tokenizers",
    )
    try:
        return all(importlib.util.find_spec(name) is not None for name in names)
    except (ImportError, ValueError):
        return False


@pytest.mark.skipif(
    not _real_core(),
    reason="the text generation core (studio.core.generation.text_jobs, studio.core.nets.gpt) is not complete yet",
)
@pytest.mark.slow
def test_real_core_streams_text_from_a_tiny_gpt(qtbot, studio_app, tmp_path):
    """An untrained tiny GPT saved as a run's checkpoint: the writer streams its text, and the same seed
    gives the same text again."""
    import torch
    from safetensors.torch import save_file

    from studio.core.datasets.tokenizers import fit_tokenizer
    from studio.core.nets import gpt

    torch.set_num_threads(1)
    root = create_project(tmp_path / "Real").root
    folder = make_run(root, "20261125-120000-gpt", "gpt", steps=(1,))
    corpus = "Soft linen shirts for summer days. Breathable, light and made to last. 柔软的亚麻衬衫。"
    tokenizer = fit_tokenizer("char", [corpus])
    tokenizer.save(folder / "tokenizer.json")
    config = json.loads((folder / "config.json").read_text())
    model = {
        "kind": "gpt",
        "vocab_size": int(tokenizer.vocab_size),
        "block_size": 32,
        "n_layer": 1,
        "n_head": 2,
        "n_embd": 16,
        "dropout": 0.0,
        "bias": True,
        "tokenizer": "char",
        "eot_id": int(tokenizer.eot_id),
    }
    config["model"] = model
    (folder / "config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    network = gpt.build_gpt(model)
    save_file(
        {f"model.{k}": v.contiguous().clone() for k, v in network.state_dict().items()},  # untied copies
        str(folder / "checkpoints" / "step-000001.safetensors"),
    )
    window = _window(qtbot)
    panel = _open(qtbot, window, WriterBackend(), root)
    assert panel.controls.run_id() == "20261125-120000-gpt" and panel.controls.generate_button.isEnabled()
    controls = panel.controls  # the core's own templates: a required field left empty is named, not an error
    assert controls.template.findData("product_description") > 0 and controls.template.count() == 6
    controls.template.setCurrentIndex(controls.template.findData("product_description"))
    assert panel.prompt_hint.isVisible() and "Product" in panel.prompt_hint.text()
    assert controls.field_edits and not panel.banner.isVisible()
    qtbot.keyClicks(controls.field_edits["product"], "Linen shirt")
    qtbot.keyClicks(controls.field_edits["tone"], "warm")
    assert not panel.prompt_hint.isVisible()
    assert panel.prompt.toPlainText().startswith("Product: Linen shirt\nTone: warm\n")
    _shot(window, tmp_path, "writer-real-template.png")
    controls.template.setCurrentIndex(0)
    panel.prompt.setPlainText("Soft linen")
    panel.controls.max_tokens.setValue(40)
    batches = []
    with qtbot.waitSignal(panel.generated, timeout=60000) as done:  # imports torch in the job
        panel.generate()
        runner = panel.generate_slot.runner
        runner.metrics.connect(batches.append)
    assert runner.state == "succeeded", panel.banner.text.text()
    text = done.args[0][0]
    assert text and text == panel.columns.views[0].text() and len(batches) >= 1
    with qtbot.waitSignal(panel.generated, timeout=30000) as again:
        panel.generate()
    assert again.args[0][0] == text
