"""Two tiny real jobs that prove the job machinery end to end (self-test, tests, the packaged app).

``TinyFit`` really trains: a small MLP on a fixed random regression problem, a few optimizer steps, so a
broken torch install, a missing module in a frozen bundle or a runner bug shows up at once.
``WaitForCancel`` does nothing but check, so it shows that cancel reaches a running job.
"""

from __future__ import annotations

import time

from studio.core.jobs import JobContext


class TinyFit:
    title = "Self-test training"
    kind = "training"

    def __init__(self, steps: int = 20, device: str = "cpu", seed: int = 0) -> None:
        self.steps = steps
        self.device = device
        self.seed = seed

    def __call__(self, ctx: JobContext) -> dict:
        import torch

        generator = torch.Generator().manual_seed(self.seed)
        inputs = torch.randn(256, 16, generator=generator)
        targets = inputs @ torch.randn(16, 1, generator=generator) + 0.1 * torch.randn(256, 1, generator=generator)
        torch.manual_seed(self.seed)
        model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.Linear(32, 1))
        model.to(self.device)
        inputs, targets = inputs.to(self.device), targets.to(self.device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
        losses = []
        for step in range(1, self.steps + 1):
            ctx.check()
            loss = torch.nn.functional.mse_loss(model(inputs), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach().cpu()))
            ctx.metrics({"step": step, "loss": losses[-1]})
            ctx.progress(step / self.steps, f"Step {step} of {self.steps}")
        return {"steps": self.steps, "loss_start": losses[0], "loss_end": losses[-1], "device": self.device}


class WaitForCancel:
    title = "Self-test cancel"

    def __init__(self, timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s

    def __call__(self, ctx: JobContext) -> str:
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            ctx.check()
            ctx.progress(0.5, "Waiting to be cancelled")
            time.sleep(0.01)
        return "timed out"
