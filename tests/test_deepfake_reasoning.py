import pytest

from workbench import WorkbenchError
from workbench.deepfake.reasoning import Evidence, reason


def test_evidence_text_and_reasoning_on_a_tiny_lm():
    from workbench.models import load

    e = Evidence({"audio": 1.5, "video": -0.7}, {"audio": 0.0, "video": 0.1}, agreement=0.82,
                 cues={"spectral flatness": 0.0123})
    text = e.text()
    assert "audio detector score: +1.50 (threshold +0.00, above)" in text
    assert "video detector score: -0.70 (threshold +0.10, below)" in text
    assert "audio–video agreement: +0.82" in text and "spectral flatness: 0.0123" in text
    out = reason(load("tiny-llama"), [e, Evidence({"audio": -2.0}, {"audio": 0.0})], rationale_tokens=4)
    assert len(out) == 2 and all(o["verdict"] in ("real", "fake") for o in out)
    assert all(0 < o["p_real"] < 1 and isinstance(o["rationale"], str) for o in out)
    assert out[0]["p_real"] != out[1]["p_real"]                  # the evidence is read
    with pytest.raises(WorkbenchError, match="no evidence"):
        reason(load("tiny-llama"), [])
