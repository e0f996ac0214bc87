"""Widgets only: panels hold no ML logic; they start jobs through ``studio.workers`` and show results."""
