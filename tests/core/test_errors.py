import errno

from studio.core.errors import describe_error
from studio.core.jobs import JobError


def test_user_errors_pass_through_verbatim():
    assert describe_error(JobError("Pick a dataset first.")) == "Pick a dataset first."


def test_common_failures_get_advice():
    assert "disk is full" in describe_error(OSError(errno.ENOSPC, "No space left on device"))
    assert "ran out of memory" in describe_error(MemoryError())
    assert "could not find a file: /x.png" in describe_error(FileNotFoundError(2, "No such file", "/x.png"))


def test_cuda_oom_is_recognised_without_importing_torch():
    class OutOfMemoryError(RuntimeError):
        pass

    text = describe_error(OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"), "Training")
    assert text.startswith("Training ran out of GPU memory")
    assert "smaller batch" in text


def test_unknown_errors_name_the_action_and_detail():
    assert (
        describe_error(ValueError("bad shape"), "Import")
        == "Import stopped because of an unexpected problem: bad shape."
    )
