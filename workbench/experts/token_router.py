"""A token-level router trained on what it reads (P10 TrinityX's per-token routing) [ours].

TrinityX routes inside the Transformer, per token. The prompt router (``router``, ``mixture``) is trained on the
mean-pooled *last-layer* state of a prompt, so evaluated on a token's state entering an earlier decoder block it is
off its training distribution. The token router here is trained on exactly what the per-token mode
(``moe.MixtureOfExperts.token_routed``) feeds it:

* **One linear router per adapted decoder block** [ours] — not one shared router with a block embedding: the
  residual stream changes scale and basis with depth (early blocks carry near-token-identity states with a few
  very large coordinates, late blocks contextual ones), and an independent router per block fits each block's
  own distribution without a shared model having to learn the shift. It costs H·K + K parameters per block
  (≈ 1.7 k on a 576-wide backbone), nothing beside the LoRA adapters. Each is a ``router.Router`` with the
  mixture's own router settings (temperature, entropy and load-balance regularisers, γ), trained by
  ``router.train_router`` on standardised states; the standardisation is folded into the linear layer afterwards,
  so the stored router reads the raw states.
* **Training rows**: every prompt token (chat template applied, padding excluded) of the mixture's *train* split,
  its state entering each adapted block read with the adapters off, labelled with its prompt's axis. Template
  tokens shared by every prompt carry no axis at all; they are kept, so the router learns to stay undecided on them
  (they are routed during generation too).
* **Calibration**: one temperature per block fitted by held-out NLL on the tokens of the mixture's *calibration*
  rows (``geometry.fit_calibration`` with the geometric calibrators off: the prompt router's temperature scaling),
  and routing measured on the tokens of its *test* rows — the same calibration / test halves as the prompt router
  (the mixture folder's ``routing`` frame). Per block: token accuracy, ECE and Brier before and after the
  temperature (``mixture.calibration_report``), and a per-prompt accuracy (the argmax of the prompt's mean
  calibrated token distribution), comparable with the prompt router's held-out accuracy.

Stored beside the mixture as ``token_router.safetensors`` + ``token_router.json`` (``io.save_weights``: each file
written atomically, the JSON last, so a folder with the JSON holds a complete router), trained lazily on first use
(``ensure_token_router``) so the mixture's cache key and every cached mixture stay valid. Same rows and seed → same
weights (block b's router is trained with seed + b).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from workbench import WorkbenchError
from workbench.experts.router import Router, RouterConfig, train_router

NAME = "token_router"
TRAIN_ROWS = "train_rows"                 # the mixture's train rows (prompt, axis), when its builder saved them
TOKEN_CALIBRATORS = ("uncalibrated", "temperature")
EPOCHS, BATCH_SIZE, LR = 30, 256, 1e-2   # fixed [ours]; never chosen on the test rows
MIN_STEPS = 300                           # optimiser steps at least (small train sets get more epochs)
FORMAT = 2                                # of the stored report; a stored router of another format is retrained


@dataclass
class TokenRouter:
    routers: list[Router]                 # one per adapted block, in block order
    temperatures: list[float]             # fitted per block on the calibration rows' tokens
    info: dict                            # blocks, router config, key, report (the JSON beside the weights)

    def probs(self, block: int, hidden: torch.Tensor, calibrator: str = "temperature") -> torch.Tensor:
        """Routing distribution [..., K] of states ``hidden`` [..., H] entering adapted block ``block``."""
        check_calibrator(calibrator)
        t = self.temperatures[block] if calibrator == "temperature" else 1.0
        return torch.softmax(self.routers[block].net(hidden.float()) / t, -1)

    def to(self, device) -> "TokenRouter":
        self.routers = [r.to(device) for r in self.routers]
        return self

    @property
    def report(self) -> dict:
        return self.info["report"]

    def save(self, folder: str | Path) -> Path:
        from workbench.io import save_weights

        tensors = {f"block{b}.{name}": p.detach().cpu() for b, r in enumerate(self.routers)
                   for name, p in r.net.state_dict().items()}
        return save_weights(folder, NAME, tensors, {**self.info, "temperatures": list(self.temperatures)})

    @classmethod
    def load(cls, folder: str | Path) -> "TokenRouter":
        from workbench.io import load_weights

        tensors, info = load_weights(folder, NAME)
        config = RouterConfig(**{**info["config"], "gamma": tuple(info["config"]["gamma"])
                                 if info["config"].get("gamma") is not None else None})
        routers = []
        for b in range(len(info["temperatures"])):
            router = Router(config)
            state = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith(f"block{b}.")}
            try:
                router.net.load_state_dict(state)
            except RuntimeError as exc:
                raise WorkbenchError(f"{Path(folder) / (NAME + '.safetensors')}: block {b} does not fit its "
                                     f"config ({str(exc).splitlines()[0]})") from None
            routers.append(router.eval())
        return cls(routers, [float(t) for t in info["temperatures"]], info)

    @staticmethod
    def stored(folder: str | Path | None) -> bool:
        return folder is not None and all((Path(folder) / f"{NAME}.{ext}").is_file() for ext in ("safetensors",
                                                                                                  "json"))


def check_calibrator(calibrator: str) -> None:
    if calibrator not in TOKEN_CALIBRATORS:
        raise WorkbenchError(f"per-token routing calibrates with its own per-block temperature: calibrator "
                             f"{' or '.join(TOKEN_CALIBRATORS)}, not '{calibrator}'")


def fit_block_router(states: torch.Tensor, labels, config: RouterConfig, *, epochs: int = EPOCHS,
                     batch_size: int = BATCH_SIZE, seed: int = 0) -> Router:
    """A linear ``Router`` over token states [N, H]: trained by ``train_router`` (learning rate ``LR``, ``epochs``
    or as many as ``MIN_STEPS`` optimiser steps need) on the states standardised per coordinate (block inputs have
    a few very large coordinates), the standardisation then folded into the linear layer so the router reads raw
    states."""
    import math

    epochs = max(epochs, math.ceil(MIN_STEPS / math.ceil(len(states) / batch_size)))
    x = states.float()
    mean, std = x.mean(0), x.std(0).clamp_min(1e-4)
    router = train_router((x - mean) / std, labels, config, epochs=epochs, lr=LR, batch_size=batch_size, seed=seed)
    with torch.no_grad():
        w = router.net.weight / std
        router.net.bias.sub_(w @ mean)
        router.net.weight.copy_(w)
    return router.eval()


def train_token_router(train: list[torch.Tensor], y_train, cal: list[torch.Tensor], y_cal,
                       test: list[torch.Tensor], y_test, test_prompt, config: RouterConfig, *,
                       blocks: list[int] | None = None, epochs: int = EPOCHS, seed: int = 0,
                       prompt_router_correct=None, progress=None) -> TokenRouter:
    """Per block b: a router trained on ``train[b]`` [N, H] with token labels ``y_train``, its temperature fitted on
    ``cal[b]`` / ``y_cal``, measured on ``test[b]`` / ``y_test`` (``test_prompt``: each test token's prompt, for the
    per-prompt accuracy). The token accuracy's 95 % interval resamples test *prompts* (a token's neighbours are not
    independent of it); with ``prompt_router_correct`` (1 / 0 per test prompt, in ``np.unique(test_prompt)``
    order: the prompt router's top-1 on the same prompts) each block's per-prompt accuracy minus the prompt
    router's, in points, with a paired bootstrap interval over the prompts (``metrics.paired``). Works on any token
    states, so it is tested on a planted signal."""
    from workbench.experts.geometry import CalibrationConfig, fit_calibration
    from workbench.experts.mixture import calibration_report
    from workbench.metrics.paired import paired_change

    if not (len(train) == len(cal) == len(test)) or not train:
        raise WorkbenchError("need the train, calibration and test states of the same blocks")
    y_train, y_cal, y_test = (np.asarray(y, int) for y in (y_train, y_cal, y_test))
    test_prompt = np.asarray(test_prompt)
    if min(len(y_cal), len(y_test)) == 0:
        raise WorkbenchError("the token router needs calibration and test tokens")
    config = replace(config, hidden_size=train[0].shape[1], inner=0, level="token")
    routers, temperatures, rows = [], [], []
    off = CalibrationConfig(fractal=False, natural=False)
    for b in range(len(train)):
        router = fit_block_router(train[b], y_train, config, epochs=epochs, seed=seed + b)
        with torch.inference_mode():
            z_train, z_cal, z_test = (router.net(s.float()).double().numpy() for s in (train[b], cal[b], test[b]))
        fitted = fit_calibration(z_cal, y_cal, config=off)
        probs = fitted.probs(z_test)
        t = float(np.exp(fitted.temperature.a))
        row = {"block": int(blocks[b]) if blocks is not None else b, "temperature": t,
               "train_accuracy": float((z_train.argmax(1) == y_train).mean()),
               "test": calibration_report(probs, y_test),
               "accuracy_ci": prompt_cluster_ci(z_test.argmax(1) == y_test, test_prompt, seed=seed),
               "prompt_accuracy": prompt_accuracy(probs["temperature"], y_test, test_prompt)}
        if prompt_router_correct is not None:
            value, ci = paired_change(prompt_router_correct, prompt_hits(probs["temperature"], y_test, test_prompt),
                                      "points", seed=seed)
            row["vs_prompt_router"] = {"points": value, "ci": ci}
        rows.append(row)
        routers.append(router)
        temperatures.append(t)
        if progress:
            progress(b + 1, len(train))
    counts = np.bincount(y_test, minlength=config.n_experts)
    report = {"blocks": rows, "n_train_tokens": int(len(y_train)), "n_test_tokens": int(len(y_test)),
              "prompt_router_accuracy": (float(np.mean(prompt_router_correct)) if prompt_router_correct is not None
                                         else None),
              "n_test_prompts": int(len(np.unique(test_prompt))),
              "majority_accuracy": float(counts.max() / counts.sum()), "epochs": epochs, "seed": seed}
    info = {"config": asdict(config), "blocks": [r["block"] for r in rows], "report": report}
    return TokenRouter(routers, temperatures, info)


def prompt_hits(probs: np.ndarray, labels: np.ndarray, prompt: np.ndarray) -> np.ndarray:
    """1 / 0 per prompt (``np.unique(prompt)`` order): the argmax of its mean token distribution is its label."""
    return np.array([float(probs[prompt == p].mean(0).argmax() == labels[prompt == p][0])
                     for p in np.unique(prompt)])


def prompt_accuracy(probs: np.ndarray, labels: np.ndarray, prompt: np.ndarray) -> float:
    """Accuracy of the argmax of each prompt's mean token distribution against its (shared) label."""
    return float(prompt_hits(probs, labels, prompt).mean())


def prompt_cluster_ci(hits, prompt, *, n_boot: int = 2000, seed: int = 0, alpha: float = 0.05):
    """95 % percentile interval of a token accuracy, resampling whole prompts (cluster bootstrap) [ours]."""
    from workbench.metrics.bootstrap import bootstrap_ci

    return list(bootstrap_ci(np.mean, np.asarray(hits, float), clusters=np.asarray(prompt), n_resamples=n_boot,
                             confidence=1 - alpha, seed=seed))


@torch.inference_mode()
def block_token_states(model, tokenizer, blocks: list, prompts: list[str], *, batch_size: int = 16
                       ) -> tuple[list[torch.Tensor], np.ndarray]:
    """The states entering each of ``blocks`` (forward pre-hooks: what the per-token mode reads) for every prompt
    token, padding excluded: ([N_tokens, H] float32 on the CPU per block, the prompt index of each token)."""
    from workbench.experts.mixture import encode_prompts

    device = next(model.parameters()).device
    tokenizer.padding_side = "right"
    seen: list = [None] * len(blocks)
    out: list[list[torch.Tensor]] = [[] for _ in blocks]
    owner = []

    def hook_for(b):
        def hook(module, args, kwargs):
            seen[b] = args[0] if args else kwargs["hidden_states"]
        return hook

    handles = [blk.register_forward_pre_hook(hook_for(b), with_kwargs=True) for b, blk in enumerate(blocks)]
    try:
        for start in range(0, len(prompts), batch_size):
            enc = encode_prompts(tokenizer, prompts[start:start + batch_size], device=device)
            model(**enc)
            mask = enc["attention_mask"].bool()
            for b in range(len(blocks)):
                out[b].append(seen[b][mask].float().cpu())
            owner.append((torch.arange(mask.shape[0], device=mask.device).unsqueeze(1) + start)
                         .expand_as(mask)[mask].cpu())
    finally:
        for h in handles:
            h.remove()
    return [torch.cat(o) for o in out], torch.cat(owner).numpy()


def _rows(mixture, data):
    """(train prompts, train labels, routing frame) of a mixture: ``data``'s train split (or the folder's saved
    train rows) and the folder's calibration / test rows."""
    from workbench.io import load_frame

    folder = mixture.folder
    if data is None:
        if folder is None or not (Path(folder) / TRAIN_ROWS).exists():
            raise WorkbenchError(f"{folder}: no {NAME} and no saved train rows to train one; pass the mixture's data "
                                 f"(ensure_token_router(mixture, data))")
        data = load_frame(Path(folder) / TRAIN_ROWS)
    train = data[data["split"] == "train"] if "split" in data.columns else data
    index = {a: i for i, a in enumerate(mixture.axes)}
    if train.empty or not train["axis"].isin(list(index)).all():
        raise WorkbenchError(f"the token router needs train rows with an axis among {', '.join(mixture.axes)}")
    routing = load_frame(Path(folder) / "routing")
    return train["prompt"].tolist(), train["axis"].map(index).to_numpy(int), routing


def ensure_token_router(mixture, data=None, *, seed: int = 0, epochs: int = EPOCHS, progress=None) -> TokenRouter:
    """``mixture``'s token router: the one stored in its folder, or trained now and stored there (module doc).
    ``data``: the mixture's rows (its train split is used); default the folder's saved train rows. A stored router
    trained on other rows, settings or seed is an error, never silently replaced; one stored in an older ``FORMAT``
    is retrained."""
    from workbench.io import config_key

    if mixture.folder is None:
        raise WorkbenchError("the mixture has no folder to keep a token router in; load it from its folder")
    stored = TokenRouter.load(mixture.folder) if TokenRouter.stored(mixture.folder) else None
    current = stored if stored is not None and stored.info.get("format") == FORMAT else None
    if data is None and current is not None:
        return current
    prompts, labels, routing = _rows(mixture, data)
    key = config_key({"train": [prompts, labels.tolist()], "held": [routing["prompt"].tolist(),
                                                                     routing["split"].tolist()],
                      "router": asdict(mixture.router.config), "seed": seed, "epochs": epochs})
    if current is not None:
        if current.info.get("key") != key:
            raise WorkbenchError(f"{Path(mixture.folder) / (NAME + '.json')}: trained on other rows, settings or "
                                 f"seed than asked for; remove {NAME}.json and {NAME}.safetensors to retrain")
        return current
    blocks = mixture._blocks()
    cal, test = (routing[routing["split"] == s] for s in ("calibration", "test"))
    with mixture.model.disable_adapter():
        states = {name: block_token_states(mixture.model, mixture.tokenizer, blocks, p)
                  for name, p in (("train", prompts), ("calibration", cal["prompt"].tolist()),
                                  ("test", test["prompt"].tolist()))}
    y = {"train": labels, **{s: routing.loc[routing["split"] == s, "label"].to_numpy(int)
                             for s in ("calibration", "test")}}
    tokens = {name: y[name][owner] for name, (_, owner) in states.items()}
    router = train_token_router(states["train"][0], tokens["train"], states["calibration"][0], tokens["calibration"],
                                states["test"][0], tokens["test"], states["test"][1], mixture.router.config,
                                blocks=[block_index(mixture, b) for b in blocks], epochs=epochs, seed=seed,
                                prompt_router_correct=prompt_router_hits(test, mixture.axes), progress=progress)
    router.info.update({"key": key, "format": FORMAT, "train_prompts": len(prompts), "seed": seed})
    router.save(mixture.folder)
    return router


def prompt_router_hits(rows, axes) -> np.ndarray:
    """1 / 0 per row of a mixture's saved routing rows: the prompt router's top-1 is the row's axis."""
    logits = rows[[f"logit_{a}" for a in axes]].to_numpy(float)
    return (logits.argmax(1) == rows["label"].to_numpy(int)).astype(float)


def block_index(mixture, block) -> int:
    """The position of an adapted block among the backbone's decoder blocks (its layer number)."""
    for module in mixture.model.modules():
        if isinstance(module, torch.nn.ModuleList) and any(m is block for m in module):
            return next(i for i, m in enumerate(module) if m is block)
    raise WorkbenchError("an adapted block is not in any module list of the backbone")


def accuracy_rows(report: dict) -> list[dict]:
    """One row per block of a token router's report: block, token accuracy (a temperature does not move the
    argmax) with its 95 % interval over prompts, ECE before / after the block's temperature, per-prompt accuracy
    and its change against the prompt router in points with the paired interval (when measured)."""
    rows = []
    for r in report["blocks"]:
        vs = r.get("vs_prompt_router") or {}
        ci = vs.get("ci") or (None, None)
        rows.append({"block": r["block"], "token_accuracy": r["test"]["accuracy"],
                     "ci_low": r["accuracy_ci"][0], "ci_high": r["accuracy_ci"][1],
                     "ece_uncalibrated": r["test"]["uncalibrated"]["ece"], "ece": r["test"]["temperature"]["ece"],
                     "temperature": r["temperature"], "prompt_accuracy": r["prompt_accuracy"],
                     "vs_prompt_router_points": vs.get("points"), "vs_ci_low": ci[0], "vs_ci_high": ci[1]})
    return rows


__all__ = ["NAME", "TOKEN_CALIBRATORS", "TokenRouter", "accuracy_rows", "block_token_states", "check_calibrator",
           "ensure_token_router", "fit_block_router", "prompt_accuracy", "prompt_cluster_ci", "prompt_hits",
           "train_token_router"]
