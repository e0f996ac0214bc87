"""What a run will be on this device, before it starts: the settings that will train and how long they take.

Two ways to ask, both answered from the measured costs of :mod:`studio.core.training.estimation`:

* **a preset** ("fast", "balanced", "best"): the family's sizes for the device (smaller on a CPU), with the steps
  cut so the whole run fits the preset's time cap (:data:`~studio.core.training.families.PRESET_MINUTES`: 5, 20
  and 60 minutes), unless the user set the steps;
* **"Best model in N minutes"** (:func:`plan` with ``budget_minutes``): the model's size is chosen for the budget
  and the steps fill it. For a GPT the size is compute-optimal (Hoffmann et al. 2022, "Chinchilla": about 20
  training tokens per parameter, so a budget of C operations buys N ≈ sqrt(C / 120) parameters); for an image
  model the widest network that still trains its family's ``budget_min_steps`` (the family table), at the
  resolution the data suggests (:func:`studio.core.training.suggest.settings_for`); the learning-rate schedule is then
  set for exactly the planned steps, evaluations and checkpoints come often enough that the best checkpoint is
  kept, and :class:`~studio.core.training.deadline.Deadline` stops the run at the budget whatever the
  estimate said.

The Training panel's estimates and :class:`~studio.core.training.job.TrainJob` both call :func:`plan`, so the
time a preset shows is the time of the settings that run.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.datasets.importer import dataset_folder
from studio.core.jobs import JobContext
from studio.core.training import estimation, families, suggest
from studio.core.training.devices import resolve_device
from studio.core.training.families import PRESET_MINUTES, spec

MIN_EVALUATIONS = 5  # a fitted run evaluates (and can keep a best checkpoint) at least this often
BUDGET_SHARE = 0.9  # of a budget planned for steps: the rest covers what the estimate cannot see (torch's import)
TOKENS_PER_PARAMETER = 20.0  # Chinchilla's compute-optimal ratio

# Sizes a budget chooses from, smallest first: a GPT's (layers, heads, width, context) and an image model's widths.
GPT_LADDER = (
    (2, 2, 64, 64),
    (4, 4, 128, 64),
    (4, 4, 192, 128),
    (6, 8, 256, 128),
    (6, 6, 384, 256),
    (8, 8, 512, 256),
    (12, 12, 768, 256),
)
IMAGE_WIDTHS = (16, 24, 32, 48, 64, 96)


@dataclass(frozen=True)
class Plan:
    config: dict  # the complete settings the run will use
    estimate: dict  # estimation.summary(): seconds, memory_bytes, steps and the parts
    budget_s: float | None = None  # "Best model in N minutes": the deadline, in seconds from the job's start


def plan(
    project_root,
    dataset: str,
    family: str,
    preset: str | None = "balanced",
    overrides: dict | None = None,
    device=None,
    *,
    budget_minutes: float | None = None,
    ctx: JobContext | None = None,
    cpu_threads: int | None = None,
    estimate: bool = True,
) -> Plan:
    """The settings a run of ``family`` on ``dataset`` will train with on ``device``, and their estimate.

    ``estimate=False`` (a run starting) measures only when the plan needs it: a preset whose steps the user set
    starts at once, with an empty estimate."""
    overrides = dict(overrides or {})
    info = resolve_device(device)  # once: every size the plan asks about runs on it
    kind = info.kind

    def costs(config: dict) -> estimation.Costs:
        return estimation.costs_for(project_root, dataset, family, config, info, ctx=ctx, cpu_threads=cpu_threads)

    if budget_minutes is not None:
        follows, _ = suggest.settings_for(suggest.read_facts(dataset_folder(project_root, dataset)), spec(family))
        return _plan_budget(family, {**follows, **overrides}, kind, float(budget_minutes) * 60.0, costs)
    config = families.resolve_config(family, preset, overrides, kind)
    capped = preset in PRESET_MINUTES and "steps" not in overrides
    if not capped and not estimate:
        return Plan(config, {})
    measured = costs(config)
    if capped:
        cap = PRESET_MINUTES[str(preset)] * 60.0
        if estimation.seconds_for(measured, config) > cap:
            config = fit_steps(measured, config, cap, overrides)
    return Plan(config, estimation.summary(measured, config))


def fit_steps(costs: estimation.Costs, config: dict, seconds: float, overrides: dict) -> dict:
    """``config`` with as many steps as fit in ``seconds``, evaluations, previews and checkpoints often enough for
    :data:`MIN_EVALUATIONS` of them, and a warm-up of at most a tenth of the run (settings the user chose stay)."""
    fitted = dict(config)
    for _ in range(3):  # the cadence changes what a step costs on average: settle in a few rounds
        steps = estimation.steps_within(costs, fitted, seconds)
        fitted["steps"] = steps
        every = max(1, steps // MIN_EVALUATIONS)
        for key in ("eval_every", "sample_every", "checkpoint_every"):
            if key not in overrides:
                fitted[key] = min(int(config[key]), every)
        if "warmup_steps" not in overrides:
            fitted["warmup_steps"] = min(int(config["warmup_steps"]), steps // 10)
    fitted["steps"] = estimation.steps_within(costs, fitted, seconds)
    families.check_config(fitted)
    return fitted


# -- "Best model in N minutes" ---------------------------------------------------------------------------------------
def _plan_budget(family: str, overrides: dict, kind: str, budget_s: float, costs) -> Plan:
    seconds = budget_s * BUDGET_SHARE
    base = families.resolve_config(family, "fast", overrides, kind)
    base_costs = costs(base)
    config = _size_for_budget(family, base, base_costs, seconds, overrides)
    measured = costs(config) if config != base else base_costs
    config = fit_steps(measured, config, seconds, overrides)
    return Plan(config, estimation.summary(measured, config), budget_s)


def _size_for_budget(family: str, base: dict, base_costs: estimation.Costs, seconds: float, overrides: dict) -> dict:
    """The largest size of the family's ladder that the budget trains well, judged by scaling the measured step
    of the fast size by each candidate's work per step; the user's own size settings win."""
    if family == "gpt" and not {"n_layer", "n_head", "n_embd", "block_size"} & set(overrides):
        chosen = base
        for layers, heads, width, context in GPT_LADDER:
            candidate = {**base, "n_layer": layers, "n_head": heads, "n_embd": width, "block_size": context}
            step_s = base_costs.step_s * gpt_work(candidate) / gpt_work(base)
            tokens = seconds / step_s * candidate["batch_size"] * context
            if tokens >= TOKENS_PER_PARAMETER * gpt_parameters(candidate):
                chosen = candidate
        return chosen
    min_steps = families.spec(family).budget_min_steps
    if min_steps and "width" not in overrides:
        chosen = base
        for width in IMAGE_WIDTHS:
            candidate = {**base, "width": width}
            step_s = base_costs.step_s * (width / base["width"]) ** 2
            if seconds / step_s >= min_steps:
                chosen = candidate
        return chosen
    return base


def gpt_parameters(config: dict) -> float:
    """Parameters of a GPT without its embeddings (the count scaling laws use): 12 · layers · width²."""
    return 12.0 * config["n_layer"] * config["n_embd"] ** 2


# The character tokenizer's size before it has seen the text: ~65 characters, end-of-text and 256 byte ids
CHAR_VOCAB_GUESS = 322


def gpt_work(config: dict) -> float:
    """Operations of one training step: 6 per parameter per token, plus attention's 12 · layers · context · width
    per token (Kaplan et al. 2020), plus the output head's 6 · vocabulary · width (which scaling laws leave out,
    but which dominates a small GPT with a 4,096-piece BPE vocabulary), times the step's tokens."""
    vocab = config["vocab_size"] if config.get("tokenizer") == "bpe" else CHAR_VOCAB_GUESS
    per_token = (
        6.0 * gpt_parameters(config)
        + 12.0 * config["n_layer"] * config["block_size"] * config["n_embd"]
        + 6.0 * vocab * config["n_embd"]
    )
    return per_token * config["batch_size"] * config["block_size"]
