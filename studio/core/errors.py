"""Turn any exception into one plain-language sentence a designer can act on.

Used by the Qt runner and by the CLI so both say the same thing. The full traceback is logged separately;
this text is what the user reads.
"""

from __future__ import annotations

import errno

from studio.core.jobs import JobError


def _is_cuda_oom(exc: BaseException) -> bool:
    # Matched by name so this module never imports torch.
    return type(exc).__name__ == "OutOfMemoryError" or "CUDA out of memory" in str(exc)


def describe_error(exc: BaseException, action: str = "The job") -> str:
    """A short explanation of ``exc`` that says what went wrong and what to try next."""
    if isinstance(exc, JobError):
        return str(exc)
    if _is_cuda_oom(exc):
        return (
            f"{action} ran out of GPU memory. Try a smaller batch size or resolution, "
            "or close other programs that use the GPU."
        )
    if isinstance(exc, MemoryError):
        return f"{action} ran out of memory. Try a smaller batch size or dataset, or close other programs."
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"{action} stopped because the disk is full. Free some space and try again; earlier files are intact."
    if isinstance(exc, PermissionError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{action} is not allowed to write or read a file{where}. Check the folder's permissions."
    if isinstance(exc, FileNotFoundError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{action} could not find a file{where}. It may have been moved or deleted."
    detail = str(exc).strip() or type(exc).__name__
    return f"{action} stopped because of an unexpected problem: {detail}."
