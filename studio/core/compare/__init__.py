"""The checkpoint comparison board: the same fixed seeds, prompts or sentences rendered by every chosen checkpoint
of one run (or of two runs on the same dataset), side by side, cached on disk, and exported as one HTML file.

* :mod:`.plan` reads the runs and their checkpoints and decides the rows (no torch);
* :mod:`.cells` keys, reads and writes the cached cells (``runs/<run-id>/board/<key>/``);
* :mod:`.renderers` loads one checkpoint and renders its cells (pictures, text, speech);
* :mod:`.board` is the job (:class:`~.board.RenderBoard`) that ties them together, one model at a time;
* :mod:`.html_export` writes the board as a self-contained HTML document.
"""
