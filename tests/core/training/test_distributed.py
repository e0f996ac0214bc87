"""Two CPU processes under torchrun (gloo): DistributedDataParallel keeps both ranks' weights identical,
and only rank 0 writes the run folder."""

import json
import subprocess
import sys
import textwrap

import pytest
from safetensors.torch import load_file
from training_helpers import FAST, assert_identical, final_weights, logged_steps, train_args

from studio.core.training import runs

RANK_SCRIPT = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from safetensors.torch import save_file
    from studio.core.jobs import JobContext
    from studio.core.training import TrainJob

    project, out, overrides = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    job = TrainJob(project, "pics", "reference", preset="fast", overrides=overrides, steps=10, device="cpu")
    result = job(JobContext())
    rank = os.environ["RANK"]
    weights = {f"{name}.{key}": value.contiguous() for name, model in job.engine.models.items()
               for key, value in model.state_dict().items()}
    save_file(weights, str(out / f"rank{rank}.safetensors"))
    (out / f"rank{rank}.json").write_text(json.dumps({"run_id": job.run_id, "step": result["step"]}))
""")


def torchrun(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_two_gloo_processes_end_with_identical_weights(project, tmp_path):
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    done = torchrun(str(script), str(project), str(tmp_path), json.dumps(FAST))
    assert done.returncode == 0, done.stdout + done.stderr

    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0] == ranks[1] and ranks[0]["step"] == 10
    rank0, rank1 = (load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1))
    assert_identical(rank0, rank1)

    folders = [run.folder for run in runs.list_runs(project)]
    assert [folder.name for folder in folders] == [ranks[0]["run_id"]]  # one run folder, made by rank 0
    assert_identical(final_weights(folders[0]), rank0)
    assert logged_steps(folders[0]) == list(range(1, 11))  # one writer: no line twice


@pytest.mark.slow
def test_torchrun_runs_the_train_command(project):
    done = torchrun(
        "-m",
        "studio",
        *train_args(project),
        "--preset",
        "fast",
        "--steps",
        "6",
        "--checkpoint-every",
        "3",
        "--set",
        "batch_size=4",
        "--set",
        "width=4",
        "--set",
        "log_every=1",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    run_id = lines[0]
    assert len(lines) == 2 and json.loads(lines[1])["step"] == 6  # only rank 0 prints
    assert logged_steps(project / "runs" / run_id) == list(range(1, 7))
    config = json.loads((project / "runs" / run_id / "config.json").read_text())
    assert config["config"]["batch_size"] == 4
