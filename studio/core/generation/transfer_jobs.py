"""Style transfer with a trained CycleGAN-style model: pictures in one style in, the same pictures in the other out.

What the canvas's Transfer mode, its "Convert folder…" and ``aigc-studio generate transfer`` run:

* :class:`TransferImages` — a few pictures (paths or uint8 arrays of any size) -> the same pictures in the other
  style, each the size it came in, with the settings that made it;
* :class:`ConvertFolder` (and :class:`ConvertSources`, the CLI's mix of files and folders) — every readable picture
  of a folder written as a PNG of the same relative name into an output folder, in the background, cancellable,
  with one progress report per picture; the inputs are only read, never written, moved or touched.

Which runs transfer is the family table's word: a family whose :class:`~studio.core.training.families.Generator`
``makes`` ``"transfer"`` (:data:`MAKES`), looked up by the model's kind, so nothing here names a family.

**Pictures of another size than the trained one.** The generators are fully convolutional, but they learned
strokes, outlines and textures at the trained picture size R: run on a 2,000 px photo they would paint R-sized
strokes a tenth of the intended size. So the picture is first brought to a *working size* at which it holds about
the amount of picture the model saw in training, transferred there, and the result resized back to the picture's
own size (LANCZOS). Two ways, the ``tile`` choice:

* ``tile=False`` (*at the trained resolution*): the whole picture is shrunk so its longer side is R, mirror-padded
  to R × R, transferred in one pass, and the result enlarged back. Fast, one pass, the model sees the whole
  picture exactly as in training (a picture squeezed to R); but detail above R is lost (the result is soft).
* ``tile=True`` (*tiled*): the picture is scaled so its shorter side is between R and :data:`TILE_SPAN` × R (never
  enlarged beyond what it is, never smaller than R), cut into R × R tiles that overlap by a quarter, each tile
  transferred on its own, and the tiles blended with weights that fall off linearly across the overlaps, so there
  are no seams. Chosen over running the network on the whole working picture at once because instance norm then
  normalizes each R × R tile exactly as it normalized the R × R training pictures (the statistics of a whole large
  picture differ and shift the colours), and because the memory stays that of one chunk of tiles however large
  the picture. Up to :data:`TILE_SPAN`² × more detail than ``tile=False``; :data:`MAX_TILES` bounds the work.

**Determinism.** The network only ever sees batches of exactly :data:`CHUNK` tiles (zero-padded), for the reason
studio/core/generation/image_model.py gives (kernels pick summation orders by batch shape), and a tile's output
depends only on that tile (instance norm), so the same picture, model and settings give byte-identical pixels and
PNGs, whatever else is transferred with it.

Run folders may come from someone else: the model is read and loaded through run_models (size limits, the weights'
shapes checked on the meta device before anything is built, safetensors only).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from studio.core import words
from studio.core.datasets import images as picture_files
from studio.core.generation.png_settings import save_png
from studio.core.generation.run_models import ModelCache, load_generator, read_run_config, resolve_run_folder
from studio.core.jobs import JobContext, JobError
from studio.core.training import families

log = logging.getLogger(__name__)

MAKES = "transfer"  # the families.Generator.makes value of a style-transfer model
DIRECTIONS = ("a2b", "b2a")
CHUNK = 8  # tiles per network call: fixed (module docstring)
TILE_SPAN = 2  # tiled: the shorter side is worked on at up to this many trained sizes
MAX_TILES = 256  # tiles of one picture at most (a 1:20 panorama is worked on smaller rather than in 800 tiles)
MAX_PIXELS = 64_000_000  # pictures above 64 megapixels are refused (a 8,000 × 8,000 photo is 64 MP)
CACHE_SIZE = 2
OUT_SUFFIX = ".png"


# -- finding and loading a transfer model ---------------------------------------------------------------------------
def transfer_families() -> list[families.FamilySpec]:
    """The families whose models transfer styles (the family table's ``Generator.makes == "transfer"``)."""
    return families.making(MAKES)


def is_transfer_family(family: object) -> bool:
    """Whether a model of family (or describe() kind) ``family`` transfers styles rather than generating from
    latents: what the canvas asks of a model in its list (``ModelEntry.makes`` says the same)."""
    found = families.find(family)
    return found is not None and found.generator is not None and found.generator.makes == MAKES


def read_transfer_config(run_folder: Path) -> dict:
    """config.json of a run (or starter model) checked to be a style-transfer model."""
    return read_run_config(run_folder, transfer_families(), "a style-transfer model")


def resolve_transfer_run(project_root: str | Path, run: str) -> Path:
    """The folder of run ``run`` of the project (or a starter model of that name); "latest": the newest
    style-transfer run with a checkpoint."""
    return resolve_run_folder(project_root, run, read_transfer_config, transfer_families())


def run_folder_of(project_root_or_run_folder: str | Path, run: str | None) -> Path:
    """A run folder given directly (it holds a config.json and no run is named), else run ``run`` of the project."""
    given = Path(project_root_or_run_folder)
    if not run and (given / "config.json").is_file():
        return given
    return resolve_transfer_run(given, run or "latest")


def check_direction(direction: Any) -> str:
    if direction not in DIRECTIONS:
        raise JobError(
            f"The direction must be a2b (style A to style B) or b2a (style B to style A), not {direction!r}."
        )
    return str(direction)


@dataclass
class TransferModel:
    """A loaded style-transfer network in eval mode, with what describes its outputs."""

    kind: str  # the family id (describe()'s "kind")
    resolution: int  # the trained picture size R
    styles: list[str]  # [style A's name, style B's name]
    step: int
    run_id: str
    folder: Path
    device: str
    network: Any = field(repr=False)  # torch.nn.Module with the family's transfer method
    method: str = "transfer"
    ema: bool = False

    def style_names(self, direction: str) -> tuple[str, str]:
        """(from, to) style names for ``direction``."""
        a, b = self.styles
        return (a, b) if direction == "a2b" else (b, a)

    def transfer_tiles(self, tiles: np.ndarray, direction: str, check: Callable[[], None] | None = None) -> np.ndarray:
        """uint8 (N, R, R, 3) -> uint8 (N, R, R, 3) in the other style, in zero-padded batches of :data:`CHUNK`."""
        import torch

        from studio.core.generation.image_model import to_uint8

        direction = check_direction(direction)
        R = self.resolution
        tiles = np.asarray(tiles, np.uint8).reshape(-1, R, R, 3)
        out = np.empty_like(tiles)
        run = getattr(self.network, self.method)
        for start in range(0, len(tiles), CHUNK):
            if check is not None:
                check()
            rows = tiles[start : start + CHUNK]
            padded = np.zeros((CHUNK, R, R, 3), np.uint8)
            padded[: len(rows)] = rows
            with torch.inference_mode():
                x = torch.from_numpy(padded).to(self.device).permute(0, 3, 1, 2).float() / 127.5 - 1.0
                out[start : start + len(rows)] = to_uint8(run(x, direction))[: len(rows)]
        return out

    def transfer_picture(
        self, picture: np.ndarray, direction: str, tile: bool, check: Callable[[], None] | None = None
    ) -> tuple[np.ndarray, dict]:
        """One uint8 (H, W, 3) picture in the other style, (H, W, 3), and how it was worked on (module docstring):
        {"work_width", "work_height", "tiles"}."""
        picture = np.asarray(picture, np.uint8)
        height, width = picture.shape[:2]
        R = self.resolution
        if tile:
            work = _tiled_work_size(width, height, R)
        else:
            scale = R / max(width, height)
            work = (max(1, round(width * scale)), max(1, round(height * scale)))
        worked = _resize(picture, work)
        padded, (top, left) = _mirror_pad(worked, max(R, work[1]), max(R, work[0]))
        positions = _tile_grid(padded.shape[0], padded.shape[1], R)
        tiles = np.stack([padded[y : y + R, x : x + R] for y, x in positions])
        made = self.transfer_tiles(tiles, direction, check)
        blended = _blend(made, positions, padded.shape[:2], R)
        result = blended[top : top + work[1], left : left + work[0]]
        return _resize(result, (width, height)), {"work_width": work[0], "work_height": work[1], "tiles": len(tiles)}

    def describe(self) -> dict:
        return {"run_id": self.run_id, "step": self.step, "kind": self.kind, "resolution": self.resolution}


def load_transfer_model(run_folder: str | Path, step: int | None = None, device: str = "cpu") -> TransferModel:
    """Load a style-transfer model from a run folder (the chosen or newest checkpoint when ``step`` is None), its
    EMA weights when the checkpoint has them."""
    run_folder = Path(run_folder)
    config = read_transfer_config(run_folder)
    model = config["model"]
    run_id = str(config.get("run_id") or run_folder.name)
    (network, loaded_step, ema, _), generator = load_generator(run_folder, step, model, "used for transfer", run_id)
    network.to(device)
    log.info("loaded %s step %d (%s weights) on %s", run_id, loaded_step, "EMA" if ema else "raw", device)
    return TransferModel(
        kind=str(model["kind"]),
        resolution=int(model["resolution"]),
        styles=_style_names(model.get("styles")),
        step=loaded_step,
        run_id=run_id,
        folder=run_folder,
        device=str(device),
        network=network,
        method=generator.sample,
        ema=ema,
    )


def _style_names(value: Any) -> list[str]:
    """The two style names a run records (a stranger's file: anything else becomes "A" and "B")."""
    names = [str(v)[:100] for v in value] if isinstance(value, list) and len(value) == 2 else []
    return names if all(names) else ["A", "B"]


_models = ModelCache(read_transfer_config, load_transfer_model, CACHE_SIZE)


def cached_transfer_model(run_folder: str | Path, step: int | None = None, device: str = "cpu") -> TransferModel:
    """The model at ``step`` of a run, loaded once and then served from a small cache (see run_models)."""
    return _models.get(run_folder, step, device)


def clear_cache() -> None:
    """Forget every loaded model (tests; a run deleted from the project)."""
    _models.clear()


# -- pictures in ----------------------------------------------------------------------------------------------------
def read_picture(path: str | Path) -> np.ndarray:
    """A picture file as uint8 (H, W, 3): upright (EXIF orientation), transparency on white, any format the
    Dataset panel imports; a :class:`JobError` saying why when it cannot be read. The file is only read."""
    path = Path(path)
    try:
        with Image.open(path, formats=picture_files.picture_formats()) as image:
            if image.width * image.height > MAX_PIXELS:
                raise JobError(
                    f"{path.name} is {image.width:,} × {image.height:,} pixels, over the "
                    f"{MAX_PIXELS // 1_000_000} megapixel limit; shrink it first."
                )
            upright = ImageOps.exif_transpose(image)
            rgb, _fixes = picture_files.to_rgb(upright, (255, 255, 255))
            return np.asarray(rgb.convert("RGB"), np.uint8)
    except JobError:
        raise
    except FileNotFoundError:
        raise JobError(f"There is no file {path}.") from None
    except Exception as exc:  # noqa: BLE001 - any failure to decode a user's file means "not a readable picture"
        raise JobError(
            f"{path.name} is not a picture the studio can read ({type(exc).__name__}): it is damaged or not a "
            "format the Dataset panel imports (PNG, JPEG, WebP, TIFF, BMP, GIF and more)."
        ) from None


def as_picture(item: Any) -> np.ndarray:
    """A path or a uint8 array (H, W), (H, W, 3) or (H, W, 4; transparency on white) -> uint8 (H, W, 3)."""
    if isinstance(item, (str, Path)):
        return read_picture(item)
    array = np.asarray(item)
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise JobError("Pictures given as arrays must be 8-bit (uint8) with shape (H, W), (H, W, 3) or (H, W, 4).")
    if array.shape[0] < 1 or array.shape[1] < 1 or array.shape[0] * array.shape[1] > MAX_PIXELS:
        raise JobError(f"A picture must have between 1 pixel and {MAX_PIXELS // 1_000_000} megapixels.")
    if array.ndim == 3 and array.shape[2] == 3:
        return np.ascontiguousarray(array)
    rgb, _fixes = picture_files.to_rgb(Image.fromarray(array), (255, 255, 255))
    return np.asarray(rgb.convert("RGB"), np.uint8)


def _input_name(item: Any, index: int) -> str:
    return Path(item).name if isinstance(item, (str, Path)) else f"picture {index + 1}"


# -- working size, tiles and blending (pure NumPy / PIL: exact) -----------------------------------------------------
def _tiled_work_size(width: int, height: int, R: int) -> tuple[int, int]:
    """The size a picture is worked on when tiled: shorter side = its own, kept between R and TILE_SPAN × R, and
    shrunk further when that would take more than MAX_TILES tiles (module docstring)."""
    short = min(width, height)
    scale = min(max(short, R), TILE_SPAN * R) / short
    step = R - R // 4  # tiles advance by three quarters of a tile
    while True:
        work = (max(1, round(width * scale)), max(1, round(height * scale)))
        count = math.ceil(max(0, work[0] - R) / step + 1) * math.ceil(max(0, work[1] - R) / step + 1)
        if count <= MAX_TILES or scale <= 1e-3:
            return work
        scale *= 0.9


def _resize(picture: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 (H, W, 3) -> (size[1], size[0], 3) with LANCZOS (the same picture when the size is already that)."""
    if (picture.shape[1], picture.shape[0]) == tuple(size):
        return picture
    return np.asarray(Image.fromarray(picture).resize(size, Image.Resampling.LANCZOS), np.uint8)


def _mirror_pad(picture: np.ndarray, height: int, width: int) -> tuple[np.ndarray, tuple[int, int]]:
    """``picture`` centred in (height, width), the border mirrored from it (a flat border would be a frame the model
    restyles): (padded, (top, left))."""
    pad_y, pad_x = height - picture.shape[0], width - picture.shape[1]
    top, left = pad_y // 2, pad_x // 2
    if pad_y == 0 and pad_x == 0:
        return picture, (0, 0)
    padded = np.pad(picture, ((top, pad_y - top), (left, pad_x - left), (0, 0)), mode="symmetric")
    return padded, (top, left)


def _starts(length: int, R: int) -> list[int]:
    """Tile starts along one side of ``length`` >= R: evenly spread, neighbours overlapping by R/4 or more."""
    if length <= R:
        return [0]
    count = math.ceil((length - R) / (R - R // 4)) + 1
    return sorted({round(i * (length - R) / (count - 1)) for i in range(count)})


def _tile_grid(height: int, width: int, R: int) -> list[tuple[int, int]]:
    """(top, left) of every R × R tile covering (height, width), row by row."""
    return [(y, x) for y in _starts(height, R) for x in _starts(width, R)]


def _ramp(R: int) -> np.ndarray:
    """A tile's blending weight along one side: rising linearly over the first quarter, flat, falling over the last
    (never 0, so a picture edge covered by one tile keeps its pixels)."""
    overlap = max(1, R // 4)
    i = np.arange(R, dtype=np.float64)
    return np.minimum(1.0, np.minimum((i + 0.5) / overlap, (R - i - 0.5) / overlap))


def _blend(tiles: np.ndarray, positions: list[tuple[int, int]], shape: tuple[int, int], R: int) -> np.ndarray:
    """Transferred tiles laid back at their positions, overlaps averaged by the ramp weights: uint8 (H, W, 3)."""
    ramp = _ramp(R)
    weight = np.outer(ramp, ramp)[:, :, None]  # (R, R, 1)
    total = np.zeros((*shape, 3), np.float64)
    weights = np.zeros((*shape, 1), np.float64)
    for tile, (y, x) in zip(tiles, positions, strict=True):
        total[y : y + R, x : x + R] += tile * weight
        weights[y : y + R, x : x + R] += weight
    return np.clip(np.round(total / weights), 0, 255).astype(np.uint8)


# -- jobs -----------------------------------------------------------------------------------------------------------
def transfer_settings(model: TransferModel, direction: str, tile: bool, name: str, made: dict, size: tuple) -> dict:
    """The settings of one transferred picture (what its PNG embeds; png_settings lists the shared keys)."""
    source_style, target_style = model.style_names(direction)
    return {
        "source": "transfer",
        **model.describe(),
        "direction": direction,
        "from_style": source_style,
        "to_style": target_style,
        "tile": bool(tile),
        "input": name,
        "width": int(size[0]),
        "height": int(size[1]),
        **made,
        "device": model.device,
    }


class TransferImages:
    """Pictures (paths or uint8 arrays, any size; files are only read) in the other style: {"images": [uint8
    (H, W, 3), one per input, each its input's size], "direction", "run_id", "step", "styles": [A, B], "settings":
    [per picture: run, step, direction, from/to style, tile, input name, size, working size, tiles]}.

    ``project_root_or_run_folder`` with ``run``: a run id of the project, "latest" or a starter model's name; or a
    run folder itself with ``run`` None."""

    title = "Transfer pictures"
    kind = "generate"

    def __init__(
        self,
        project_root_or_run_folder: str | Path,
        run: str | None = None,
        step: int | None = None,
        direction: str = "a2b",
        images: Sequence[Any] = (),
        tile: bool = False,
        device: str = "cpu",
    ) -> None:
        self.root, self.run, self.step, self.direction = Path(project_root_or_run_folder), run, step, direction
        self.inputs, self.tile, self.device = list(images), bool(tile), device

    def __call__(self, ctx: JobContext) -> dict:
        direction = check_direction(self.direction)
        if not self.inputs:
            raise JobError("Drop or open one or more pictures to transfer.")
        ctx.progress(0.0, "Loading the model…")
        model = cached_transfer_model(run_folder_of(self.root, self.run), self.step, self.device)
        out, settings = [], []
        for i, item in enumerate(self.inputs):
            ctx.check()
            picture = as_picture(item)
            made, how = model.transfer_picture(picture, direction, self.tile, ctx.check)
            out.append(made)
            size = (picture.shape[1], picture.shape[0])
            settings.append(transfer_settings(model, direction, self.tile, _input_name(item, i), how, size))
            ctx.progress((i + 1) / len(self.inputs), f"Transferred {words.of(i + 1, len(self.inputs), 'picture')}")
        return {
            "images": out,
            "direction": direction,
            "run_id": model.run_id,
            "step": model.step,
            "styles": list(model.styles),
            "settings": settings,
        }


@dataclass(frozen=True)
class _Planned:
    """One input file and the output file it becomes (relative to the output folder)."""

    source: Path
    shown: str  # how the result names it: its path relative to the folder it came from, or its name
    target: str


class ConvertSources:
    """Every readable picture among ``sources`` (files, and folders searched recursively) written in the other
    style as a PNG into ``out_folder``: a folder's pictures keep their paths relative to it, a file is written
    under its own name; the extension becomes .png (``photo.jpg`` -> ``photo.png``; when two inputs would share
    a name, a PNG keeps its own and the other keeps its extension too: ``photo.jpg.png``). Files that cannot be
    read are skipped with the reason. The inputs are only read; an output folder inside (or equal to) a source
    folder is refused, and so is any output that would land on an input. Existing files of the same name in
    ``out_folder`` are replaced.

    Returns {"written": N, "skipped": [{"file", "reason"}], "out": str, "files": [written paths], "run_id",
    "step", "direction"}. Cancellable between pictures and between chunks of tiles; progress once per picture.
    The model: as for :class:`TransferImages` (a project root with ``run``, or a run folder with ``run`` None)."""

    title = "Convert pictures"
    kind = "generate"

    def __init__(
        self,
        project_root_or_run_folder: str | Path,
        run: str | None,
        sources: Sequence[str | Path],
        out_folder: str | Path,
        direction: str = "a2b",
        step: int | None = None,
        tile: bool = True,
        device: str = "cpu",
    ) -> None:
        self.root, self.run, self.sources = Path(project_root_or_run_folder), run, [Path(s) for s in sources]
        self.out, self.direction, self.step, self.tile, self.device = Path(out_folder), direction, step, tile, device

    def plan(self) -> tuple[Path, list[_Planned]]:
        """(the output folder, resolved; what becomes what), refusing unusable sources and output folders in plain
        words before anything is loaded or written."""
        if not self.sources:
            raise JobError("Name at least one picture or folder to convert.")
        out = self.out.expanduser().resolve()
        found: list[tuple[Path, str]] = []
        inputs: set[Path] = set()
        for source in self.sources:
            resolved = source.expanduser().resolve()
            if resolved.is_dir():
                if out == resolved or resolved in out.parents:
                    raise JobError(
                        f"The output folder {out} is inside the folder being converted ({resolved}); choose an "
                        "output folder outside it, so the converted pictures are never mixed with the originals."
                    )
                files = _files_under(resolved)
                names = [(path, path.relative_to(resolved).as_posix()) for path in files]
            elif resolved.is_file():
                names = [(resolved, resolved.name)]
            else:
                raise JobError(f"There is no file or folder {source}.")
            found += names
            inputs.update(path.resolve() for path, _ in names)
        planned = _with_targets(found)
        for item in planned:
            if (out / item.target).resolve() in inputs:
                raise JobError(
                    f"Writing {item.target} into {out} would replace the picture {item.shown} itself; choose "
                    "another output folder."
                )
        return out, planned

    def __call__(self, ctx: JobContext) -> dict:
        direction = check_direction(self.direction)
        out, planned = self.plan()
        ctx.progress(0.0, "Loading the model…")
        model = cached_transfer_model(run_folder_of(self.root, self.run), self.step, self.device)
        written: list[str] = []
        skipped: list[dict] = []
        for i, item in enumerate(planned):
            ctx.check()
            try:
                picture = read_picture(item.source)
            except JobError as exc:
                skipped.append({"file": item.shown, "reason": str(exc)})
            else:
                made, how = model.transfer_picture(picture, direction, self.tile, ctx.check)
                size = (picture.shape[1], picture.shape[0])
                settings = transfer_settings(model, direction, self.tile, item.shown, how, size)
                written.append(str(save_png(out / item.target, made, settings)))
            ctx.progress(
                (i + 1) / len(planned),
                f"Converted {words.of(i + 1, len(planned), 'picture')}"
                + (f" ({words.count(len(skipped), 'file')} skipped)" if skipped else ""),
            )
        return {
            "written": len(written),
            "skipped": skipped,
            "out": str(out),
            "files": written,
            "run_id": model.run_id,
            "step": model.step,
            "direction": direction,
        }


class ConvertFolder(ConvertSources):
    """The canvas's "Convert folder…": every readable picture of ``source_folder`` (recursively) written in the other
    style into ``out_folder`` under the same relative name with .png (see :class:`ConvertSources` for the rules and
    the result: {"written", "skipped", "out", ...}). ``source_folder`` must be a folder."""

    title = "Convert a folder"

    def __init__(
        self,
        project_root: str | Path,
        run: str | None,
        source_folder: str | Path,
        out_folder: str | Path,
        direction: str = "a2b",
        step: int | None = None,
        tile: bool = True,
        device: str = "cpu",
    ) -> None:
        super().__init__(project_root, run, [source_folder], out_folder, direction, step, tile, device)
        self.source_folder = Path(source_folder)

    def plan(self) -> tuple[Path, list[_Planned]]:
        if not self.source_folder.expanduser().is_dir():
            raise JobError(f"{self.source_folder} is not a folder; choose the folder of pictures to convert.")
        return super().plan()


def _files_under(folder: Path) -> list[Path]:
    """Every file under ``folder``, sorted by relative path (so names and the result's order never depend on the
    file system's listing), hidden files and folders left out (.DS_Store, .git: never a user's picture), symlinked
    folders not followed (they may lead anywhere, even back into the folder)."""
    found = []
    for parent, folders, files in os.walk(folder, followlinks=False):
        folders[:] = sorted(d for d in folders if not d.startswith("."))
        found += [Path(parent) / name for name in files if not name.startswith(".")]
    return sorted(found, key=lambda path: path.relative_to(folder).as_posix())


def _with_targets(found: list[tuple[Path, str]]) -> list[_Planned]:
    """Each (file, relative name) with its output name, in the same order. PNG inputs claim their own names first,
    so ``a.png`` is written as ``a.png`` even beside an ``a.jpg`` (which then becomes ``a.jpg.png``)."""
    taken: set[str] = set()
    targets: dict[int, str] = {}
    for first in (True, False):
        for i, (_path, relative) in enumerate(found):
            if (Path(relative).suffix.lower() == OUT_SUFFIX) == first:
                targets[i] = _target_name(relative, taken)
    return [_Planned(path, relative, targets[i]) for i, (path, relative) in enumerate(found)]


def _target_name(relative: str, taken: set[str]) -> str:
    """The output's relative name: the input's with .png (see ConvertSources), unique among ``taken`` (which it
    joins). Compared case-insensitively, as on macOS and Windows file systems."""
    path = Path(relative)
    candidates = [path.with_suffix(OUT_SUFFIX).as_posix(), path.as_posix() + OUT_SUFFIX]
    candidates += [f"{path.as_posix()}-{n}{OUT_SUFFIX}" for n in range(2, 10_000)]
    for candidate in candidates:
        if candidate.casefold() not in taken:
            taken.add(candidate.casefold())
            return candidate
    raise JobError(f"Too many pictures named like {relative}.")
