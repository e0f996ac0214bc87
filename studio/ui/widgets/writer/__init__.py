"""Widgets of the Text Writer panel: the generation controls, the variant editor and the history list."""
