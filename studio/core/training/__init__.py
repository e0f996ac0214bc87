"""Training: devices, the shared engine, checkpoints."""
