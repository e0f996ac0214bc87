"""How good and how varied generated pictures are, measured offline: KID, FID, precision and recall.

Published FID and KID use an Inception network trained on ImageNet; the studio cannot download one, so the
features here come from a **fixed, seeded random convolutional network**: four conv stages of 3×3
filters with ReLU and average pooling, every filter made zero-mean so it responds to edges and texture
rather than to flat colour, plus the picture's colour mean and spread; per stage, the mean and standard
deviation of each channel (486 numbers per picture, always the same weights: they are drawn from seed 0).
Untrained high-pass conv nets respond to edges, texture and layout at four scales, which is what separates
blurry, noisy or collapsed samples from real ones (in the tests, a 4× blur raises FID from ~65 to ~970 while
a second real set stays at ~70), and they assume nothing about what the pictures show.

Limits, said plainly (the UI tooltip repeats them): the numbers are comparable between evaluations of one
run and between runs on the same dataset and resolution — never with published FID/KID values; the network
knows no semantics (a realistic texture with a wrong object can score well); with few validation images
(< 100) the scores are noisy. KID is the headline score because it is unbiased for small sets; FID is shown
for familiarity. Precision (how many samples look like some real picture) and recall (how much of the real
variety the samples cover; k-nearest-neighbour manifolds, Kynkäänniemi et al. 2019) make mode collapse
visible: precision stays up while recall falls.

Features are standardized with the real set's mean and spread, so all four numbers are relative to the
validation pictures a run is evaluated against (which stay the same through a run).
"""

from __future__ import annotations

import threading

import torch
import torch.nn.functional as F
from torch import nn

FEATURE_SIZE = 64  # pictures are resized to 64×64 before the network: scores at 32 px and 256 px are alike
_STAGES = (16, 32, 64, 128)
_SEED = 0
_KID_SUBSETS = 20
_KID_SUBSET_SIZE = 100
_NEIGHBOURS = 3

_lock = threading.Lock()
_networks: dict[str, FeatureNet] = {}


class FeatureNet(nn.Module):
    """The fixed random network: colour mean and spread, then per stage each channel's mean and spread."""

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(_SEED)
        layers = []
        channels = 3
        for width in _STAGES:
            conv = nn.Conv2d(channels, width, 3, padding=1)
            fan_in = channels * 9
            with torch.no_grad():  # He init drawn from our own generator: identical weights everywhere
                weight = torch.randn(conv.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5
                conv.weight.copy_(weight - weight.mean(dim=(2, 3), keepdim=True))  # high-pass: no flat colour
                assert conv.bias is not None  # Conv2d has one by default
                conv.bias.zero_()
            layers.append(conv)
            channels = width
        self.stages = nn.ModuleList(layers)
        self.requires_grad_(False)
        self.eval()

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [-1, 1] -> (N, 6 + 2 * sum(stages)) float32 features."""
        x = images.float()
        if x.shape[-1] != FEATURE_SIZE or x.shape[-2] != FEATURE_SIZE:
            x = F.interpolate(
                x, size=(FEATURE_SIZE, FEATURE_SIZE), mode="bilinear", antialias=True, align_corners=False
            )
        pooled = [x.mean(dim=(2, 3)), x.std(dim=(2, 3))]
        for index, conv in enumerate(self.stages):
            x = F.relu(conv(x))
            pooled.append(x.mean(dim=(2, 3)))
            pooled.append(x.std(dim=(2, 3)))
            if index < len(self.stages) - 1:
                x = F.avg_pool2d(x, 2)
        return torch.cat(pooled, dim=1)


def feature_net(device: torch.device | str) -> FeatureNet:
    """One network per device, built once (thread-safe: a training job and the canvas may both ask)."""
    key = str(torch.device(device))
    with _lock:
        net = _networks.get(key)
        if net is None:
            net = FeatureNet().to(device)
            _networks[key] = net
        return net


@torch.no_grad()
def features(images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Features of ``images`` (N, 3, H, W) in [-1, 1], on the images' device, in batches."""
    net = feature_net(images.device)
    return torch.cat([net(images[i : i + batch]) for i in range(0, len(images), batch)])


def kid(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Kernel Inception Distance (unbiased MMD² with the cubic polynomial kernel), averaged over subsets."""
    real, fake = real.float().cpu(), fake.float().cpu()  # standardized features: float32 is plenty
    size = min(_KID_SUBSET_SIZE, len(real), len(fake))
    dims = real.shape[1]
    generator = torch.Generator().manual_seed(_SEED)
    total = 0.0
    for _ in range(_KID_SUBSETS):
        x = real[torch.randperm(len(real), generator=generator)[:size]]
        y = fake[torch.randperm(len(fake), generator=generator)[:size]]
        k_xx = (x @ x.T / dims + 1) ** 3
        k_yy = (y @ y.T / dims + 1) ** 3
        k_xy = (x @ y.T / dims + 1) ** 3
        off_diagonal = size * (size - 1)
        total += float(
            (k_xx.sum() - k_xx.diagonal().sum()) / off_diagonal
            + (k_yy.sum() - k_yy.diagonal().sum()) / off_diagonal
            - 2 * k_xy.mean()
        )
    return total / _KID_SUBSETS


def fid(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to the two feature sets.

    tr(sqrt(S1 S2)) is the nuclear norm of X Yᵀ / sqrt((n1-1)(n2-1)) for the centred feature matrices X, Y
    (the non-zero eigenvalues of S1 S2 are the squared singular values of that n1×n2 matrix): exact, with
    no matrix square root, and an SVD of the small sample-by-sample matrix instead of a features-sized one.
    """
    real, fake = real.double().cpu(), fake.double().cpu()
    x, y = real - real.mean(0), fake - fake.mean(0)
    n_x, n_y = len(x) - 1, len(y) - 1
    cross = torch.linalg.svdvals(x @ y.T).sum() / (n_x * n_y) ** 0.5
    mean_gap = ((real.mean(0) - fake.mean(0)) ** 2).sum()
    return float(mean_gap + (x * x).sum() / n_x + (y * y).sum() / n_y - 2 * cross)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = _NEIGHBOURS) -> tuple[float, float]:
    """Share of fakes inside the real pictures' k-NN balls (precision), and of reals inside the fakes' (recall)."""
    real, fake = real.float().cpu(), fake.float().cpu()
    k = max(1, min(k, len(real) - 1, len(fake) - 1))

    def radii(points: torch.Tensor) -> torch.Tensor:
        distances = torch.cdist(points, points)
        return distances.kthvalue(k + 1, dim=1).values  # +1: a point is its own nearest neighbour

    def covered(points: torch.Tensor, centres: torch.Tensor, radius: torch.Tensor) -> float:
        return float((torch.cdist(points, centres) <= radius[None, :]).any(dim=1).float().mean())

    return covered(fake, real, radii(real)), covered(real, fake, radii(fake))


def quality_scores(real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
    """KID, FID, precision and recall of ``fake`` against ``real`` (both (N, 3, H, W) in [-1, 1], N >= 2).

    Deterministic: the same pictures always give the same four numbers.
    """
    if len(real) < 2 or len(fake) < 2:
        raise ValueError("Quality scores need at least two real and two generated pictures.")
    real_features, fake_features = features(real), features(fake.to(real.device))
    mean, spread = real_features.mean(0), real_features.std(0).clamp(min=1e-6)
    real_features, fake_features = (real_features - mean) / spread, (fake_features - mean) / spread
    precision, recall = precision_recall(real_features, fake_features)
    return {
        "kid": kid(real_features, fake_features),
        "fid": fid(real_features, fake_features),
        "precision": precision,
        "recall": recall,
    }
