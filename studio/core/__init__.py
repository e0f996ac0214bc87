"""The studio's engine: datasets, networks, training and generation, with no Qt anywhere.

Everything here runs headless (CLI, tests, torchrun); a test fails if any module imports PySide6.
"""
