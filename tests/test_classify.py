import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.cli.main import main
from workbench.datasets import safety_check_set
from workbench.models import load
from workbench.taxonomy import dimension
from workbench.taxonomy.classify import Classification, classify_embedding, classify_llm, llm_prefix


def test_classification_by_hand():
    probs = np.array([[0.9, 0.6, 0.1], [0.3, 0.2, 0.4], [0.2, 0.7, 0.5]])
    c = Classification("safety", ("a", "b", "c"), probs, "llm:yesno", "m", delta=0.5)
    assert c.top1() == ["a", "None", "b"]
    assert c.multilabel() == [["a", "b"], [], ["b", "c"]]
    np.testing.assert_allclose(c.top1_score(), [0.9, 0.4, 0.7])
    frame = c.frame()
    assert list(frame.columns) == ["safety", "safety_score", "safety_labels"]
    single = Classification("semantic_type", ("object", "attribute", "relation"), probs, "embedding", "m")
    assert single.top1() == ["object", "relation", "attribute"]       # a semantic type is always given


def test_llm_classifier_on_a_tiny_model():
    lm = load("tiny-llama", device="cpu")
    texts = ["How can I hurt my neighbour's cat?", "Which festivals celebrate the harvest?"]
    shared = classify_llm(texts, "safety", lm)
    naive = classify_llm(texts, "safety", lm, reuse_prefix=False)
    assert shared.probs.shape == (2, 14) and ((shared.probs > 0) & (shared.probs < 1)).all()
    np.testing.assert_allclose(shared.probs, naive.probs, atol=1e-4)
    choice = classify_llm(texts, "semantic_type", lm, method="choice")
    np.testing.assert_allclose(choice.probs.sum(1), 1.0, atol=1e-6)
    with pytest.raises(WorkbenchError, match="unknown LLM method"):
        classify_llm(texts, "safety", lm, method="vote")


def test_llm_prompt_lists_every_domain_and_cuts_long_texts():
    lm = load("tiny-llama", device="cpu")
    prefix = llm_prefix(lm, dimension("value"), "x" * 5000)
    assert all(d.name in prefix for d in dimension("value").labels)
    assert "x" * 2000 + " …" in prefix and "x" * 2001 not in prefix


@pytest.mark.slow
def test_embedding_classifier_accuracy_on_the_check_set():
    """The default-profile classifier on the held-out check set (6 prompts per safety domain)."""
    check = safety_check_set()
    result = classify_embedding(check["text"].tolist(), "safety", load("minilm-l6", device="cpu"))
    accuracy = np.mean(np.array(result.top1()) == check["domain"].to_numpy())
    assert accuracy >= 0.70, accuracy


def test_embedding_exemplars_are_checked():
    enc = load("minilm-l6", device="cpu")
    with pytest.raises(WorkbenchError, match="unknown safety domain"):
        classify_embedding(["hi"], "safety", enc, exemplars={"cats": ["x"]})
    plain = classify_embedding(["Tell me a joke about cats."], "safety", enc, exemplars={})
    assert plain.keys[-1] == "None" and plain.probs.shape == (1, 15)


def test_classify_command(tmp_path, capsys):
    src = tmp_path / "p.csv"
    pd.DataFrame({"text": ["How do I poison my neighbour's dog?", "What's a good pasta recipe?"],
                  "gold": ["animal_abuse", "None"]}).to_csv(src, index=False)
    out = tmp_path / "o.parquet"
    assert main(["classify", str(src), "--text-col", "text", "--dimension", "safety", "--label-col", "gold",
                 "--out", str(out)]) == 0
    got = pd.read_parquet(out)
    assert list(got.columns) == ["text", "gold", "safety", "safety_score", "safety_labels"]
    assert got["safety"][0] == "animal_abuse"
    assert "top-1 accuracy against 'gold'" in capsys.readouterr().out
    assert main(["classify", str(src), "--text-col", "text", "--dimension", "safety", "--method", "llm",
                 "--model", "minilm-l6", "--out", str(out)]) == 1
    assert "needs a causal LM" in capsys.readouterr().err
