"""Character language model: the NumPy model's gradients against central differences (float64) and
against torch (TorchCharLM in float64, autograd), errors, learning, and reproducible sampling."""

import numpy as np
import pytest
import torch

from lstmlab.apps import charlm
from lstmlab.datasets import text
from lstmlab.numpy.gradcheck import check_gradients, relative_error

V, H, T, B = 5, 3, 4, 2


def randomise(model, seed):
    """Random non-zero, asymmetric parameters (a shifted normal), in place."""
    rng = np.random.default_rng(seed)
    for array in model.params.values():
        array[...] = 0.6 * rng.normal(size=array.shape) + 0.1


def window(seed, steps=T, batch=B, vocab=V):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, size=(steps + 1, batch))
    return ids[:-1], ids[1:]


def random_state(seed, layers=1):
    rng = np.random.default_rng(seed)
    return tuple(0.5 * rng.normal(size=(layers, B, H)) for _ in range(2))


@pytest.mark.parametrize("layers", [1, 2])
def test_gradients_match_central_differences(layers):
    model = charlm.CharLM(V, H, num_layers=layers, seed=3)
    randomise(model, 4)
    inputs, targets = window(5)
    state = random_state(6, layers)
    model.forward(inputs, targets, state)
    grads = model.backward()
    assert set(grads) == set(model.params)
    errors = check_gradients(lambda: model.forward(inputs, targets, state)[0], model.params,
                             {k: g.copy() for k, g in grads.items()})
    assert max(errors.values()) <= 1e-7, errors


def torch_twin(layers, seed):
    torch.manual_seed(seed)
    module = charlm.TorchCharLM(V, H, num_layers=layers, dtype=torch.float64)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.6 * torch.randn_like(p) + 0.1)
    return module


@pytest.mark.parametrize("layers", [1, 2])
def test_numpy_twin_matches_torch_loss_logits_state_and_gradients(layers):
    module = torch_twin(layers, seed=layers)
    model = charlm.CharLM.from_torch(module)
    inputs, targets = window(7)
    h0, c0 = random_state(8, layers)
    logits_t, (hn_t, cn_t) = module(torch.from_numpy(inputs), (torch.tensor(h0), torch.tensor(c0)))
    loss_t = charlm.cross_entropy(logits_t, torch.from_numpy(targets))
    loss_t.backward()

    logits, _ = model.predict(inputs, (h0, c0))
    loss, (hn, cn) = model.forward(inputs, targets, (h0, c0))
    grads = model.backward()
    np.testing.assert_allclose(logits, logits_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    assert loss == pytest.approx(loss_t.item(), rel=1e-13)
    np.testing.assert_allclose(hn, hn_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(cn, cn_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    torch_grads = {name.replace("lstm.", ""): p.grad.numpy() for name, p in module.named_parameters()}
    torch_grads["weight_out"] = torch_grads.pop("out.weight")
    torch_grads["bias_out"] = torch_grads.pop("out.bias")
    assert set(torch_grads) == set(grads)
    for name, g in torch_grads.items():
        assert relative_error(grads[name], g) <= 1e-10, name


def test_the_lstm_sees_updates_made_through_params():
    model = charlm.CharLM(V, H)
    inputs, targets = window(9)
    before = model.forward(inputs, targets)[0]
    model.params["weight_hh_l0"] += 0.5
    assert model.forward(inputs, targets)[0] != before


def test_bad_input_is_named():
    model = charlm.CharLM(V, H)
    inputs, targets = window(10)
    with pytest.raises(ValueError, match=r"inputs must be a 2-d integer array \(T, B\), got float64"):
        model.forward(inputs.astype(float), targets)
    with pytest.raises(ValueError, match=r"targets must have shape \(4, 2\) like the inputs, got \(3, 2\)"):
        model.forward(inputs, targets[:3])
    with pytest.raises(ValueError, match=r"inputs must lie in \[0, 4\]"):
        model.forward(inputs + V, targets)
    with pytest.raises(RuntimeError, match="backward\\(\\) needs a forward\\(\\) first"):
        charlm.CharLM(V, H).backward()
    with pytest.raises(ValueError, match=r"inputs must be a \(T, B\) long tensor"):
        charlm.TorchCharLM(V, H)(torch.zeros(4, 2))


def test_numpy_gradient_descent_learns_a_repeating_string():
    vocab = text.Vocabulary("abcab")
    ids = vocab.encode("abcab" * 8)
    inputs, targets = ids[:-1].reshape(-1, 1), ids[1:].reshape(-1, 1)
    model = charlm.CharLM(vocab.size, 8, seed=1)
    first = model.forward(inputs, targets)[0]
    for _ in range(150):
        model.forward(inputs, targets)
        for name, g in model.backward().items():
            model.params[name] -= 0.5 * g
    last = model.forward(inputs, targets)[0]
    # the string is deterministic after its first character: the error must fall far below ln(3)
    assert first > 1.0 and last < 0.2


def test_torch_training_lowers_the_validation_error_and_keeps_the_best():
    source = ("the cat sat on the mat. " * 60)
    vocab = text.Vocabulary(source)
    train_ids, valid_ids = text.split(vocab.encode(source), 0.2)
    setup = {"hidden": 16, "layers": 1, "dropout": 0.0, "steps": 12, "batch": 4, "lr": 0.02,
             "clip": 1.0, "epochs": 6, "eval_every": 10, "max_seconds": None, "threads": 1}
    model, history = charlm.train(train_ids, valid_ids, vocab.size, setup, seed=0)
    losses = [e["valid_loss"] for e in history]
    assert losses[-1] < 0.5 * losses[0] and not model.training
    assert charlm.evaluate(model, valid_ids) == pytest.approx(min(losses), rel=1e-12)
    assert history[-1]["characters"] == 6 * text.streams(train_ids, 4)[0].size


def test_unigram_cross_entropy_by_hand():
    train_ids, valid_ids = np.array([0, 0, 0, 1]), np.array([0, 1, 2])
    # counts + 1 = (4, 2, 1) of 7
    expected = -(np.log(4 / 7) + np.log(2 / 7) + np.log(1 / 7)) / 3
    assert charlm.unigram_cross_entropy(train_ids, valid_ids, 3) == pytest.approx(expected, rel=1e-14)


def test_sampling_is_reproducible_and_greedy_when_cold():
    vocab = text.Vocabulary("abcde")
    model = charlm.CharLM(vocab.size, H, seed=2)
    randomise(model, 11)
    one = charlm.sample(model, vocab, "ab", 40, 1.0, np.random.default_rng(5))
    again = charlm.sample(model, vocab, "ab", 40, 1.0, np.random.default_rng(5))
    other = charlm.sample(model, vocab, "ab", 40, 1.0, np.random.default_rng(6))
    assert one == again and one != other and len(one) == 40 and set(one) <= set(vocab.chars)
    # at a tiny temperature every draw is the most likely character: follow the argmax by hand
    logits, state = model.predict(vocab.encode("ab")[:, None])
    greedy = []
    for _ in range(15):
        k = int(np.argmax(logits[-1, 0]))
        greedy.append(vocab.chars[k])
        logits, state = model.predict(np.array([[k]]), state)
    assert charlm.sample(model, vocab, "ab", 15, 1e-3, np.random.default_rng(0)) == "".join(greedy)
    assert charlm.sample(model, vocab, "ab", 0, 1.0, np.random.default_rng(0)) == ""
    with pytest.raises(ValueError, match="prime must be a non-empty string"):
        charlm.sample(model, vocab, "", 5, 1.0, np.random.default_rng(0))
