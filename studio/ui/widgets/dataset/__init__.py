"""Widgets of the Dataset panel: the thumbnail grid, clip list, health report, text preview and the split, cache and
augment tabs.
"""
