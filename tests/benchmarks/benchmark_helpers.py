"""Helpers shared by the benchmarks."""


def time_batch_loading(monkeypatch, recipe_class) -> dict:
    """Wrap ``recipe_class.load_batch`` so ``spent["data"]`` adds up the seconds spent fetching batches."""
    import time

    spent = {"data": 0.0}
    real = recipe_class.load_batch

    def timed(self, positions):
        started = time.perf_counter()
        try:
            return real(self, positions)
        finally:
            spent["data"] += time.perf_counter() - started

    monkeypatch.setattr(recipe_class, "load_batch", timed)
    return spent
