"""A sparse VAE: variational sparse coding (Tonolini, Jensen & Murray-Smith, 2019) on the studio's convolutional VAE.

Why sparse: a plain VAE spreads every picture over all of its latent numbers, so no one number means anything a
designer could name. Here each picture switches on only a few of them, and the rest are exactly zero; a number
that only some pictures use tends to stand for one thing those pictures share (a colour, a size, a position),
which is what the canvas's attribute sliders show.

The prior, and why this one. Each latent number is a **spike and slab**: exactly 0 with probability ``1 - α``
(the spike), else drawn from N(0, 1) (the slab); ``α`` is ``prior_active`` (0.1: about 6 of 64 numbers in use
per picture). The encoder gives, per number, the probability ``γ`` that it is in use and the slab's mean and
log-variance; the KL to the prior has a closed form (Tonolini et al., eq. 6)::

    KL_j = γ_j · KL(N(μ_j, σ_j²) ‖ N(0, 1)) + γ_j log(γ_j / α) + (1 − γ_j) log((1 − γ_j) / (1 − α))

We weighed the alternatives:

* a **Laplace prior** (with a Gaussian posterior and its closed-form KL) is sparse only in the sense of
  "peaked at 0": no code is ever exactly zero, so "5 of 64 numbers in use" would hang on a threshold we picked,
  and an unused slider would still nudge the picture;
* spike and slab with a **learned** ``α``: nothing stops the prior from following the posterior up to dense
  codes on a few hundred pictures (the spike term then costs nothing), so ``α`` stays fixed and only the KL
  *weight* is annealed (the VAE's own KL warm-up, see studio/core/training/image_vae.py): the encoder first
  learns to use its numbers, then the prior switches off those a picture does not need. Stability on small data
  hangs on that warm-up: on 90 generated shapes a 50-step warm-up switched every number off for a while (none in
  use at step 50) before the encoder won a few back; the presets warm up over 300 to 3,000 steps;
* cost: one more linear head (the probabilities γ) and a few element-wise operations: 200 steps at 32 px took
  6.5 s against the plain VAE's 5.9 s on one CPU thread (tests/benchmarks/test_sparse_vae.py, evaluation included).

Sampling the spike during training uses Tonolini et al.'s relaxation ``b = sigmoid(c · (η + γ − 1))`` with
``η ~ U(0, 1)`` and ``c = 50`` (:data:`SPIKE_SHARPNESS`): nearly a 0/1 draw of probability γ, yet
differentiable in γ. Both random draws come from torch's global generator, which the engine seeds and
checkpoints, so a resumed run draws the same noise. Eval mode is deterministic: a number is in use when
``γ > 0.5``, and then holds its mean (:meth:`SparseVAE.code`).

Two latent spaces. The **code** is what the decoder reads: sparse, the sliders' space. The studio's canvas draws
its latents from N(0, I) (studio/core/generation/image_model.py) and walks, varies and truncates them there; a
dense Gaussian vector is nothing this decoder has seen, so the canvas talks to this network in a **noise** space
instead, and :func:`noise_to_code` turns a standard-normal number into an exact draw from the spike and slab:
it is 0 inside the central ``1 − α`` of the normal, and in the tails maps the tail probability onto the slab
(the slab's sign follows the noise's). The map is per number, continuous (the code reaches 0 at the edge of the
dead zone, so walks stay smooth) and monotone; :func:`code_to_noise` is its inverse on codes (code 0 ↦ noise 0),
so rebuilding a picture goes picture → code → noise → code → picture without loss. The family table points the
canvas at :meth:`SparseVAE.decode_noise` and :meth:`SparseVAE.encode_noise`.

"Active": a number is active in a code when ``|code_j| > ACTIVE_THRESHOLD`` (0.1). The same rule applies to a
plain VAE, whose code is its posterior mean μ (what its decoder reads in eval mode): both slabs are N(0, 1), so
0.1 is a tenth of the prior's spread in both models — a number held that close to 0 is one the decoder was
trained to read as noise around "unused" (a collapsed VAE dimension has μ ≈ 0 and σ ≈ 1). For this network the
rule only drops the in-use numbers whose mean happens to lie near 0: off numbers are exactly 0.

Layout (nanoGPT's model.py): :class:`SparseVaeConfig`, :class:`SparseVAE` — the plain :class:`~studio.core.nets.
vae.ConvVAE` with its encoder and decoder blocks reused as they are, one more head for γ — and
``@torch.no_grad()`` :meth:`~SparseVAE.generate` / :meth:`~SparseVAE.sample`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from studio.core.nets.vae import ConvVAE, VaeConfig

SPIKE_SHARPNESS = 50.0  # c in b = sigmoid(c (η + γ − 1)): Tonolini et al.'s value
ACTIVE_THRESHOLD = 0.1  # |code| above this counts as active (module docstring: the same rule as the plain VAE)
NOISE_LIMIT = 8.0  # |noise| and |code| are clipped here: a normal draw beyond 8 has probability 1e-15
_EPS = 1e-6  # keeps γ's logarithms finite


@dataclass(kw_only=True)
class SparseVaeConfig(VaeConfig):
    prior_active: float = 0.1  # α: the prior's chance that a latent number is in use (the slab), 0 < α < 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.prior_active < 1.0:
            raise ValueError("prior_active must be above 0 and below 1 (the share of latent numbers in use).")


class SparseVAE(ConvVAE):
    """pictures (B, 3, R, R) in [-1, 1] [+ labels (B,)] -> (reconstruction, mu, logvar, spike logits (B, z_dim)).

    The parent's blocks (``downs``, ``to_latent`` for (μ, log σ²), ``from_latent``, ``ups``, ``to_rgb``, the class
    embedding) are used unchanged; ``to_spike`` adds the logits of γ from the same features."""

    def __init__(self, config: SparseVaeConfig) -> None:
        if not isinstance(config, SparseVaeConfig):
            raise TypeError("SparseVAE takes a SparseVaeConfig: SparseVAE(SparseVaeConfig(name=value, ...)).")
        super().__init__(config)
        self.prior_active = config.prior_active
        self.to_spike = nn.Linear(self.to_latent.in_features, config.z_dim)  # features -> logit γ (B, z_dim)
        # start with every number in use (γ ≈ 0.95): the decoder first learns to read them, and the KL then
        # switches off what a picture does not need; starting at γ = 0.5 half the numbers flicker from step one
        nn.init.constant_(self.to_spike.bias, 3.0)

    def features(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 3, R, R) -> (B, C * 16 [+ width]): the parent's encoder blocks, before its latent head."""
        for down in self.downs:
            x = F.silu(down(x))  # (B, 3, R, R) -> ... -> (B, C, 4, 4)
        return torch.cat([x.flatten(1), *self._label_features(labels, x)], dim=1)

    def encode_sparse(
        self, x: torch.Tensor, labels: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, 3, R, R) -> (mu, logvar, spike logits), each (B, z_dim); γ = sigmoid(logits)."""
        h = self.features(x, labels)
        mu, logvar = self.to_latent(h).chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0), self.to_spike(h)

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(code, logvar), each (B, z_dim): the deterministic sparse code in place of the plain VAE's mean."""
        mu, logvar, logits = self.encode_sparse(x, labels)
        return self.code(mu, logits), logvar

    @staticmethod
    def code(mu: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """The eval-mode code: μ where γ > 0.5 (logit > 0), exactly 0 elsewhere. (B, z_dim)."""
        return torch.where(logits > 0, mu, torch.zeros_like(mu))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None):
        """(reconstruction, mu, logvar, logits). Training mode decodes a relaxed spike-and-slab sample of q(z|x)
        (module docstring; the noise from torch's global generator); eval mode decodes :meth:`code`."""
        mu, logvar, logits = self.encode_sparse(x, labels)  # (B, z_dim) each
        if self.training:
            slab = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            eta = torch.rand_like(mu)  # U(0, 1)
            spike = torch.sigmoid(SPIKE_SHARPNESS * (eta + torch.sigmoid(logits) - 1.0))  # ≈ Bernoulli(γ)
            z = spike * slab
        else:
            z = self.code(mu, logits)
        return self.decode(z, labels), mu, logvar, logits

    # -- the canvas's noise space ----------------------------------------------------------------------------
    def code_from_noise(self, noise: torch.Tensor) -> torch.Tensor:
        """Standard-normal noise (B, z_dim) -> codes (B, z_dim), a spike-and-slab draw (see :func:`noise_to_code`)."""
        return noise_to_code(noise, self.prior_active)

    def noise_from_code(self, code: torch.Tensor) -> torch.Tensor:
        """Codes -> the noise that :meth:`code_from_noise` maps back onto them (see :func:`code_to_noise`)."""
        return code_to_noise(code, self.prior_active)

    def decode_noise(self, noise: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The canvas's sampling entry: noise (B, z_dim) -> pictures (B, 3, R, R) in [-1, 1]."""
        return self.decode(self.code_from_noise(noise), labels)

    def encode_noise(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The canvas's encoding entry: pictures -> (noise (B, z_dim), logvar), the noise of their codes."""
        code, logvar = self.encode(x, labels)
        return self.noise_from_code(code), logvar

    @torch.no_grad()
    def sample(
        self, count: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``count`` new pictures from the spike-and-slab prior: (count, 3, R, R) in [-1, 1]. The noise is drawn on
        ``generator``'s device (the CPU when None), as the plain VAE's."""
        where = generator.device if generator is not None else torch.device("cpu")
        noise = torch.randn(count, self.config.z_dim, generator=generator, device=where)  # (count, z_dim)
        weight = self.to_rgb.weight
        return self.generate(self.code_from_noise(noise).to(device=weight.device, dtype=weight.dtype), labels)


# -- the prior --------------------------------------------------------------------------------------------------------
def spike_slab_kl(mu: torch.Tensor, logvar: torch.Tensor, logits: torch.Tensor, prior_active: float) -> torch.Tensor:
    """KL(q(z|x) ‖ spike-and-slab prior) per sample, summed over the latent numbers: (B,) (module docstring)."""
    mu, logvar = mu.float(), logvar.float()
    gamma = torch.sigmoid(logits.float()).clamp(_EPS, 1.0 - _EPS)
    slab = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)
    spike = gamma * (gamma / prior_active).log() + (1.0 - gamma) * ((1.0 - gamma) / (1.0 - prior_active)).log()
    return (gamma * slab + spike).sum(dim=1)


def active_mask(code: torch.Tensor, threshold: float = ACTIVE_THRESHOLD) -> torch.Tensor:
    """(B, z_dim) bool: which numbers of each code are active (module docstring; the same rule for a plain VAE)."""
    return code.abs() > threshold


def noise_to_code(noise: torch.Tensor, prior_active: float) -> torch.Tensor:
    """Standard-normal noise -> spike-and-slab codes, element-wise, exactly distributed as the prior.

    0 where ``|noise|`` is inside the central ``1 − α`` of N(0, 1); in the tails, the tail probability
    ``q = Φ(−|noise|) < α/2`` becomes the slab value ``Φ⁻¹(1 − q/α)`` (a half-normal given the tail), with the
    noise's sign. Computed in float64 from tail probabilities (``ndtr`` of negative values, ``ndtri`` of small
    ones stay accurate where ``1 − Φ`` would round to 0); returned in ``noise``'s dtype."""
    x = noise.double().clamp(-NOISE_LIMIT, NOISE_LIMIT)
    tail = torch.special.ndtr(-x.abs())  # q in (0, 0.5]
    inside = tail >= prior_active / 2.0
    slab = -torch.special.ndtri((tail / prior_active).clamp(max=0.5))  # >= 0; 0 at the dead zone's edge
    return torch.where(inside, torch.zeros_like(x), x.sign() * slab).to(noise.dtype)


def code_to_noise(code: torch.Tensor, prior_active: float) -> torch.Tensor:
    """The inverse of :func:`noise_to_code` on codes: 0 ↦ 0, else the tail noise that maps onto the code."""
    c = code.double().clamp(-NOISE_LIMIT, NOISE_LIMIT)
    tail = prior_active * torch.special.ndtr(-c.abs())  # in (0, α/2]
    noise = -torch.special.ndtri(tail)
    return torch.where(c == 0, torch.zeros_like(c), c.sign() * noise).to(code.dtype)


def dead_zone(prior_active: float) -> float:
    """|noise| at or below which the code is 0: the (1 − α/2) quantile of N(0, 1)."""
    return float(-torch.special.ndtri(torch.tensor(prior_active / 2.0, dtype=torch.float64)))


def build_sparse_vae(model: dict) -> SparseVAE:
    """The sparse VAE a run's ``describe()`` dict describes, untrained (see :func:`studio.core.nets.vae.build_vae`)."""
    return SparseVAE(SparseVaeConfig.from_dict(model))
