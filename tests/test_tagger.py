"""The tagger's readout and loss: central differences through readout and model, accuracy recounted."""

import numpy as np
import pytest

from lstmlab.datasets import tasks
from lstmlab.numpy import GRU, LSTM
from lstmlab.numpy.gradcheck import check_gradients
from lstmlab.numpy.tagger import Tagger, accuracy, train


@pytest.mark.parametrize("model", [LSTM(4, 3, num_layers=2, bidirectional=True, seed=1), GRU(4, 2, seed=2)])
def test_loss_gradients_match_central_differences(model):
    tagger = Tagger(model, seed=3)
    tagger.params["readout_b"] += 0.3
    batch = tasks.spans(6, 3, np.random.default_rng(4))
    d = batch.d[:, :, 0]
    loss, grads = tagger.loss_and_gradients(batch.x, d, batch.mask)
    assert set(grads) == set(tagger.params) and loss > 0
    errors = check_gradients(lambda: tagger.loss_and_gradients(batch.x, d, batch.mask)[0],
                             tagger.params, grads)
    assert max(errors.values()) <= 1e-7, errors


def test_loss_is_the_masked_mean_cross_entropy():
    tagger = Tagger(LSTM(4, 2, seed=0))
    batch = tasks.spans(5, 4, np.random.default_rng(1))
    p = tagger.predict(batch.x)
    d, m = batch.d[:, :, 0], batch.mask
    expected = -(m * (d * np.log(p) + (1 - d) * np.log(1 - p))).sum() / m.sum()
    assert tagger.loss_and_gradients(batch.x, d, m)[0] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match=r"\(5, 4\), got \(5, 3\)"):
        tagger.loss_and_gradients(batch.x, d[:, :3], m)


def test_accuracy_counts_tagged_steps_and_training_moves_the_model():
    tagger = Tagger(LSTM(4, 3, bidirectional=True, seed=0))
    batch = tasks.spans(8, 50, np.random.default_rng(2))
    per_step, overall = accuracy(tagger, batch)
    right = ((tagger.predict(batch.x) > 0.5) == (batch.d[:, :, 0] > 0.5)) & (batch.mask > 0)
    assert overall == pytest.approx(right.sum() / batch.mask.sum())
    assert per_step[3] == pytest.approx(right[3].sum() / batch.mask[3].sum())
    before = tagger.params["weight_ih_l0"].copy()
    losses, seconds = train(tagger, lambda rng: tasks.spans(8, 16, rng), 30, 0.05, np.random.default_rng(3))
    assert not np.array_equal(before, tagger.model.params["weight_ih_l0"]) and seconds > 0
    assert losses[-5:].mean() < losses[:5].mean()
