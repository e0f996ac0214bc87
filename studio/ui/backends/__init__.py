"""Adapters between the panels and ``studio.core``: one per panel (``canvas``, ``writer``, ``speech``,
``training``), each satisfying its ``typing.Protocol`` in :mod:`studio.ui.backends.contracts`, which the tests'
fakes satisfy too. A panel holds one adapter and never reads a run's files or imports the generation core
itself; an adapter imports torch-heavy core modules only inside the jobs it returns."""
