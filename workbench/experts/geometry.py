"""The router's geometric calibrators (P3 AlignX: routing "calibrated using fractal and natural geometry").

The paper names the idea and two numbers (λ1 0.6 / λ2 0.4 calibration weights, ε 0.05 "clustering
granularity") and nothing else; everything below is **ours** and documented as such in SPECS.md.

Both calibrators are *input-conditioned temperature scaling*: an input's routing logits z are divided by its own
temperature ``T(u) = exp(a + b·u)``, where ``u`` is one standardised geometric feature of the input, and (a, b)
minimise the negative log-likelihood on held-out rows. With b = 0 this is plain temperature scaling, so each
calibrator can only help where its feature says something about how far the router is to be trusted — which is
exactly what the before/after numbers measure.

* **Fractal** feature [ours]: the box-counting dimension of the input's token hidden-state trajectory (the
  backbone's last-layer states, one point per token). The trajectory is centred, projected on its own top
  ``dims`` principal directions (those with any spread) and scaled into the unit ball; boxes start at the set's
  corner; N(s) is the number of occupied boxes of side s for
  s = ε, 2ε, 4ε, …; the dimension is the least-squares slope of log N(s) against log(1/s). A straight walk
  through representation space gives ~1, a trajectory that fills its subspace gives ~``dims``.
* **Natural** feature [ours]: the Fisher information of the routing distribution p = softmax(z(h)) about the
  pooled input h — the pull-back of the Fisher–Rao metric, ``tr(Jᵀ F J)`` with J = ∂z/∂h and
  F = diag(p) − p pᵀ — on a log scale. It is large where a small move of the input changes the routing a lot
  (near a decision boundary), the natural-geometry notion of a fragile decision.
* **Mixed** [ours]: p = λ1 · p_fractal + λ2 · p_natural (λ renormalised to sum to 1), AlignX's weights by
  default. Every calibrator can be switched off (``CalibrationConfig``) and is reported on its own.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from workbench import WorkbenchError

CALIBRATORS = ("uncalibrated", "temperature", "fractal", "natural", "mixed")


@dataclass(frozen=True)
class CalibrationConfig:
    fractal: bool = True
    natural: bool = True
    lambda_fractal: float = 0.6       # AlignX λ1
    lambda_natural: float = 0.4       # AlignX λ2
    eps: float = 0.05                 # AlignX ε: the smallest box side
    n_scales: int = 4                 # box sides ε, 2ε, 4ε, 8ε
    dims: int = 3                     # principal directions the trajectory is projected on

    def __post_init__(self):
        if not 0 < self.eps < 1:
            raise WorkbenchError("ε (the box side) must lie in (0, 1)")
        if self.n_scales < 2 or self.dims < 1:
            raise WorkbenchError("box counting needs at least 2 scales and 1 dimension")
        if self.lambda_fractal < 0 or self.lambda_natural < 0 or self.lambda_fractal + self.lambda_natural == 0:
            raise WorkbenchError("λ1 and λ2 must be non-negative and not both zero")

    def enabled(self) -> list[str]:
        names = ["uncalibrated", "temperature"] + [n for n, on in (("fractal", self.fractal),
                                                                   ("natural", self.natural)) if on]
        return names + (["mixed"] if self.fractal and self.natural else [])


def box_counting_dimension(points, *, eps: float = 0.05, n_scales: int = 4, dims: int = 3) -> float:
    """Box-counting dimension of a point set [T, H] (see the module doc); 0.0 for fewer than 2 distinct points."""
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise WorkbenchError(f"need a trajectory of shape [T, H]; got {x.shape}")
    x = x - x.mean(0)
    if len(x) < 2 or not np.any(x):
        return 0.0
    _, sv, vt = np.linalg.svd(x, full_matrices=False)
    keep = min(dims, int((sv > 1e-9 * sv[0]).sum()))        # directions with no spread would only add noise
    x = x @ vt[:keep].T
    x = x / np.linalg.norm(x, axis=1).max()
    x = x - x.min(0)                                          # boxes start at the set's corner
    sides = eps * 2.0 ** np.arange(n_scales)
    counts = [len(np.unique(np.floor(x / s).astype(np.int64), axis=0)) for s in sides]
    slope = np.polyfit(np.log(1.0 / sides), np.log(counts), 1)[0]
    return float(slope)


def trajectory_dimensions(hidden: torch.Tensor, mask: torch.Tensor, config: CalibrationConfig) -> list[float]:
    """The fractal feature of each row of a batch of token states [B, T, H] under its attention mask [B, T]."""
    out = []
    for states, m in zip(hidden, mask):
        out.append(box_counting_dimension(states[m.bool()].float().cpu().numpy(), eps=config.eps,
                                          n_scales=config.n_scales, dims=config.dims))
    return out


def fisher_sensitivity(router, features: torch.Tensor, *, batch_size: int = 256) -> np.ndarray:
    """log tr(Jᵀ F J) per row of pooled features [N, H] for a sequence-level router (see the module doc)."""
    out = []
    for start in range(0, len(features), batch_size):
        with torch.inference_mode(False), torch.enable_grad():      # also when called under inference mode
            h = features[start:start + batch_size].detach().float().clone().requires_grad_(True)
            z = router.logits(h)
            jac = torch.stack([torch.autograd.grad(z[:, k].sum(), h, retain_graph=True)[0]
                               for k in range(z.shape[1])], 1)                     # [B, K, H]
        p = torch.softmax(z.detach(), -1)
        fisher = torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1)                 # [B, K, K]
        gram = jac @ jac.transpose(1, 2)                                               # [B, K, K]
        out.append((fisher * gram).sum((1, 2)).clamp_min(1e-12).log().detach())
    return torch.cat(out).numpy()


@dataclass
class ConditionedTemperature:
    """T(u) = exp(a + b·(u − mean)/std), fitted by held-out NLL (b = 0 without a feature)."""
    a: float = 0.0
    b: float = 0.0
    mean: float = 0.0
    std: float = 1.0

    def temperatures(self, feature=None, n: int | None = None) -> np.ndarray:
        if feature is None:
            return np.full(n if n is not None else 1, np.exp(self.a))
        u = (np.asarray(feature, float) - self.mean) / self.std
        return np.exp(self.a + self.b * u)

    def probs(self, logits, feature=None) -> np.ndarray:
        z = np.asarray(logits, float)
        t = self.temperatures(feature, len(z))
        s = z / t[:, None]
        s = s - s.max(1, keepdims=True)
        e = np.exp(s)
        return e / e.sum(1, keepdims=True)

    @classmethod
    def fit(cls, logits, labels, feature=None, *, max_b: float = 3.0) -> "ConditionedTemperature":
        from scipy.optimize import minimize

        z, y = np.asarray(logits, float), np.asarray(labels)
        if z.ndim != 2 or len(z) != len(y) or len(z) == 0:
            raise WorkbenchError(f"need logits [N, K] and N labels; got shapes {z.shape} and {y.shape}")
        if feature is None:
            from workbench.metrics.calibration import fit_temperature

            return cls(a=float(np.log(fit_temperature(z, y))))
        f = np.asarray(feature, float)
        if len(f) != len(z) or not np.isfinite(f).all():
            raise WorkbenchError("the calibration feature needs one finite value per row")
        mean, std = float(f.mean()), float(f.std()) or 1.0
        u = (f - mean) / std

        def nll(params):
            a, b = params
            s = z / np.exp(a + b * u)[:, None]
            s = s - s.max(1, keepdims=True)
            return float(np.mean(np.log(np.exp(s).sum(1)) - s[np.arange(len(y)), y]))

        result = minimize(nll, x0=np.zeros(2), method="L-BFGS-B",
                          bounds=[(np.log(0.05), np.log(20.0)), (-max_b, max_b)])
        return cls(a=float(result.x[0]), b=float(result.x[1]), mean=mean, std=std)


@dataclass
class RouterCalibration:
    """The fitted calibrators of one router; ``probs`` applies each enabled one."""
    config: CalibrationConfig
    temperature: ConditionedTemperature
    fractal: ConditionedTemperature | None = None
    natural: ConditionedTemperature | None = None

    def probs(self, logits, fractal=None, natural=None) -> dict[str, np.ndarray]:
        from workbench.metrics.calibration import softmax

        out = {"uncalibrated": softmax(logits), "temperature": self.temperature.probs(logits)}
        if self.fractal is not None:
            out["fractal"] = self.fractal.probs(logits, _need(fractal, "fractal"))
        if self.natural is not None:
            out["natural"] = self.natural.probs(logits, _need(natural, "natural"))
        if self.fractal is not None and self.natural is not None:
            l1, l2 = self.config.lambda_fractal, self.config.lambda_natural
            out["mixed"] = (l1 * out["fractal"] + l2 * out["natural"]) / (l1 + l2)
        return out

    def components(self, calibrator: str, n: int, fractal=None, natural=None) -> list[tuple[float, np.ndarray]]:
        """``calibrator``'s distribution as a mixture of temperature softmaxes: [(weight, per-row temperature [n])]
        with p = Σ weight · softmax(z / T[row]). Lets a per-token router apply the prompt's calibration to every
        token's logits (``moe``'s token mode); over the prompts' own logits it reproduces ``probs``."""
        parts = {"uncalibrated": lambda: [(1.0, np.ones(n))],
                 "temperature": lambda: [(1.0, self.temperature.temperatures(None, n))]}
        if self.fractal is not None:
            parts["fractal"] = lambda: [(1.0, self.fractal.temperatures(_need(fractal, "fractal")))]
        if self.natural is not None:
            parts["natural"] = lambda: [(1.0, self.natural.temperatures(_need(natural, "natural")))]
        if self.fractal is not None and self.natural is not None:
            l1, l2 = self.config.lambda_fractal, self.config.lambda_natural
            parts["mixed"] = lambda: [(l1 / (l1 + l2), parts["fractal"]()[0][1]),
                                      (l2 / (l1 + l2), parts["natural"]()[0][1])]
        if calibrator not in parts:
            raise WorkbenchError(f"unknown or disabled calibrator '{calibrator}'; choose from {', '.join(parts)}")
        return parts[calibrator]()

    def to_dict(self) -> dict:
        return {"config": asdict(self.config), "temperature": asdict(self.temperature),
                "fractal": asdict(self.fractal) if self.fractal else None,
                "natural": asdict(self.natural) if self.natural else None}

    @classmethod
    def from_dict(cls, data: dict) -> "RouterCalibration":
        def part(key):
            return ConditionedTemperature(**data[key]) if data.get(key) else None

        return cls(CalibrationConfig(**data["config"]), part("temperature"), part("fractal"), part("natural"))


def _need(values, name):
    if values is None:
        raise WorkbenchError(f"the {name} calibrator needs its feature for every row")
    return values


def fit_calibration(logits, labels, *, fractal=None, natural=None,
                    config: CalibrationConfig | None = None) -> RouterCalibration:
    """Fit the enabled calibrators on held-out rows (logits [N, K], labels [N], the two features [N])."""
    config = config or CalibrationConfig()
    return RouterCalibration(
        config, ConditionedTemperature.fit(logits, labels),
        ConditionedTemperature.fit(logits, labels, _need(fractal, "fractal")) if config.fractal else None,
        ConditionedTemperature.fit(logits, labels, _need(natural, "natural")) if config.natural else None)


__all__ = ["CALIBRATORS", "CalibrationConfig", "ConditionedTemperature", "RouterCalibration",
           "box_counting_dimension", "fisher_sensitivity", "fit_calibration", "trajectory_dimensions"]
