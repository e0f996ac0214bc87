"""Widgets of the Speech panel: the voice controls, the pronunciation dictionary and the waveform view."""
