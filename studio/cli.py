"""The ``aigc-studio`` command: no arguments opens the studio; subcommands run the same jobs headless.

    aigc-studio                      open the desktop app
    aigc-studio --self-test          check this install (offscreen window + real jobs), print JSON
    aigc-studio devices              list compute devices as JSON
    aigc-studio project create DIR   make a project folder
    aigc-studio project info DIR     print a project's summary as JSON
    aigc-studio dataset import --project DIR --name NAME [--kind image|text|audio] SOURCE...
    aigc-studio dataset report --project DIR --name NAME
    aigc-studio dataset cache  --project DIR --name NAME [--resolution 64 --fit crop|pad]
                               [--tokenizer char|bpe --vocab-size N] [--language en-us]
    aigc-studio dataset transcript --project DIR --name NAME --item ID --text TEXT
    aigc-studio train --project DIR --dataset NAME [--model FAMILY] [--preset NAME] [--steps N]
                      [--checkpoint-every N] [--set key=value ...] [--resume RUN_ID|latest|CHECKPOINT.json]
                      [--budget-minutes N]   ("best model in N minutes": sizes and steps for the budget)
    aigc-studio estimate --project DIR --dataset NAME [--model FAMILY] [--preset NAME] [--set key=value ...]
                         [--budget-minutes N] [--device DEV]   (one JSON line: seconds, memory_bytes, steps, ...)
    torchrun --nproc-per-node N -m studio train ...   (the same on several GPUs, or CPU processes)
    aigc-studio generate image --project DIR --run RUN_ID|latest [--checkpoint STEP] [--count N] [--seed S]
                               [--class NAME] [--truncation T] [--scale K --resample nearest|lanczos] --out DIR
    aigc-studio generate text  --project DIR --run RUN_ID|latest [--checkpoint STEP] --prompt TEXT
                               [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S]
                               [--repetition-penalty R] [--stop TEXT ...] [--ban WORD ...] [--require WORD ...]
                               [--variants N] [--template ID --field KEY=VALUE ...] [--json]
    aigc-studio generate speech [--project DIR] --voice system:LANG|RUN_ID|latest|VOICE.onnx --text TEXT
                                --out FILE.wav [--rate R] [--pitch SEMITONES] [--volume V] [--checkpoint STEP]
                                [--vocoder griffinlim|RUN_ID] [--lines]
    aigc-studio generate transfer --project DIR --run RUN_ID|latest [--direction a2b|b2a] [--checkpoint STEP]
                                  [--tile|--no-tile] --out DIR SOURCE...   (pictures or folders into another style)
    aigc-studio compare --project DIR --run RUN_ID|latest [--run RUN_ID2] [--checkpoints STEP,STEP|all]
                        [--seeds N] [--prompt TEXT ...] [--sentence TEXT ...] --out board.html
                        (one HTML file comparing checkpoints side by side; prints one JSON line)

Errors are printed as one plain sentence (the traceback goes to the log file) with exit code 1;
unusable arguments exit with 2, as argparse does.

The model families (``--model``, what each ``generate`` command accepts, the cache's picture sizes) come from the
family table (:mod:`studio.core.training.families`) when the parser is built, so a family registered before
:func:`main` runs is offered like a built-in one.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

from studio import APP_NAME, __version__
from studio.core import locks
from studio.core.audio_stack import pair_problem
from studio.core.compare.board import DEFAULT_SEEDS, MAX_USER_PROMPTS, RenderBoard, board_cells
from studio.core.compare.html_export import write_board_html
from studio.core.datasets import audio_cache, image_cache, text_cache, transcripts
from studio.core.datasets.base import ImportOptions, parse_transparency
from studio.core.datasets.importer import ImportDataset, dataset_folder, dataset_report
from studio.core.datasets.manifest import Manifest
from studio.core.errors import describe_error
from studio.core.generation import image_model, speech_jobs, text_model, transfer_jobs
from studio.core.generation.image_jobs import ExportImages, GenerateGrid, check_count, check_truncation
from studio.core.generation.png_settings import check_scale
from studio.core.generation.run_models import checkpoint_for
from studio.core.generation.sampling import SamplingSettings
from studio.core.generation.templates import build_prompt
from studio.core.generation.text_jobs import GenerateText, check_variants
from studio.core.jobs import Cancelled, JobContext, JobError
from studio.core.project import create_project, is_project, open_project
from studio.core.speech.pronunciation import load_dictionary
from studio.core.training import (
    TrainJob,
    families,  # the family table: plain data, no torch
    planning,
    runs,
    suggest,
)
from studio.core.training.devices import list_devices, resolve_device
from studio.core.training.families import ConfigError
from studio.logs import setup_logging
from studio.selftest import run_self_test

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    image_models = families.labels(image_model.image_families())
    transfer_models = families.labels(transfer_jobs.transfer_families())
    text_models = families.labels(families.for_panel("text"))
    voice_models = families.labels(families.making("mel"))
    parser = argparse.ArgumentParser(
        prog="aigc-studio", description=f"{APP_NAME}: generative models from your own data."
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--self-test", action="store_true", help="check this install and print one line of JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to the terminal")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    devices = commands.add_parser("devices", help="list compute devices (JSON)")
    devices.set_defaults(handler=_cmd_devices)

    project = commands.add_parser("project", help="create or inspect a project folder")
    project_commands = project.add_subparsers(dest="project_command", metavar="ACTION", required=True)
    create = project_commands.add_parser("create", help="make a new project folder")
    create.add_argument("folder")
    create.add_argument("--name", help="display name (default: the folder name)")
    create.set_defaults(handler=_cmd_project_create)
    info = project_commands.add_parser("info", help="print a project's summary (JSON)")
    info.add_argument("folder")
    info.set_defaults(handler=_cmd_project_info)

    dataset = commands.add_parser("dataset", help="import files into a dataset and report on it")
    dataset_commands = dataset.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    imp = dataset_commands.add_parser("import", help="import files, folders or .zip archives (prints a JSON report)")
    imp.add_argument("--project", required=True, help="project folder (created if needed)")
    imp.add_argument("--name", required=True, help="dataset name")
    imp.add_argument("--kind", choices=["image", "text", "audio"], help="force the kind (default: detect)")
    imp.add_argument("--resolution", type=int, default=64, help="flag images smaller than this (px)")
    imp.add_argument("--encoding", help="text encoding to use instead of detecting it, e.g. gb18030")
    imp.add_argument("--column", help="CSV column holding the text")
    imp.add_argument("--field", help="JSONL field holding the text")
    imp.add_argument("--sample-rate", type=int, default=22050, help="audio rate clips are resampled to")
    imp.add_argument("--workers", type=int, help="decoding processes (default: up to 4)")
    imp.add_argument(
        "--transparency",
        help="transparent pictures: keep, white, black or #RRGGBB to flatten onto (default: flatten on white, or "
        "what the dataset already records)",
    )
    imp.add_argument("sources", nargs="+", metavar="SOURCE")
    imp.set_defaults(handler=_cmd_dataset_import)
    rep = dataset_commands.add_parser("report", help="print a dataset's report (JSON)")
    rep.add_argument("--project", required=True)
    rep.add_argument("--name", required=True)
    rep.set_defaults(handler=_cmd_dataset_report)
    cache = dataset_commands.add_parser("cache", help="build the training-ready cache (prints a JSON summary)")
    cache.add_argument("--project", required=True)
    cache.add_argument("--name", required=True)
    cache.add_argument("--resolution", type=int, choices=families.resolutions(), default=64, help="images: side in px")
    cache.add_argument("--fit", choices=["crop", "pad"], default="crop", help="images: centre-crop or pad to square")
    cache.add_argument("--tokenizer", choices=["char", "bpe"], default="char", help="text: tokenizer kind")
    cache.add_argument("--vocab-size", type=int, default=4096, help="text: BPE vocabulary size")
    cache.add_argument("--language", help="audio: espeak-ng language for phonemes, e.g. en-us, de, cmn")
    cache.set_defaults(handler=_cmd_dataset_cache)
    transcript = dataset_commands.add_parser(
        "transcript", help="set or clear one clip's transcript in an audio dataset (prints JSON; undoable in the app)"
    )
    transcript.add_argument("--project", required=True)
    transcript.add_argument("--name", required=True)
    transcript.add_argument(
        "--item",
        required=True,
        help="the clip's item id (as `dataset report` and the manifest list it), or its file name, with or without "
        "the extension, when only one clip has that name",
    )
    transcript.add_argument("--text", required=True, help="what the clip says; an empty text clears the transcript")
    transcript.set_defaults(handler=_cmd_dataset_transcript)

    train = commands.add_parser("train", help="train a model on a dataset (prints the run id, then a JSON result)")
    train.add_argument("--project", required=True, help="project folder")
    train.add_argument("--dataset", required=True, help="dataset name")
    train.add_argument(
        "--model",
        metavar="FAMILY",
        help=f"model family: {', '.join(families.ids(families.available()))} (default: the one that suits the "
        "dataset, with its settings following the data)",
    )
    train.add_argument("--preset", default="balanced", help="fast, balanced (default) or best")
    train.add_argument("--steps", type=int, help="total optimizer steps")
    train.add_argument("--checkpoint-every", type=int, metavar="N", help="save a checkpoint every N steps")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any setting, e.g. lr=3e-4")
    train.add_argument(
        "--resume",
        metavar="RUN_ID|latest|CHECKPOINT.json",
        help="continue a run from its newest intact checkpoint (a run id, or latest), or from one "
        "checkpoint's .json inside --project's runs folder",
    )
    train.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: the best one)")
    train.add_argument(
        "--budget-minutes",
        type=float,
        metavar="N",
        help="best model in N minutes: the model size and steps are chosen for this device and the run ends on time",
    )
    train.set_defaults(handler=_cmd_train)

    estimate = commands.add_parser(
        "estimate", help="how long a training run would take and the memory it needs, on this device (one JSON line)"
    )
    estimate.add_argument("--project", required=True, help="project folder")
    estimate.add_argument("--dataset", required=True, help="dataset name")
    estimate.add_argument(
        "--model",
        metavar="FAMILY",
        help=f"model family: {', '.join(families.ids(families.available()))} (default: as for train)",
    )
    estimate.add_argument("--preset", default="balanced", help="fast, balanced (default) or best")
    estimate.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any setting, e.g. steps=500")
    estimate.add_argument("--budget-minutes", type=float, metavar="N", help="plan the best model for N minutes instead")
    estimate.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: the best one)")
    estimate.set_defaults(handler=_cmd_estimate)

    generate = commands.add_parser("generate", help="sample from a trained model (prints JSON)")
    generate_commands = generate.add_subparsers(dest="generate_command", metavar="KIND", required=True)
    image = generate_commands.add_parser(
        "image", help=f"write PNGs from a {image_models} run, with the settings that regenerate them embedded"
    )
    image.add_argument("--project", required=True, help="project folder")
    image.add_argument(
        "--run",
        required=True,
        metavar="RUN_ID|latest",
        help=f"run folder name, or latest (the newest {image_models} run with a checkpoint)",
    )
    image.add_argument("--checkpoint", type=int, metavar="STEP", help="checkpoint step (default: the newest)")
    image.add_argument("--count", type=int, default=16, help="number of images (default 16)")
    image.add_argument("--seed", type=int, default=0, help="seed of the latents (default 0)")
    image.add_argument(
        "--class",
        dest="class_name",
        metavar="NAME",
        help="class name or index, for models trained on class folders (default: the first)",
    )
    image.add_argument(
        "--truncation",
        type=float,
        default=1.0,
        help="scale latents toward the mean: below 1 is more typical, less varied (default 1)",
    )
    image.add_argument("--scale", type=int, default=1, help="upscale factor of the written PNGs (default 1)")
    image.add_argument("--resample", choices=["nearest", "lanczos"], default="nearest", help="upscaling filter")
    image.add_argument("--out", required=True, help="folder for the PNGs (created if needed)")
    image.add_argument(
        "--device",
        default="cpu",
        help="cpu (default: the PNGs' settings regenerate them exactly on the CPU), cuda, mps",
    )
    image.set_defaults(handler=_cmd_generate_image)
    text = generate_commands.add_parser(
        "text",
        help=f"continue a prompt with a {text_models} run (prints the text; the same arguments give the same text)",
    )
    text.add_argument("--project", required=True, help="project folder")
    text.add_argument(
        "--run",
        required=True,
        metavar="RUN_ID|latest",
        help=f"run folder name, or latest (the newest {text_models} run with a checkpoint)",
    )
    text.add_argument("--checkpoint", type=int, metavar="STEP", help="checkpoint step (default: the newest)")
    text.add_argument("--prompt", default="", help="the text to continue (default: none, start a new text)")
    text.add_argument(
        "--template",
        metavar="ID",
        help="build the prompt from a template instead: product_description, "
        "ad_slogan, social_post, customer_reply, news_brief",
    )
    text.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help='a template field, e.g. product="Linen tote"; repeat',
    )
    text.add_argument("--max-tokens", type=int, default=200, help="length limit in tokens (default 200)")
    text.add_argument(
        "--temperature",
        type=float,
        default=0.8,
        help="randomness: 0 always picks the likeliest token, 1 samples as trained (default 0.8)",
    )
    text.add_argument("--top-k", type=int, default=0, help="sample only among the K likeliest tokens (0 = off)")
    text.add_argument(
        "--top-p",
        type=float,
        default=0.95,
        help="sample among the likeliest tokens that cover P of the probability (1 = off; default 0.95)",
    )
    text.add_argument(
        "--repetition-penalty",
        type=float,
        default=1.1,
        help="make tokens already in the text less likely (1 = off; default 1.1)",
    )
    text.add_argument("--seed", type=int, default=0, help="seed of the random draws (default 0)")
    text.add_argument(
        "--stop",
        action="append",
        default=[],
        metavar="TEXT",
        help="end the text where this appears (not printed); repeat for several",
    )
    text.add_argument(
        "--ban",
        action="append",
        default=[],
        metavar="WORD",
        help="a word that must never be written (any case; also inside longer words); repeat",
    )
    text.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="WORD",
        help="a word the text should contain: reported with --json; repeat",
    )
    text.add_argument("--variants", type=int, default=1, help="number of texts, seeds S, S+1, ... (default 1)")
    text.add_argument("--json", action="store_true", help="print a JSON result instead of the bare text")
    text.add_argument("--device", default="cpu", help="cpu (default: texts replay exactly on the CPU), cuda, mps")
    text.set_defaults(handler=_cmd_generate_text)
    speech = generate_commands.add_parser(
        "speech", help="speak a text with the built-in voice, a trained voice or a Piper voice (writes a WAV)"
    )
    speech.add_argument("--project", help="project folder (needed for trained voices and the pronunciation dictionary)")
    speech.add_argument(
        "--voice",
        required=True,
        metavar="VOICE",
        help=f"system:<language> (e.g. system:en), a {voice_models} run id of the project or latest, or a "
        "Piper voice (path to .onnx, its .onnx.json beside it)",
    )
    speech.add_argument("--text", required=True, help="what to say; several sentences are fine")
    speech.add_argument(
        "--out",
        required=True,
        metavar="FILE.wav",
        help="the WAV to write (16-bit PCM); with --lines, a folder for one file per line",
    )
    speech.add_argument("--rate", type=float, default=1.0, help="speed, 0.5 to 2.0 (default 1.0)")
    speech.add_argument("--pitch", type=float, default=0.0, help="pitch shift in semitones, -12 to 12 (default 0)")
    speech.add_argument("--volume", type=float, default=1.0, help="loudness, 0 to 2 (default 1.0)")
    speech.add_argument(
        "--checkpoint", type=int, metavar="STEP", help="checkpoint step of a trained voice (default: the newest)"
    )
    speech.add_argument(
        "--vocoder",
        metavar="griffinlim|RUN_ID",
        help="how a trained voice turns sound pictures into audio (default: the newest matching "
        "vocoder run, else Griffin-Lim)",
    )
    speech.add_argument("--lines", action="store_true", help="write one WAV per non-empty line into --out")
    speech.add_argument("--device", default="cpu", help="cpu (default), cuda, mps")
    speech.set_defaults(handler=_cmd_generate_speech)
    transfer = generate_commands.add_parser(
        "transfer",
        help=f"turn pictures (files or folders) into the other style with a {transfer_models} run; writes PNGs",
    )
    transfer.add_argument("--project", required=True, help="project folder")
    transfer.add_argument(
        "--run",
        required=True,
        metavar="RUN_ID|latest",
        help=f"run folder name, or latest (the newest {transfer_models} run with a checkpoint)",
    )
    transfer.add_argument(
        "--direction", choices=transfer_jobs.DIRECTIONS, default="a2b", help="a2b: style A to B (default); b2a back"
    )
    transfer.add_argument("--checkpoint", type=int, metavar="STEP", help="checkpoint step (default: the newest)")
    transfer.add_argument(
        "--tile",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="work on large pictures in overlapping tiles at the trained scale (default); --no-tile transfers the "
        "whole picture at the trained size and enlarges the result",
    )
    transfer.add_argument("--out", required=True, help="folder for the PNGs (created if needed; never a source folder)")
    transfer.add_argument("--device", default="cpu", help="cpu (default: the same PNGs every time), cuda, mps")
    transfer.add_argument("sources", nargs="+", metavar="SOURCE", help="pictures, or folders of them (searched down)")
    transfer.set_defaults(handler=_cmd_generate_transfer)

    compare = commands.add_parser(
        "compare",
        help="render the same seeds, prompts or sentences with every checkpoint of a run and write one "
        "self-contained HTML board (prints JSON)",
    )
    compare.add_argument("--project", required=True, help="project folder")
    compare.add_argument(
        "--run",
        required=True,
        action="append",
        metavar="RUN_ID|latest",
        help="run folder name, or latest; give --run twice to compare two runs trained on the same dataset",
    )
    compare.add_argument(
        "--checkpoints", default="all", metavar="STEP,STEP|all", help="checkpoint steps to compare (default: all)"
    )
    compare.add_argument(
        "--seeds", type=int, default=DEFAULT_SEEDS, help=f"pictures: seeds 0..N-1 (default {DEFAULT_SEEDS})"
    )
    compare.add_argument(
        "--prompt",
        action="append",
        default=[],
        metavar="TEXT",
        help=f"text: a prompt to write after, besides the run's own preview prompt (up to {MAX_USER_PROMPTS}); repeat",
    )
    compare.add_argument(
        "--sentence",
        action="append",
        default=[],
        metavar="TEXT",
        help="speech: a test sentence to read (default: two fixed sentences); repeat",
    )
    compare.add_argument("--out", required=True, metavar="FILE.html", help="the HTML file to write")
    compare.add_argument("--device", default="cpu", help="cpu (default), cuda, mps")
    compare.set_defaults(handler=_cmd_compare)
    return parser


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def _cmd_devices(args) -> int:
    _print_json([device.to_dict() for device in list_devices()])
    return 0


def _project_summary(project) -> dict:
    return {
        "name": project.name,
        "path": str(project.root),
        "schema_version": project.schema_version,
        "datasets": sorted(project.datasets),
        "runs": len(project.runs),
    }


def _cmd_project_create(args) -> int:
    _print_json(_project_summary(create_project(args.folder, args.name)))
    return 0


def _cmd_project_info(args) -> int:
    _print_json(_project_summary(open_project(args.folder)))
    return 0


def _cmd_dataset_import(args) -> int:
    options = ImportOptions(
        resolution=args.resolution,
        text_encoding=args.encoding,
        csv_column=args.column,
        jsonl_field=args.field,
        sample_rate=args.sample_rate,
    )
    chosen = args.transparency is not None
    if chosen:
        try:
            transparency, background = parse_transparency(args.transparency)
        except ValueError as exc:
            raise JobError(str(exc)) from None
        options = replace(options, transparency=transparency, background=background)
    job = ImportDataset(
        args.project,
        args.name,
        args.sources,
        kind=args.kind,
        options=options,
        workers=args.workers,
        follow_dataset=not chosen,
    )
    _print_json(run_with_progress(job))
    return 0


def _cmd_dataset_report(args) -> int:
    _print_json(dataset_report(args.project, args.name))
    return 0


def _cmd_dataset_cache(args) -> int:
    folder = dataset_folder(args.project, args.name)
    kind = Manifest.load(folder).kind if (folder / "manifest.json").is_file() else None
    if kind is None:
        raise JobError(f"There is no dataset “{args.name}” in {args.project}.")
    job = {
        "image": lambda: image_cache.BuildImageCache(folder, args.resolution, args.fit),
        "text": lambda: text_cache.BuildTextCache(folder, args.tokenizer, args.vocab_size),
        "audio": lambda: audio_cache.BuildAudioCache(folder, language=args.language),
    }[kind]()
    _print_json(run_with_progress(job))
    return 0


def _cmd_dataset_transcript(args) -> int:
    """The dataset's own copy of the transcript changes (the recordings' metadata.csv is left as it is); the audio
    cache notices by its fingerprint and the next cache build or training run updates its phonemes."""
    _print_json(transcripts.edit_transcript(dataset_folder(args.project, args.name), args.item, args.text))
    return 0


def _parse_settings(pairs: list[str]) -> dict:
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set takes key=value (for example lr=3e-4), not “{pair}”.")
        settings[key.strip()] = value.strip()
    return settings


def _model_and_settings(args) -> tuple[str, dict]:
    """``--model`` and ``--set`` as given; without ``--model``, the family that suits the dataset and the settings
    that follow its data (:mod:`studio.core.training.suggest`, as the Training panel preselects), said on stderr."""
    settings = _parse_settings(args.set)
    if args.model:
        return args.model, settings
    if not (dataset_folder(args.project, args.dataset) / "manifest.json").is_file():
        raise ConfigError(f"There is no dataset “{args.dataset}” in {args.project}.")
    try:
        suggestion = suggest.suggest(suggest.read_facts(dataset_folder(args.project, args.dataset)))
    except JobError as exc:
        raise ConfigError(str(exc)) from None
    if suggestion.family is None:
        raise ConfigError(f"No model trains on the dataset “{args.dataset}”; choose one with --model.")
    why = "; ".join(suggestion.reasons)
    print(f"No --model given: {suggestion.family}" + (f" ({why})" if why else ""), file=sys.stderr)
    return suggestion.family, {**suggestion.settings, **settings}


def _cmd_train(args) -> int:
    """Unusable arguments exit 2 with one plain sentence; so does a run that another process is training
    (the sentence names it and how to stop it). Ctrl+C (or torchrun's SIGTERM) saves a checkpoint and stops
    the run cleanly, so it can be resumed."""

    main_rank = int(os.environ.get("RANK", "0")) == 0
    locks.set_program("aigc-studio train")
    try:
        if not is_project(args.project):
            raise ConfigError(
                f"{args.project} is not an AIGC Studio project (make one with: aigc-studio project create)."
            )
        for name, value in (("--steps", args.steps), ("--checkpoint-every", args.checkpoint_every)):
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be at least 1.")
        model, settings = _model_and_settings(args)
        job = TrainJob(
            args.project,
            args.dataset,
            model,
            preset=args.preset,
            overrides=settings,
            steps=args.steps,
            checkpoint_every=args.checkpoint_every,
            resume=args.resume,
            device=args.device,
            budget_minutes=args.budget_minutes,
        )
        if main_rank:
            job.check_run_free()  # first, before torch loads: a run in use is refused at once
        job.validate()
    except ConfigError as exc:
        if main_rank:
            print(exc, file=sys.stderr)
        return 2
    if main_rank and args.resume is None:
        for run in runs.interrupted_runs(job.project_root):
            print(
                f"Note: the run {run.run_id} ({run.family} on {run.dataset}) was interrupted at step {run.step:,}; "
                f"continue it with --resume {run.run_id}.",
                file=sys.stderr,
            )
    try:
        result = run_training(job, quiet=not main_rank)
    except ConfigError as exc:  # e.g. the run was claimed by another process between the check and the start
        if main_rank:
            print(exc, file=sys.stderr)
        return 2
    if result is None:
        return 130
    if main_rank:
        _print_json(result)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        _end_rank(0)
    return 0


def _end_rank(code: int) -> None:
    """End a torchrun rank whose run is finished and saved without running C++ static destructors: gloo's
    threads can still be joinable then, and their destruction aborts the process ("terminate called without an
    active exception", SIGABRT) after a good run, which torchrun reports as a failure (seen in about one run of
    ten on a loaded 2-core machine). Everything is written and flushed before."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def _cmd_estimate(args) -> int:
    """The plan a ``train`` with the same arguments would make, and its estimate: one JSON line with ``seconds``
    (the whole run, evaluations and previews included), ``memory_bytes``, ``steps``, the parts and the settings.
    Measured once per device and model size (then read from the cache), so a repeat answers at once."""
    try:
        if not is_project(args.project):
            raise ConfigError(
                f"{args.project} is not an AIGC Studio project (make one with: aigc-studio project create)."
            )
        model, overrides = _model_and_settings(args)
        job = TrainJob(args.project, args.dataset, model, preset=args.preset, overrides=overrides)
        job.validate()  # the same plain refusals as train (no such dataset, a setting of another type, ...)
        if args.budget_minutes is not None and args.budget_minutes <= 0:
            raise ConfigError("--budget-minutes must be more than 0.")
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    device = resolve_device(args.device)
    made = run_with_progress(
        lambda ctx: planning.plan(
            args.project,
            args.dataset,
            model,
            args.preset,
            overrides,
            device.id,
            budget_minutes=args.budget_minutes,
            ctx=ctx,
        )
    )
    print(json.dumps({**made.estimate, "device": device.name, "preset": args.preset, "config": made.config}))
    return 0


def _cmd_generate_image(args) -> int:
    """Unusable arguments (no such project, run, checkpoint or class; a count or scale out of range) exit 2
    with one plain sentence, checked before any weights load; a damaged checkpoint fails like any job (1)."""

    try:
        if not is_project(args.project):
            raise JobError(f"{args.project} is not an AIGC Studio project (make one with: aigc-studio project create).")
        folder = image_model.resolve_run(args.project, args.run)
        config = image_model.read_model_config(folder)
        checkpoint_for(folder, args.checkpoint)
        image_model.class_index(
            [str(c) for c in config["model"].get("classes") or []],
            str(config.get("run_id") or folder.name),
            args.class_name,
        )
        image_model.check_seed(args.seed)
        check_count(args.count)
        check_truncation(args.truncation)
        check_scale(args.scale)
    except JobError as exc:
        print(exc, file=sys.stderr)
        return 2
    device = args.device
    if device != "cpu":  # a GPU that is not here falls back to the best device, as for training
        device = resolve_device(device).id
    grid = run_with_progress(
        GenerateGrid(folder, args.checkpoint, args.seed, args.count, args.class_name, args.truncation, device=device)
    )
    files = run_with_progress(ExportImages(grid["images"], grid["settings"], args.out, args.scale, args.resample))[
        "files"
    ]
    _print_json(
        {
            "files": files,
            "run_id": grid["run_id"],
            "step": grid["step"],
            "seed": grid["seed"],
            "count": grid["count"],
            "class": grid["class"],
            "truncation": float(args.truncation),
            "scale": args.scale,
        }
    )
    return 0


def _cmd_generate_text(args) -> int:
    """Unusable arguments (no such project, run or checkpoint; a run that is no text model; settings out of
    range) exit 2 with one plain sentence, checked before any weights load. Prints the text alone (variants
    separated by a line naming their seed), or with --json everything the job returns."""

    try:
        if not is_project(args.project):
            raise JobError(f"{args.project} is not an AIGC Studio project (make one with: aigc-studio project create).")
        folder = text_model.resolve_text_run(args.project, args.run)
        text_model.read_text_config(folder)
        checkpoint_for(folder, args.checkpoint)
        settings = SamplingSettings(
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            repetition_penalty=args.repetition_penalty,
            max_tokens=args.max_tokens,
            seed=args.seed,
            stop=[_unescape(s) for s in args.stop],
            banned_words=args.ban,
            required_words=args.require,
        ).checked()
        check_variants(args.variants, settings.seed)
        prompt = args.prompt
        if args.template:
            if args.prompt:
                raise JobError(
                    "Give either --prompt or --template (its field opening= sets the first words), not both."
                )
            fields = {}
            for pair in args.field:
                key, sep, value = pair.partition("=")
                if not sep or not key.strip():
                    raise JobError(f"--field takes key=value (for example product=Linen tote), not “{pair}”.")
                fields[key.strip()] = value
            prompt = build_prompt(args.template, fields)
        elif args.field:
            raise JobError("--field fills in a template: add --template.")
    except JobError as exc:
        print(exc, file=sys.stderr)
        return 2
    device = args.device
    if device != "cpu":
        device = resolve_device(device).id
    result = run_with_progress(
        GenerateText(folder, prompt, settings, step=args.checkpoint, variants=args.variants, device=device)
    )
    if args.json:
        _print_json(result)
        return 0
    for i, (text, seed) in enumerate(zip(result["texts"], result["seeds"], strict=True)):
        if len(result["texts"]) > 1:
            print(f"{'' if i == 0 else chr(10)}--- variant {i + 1} (seed {seed}) ---")
        print(text)
    return 0


def _cmd_generate_speech(args) -> int:
    """Unusable arguments (no such project, voice, checkpoint or vocoder; settings out of range; an empty
    text) exit 2 with one plain sentence, checked before any model loads. Prints the written file(s) and
    the audio's length as JSON."""

    try:
        if args.project and not is_project(args.project):
            raise JobError(f"{args.project} is not an AIGC Studio project (make one with: aigc-studio project create).")
        settings = dict(
            project_root=args.project,
            rate=args.rate,
            pitch=args.pitch,
            volume=args.volume,
            step=args.checkpoint,
            vocoder=args.vocoder,
            device=args.device,
        )
        if args.project:
            settings["dictionary"] = load_dictionary(args.project).entries
        if args.lines:
            job = speech_jobs.ExportLines(args.voice, args.text, args.out, **settings)
        else:
            job = speech_jobs.SynthesizeSpeech(args.voice, args.text, **settings)
        job.check()
    except JobError as exc:
        print(exc, file=sys.stderr)
        return 2
    result = run_with_progress(job)
    if args.lines:
        _print_json({"files": result["files"], "voice": args.voice})
        return 0
    path = speech_jobs.write_speech(Path(args.out), result)
    summary = {
        "file": str(path),
        "voice": result["voice"],
        "sample_rate": result["sample_rate"],
        "duration": round(float(result["duration"]), 3),
        "sentences": len(result["sentences"]),
    }
    summary.update({key: result[key] for key in ("run_id", "step", "vocoder") if key in result})
    _print_json(summary)
    return 0


def _cmd_generate_transfer(args) -> int:
    """Unusable arguments (no such project, run, checkpoint or source; an output folder inside a source folder)
    exit 2 with one plain sentence, checked before any weights load. Prints the written PNGs, the skipped files
    with their reasons and the model as one JSON line."""

    try:
        if not is_project(args.project):
            raise JobError(f"{args.project} is not an AIGC Studio project (make one with: aigc-studio project create).")
        folder = transfer_jobs.resolve_transfer_run(args.project, args.run)
        checkpoint_for(folder, args.checkpoint)
        device = args.device if args.device == "cpu" else resolve_device(args.device).id
        job = transfer_jobs.ConvertSources(  # the run folder resolved above, with no run name: used as it is
            folder, None, args.sources, args.out, args.direction, args.checkpoint, args.tile, device
        )
        job.plan()
    except JobError as exc:
        print(exc, file=sys.stderr)
        return 2
    result = run_with_progress(job)
    _print_json({key: result[key] for key in ("files", "written", "skipped", "out", "run_id", "step", "direction")})
    return 0


def _cmd_compare(args) -> int:
    """Unusable arguments (no such project, run or checkpoint; two runs on different datasets; too many prompts)
    exit 2 with one plain sentence, checked before any model loads. Prints one JSON line: the file, the columns'
    steps, the number of cells, how many came from the cache, and the checkpoints that could not be loaded (a board
    where none could be fails, exit 1)."""

    try:
        if not is_project(args.project):
            raise JobError(f"{args.project} is not an AIGC Studio project (make one with: aigc-studio project create).")
        job = RenderBoard(
            args.project,
            args.run,
            _checkpoint_steps(args.checkpoints),
            seeds=args.seeds,
            prompts=args.prompt,
            sentences=args.sentence,
            device=args.device if args.device == "cpu" else resolve_device(args.device).id,
        )
        job.check()
    except JobError as exc:
        print(exc, file=sys.stderr)
        return 2
    board = run_with_progress(job)
    errors = [{key: c[key] for key in ("run_id", "step", "error")} for c in board["columns"] if c.get("error")]
    if errors and not board["cached_cells"] + board["rendered_cells"]:
        raise JobError(errors[0]["error"])  # no checkpoint could be rendered: nothing worth a file
    path = write_board_html(args.project, board, args.out)
    _print_json(
        {
            "file": str(path),
            "checkpoints": [column["step"] for column in board["columns"]],
            "cells": board_cells(board),
            "runs": [run["run_id"] for run in board["runs"]],
            "modality": board["modality"],
            "cached_cells": board["cached_cells"],
            "rendered_cells": board["rendered_cells"],
            "errors": errors,
        }
    )
    return 0


def _checkpoint_steps(text: str) -> list[int] | None:
    """``--checkpoints``: "all" (None), or steps separated by commas ("200,400"; thousands separators are not)."""
    if text.strip().lower() == "all":
        return None
    steps = []
    for part in text.split(","):
        if not part.strip().isdigit():
            raise JobError(f"--checkpoints takes steps separated by commas (for example 200,400) or all, not “{text}”.")
        steps.append(int(part.strip()))
    return steps


def _unescape(text: str) -> str:
    r"""A stop sequence typed in a shell: \n and \t mean a line break and a tab (the usual stops)."""
    return text.replace("\\n", "\n").replace("\\t", "\t")


def run_training(job, quiet: bool = False):
    """Run a TrainJob headless: the run id on stdout as soon as it exists, a progress line on stderr
    (redrawn on a terminal, one line every few seconds otherwise) and the engine's notices in plain words
    (resumed, checkpoint saved, NaN rolled back, out of memory). Returns the result, or None if stopped."""

    shown = {"id": False, "at": 0.0}
    tty = sys.stderr.isatty()

    def show(fraction: float, message: str) -> None:
        if quiet:
            return
        if job.run_id and not shown["id"]:
            print(job.run_id, flush=True)
            shown["id"] = True
        if tty:
            print(f"\r{fraction * 100:5.1f}%  {message[:70]:<70}", end="", file=sys.stderr, flush=True)
        elif time.monotonic() - shown["at"] >= 2.0 or fraction >= 1.0:
            print(f"{fraction * 100:5.1f}%  {message}", file=sys.stderr, flush=True)
            shown["at"] = time.monotonic()

    def notice(values: dict) -> None:
        if not quiet and "event" in values:
            text = str(values["event"])
            print(f"\r{text:<78}" if tty else text, file=sys.stderr, flush=True)  # over the progress line

    ctx = JobContext(on_progress=show, on_metrics=notice)
    previous = {sig: signal.signal(sig, lambda *_: ctx.cancel()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = job(ctx)
    except Cancelled:
        if not quiet:
            print(f"\nStopped; a checkpoint was saved. Continue with --resume {job.run_id}.", file=sys.stderr)
        return None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if tty and not quiet:
            print(file=sys.stderr)
    if not shown["id"] and not quiet:
        print(job.run_id, flush=True)
    return result


def run_with_progress(job):
    """Run a job headless with a one-line progress display on stderr (only when stderr is a terminal)."""

    def show(fraction: float, message: str) -> None:
        if sys.stderr.isatty():
            print(f"\r{fraction * 100:5.1f}%  {message[:70]:<70}", end="", file=sys.stderr, flush=True)

    try:
        return job(JobContext(on_progress=show))
    finally:
        if sys.stderr.isatty():
            print(file=sys.stderr)


def _warn_about_the_audio_stack() -> None:
    """Every command says, in one sentence on stderr, when torch and torchaudio are not one release (from
    package metadata, no import): commands that need audio would otherwise fail later with a linker error."""

    problem = pair_problem()
    if problem:
        print(f"Warning: {problem}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.self_test:
        return run_self_test()
    if args.command is None:
        from studio.app import main as gui_main  # loads PySide6: only when the window opens

        return gui_main()

    setup_logging(verbose=args.verbose)
    _warn_about_the_audio_stack()
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return 130
    except Exception as exc:  # one plain sentence for the user, the traceback in the log
        log.info("%s failed", args.command, exc_info=True)  # traceback to the log file only
        print(describe_error(exc, f"'{args.command}'"), file=sys.stderr)
        return 1
