"""The writer's two promises to a designer using templates and brand rules:

* a template used with a writer that never read their copy (the shipped Shakespeare starter) says so where the
  template is chosen, and "Train a writer on your copy" opens Training with the project's text dataset and a
  writer family chosen — and a writer trained on the project's copy gets no such note;
* "Make sure every variant uses them" makes every variant use the must-use words (a variant without them is
  written again), and says plainly which variants could not get which words.

The generation core is the writer panel tests' fake (:class:`FakeWriterBackend`), here doing what the real
job does when must-use words are enforced (announce each new try with a restart item, then stream it); the
core's own enforcement is tested with a tiny model in tests/core/generation/test_must_use_words.py.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSize, Qt
from test_text_writer_panel import (
    GPT_RUN,
    FakeStreamJob,
    FakeWriterBackend,
    _shot,
    fake_pieces,
    make_run,
)
from test_training_panel import FakeBackend as FakeTrainingBackend

from studio.core.jobs import JobContext
from studio.core.project import create_project, open_project
from studio.ui.main_window import MainWindow
from studio.ui.settings import AppSettings
from studio.ui.widgets.writer.editor import brand_check
from studio.ui.widgets.writer.history import entry_of

STARTER = "starter-shakespeare"  # the shipped writer (models/starter-shakespeare), trained on tiny Shakespeare
TRIES = 4


class EnforcingJob(FakeStreamJob):
    """The fake stream, with must-use words enforced as the core enforces them: variant v's try k uses seed
    ``seed + v + k * variants``, announced by a restart item before its text."""

    def __call__(self, ctx: JobContext) -> dict:
        required = list(self.settings.get("required_words") or [])
        if not (self.settings.get("enforce_required") and required):
            return super().__call__(ctx)
        texts, seeds = [], []
        for v in range(self.variants):
            missing: list[str] = []
            for k in range(TRIES):
                seed = self.settings["seed"] + v + k * self.variants
                if k:
                    ctx.metrics(
                        {"variant": v, "restart": True, "seed": seed, "steer": 3.0 * k, "try": k + 1,
                         "missing": missing, "text": ""}
                    )  # fmt: skip
                pieces = fake_pieces(self.prompt, {**self.settings, "seed": seed}, 0)
                for piece in pieces:
                    ctx.check()
                    ctx.metrics({"variant": v, "text": piece})
                missing = brand_check("".join(pieces), required, [])["missing"]
                if not missing:
                    break
            texts.append("".join(pieces))
            seeds.append(seed)
        return {"texts": texts, "run_id": "fake", "step": 0, "seeds": seeds}


class EnforcingBackend(FakeWriterBackend):
    def generate_job(self, folder, step, prompt, settings, variants):
        super().generate_job(folder, step, prompt, settings, variants)  # records the call
        return EnforcingJob(prompt, settings, variants, self.delay)


class TextTraining(FakeTrainingBackend):
    """The Training panel's fake engine, with the real writer families' ids."""

    def families(self) -> list[dict]:
        return [
            {"family": "gan", "title": "Image GAN", "kinds": ("image",), "description": "Makes new pictures."},
            {"family": "gpt", "title": "Writer (GPT)", "kinds": ("text",), "description": "Learns your copy."},
            {"family": "lstm", "title": "Writer (LSTM)", "kinds": ("text",), "description": "Small and quick."},
        ]

    def list_runs(self, root) -> list[dict]:
        return []  # the writer's run folders are not the fake engine's


@pytest.fixture
def project_root(tmp_path):
    project = create_project(tmp_path / "Linen Shop")
    project.datasets.update(
        {
            "icons": {"kind": "image", "items": 40, "path": "datasets/icons"},
            "shop copy": {"kind": "text", "items": 12, "path": "datasets/shop copy"},
        }
    )
    project.save()
    make_run(project.root, GPT_RUN, "gpt", steps=(200, 400))  # trained on "shop copy": the user's copy
    return project.root


def _wait_models(qtbot, panel) -> None:
    qtbot.waitUntil(lambda: panel.models is not None and panel.models_slot.runner is None, timeout=5000)


@pytest.fixture
def panel(qtbot, studio_app, project_root, panel_alone):
    panel = panel_alone("text", QSize(1280, 800))
    panel.backend = EnforcingBackend()
    panel.set_project(open_project(project_root))
    _wait_models(qtbot, panel)
    panel.controls.max_tokens.setValue(30)
    return panel


def _choose_template(panel, template_id: str) -> None:
    panel.controls.template.setCurrentIndex(panel.controls.template.findData(template_id))


def test_a_template_with_the_starter_writer_says_it_never_read_copy(qtbot, panel, tmp_path):
    controls = panel.controls
    assert controls.model.findData(STARTER) >= 0  # the shipped starter writer is listed after the project's runs
    controls.model.setCurrentIndex(controls.model.findData(STARTER))
    assert not controls.copy_notice.isVisible()  # free text: nothing to warn about
    _choose_template(panel, "product_description")
    assert controls.copy_notice.isVisible() and controls.train_button.isVisible()
    note = controls.copy_note.text()
    assert "“shakespeare”" in note and "not from your copy" in note and "Product description" in note
    assert controls.train_button.text() == "Train a writer on your copy"
    _shot(panel.window(), tmp_path, "writer-starter-template-note.png")

    controls.model.setCurrentIndex(controls.model.findData(GPT_RUN))  # trained on the project's "shop copy"
    assert not controls.copy_notice.isVisible()
    controls.model.setCurrentIndex(controls.model.findData(STARTER))
    assert controls.copy_notice.isVisible()
    _choose_template(panel, "")  # back to free text
    assert not controls.copy_notice.isVisible()


@pytest.mark.main_window
def test_train_a_writer_on_your_copy_opens_training_ready(qtbot, studio_app, project_root):
    window = MainWindow(AppSettings())
    qtbot.addWidget(window)
    window.confirm_quit_while_training = lambda: True
    window.setFixedSize(QSize(1280, 800))
    training, panel = window.panels["training"], window.panels["text"]
    training.backend = TextTraining()
    panel.backend = EnforcingBackend()
    with qtbot.waitExposed(window):
        window.show()
    window.set_project(open_project(project_root))
    window.show_panel("text")
    _wait_models(qtbot, panel)
    qtbot.waitUntil(lambda: training.catalog is not None, timeout=5000)
    controls = panel.controls
    controls.model.setCurrentIndex(controls.model.findData(STARTER))
    _choose_template(panel, "ad_slogan")
    assert controls.train_button.isVisible()
    qtbot.mouseClick(controls.train_button, Qt.MouseButton.LeftButton)
    assert window.current_panel_id == "training"
    assert training.setup.dataset_name() == "shop copy"  # the project's text dataset, not the selected icons
    assert training.setup.family_name() == "gpt"  # the starter's family: a writer
    qtbot.waitUntil(lambda: not training.charts_slot.busy, timeout=30000)  # no job left running at the close


def test_must_use_words_are_enforced_in_every_variant(qtbot, panel, tmp_path):
    controls = panel.controls
    panel.prompt.setPlainText("Meet the")
    controls.required.setText("linen, organic")
    assert controls.enforce.isEnabled() and not controls.enforce.isChecked()
    qtbot.mouseClick(controls.variant_buttons[3], Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(panel.generated, timeout=10000) as plain:
        panel.generate()
    lacking = [i for i, text in enumerate(plain.args[0]) if brand_check(text, ["linen", "organic"], [])["missing"]]
    assert lacking  # left alone, some variant misses a must-use word: the reason for the option

    controls.enforce.click()
    with qtbot.waitSignal(panel.generated, timeout=10000) as done:
        panel.generate()
    settings = panel.backend.calls[-1][4]
    assert settings["enforce_required"] is True and settings["required_words"] == ["linen", "organic"]
    texts = done.args[0]
    assert all(brand_check(text, ["linen", "organic"], [])["missing"] == [] for text in texts), texts
    views = panel.columns.visible_views()
    assert [v.text() for v in views] == texts  # each column shows its kept try, not a mix of tries
    for i in lacking:  # the variants written again show their new seed and say why
        assert views[i].seed == 42 + i + 3 * (views[i].tries - 1) and views[i].tries > 1
        assert "Written" in views[i].title.toolTip() and f"seed {views[i].seed}" in views[i].title.text()
    assert all("○" not in v.rules.text() for v in views)  # no must-use word missing anywhere
    assert panel.banner.isVisible() and panel.banner.text.text() == "Every variant uses every must-use word."
    assert panel.entry["seeds"] == [v.seed for v in views]
    _shot(panel.window(), tmp_path, "writer-must-use-enforced.png")

    enforced = list(panel.entry["seeds"])
    qtbot.waitUntil(lambda: not panel.history.busy() and len(panel.history.rows()) == 2, timeout=10000)
    kept = [entry_of(row) for row in panel.history.rows()]  # the history (the project's gallery), newest first
    panel.show_entry(kept[1])  # brings back the plain run with its own seeds
    assert [v.seed for v in panel.columns.visible_views()] == [42, 43, 44]
    panel.show_entry(kept[0])
    assert [v.seed for v in panel.columns.visible_views()] == enforced


def test_a_word_the_writer_cannot_use_is_reported_plainly(qtbot, panel):
    controls = panel.controls
    panel.prompt.setPlainText("Meet the")
    controls.required.setText("linen, velvet")  # the fake never writes "velvet"
    controls.enforce.setChecked(True)
    qtbot.mouseClick(controls.variant_buttons[2], Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(panel.generated, timeout=10000):
        panel.generate()
    message = panel.banner.text.text()
    assert panel.banner.isVisible()
    assert message.startswith(f"Every variant still lacks “velvet” after {TRIES} tries.")
    assert "This writer seldom writes this word" in message
    assert all(v.tries == TRIES for v in panel.columns.visible_views())
    controls.required.setText("")
    assert not controls.enforce.isEnabled()  # nothing to enforce
