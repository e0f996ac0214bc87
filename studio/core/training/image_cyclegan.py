"""Family "cyclegan": style transfer between two sets of pictures (studio/core/nets/cyclegan.py), 32 to 256 px.

**The two styles.** Style A is the dataset the run trains on; style B is either a second image dataset of the same
project, named by the setting ``dataset_b`` (``aigc-studio train --model cyclegan --dataset A --set dataset_b=B``),
or, when ``dataset_b`` is empty, the second class folder of a dataset with exactly two (class 0 = A, class 1 = B,
in the cache's sorted order). Anything else is refused with what to do. Both styles are read from image caches
built at the run's resolution and fit, each built the way the first dataset's is when it is missing or stale
(:func:`second_dataset_folder` checks the name first: a plain name of an image dataset of the same project).

**One step** is two phases on a batch of A pictures and a batch of B pictures: the discriminators learn to tell
real pictures of each style from the current generators' outputs, then both generators learn from the adversarial
loss, the cycle loss (A → B → A and B → A → B must give the input back, L1 weighted by ``cycle_weight``, the
paper's λ = 10) and the identity loss (a B picture given to A → B should come out unchanged, weighted by
``identity_weight`` × ``cycle_weight``, the paper's 0.5 × λ: it keeps colours from drifting where nothing needs to
change). The discriminators go first as in the studio's GAN recipe, so each phase sees fakes of the current weights.

**Pairs are unaligned.** The A batch follows the engine's seeded sampler; the B pictures are drawn at random (with
replacement, as the paper's unaligned loader does) from torch's global generator, which the engine seeds and saves
in every checkpoint, so a resumed run draws exactly the B pictures the straight run would. The draw is offset by
the A positions, so DDP ranks (whose global generators start alike) still see different B pictures.

**No image pool.** The paper feeds the discriminators from a history of 50 past fakes (Shrivastava et al., 2017) to
damp oscillation. It is left out: the pool is state outside the networks and optimizers that checkpoints would
have to carry for resume to stay exact, and on the studio's small datasets with batches of several pictures (not
the paper's one) the discriminators already see varied fakes each step. Fakes of the current generators are used.

**Reports.** Each evaluation scores the same A and B pictures (validation first) with plain numbers in [0, 1]:
``val_cycle_error`` (mean absolute difference of A → B → A and B → A → B from their inputs, 1 = full range),
``val_style_distance_a2b`` / ``_b2a`` (how far the colours of the A → B outputs are from real B pictures' colours,
and the other way: the mean shift of a pixel value between the two colour distributions, :func:`colour_distance`;
0 = the same colours in the same amounts) and
``val_style_distance_start`` (the same distance between real A and real B: what "no change" scores), and
``val_loss``, their sum (cycle error + the mean of the two style distances), which the best checkpoint minimizes:
a model must both move to the other style and keep the picture. Previews show fixed A pictures over their
A → B versions and the A → B → A round trip.

**Untested here:** CUDA (written as the other image recipes: the caches are preloaded on the GPU, the engine's
autocast applies) and several GPUs: each phase calls a DDP-wrapped network more than once per step (once per
direction or style), which DDP may refuse without a static graph; train CycleGAN on one device.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from studio.core import words
from studio.core.datasets.image_cache import BuildImageCache, ImageCache
from studio.core.datasets.importer import check_dataset_name, dataset_folder
from studio.core.datasets.manifest import Manifest
from studio.core.jobs import JobError, run_job
from studio.core.nets import cyclegan
from studio.core.nets.image_sizes import RESOLUTIONS
from studio.core.safe_paths import resolve_inside
from studio.core.training.image_gan import PRELOAD_LIMIT_BYTES, ImageRecipe
from studio.core.training.recipe_base import Phase, Recipe, adamw

QUANTILES = 256  # per channel: as many as an 8-bit channel has levels
EVAL_CHUNK = 32  # pictures per generator call in evaluations and previews


# -- the two styles -----------------------------------------------------------------------------------------------
@dataclass
class StyleSet:
    """The pictures of one style: rows of an opened image cache, split into training and validation."""

    name: str  # what the user calls it: the dataset's or the class folder's name
    cache: ImageCache
    train: np.ndarray  # cache rows, int64
    val: np.ndarray

    def batch(self, rows, device) -> torch.Tensor:
        """(len(rows), 3, R, R) in [-1, 1] on ``device``."""
        return self.cache.batch(rows, device=device)

    def eval_rows(self, count: int) -> np.ndarray:
        """The same rows at every evaluation: the validation pictures, topped up with training ones."""
        return np.concatenate([self.val, self.train])[: max(1, int(count))]


@dataclass
class StylePair:
    """Style A and style B (what :meth:`CycleGanRecipe.open_data` returns)."""

    a: StyleSet
    b: StyleSet


def second_dataset_folder(first_folder: Path, name: str) -> Path:
    """The folder of the dataset ``name`` beside ``first_folder`` (the same project's datasets folder), checked to
    be a plain dataset name, inside the project, an existing image dataset and not the first dataset itself.

    Written for any recipe that reads a second dataset by a setting: the name comes from a setting a user typed
    or a run folder someone sent, so it is checked before anything is read or built."""
    try:
        plain = check_dataset_name(name)
    except JobError:
        plain = ""
    if not plain or plain != name:
        raise JobError(f"“{name}” is not a dataset name: set dataset_b to the name of a dataset of this project.")
    root = first_folder.parent  # <project>/datasets
    folder = resolve_inside(root, name)
    if folder is None or folder != dataset_folder(root.parent, name).resolve():
        raise JobError(f"The dataset “{name}” must be a dataset of this project; import it here first.")
    if not (folder / "manifest.json").is_file():
        raise JobError(
            f"There is no dataset “{name}” in this project: import the style-B pictures as a dataset of that "
            "name, or set dataset_b to an existing dataset."
        )
    if folder == first_folder.resolve():
        raise JobError(
            f"dataset_b names the training dataset “{name}” itself: set it to the dataset of the other style."
        )
    kind = Manifest.load(folder).kind
    if kind != "image":
        raise JobError(f"The dataset “{name}” holds {kind} files; style transfer needs pictures in both datasets.")
    return folder


def _class_names(folder: Path) -> list[str]:
    """The class folders among the dataset's usable pictures, sorted (the order the cache numbers them)."""
    usable = Manifest.load(folder).usable()
    return sorted({str(e["label"]) for e in usable if isinstance(e.get("label"), str) and e["label"]})


def _two_class_problem(folder: Path) -> str | None:
    """Why a dataset without ``dataset_b`` cannot give both styles (None when it has exactly two class folders)."""
    classes = _class_names(folder)
    if len(classes) == 2:
        return None
    found = words.count(len(classes), "class folder") + (f" ({', '.join(classes[:5])})" if classes else "")
    return (
        f"Style transfer needs two styles: this dataset has {found}. Set dataset_b to a second image dataset "
        "(--set dataset_b=NAME), or import one dataset with exactly two sub-folders, one per style."
    )


# -- the recipe ---------------------------------------------------------------------------------------------------
class CycleGanRecipe(Recipe):
    family = "cyclegan"
    metric = "val_loss"
    preview_kind = "image"
    weights_name = "generators"  # the network generation loads (describe()'s "weights")

    def __init__(self, config: dict, data: StylePair, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.check_settings(config)
        self.styles = data
        if len(data.a.train) == 0 or len(data.b.train) == 0:
            empty = data.a.name if len(data.a.train) == 0 else data.b.name
            raise JobError(f"Style “{empty}” has no training pictures (all are in the validation split or unreadable).")
        if data.a.cache.resolution != data.b.cache.resolution:  # both are built at config["resolution"]: a guard
            raise JobError("The two styles' pictures were prepared at different sizes; train again to rebuild them.")
        self.loss_kind = str(config["loss"])
        if device.type == "cuda":
            for cache in {id(s.cache): s.cache for s in (data.a, data.b)}.values():
                if cache.images.nbytes <= PRELOAD_LIMIT_BYTES:
                    cache.preload(device)

    # -- settings and data --------------------------------------------------------------------------------------
    @classmethod
    def check_settings(cls, config: dict) -> None:
        """Refuse settings this family cannot use before any cache is built (plain-language JobError)."""
        if config["resolution"] not in RESOLUTIONS:
            raise JobError(
                f"The resolution must be one of {', '.join(map(str, RESOLUTIONS))} px for this "
                f"model (it is {config['resolution']})."
            )
        if config["loss"] not in cyclegan.LOSSES:
            raise JobError(f"The CycleGAN loss must be one of {', '.join(cyclegan.LOSSES)} (it is “{config['loss']}”).")
        try:
            cyclegan.CycleGanConfig(
                resolution=int(config["resolution"]), width=int(config["width"]), n_blocks=int(config["n_blocks"])
            )
            cyclegan.PatchDiscriminatorConfig(resolution=int(config["resolution"]), width=int(config["disc_width"]))
        except ValueError as exc:
            raise JobError(f"The network sizes are not usable: {exc}") from None
        if config["cycle_weight"] < 0 or config["identity_weight"] < 0:
            raise JobError("cycle_weight and identity_weight must be 0 or more.")

    @classmethod
    def prepare_data(cls, dataset_folder: Path, config: dict, ctx) -> None:
        """Build style A's cache, and style B's when it is another dataset, at the run's resolution and fit.
        Everything that can be refused without decoding a picture is checked first."""
        cls.check_settings(config)
        other = str(config.get("dataset_b") or "")
        second = second_dataset_folder(dataset_folder, other) if other else None
        if second is None and (problem := _two_class_problem(dataset_folder)):
            raise JobError(problem)
        for folder in (dataset_folder, second):
            if folder is not None:
                run_job(BuildImageCache(folder, config["resolution"], config["fit"]), ctx)

    @classmethod
    def open_data(cls, dataset_folder: Path, config: dict) -> StylePair:
        resolution, fit = int(config["resolution"]), str(config["fit"])
        first = ImageCache.open(dataset_folder, resolution, fit)
        other = str(config.get("dataset_b") or "")
        if other:
            second = ImageCache.open(second_dataset_folder(dataset_folder, other), resolution, fit)
            return StylePair(_whole(first, dataset_folder.name), _whole(second, other))
        if len(first.classes) != 2:
            raise JobError(_two_class_problem(dataset_folder) or "Style transfer needs exactly two class folders.")
        return StylePair(_of_class(first, 0), _of_class(first, 1))

    def train_size(self) -> int:
        return len(self.styles.a.train)

    def load_batch(self, positions) -> tuple[torch.Tensor, torch.Tensor]:
        """(A pictures, B pictures), each (B, 3, R, R) in [-1, 1] on the device; B drawn at random (module
        docstring: from the seeded, checkpointed global generator, offset by the A positions)."""
        positions = np.asarray(positions, np.int64)
        a_rows = self.styles.a.train[positions]
        count = len(self.styles.b.train)
        draws = torch.randint(count, (len(positions),)).numpy()
        b_rows = self.styles.b.train[(draws + positions) % count]
        return self.styles.a.batch(a_rows, self.device), self.styles.b.batch(b_rows, self.device)

    # -- networks -------------------------------------------------------------------------------------------------
    def net_config(self) -> cyclegan.CycleGanConfig:
        c = self.config
        return cyclegan.CycleGanConfig(
            resolution=int(c["resolution"]), width=int(c["width"]), n_blocks=int(c["n_blocks"])
        )

    def discriminator_config(self) -> cyclegan.PatchDiscriminatorConfig:
        resolution = int(self.config["resolution"])
        return cyclegan.PatchDiscriminatorConfig(
            resolution=resolution, width=int(self.config["disc_width"]), n_layers=cyclegan.disc_layers_for(resolution)
        )

    def describe(self) -> dict:
        """The generators' sizes, the two styles' names (A first) and the picture fit the caches used."""
        return {
            "kind": self.family,
            **self.net_config().to_dict(),
            "styles": [self.styles.a.name, self.styles.b.name],
            "fit": str(self.config["fit"]),
            "weights": self.weights_name,
            "ema": bool(self.config["ema"]),
        }

    def build_models(self) -> dict[str, nn.Module]:
        return {
            "generators": cyclegan.CycleGenerators(self.net_config()),
            "discriminators": cyclegan.CycleDiscriminators(self.discriminator_config()),
        }

    def build_optimizers(self, models):
        """Adam over both generators and Adam over both discriminators, as the paper (betas from the settings:
        the paper's (0.5, 0.999) by default)."""
        c = self.config
        betas = (float(c["adam_beta1"]), float(c["adam_beta2"]))
        return {
            name: adamw(models[name].parameters(), c["lr"], c["weight_decay"], self.device, betas)
            for name in ("discriminators", "generators")
        }

    def phases(self) -> list[Phase]:
        return [Phase("discriminators", self.discriminator_loss), Phase("generators", self.generator_loss)]

    def ema_models(self) -> list[str]:
        return ["generators"]

    # -- losses ---------------------------------------------------------------------------------------------------
    def discriminator_loss(self, models, batch):
        """Each discriminator sees its style's real pictures and the other generator's fakes as one batch (instance
        norm keeps the pictures apart, and one call per discriminator is faster than two)."""
        real_a, real_b = batch
        G, D = models["generators"], models["discriminators"]
        with torch.no_grad():
            fake_b, fake_a = G(real_a, "a2b"), G(real_b, "b2a")
        n = real_a.shape[0]
        logits_a = D(torch.cat([real_a, fake_a.to(real_a.dtype)]), "a")
        logits_b = D(torch.cat([real_b, fake_b.to(real_b.dtype)]), "b")
        loss_a = cyclegan.d_loss(self.loss_kind, logits_a[:n], logits_a[n:])
        loss_b = cyclegan.d_loss(self.loss_kind, logits_b[:n], logits_b[n:])
        loss = loss_a + loss_b
        return loss, {"loss_d": loss.detach(), "loss_d_a": loss_a.detach(), "loss_d_b": loss_b.detach()}

    def generator_loss(self, models, batch):
        """Adversarial + cycle + identity (module docstring). Three generator calls instead of six: each generator
        runs once on everything it must transform (its batch is larger, the result the same: instance norm)."""
        real_a, real_b = batch
        G, D = models["generators"], models["discriminators"]
        n = real_a.shape[0]
        identity = float(self.config["identity_weight"]) > 0
        to_a = G(torch.cat([real_b, real_a]) if identity else real_b, "b2a")  # B -> A, and A -> A (identity)
        fake_a = to_a[:n]
        to_b = G(torch.cat([real_a, fake_a] + ([real_b] if identity else [])), "a2b")  # A -> B, A' -> B, B -> B
        fake_b, rec_b = to_b[:n], to_b[n : 2 * n]
        rec_a = G(fake_b, "b2a")  # A -> B -> A
        adversarial = cyclegan.g_loss(self.loss_kind, D(fake_b, "b")) + cyclegan.g_loss(self.loss_kind, D(fake_a, "a"))
        cycle = F.l1_loss(rec_a.float(), real_a.float()) + F.l1_loss(rec_b.float(), real_b.float())
        weight = float(self.config["cycle_weight"])
        loss = adversarial + weight * cycle
        logs = {"loss_g": adversarial.detach(), "cycle": cycle.detach()}
        if identity:
            same = F.l1_loss(to_a[n:].float(), real_a.float()) + F.l1_loss(to_b[2 * n :].float(), real_b.float())
            loss = loss + weight * float(self.config["identity_weight"]) * same
            logs["identity"] = same.detach()
        logs["loss"] = loss.detach()
        return loss, logs

    # -- reports --------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def _transfer(self, generators: nn.Module, pictures: torch.Tensor, direction: str) -> torch.Tensor:
        """Generator outputs in chunks, float32."""
        pieces = [
            generators(pictures[i : i + EVAL_CHUNK], direction).float() for i in range(0, len(pictures), EVAL_CHUNK)
        ]
        return torch.cat(pieces)

    @torch.no_grad()
    def evaluate(self, models) -> dict[str, float]:
        """Cycle error and colour distances (module docstring) on the same pictures every time."""
        G = models["generators"]
        count = int(self.config["eval_count"])
        real_a = self.styles.a.batch(self.styles.a.eval_rows(count), self.device).float()
        real_b = self.styles.b.batch(self.styles.b.eval_rows(count), self.device).float()
        fake_b, fake_a = self._transfer(G, real_a, "a2b"), self._transfer(G, real_b, "b2a")
        rec_a, rec_b = self._transfer(G, fake_b, "b2a"), self._transfer(G, fake_a, "a2b")
        cycle = 0.25 * (float((rec_a - real_a).abs().mean()) + float((rec_b - real_b).abs().mean()))  # [0, 1]
        colours_a, colours_b = colour_quantiles(real_a), colour_quantiles(real_b)
        a2b = colour_distance(colour_quantiles(fake_b), colours_b)
        b2a = colour_distance(colour_quantiles(fake_a), colours_a)
        return {
            "val_loss": cycle + 0.5 * (a2b + b2a),
            "val_cycle_error": cycle,
            "val_style_distance_a2b": a2b,
            "val_style_distance_b2a": b2a,
            "val_style_distance_start": colour_distance(colours_a, colours_b),
        }

    @torch.no_grad()
    def preview(self, models, step: int, folder: Path) -> dict | None:
        """The same A pictures every time (validation first): originals, A → B, and A → B → A."""
        G = models["generators"]
        real_a = self.styles.a.batch(self.styles.a.eval_rows(int(self.config["preview_count"])), self.device).float()
        fake_b = self._transfer(G, real_a, "a2b")
        back = self._transfer(G, fake_b, "b2a")
        path = ImageRecipe.write_grid([real_a, fake_b, back], folder, step)
        a, b = self.styles.a.name, self.styles.b.name
        return {
            "path": str(path),
            "caption": f"Step {step:,}: {a} pictures (top), turned into {b} (middle) and back again (bottom)",
        }


def _whole(cache: ImageCache, name: str) -> StyleSet:
    """Every usable picture of a dataset as one style (its class folders, if any, do not matter)."""
    return StyleSet(name, cache, np.asarray(cache.train_indices, np.int64), np.asarray(cache.val_indices, np.int64))


def _of_class(cache: ImageCache, label: int) -> StyleSet:
    """The pictures of one class folder of a dataset as one style."""
    train = np.asarray(cache.train_indices, np.int64)
    val = np.asarray(cache.val_indices, np.int64)
    labels = np.asarray(cache.labels)
    return StyleSet(str(cache.classes[label]), cache, train[labels[train] == label], val[labels[val] == label])


# -- colour statistics --------------------------------------------------------------------------------------------
def colour_quantiles(pictures: torch.Tensor, levels: int = QUANTILES) -> torch.Tensor:
    """Each colour channel's distribution over all ``pictures`` (N, 3, H, W) in [-1, 1], as ``levels`` evenly spaced
    quantiles: float64 (3, levels). The style's palette and its balance, whatever is drawn where."""
    values = pictures.detach().float().transpose(0, 1).reshape(3, -1).sort(dim=1).values  # (3, N·H·W)
    index = torch.linspace(0, values.shape[1] - 1, levels, device=values.device).round().long()
    return values[:, index].double().cpu()


def colour_distance(p: torch.Tensor, q: torch.Tensor) -> float:
    """How far two colour distributions (:func:`colour_quantiles`) are apart: the mean shift of a pixel value, per
    channel, between matching quantiles (the 1-D Wasserstein distance), as a share of the full range: 0 = the same
    colours in the same amounts, 1 = black against white. Chosen over a histogram distance because it has no bin
    edges: a colour one level off is nearly the same colour, not a different bin."""
    return float((p - q).abs().mean() / 2.0)
