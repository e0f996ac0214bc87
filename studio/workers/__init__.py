"""The only place where threads live: core jobs run here on QThreads and report through Qt signals."""
