"""torch and torchaudio as one exact pair, and one plain sentence when they are not.

Why this module: torchaudio is a compiled extension built against one torch release. Since torch 2.1 the two
are released together under the same version number, and a torchaudio of another release fails at import
with a linker error (torchaudio 2.11.1 beside torch 2.11.0: ``libtorchaudio.so: undefined symbol:
torch_exception_get_what_without_backtrace``) that ``pip check`` does not see. pyproject.toml therefore pins
the exact pair in :data:`PINNED_PAIR` (a test keeps the two in step), and every place that needs torchaudio
imports it through :func:`import_torchaudio`, so a broken install says what is wrong and how to fix it instead
of printing a traceback. :func:`pair_problem` answers the same question from package metadata alone (no
import, microseconds), so the CLI and the window can warn at start-up without loading torch.
"""

from __future__ import annotations

import re
from importlib import metadata

from studio.core.jobs import JobError

# The torch / torchaudio releases pyproject.toml pins (tests/core/test_audio_stack.py checks they agree).
PINNED_PAIR = ("2.11.0", "2.11.0")

_RELEASE = re.compile(r"^\d+(\.\d+)*")


def release(version: str) -> str:
    """ "2.11.0+cu130" -> "2.11.0": the local build tag (CUDA or CPU variant) does not change the ABI pairing."""
    match = _RELEASE.match(version.strip())
    return match.group(0) if match else version.strip()


def installed_versions() -> tuple[str | None, str | None]:
    """(torch, torchaudio) versions as installed, None for a package that is not installed."""
    found: list[str | None] = []
    for name in ("torch", "torchaudio"):
        try:
            found.append(metadata.version(name))
        except metadata.PackageNotFoundError:
            found.append(None)
    return found[0], found[1]


def fix_command() -> str:
    torch_version, audio_version = PINNED_PAIR
    return f"pip install torch=={torch_version} torchaudio=={audio_version}"


def mismatch_message(torch_version: str | None, audio_version: str | None) -> str:
    """The one sentence a user reads when the pair does not load, naming both installed versions and the fix."""
    if audio_version is None:
        return (
            f"torchaudio is not installed (torch is {torch_version or 'missing too'}), so audio features are "
            f"unavailable; install the matching pair with: {fix_command()}"
        )
    return (
        f"torchaudio {audio_version} does not work with torch {torch_version} (they must be the same "
        f"release), so audio features are unavailable; install the matching pair with: {fix_command()}"
    )


def pair_problem(versions: tuple[str | None, str | None] | None = None) -> str | None:
    """The mismatch sentence when the installed torch and torchaudio are not one release, else None.

    Reads package metadata only. In a frozen bundle there may be no metadata: then nothing is reported here and
    :func:`import_torchaudio` still turns a real failure into the same sentence."""
    torch_version, audio_version = versions if versions is not None else installed_versions()
    if torch_version is None and audio_version is None:
        return None
    if torch_version is None or audio_version is None or release(torch_version) != release(audio_version):
        return mismatch_message(torch_version, audio_version)
    return None


def import_torchaudio():
    """``import torchaudio``, or a :class:`JobError` with the mismatch sentence when it cannot load.

    A version mismatch shows up as an OSError (undefined symbol in libtorchaudio.so), an ImportError or a
    RuntimeError from the extension's registration, depending on the releases involved."""
    try:
        import torchaudio
    except (ImportError, OSError, RuntimeError) as exc:
        torch_version, audio_version = installed_versions()
        raise JobError(mismatch_message(torch_version, audio_version)) from exc
    return torchaudio
