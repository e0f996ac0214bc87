"""Adapters between the panels and ``studio.core``: one per panel (``canvas``, ``writer``, ``speech``,
``training``), each satisfying its ``typing.Protocol`` in :mod:`studio.ui.backends.contracts`, which the tests'
fakes satisfy too. A panel holds one adapter and never reads a run's files or imports the generation core
itself. The core modules an adapter imports load torch only when one of their jobs runs, so building a
panel never waits for torch (tests/ui/test_main_window.py checks that the window opens without it)."""
