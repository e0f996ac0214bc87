"""The panels' widgets, grouped by the panel that uses them.

``common`` holds what more than one panel (or the main window) uses; ``dataset``, ``training``, ``canvas``,
``writer`` and ``speech`` hold one panel's widgets each, named without the panel prefix (``canvas/grid.py``).
A feature folder imports only itself and ``common``, so a panel's widgets can be read and changed on their own.
"""
