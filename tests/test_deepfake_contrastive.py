import math

import numpy as np
import pytest
import torch

from workbench import WorkbenchError
from workbench.deepfake.detector import DetectorConfig, load_detector, save_detector, score, train_detector
from workbench.media.contrastive import nt_xent, supervised_contrastive
from workbench.metrics.eer import eer


def test_nt_xent_by_hand_and_pairing_matters():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # T = 1: each row's own pair has cosine 1, the other 0 → loss = log(1 + e^{-1}) both ways
    assert float(nt_xent(a, a.clone(), 1.0)) == pytest.approx(math.log(1 + math.exp(-1)))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 8, generator=g)
    paired = nt_xent(x, x + 0.05 * torch.randn(16, 8, generator=g))
    shuffled = nt_xent(x, x[torch.randperm(16, generator=g)])
    assert paired < shuffled
    with pytest.raises(WorkbenchError, match="same shape"):
        nt_xent(x, x[:, :4])


def test_supervised_contrastive_by_hand():
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    # anchors 0 and 1: positive similarity 1 against a negative of 0 → −log(e / (e + 1)); anchor 2 has no positive
    expected = -(1 - math.log(1 + math.e))
    assert float(supervised_contrastive(z, torch.tensor([1, 1, 0]), 1.0)) == pytest.approx(expected)
    assert float(supervised_contrastive(z, torch.tensor([0, 1, 2]), 1.0)) == 0.0


def planted(n, seed):
    """Clips with a latent c; audio and video are two noisy linear views of it; the label shifts c."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    c = rng.normal(size=(n, 6)) + 1.5 * (2 * y[:, None] - 1) * np.eye(6)[0]
    a_map, v_map = np.random.default_rng(99).normal(size=(6, 20)), np.random.default_rng(98).normal(size=(6, 24))
    return c @ a_map + 0.3 * rng.normal(size=(n, 20)), c @ v_map + 0.3 * rng.normal(size=(n, 24)), y


def test_planted_signal_loss_falls_positives_align_and_eer_is_low(tmp_path):
    audio, video, y = planted(400, 0)
    config = DetectorConfig(input_dims=(20, 24), modalities=("audio", "video"), epochs=25)
    model, history = train_detector([audio, video], y, config)
    assert history[-1]["total"] < 0.5 * history[0]["total"]
    assert history[-1]["cross_modal"] < history[0]["cross_modal"]
    ta, tv, ty = planted(200, 1)
    s, agreement = score(model, [ta, tv])
    assert eer(s, ty)[0] < 0.1
    za, zv = model.project([torch.tensor(ta, dtype=torch.float32), torch.tensor(tv, dtype=torch.float32)])
    sim = (za @ zv.T).detach().numpy()
    assert np.diag(sim).mean() > sim[~np.eye(len(sim), dtype=bool)].mean() + 0.2
    assert agreement.shape == (200,)
    save_detector(model, tmp_path / "det")
    again = load_detector(tmp_path / "det")
    np.testing.assert_allclose(score(again, [ta, tv])[0], s, rtol=1e-5)
    with pytest.raises(WorkbenchError, match="both bona fide"):
        train_detector([audio, video], np.ones(400, int), config)
    with pytest.raises(WorkbenchError, match="no detector.json"):
        load_detector(tmp_path)


def test_cross_modal_pairs_come_from_genuine_clips_only():
    """Fakes here are dubbed: each view is genuine but the video belongs to another clip. Aligning only genuine
    pairs leaves the dubbed pairs disagreeing; aligning every pair (xm_positives="all") would teach the opposite."""
    audio, video, _ = planted(300, 2)
    y = np.array([1, 0] * 150)
    dubbed = np.flatnonzero(y == 0)
    video[dubbed] = video[np.roll(dubbed, 1)]                       # shuffle the pictures of the fakes
    config = DetectorConfig(input_dims=(20, 24), modalities=("audio", "video"), epochs=25, lambda_sup=0.0)
    model, _ = train_detector([audio, video], y, config)
    _, agreement = score(model, [audio, video])
    assert agreement[y == 1].mean() > agreement[y == 0].mean() + 0.3
    with pytest.raises(WorkbenchError, match="xm_positives"):
        DetectorConfig(input_dims=(2,), xm_positives="some")
