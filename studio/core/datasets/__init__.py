"""Datasets: import a user's files into a project, check each one, and cache them ready for training.

``base`` holds the types every kind shares; ``images``, ``text`` and ``audio`` each turn one source
file into a normalized item (or a plain-language reason to skip it); ``importer`` walks the user's drop
(files, folders, zip archives), deduplicates, writes ``manifest.json`` and reports.
"""
