"""Axis experts on the chosen device and dtype, trained by the transformers Trainer with the profile's LoRA settings:
fresh_backbone goes through ``models.loaders.instantiate`` on ``pick_device()``; the Trainer's bf16 autocast,
gradient accumulation and checkpointing come from ``ExpertConfig``; an interrupted training resumes to the same
adapters; a rehearsal (random-weight Mistral of the real architecture) trains on the CPU."""
import json

import pytest
import torch
from safetensors.torch import load_file
from test_experts_train import rows

import workbench.profiles as profiles
from workbench import WorkbenchError
from workbench.cli.main import main
from workbench.experts.train import ExpertConfig, fresh_backbone, trainer_options, train_experts
from workbench.models import loaders


@pytest.fixture
def asked(monkeypatch):
    """Every ``instantiate`` call as (model, device, dtype); the model itself is made on the CPU in float32."""
    calls = []
    real = loaders.instantiate

    def spy(spec, auto_class, folder, device, dtype=None, **kw):
        calls.append((spec.name, device, dtype))
        return real(spec, auto_class, folder, "cpu", torch.float32, **kw)

    monkeypatch.setattr(loaders, "instantiate", spy)
    return calls


def test_fresh_backbone_asks_instantiate_for_the_chosen_device_and_its_half_dtype(asked, monkeypatch):
    monkeypatch.setattr(profiles, "_available", lambda device: True)     # a CUDA machine, as far as pick_device knows
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **kw: True)
    monkeypatch.setenv("WORKBENCH_DEVICE", "cuda:0")
    fresh_backbone("tiny-llama")
    assert asked == [("tiny-llama", "cuda:0", torch.bfloat16)]
    fresh_backbone("tiny-llama", device="cpu")
    assert asked[-1] == ("tiny-llama", "cpu", torch.float32)             # float32 on the CPU: today's numbers
    fresh_backbone("tiny-llama", device="cpu", dtype=torch.bfloat16)
    assert asked[-1] == ("tiny-llama", "cpu", torch.bfloat16)
    # the Trainer's options on that GPU: bf16 autocast (auto), the config's accumulation and checkpointing
    options = trainer_options(ExpertConfig(grad_accum=4, grad_checkpointing=True), "cuda:0")
    assert options["bf16"] and not options["use_cpu"]
    assert options["gradient_accumulation_steps"] == 4 and options["activation_checkpointing"]
    assert options["report_to"] == "none" and options["disable_tqdm"]
    cpu = trainer_options(ExpertConfig(), "cpu")
    assert not cpu["bf16"] and cpu["use_cpu"] and not cpu["activation_checkpointing"]
    assert trainer_options(ExpertConfig(bf16=True), "cpu")["bf16"]       # on the CPU only when asked
    assert not trainer_options(ExpertConfig(bf16=False), "cuda:0")["bf16"]


def test_training_runs_on_the_chosen_device_with_the_configs_trainer_arguments(asked, monkeypatch, tmp_path):
    import transformers

    seen = {}

    class Spy(transformers.Trainer):
        def train(self, *args, **kwargs):
            names = {id(p): n for n, p in self.model.named_parameters()}
            seen.setdefault("args", []).append(self.args)
            seen.setdefault("optimised", []).append([names[id(p)] for g in self.optimizer.param_groups
                                                     for p in g["params"]])
            return super().train(*args, **kwargs)

    monkeypatch.setattr(transformers, "Trainer", Spy)
    monkeypatch.setenv("WORKBENCH_DEVICE", "cpu")
    config = ExpertConfig(batch_size=2, grad_accum=2, grad_checkpointing=True, bf16=True,
                          axes=("helpful", "honest"))
    losses = train_experts("tiny-llama", rows(4), config, tmp_path, save_steps=100)
    assert asked == [("tiny-llama", "cpu", torch.float32)]
    args = seen["args"]
    assert [a.bf16 for a in args] == [True, True] and {a.gradient_accumulation_steps for a in args} == {2}
    assert all(a.activation_checkpointing and a.use_cpu for a in args)
    # only the active adapter's parameters are optimised, one axis per Trainer run
    for axis, other, names in (("helpful", "honest", seen["optimised"][0]), ("honest", "helpful", seen["optimised"][1])):
        assert names and all(f".{axis}." in n and "lora_" in n for n in names)
        assert not any(f".{other}." in n for n in names)
    # 4 rows, micro-batches of 2, 2 per step: one optimiser step per axis, one loss each
    assert {a: len(v) for a, v in losses.items()} == {"helpful": 1, "honest": 1}
    weights = load_file(tmp_path / "honest" / "adapter_model.safetensors")
    assert all(w.device.type == "cpu" and w.dtype == torch.float32 for w in weights.values())
    assert not (tmp_path / ".checkpoints").exists()                     # the work folder goes once all is saved


def test_an_interrupted_training_resumes_to_the_same_adapters_and_losses(tmp_path):
    config = ExpertConfig(epochs=2, lr=5e-3, batch_size=4, axes=("helpful", "harmless"))
    data = rows(8)                               # 2 steps per epoch, 4 per axis
    full = train_experts("tiny-llama", data, config, tmp_path / "full", save_steps=2)

    class Stop(Exception):
        pass

    reported = []

    def stop_at_seven(fraction, message):
        reported.append(message)
        if len(reported) == 7:      # the second axis' third step is logged, not yet saved; its checkpoint-2 is
            raise Stop

    work = tmp_path / "work"
    with pytest.raises(Stop):
        train_experts("tiny-llama", data, config, tmp_path / "part", save_steps=2, work=work,
                      progress=stop_at_seven)
    assert (work / "done" / "helpful" / "losses.json").is_file() and (work / "harmless" / "checkpoint-2").is_dir()
    resumed = []
    again = train_experts("tiny-llama", data, config, tmp_path / "part", save_steps=2, work=work, resume=True,
                          progress=lambda f, m: resumed.append(m))
    assert [m.split(",")[0] for m in resumed] == ["harmless: step 3/4", "harmless: step 4/4"]
    # exactly reproducible on the CPU: same per-step losses, same adapter weights, bit for bit
    assert again == full
    for axis in config.axes:
        a = load_file(tmp_path / "full" / axis / "adapter_model.safetensors")
        b = load_file(tmp_path / "part" / axis / "adapter_model.safetensors")
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((tmp_path / "part" / "experts.json").read_text())["losses"] == full
    assert not work.exists()
    # checkpoints of another training are not resumed from
    with pytest.raises(Stop):
        reported.clear()
        train_experts("tiny-llama", data, config, tmp_path / "x", save_steps=2, work=work, progress=stop_at_seven)
    with pytest.raises(WorkbenchError, match="checkpoints are from another training"):
        train_experts("tiny-llama", data, ExpertConfig(lr=1e-3, axes=config.axes), tmp_path / "x", work=work,
                      resume=True)


def test_a_second_training_into_a_busy_work_folder_trains_privately(tmp_path):
    import fcntl

    work = tmp_path / "work"
    work.mkdir()
    (work / "theirs").write_text("another process' checkpoints")
    with open(tmp_path / "work.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)             # another process is training there
        losses = train_experts("tiny-llama", rows(2), ExpertConfig(axes=("honest",)), tmp_path / "out", work=work,
                               resume=True)
    assert len(losses["honest"]) == 1 and (tmp_path / "out" / "honest" / "adapter_model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "work", "work.lock"]   # theirs untouched
    assert (work / "theirs").is_file()


def test_for_profile_gives_the_papers_lora_settings_and_the_cli_flags_reach_the_config(monkeypatch, tmp_path):
    paper = ExpertConfig.for_profile("paper")
    assert (paper.r, paper.alpha, paper.dropout, paper.lr) == (64, 32, 0.1, 5e-4)
    default = ExpertConfig.for_profile("default", epochs=3)
    assert (default.r, default.alpha, default.dropout, default.lr, default.epochs) == (8, 16, 0.05, 5e-4, 3)
    assert ExpertConfig.for_profile("paper", r=16).alpha == 32

    import workbench.experts.mixture as mixture

    got = []

    def fake_build(backbone, data, out, *, experts, **kw):
        got.append((experts, kw))
        raise WorkbenchError("stopped before training")

    monkeypatch.setattr(mixture, "build_mixture", fake_build)
    base = ["experts", "train", "--backbone", "tiny-llama", "--limit", "2", "--out", str(tmp_path / "m")]
    assert main(base) == 1
    assert (got[-1][0].r, got[-1][0].alpha, got[-1][0].dropout) == (8, 16, 0.05)   # the default profile's
    assert main(base + ["--rank", "4", "--alpha", "7", "--dropout", "0.2", "--grad-accum", "3",
                        "--grad-checkpointing", "--lr", "1e-3", "--device", "cpu", "--resume"]) == 1
    config, kw = got[-1]
    assert (config.r, config.alpha, config.dropout, config.grad_accum, config.grad_checkpointing, config.lr) == \
        (4, 7, 0.2, 3, True, 1e-3)                                               # α not tied to the rank
    assert kw["device"] == "cpu" and kw["resume"] and kw["work"] == tmp_path / "m" / ".checkpoints"
    monkeypatch.setenv("WORKBENCH_PROFILE", "paper")
    assert main(base + ["--rank", "16"]) == 1
    assert (got[-1][0].r, got[-1][0].alpha, got[-1][0].dropout) == (16, 32, 0.1)   # the paper profile's, r given
    assert main(base + ["--grad-accum", "0"]) == 1


def test_the_p3_p10_builders_take_the_profiles_settings(monkeypatch, tmp_path):
    import workbench.experts.artifacts as artifacts
    import workbench.experts.mixture as mixture
    import workbench.io as wio

    got = []
    monkeypatch.setattr(mixture, "build_mixture", lambda *a, experts, work, resume, **kw: got.append(
        (experts, work, resume)))
    monkeypatch.setattr(wio, "build_once", lambda folder, build, complete=None: build(tmp_path) or folder)
    for profile, r in (("paper", 64), ("default", 8)):
        artifacts.trained_mixture("P3", "tiny-llama", smoke=True, seed=0, profile=profile)
        experts, work, resume = got[-1]
        assert experts.r == r and experts.prefix and resume and work.parent.name == ".work"


def test_training_under_a_rehearsal_runs_a_random_weight_mistral_on_the_cpu(tmp_path):
    """The paper profile rehearsed: Mistral-7B-Instruct's real architecture, shrunk, random weights, bf16 weights
    on the CPU (the rehearsal's dtype; bf16 trains on the CPU, if slowly), the papers' LoRA settings; the frozen
    base stays bf16 while the LoRA parameters are float32."""
    from peft import PeftModel

    from workbench.models import rehearsal

    config = ExpertConfig.for_profile("paper", batch_size=4, max_length=64)
    with rehearsal.rehearsing("tiny", "bfloat16"):
        losses = train_experts("mistral-7b-instruct-v0.3", rows(4), config, tmp_path)
        model, _ = fresh_backbone("mistral-7b-instruct-v0.3")
        assert type(model).__name__ == "MistralForCausalLM" and model.dtype == torch.bfloat16
        assert next(model.parameters()).device.type == "cpu"
        peft_model = PeftModel.from_pretrained(model, tmp_path / "helpful", adapter_name="helpful")
    lora = {n: p for n, p in peft_model.named_parameters() if "lora_" in n}
    assert lora and all(p.dtype == torch.float32 for p in lora.values())
    assert all(p.dtype == torch.bfloat16 for n, p in peft_model.named_parameters() if "lora_" not in n)
    assert all(len(v) == 1 and torch.isfinite(torch.tensor(v)).all() for v in losses.values())
    meta = json.loads((tmp_path / "experts.json").read_text())
    assert (meta["config"]["r"], meta["config"]["alpha"], meta["config"]["dropout"]) == (64, 32, 0.1)
