"""Widgets of the Training panel: the setup card and config form, the live plots and monitor, samples, log and
checkpoints.
"""
