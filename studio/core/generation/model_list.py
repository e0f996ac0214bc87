"""The trained models a creation panel lists: the project's runs and the shipped starter models, one summary each.

The image canvas and the text writer show the same facts about a model (its run, checkpoints, dataset, state, and
what kind of model it is), so the reading lives here, in core, once: a panel's adapter turns each
:class:`ModelEntry` into the plain dict the panel displays and never opens a run's files itself. Which runs a
panel lists is the family table's word (``FamilySpec.panel``, looked up by the model's kind), so a newly
registered family's runs appear with no other change.

Only JSON is read (config.json, capped in size like every file of a run that may come from someone else, and
status.json) and the checkpoint index: no torch, so listing stays fast. A folder that is no readable run is
left out rather than stopping the list.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.generation.run_models import starter_folders
from studio.core.jobs import JobError
from studio.core.training import families, runs


@dataclass(frozen=True)
class ModelEntry:
    """One model as a creation panel lists it."""

    run_id: str  # the run folder's name (a starter model's name)
    folder: str
    family: str  # the family id
    kind: str  # describe()'s kind (the family id for every run the studio writes)
    label: str  # the family's short name for the model's facts line ("GAN")
    source: str  # "project" (a run of the open project) or "starter" (shipped in models/)
    steps: list[int] = field(default_factory=list)  # the checkpoints' steps, oldest first
    dataset: str = ""
    created: str = ""
    state: str = ""  # status.json's state ("finished", "running", ...); "" when unknown
    classes: list[str] = field(default_factory=list)  # the class names a conditional image model was trained on
    resolution: int = 0  # image models: the picture size in px
    tokenizer: str = ""  # text models: "char" or "bpe"
    can_encode: bool = False  # its network maps pictures to latents (a VAE): it can rebuild and morph pictures
    name: str = ""  # the user's name for the run (Training ▸ Rename), "" when it has none
    chosen_step: int | None = None  # the step "Use this checkpoint" chose (meta.json), when it still exists
    # what its network makes (families.Generator.makes): "image" for a generator, "transfer" for a style-transfer
    # model (pictures in, pictures out: the canvas's Transfer mode, not its grid), "text", ...; "" when none
    makes: str = ""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def read_model_entry(folder: str | Path, panel: str, source: str = "project") -> ModelEntry | None:
    """The summary of the run (or starter model) in ``folder``, or None when it is not a model ``panel`` opens or
    its config.json cannot be read."""
    folder = Path(folder)
    try:
        config = runs.read_config(folder)
    except (OSError, ValueError, JobError):  # missing, damaged or oversized: not listed
        return None
    if not isinstance(config, dict):
        return None
    model, settings = config.get("model"), config.get("config")
    model = model if isinstance(model, dict) else {}
    settings = settings if isinstance(settings, dict) else {}
    spec = families.find(model.get("kind")) or families.find(config.get("family"))
    if spec is None or spec.panel != panel:
        return None
    try:
        resolution = int(model.get("resolution") or settings.get("resolution") or 0)
    except (TypeError, ValueError):
        resolution = 0
    steps = [c.step for c in runs.checkpoints(folder)]
    chosen = runs.chosen_step(folder) if source == "project" else None
    return ModelEntry(
        run_id=str(config.get("run_id") or folder.name),
        folder=str(folder),
        family=str(config.get("family") or spec.id),
        kind=str(model.get("kind") or spec.id),
        label=spec.label,
        source=source,
        steps=steps,
        dataset=str(config.get("dataset", "")),
        created=str(config.get("created", "")),
        state=str(runs.read_status(folder).get("state", "")),
        classes=[str(c) for c in model.get("classes") or []] if isinstance(model.get("classes"), list) else [],
        resolution=resolution,
        tokenizer=str(model.get("tokenizer") or ""),
        can_encode=bool(spec.generator and spec.generator.encode),
        name=runs.read_run_name(folder) if source == "project" else "",
        chosen_step=chosen if chosen in steps else None,  # a pruned checkpoint's choice falls back to the newest
        makes=spec.generator.makes if spec.generator is not None else "",
    )


def list_models(project_root: str | Path | None, panel: str) -> list[ModelEntry]:
    """The project's runs that ``panel`` opens (newest first), then the starter models it opens (by name): the
    starters let a panel generate on a first launch, before any training."""
    found = []
    for info in runs.list_runs(project_root) if project_root is not None else ():
        entry = read_model_entry(info.folder, panel, "project")
        if entry is not None:
            found.append(entry)
    for folder in starter_folders():
        entry = read_model_entry(folder, panel, "starter")
        if entry is not None:
            found.append(entry)
    return found
