"""lstmlab.torch: parity with torch.nn and with lstmlab.numpy (float64, every option that runs on the
CPU; padded and packed batches, projections), torch.nn's contract (state dicts both ways, nn.RNNBase's
attributes, torch.compile, torch.export, clear refusals), gradcheck of the fused steps, the Triton
kernels in Triton's CPU interpreter where triton is installed, and on CUDA, at every optimisation
level, float32 parity with cuDNN and bfloat16 within a bound of float64 that cuDNN meets too."""

import importlib.util
import itertools
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

import lstmlab.numpy as lnp
from lstmlab.numpy import lstm as np_lstm
from lstmlab.torch import GRU, LSTM, RNN, GRUStep, LSTMStep
from lstmlab.torch import functions as F
from lstmlab.torch.benchmark import LEVELS as BENCHMARK_LEVELS
from lstmlab.torch.benchmark import float32_precision, set_float32_precision

T, B, D, H = 5, 3, 4, 3
TORCH = {RNN: torch.nn.RNN, LSTM: torch.nn.LSTM, GRU: torch.nn.GRU}
NUMPY = {RNN: lnp.RNN, LSTM: lnp.LSTM, GRU: lnp.GRU}
OPTIONS = [dict(input_projection=p, fused=f) for p, f in itertools.product([True, False], repeat=2)]
CUDA = torch.cuda.is_available()


def randomise(module, seed):
    """Random non-zero, asymmetric parameters (a shifted normal), biases included."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_((0.6 * torch.randn(p.shape, generator=gen, dtype=torch.float64) + 0.1).to(p))
    return module


def pair(cls, seed=0, dtype=torch.float64, device="cpu", options=None, **kw):
    """A random torch.nn module and ours with its state dict."""
    reference = randomise(TORCH[cls](D, H, dtype=torch.float64, **kw), seed).to(device, dtype)
    ours = cls(D, H, dtype=dtype, device=device, **kw, **(options or {}))
    ours.load_state_dict(reference.state_dict())
    return reference, ours


def flat(output):
    """A module's output as one tensor: a PackedSequence's data."""
    return output.data if isinstance(output, PackedSequence) else output


def run_with_grads(module, x, state, weights):
    """Forward, a weighted sum of every output as the loss, backward; returns outputs and grads.
    ``x`` may be a PackedSequence: its data is then the input whose gradient is returned."""
    leaves = [flat(x)] + ([state] if isinstance(state, torch.Tensor) else list(state or ()))
    leaves = [t.detach().clone().requires_grad_() for t in leaves]
    module.zero_grad()
    state = None if state is None else (leaves[1] if isinstance(state, torch.Tensor) else tuple(leaves[1:]))
    if isinstance(x, PackedSequence):
        out, final = module(PackedSequence(leaves[0], x.batch_sizes, x.sorted_indices, x.unsorted_indices),
                            state)
    else:
        out, final = module(leaves[0], state)
    outputs = [flat(out)] + ([final] if isinstance(final, torch.Tensor) else list(final))
    sum(((o * w).sum() for o, w in zip(outputs, weights))).backward()
    grads = [t.grad for t in leaves] + [p.grad for p in module.parameters()]
    return [o.detach() for o in outputs], grads


def loss_weights(outputs, seed=3):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(o.shape, generator=gen, dtype=torch.float64).to(o) for o in outputs]


def initial_state(cls, num_layers, dirs, batch=B, dtype=torch.float64, seed=1, proj_size=0):
    gen = torch.Generator().manual_seed(seed)
    shape = (num_layers * dirs, batch, H)
    h0 = torch.randn(shape[:2] + (proj_size or H,), generator=gen, dtype=torch.float64).to(dtype)
    return (h0, torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype)) if cls is LSTM else h0


def assert_parity(reference, ours, x, state, rtol, atol):
    with torch.no_grad():
        out, final = reference(x, state)
        if isinstance(x, PackedSequence):  # packed out, in the same order as torch.nn's
            mine = ours(x, state)[0]
            for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
                assert torch.equal(getattr(mine, field), getattr(out, field)) \
                    if getattr(out, field) is not None else getattr(mine, field) is None
    weights = loss_weights([flat(out)] + ([final] if isinstance(final, torch.Tensor) else list(final)))
    out_ref, grads_ref = run_with_grads(reference, x, state, weights)
    out_ours, grads_ours = run_with_grads(ours, x, state, weights)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in reference.named_parameters()]
    assert len(out_ours + grads_ours) == len(out_ref + grads_ref)
    for a, b in zip(out_ours + grads_ours, out_ref + grads_ref):
        torch.testing.assert_close(a.double(), b.double(), rtol=rtol, atol=atol)


def ragged(lengths, seed=5, enforce_sorted=False):
    """A packed batch of random sequences with these lengths, in this order."""
    gen = torch.Generator().manual_seed(seed)
    padded = torch.randn(max(lengths), len(lengths), D, dtype=torch.float64, generator=gen)
    return pack_padded_sequence(padded, torch.tensor(lengths), enforce_sorted=enforce_sorted)


#: the longest sequence is not first, two are equally long, one has a single step
LENGTHS = [3, 5, 1, 5, 2]


# ---------------------------------------------------------------------------- CPU, float64
@pytest.mark.parametrize("cls", [RNN, LSTM, GRU], ids=lambda c: c.__name__)
@pytest.mark.parametrize("num_layers,bidirectional,bias", list(itertools.product([1, 2], [False, True],
                                                                                  [False, True])))
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: f"proj{int(o['input_projection'])}"
                                                           f"-fused{int(o['fused'])}")
def test_matches_torch_nn_forward_and_all_gradients(cls, num_layers, bidirectional, bias, options):
    reference, ours = pair(cls, seed=num_layers + 2 * bidirectional, options=options,
                           num_layers=num_layers, bidirectional=bidirectional, bias=bias)
    x = torch.randn(T, B, D, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    # The initial state is given in half of the cases, zeros (None) in the other.
    state = initial_state(cls, num_layers, 2 if bidirectional else 1) if bias == bidirectional else None
    assert_parity(reference, ours, x, state, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU], ids=lambda c: c.__name__)
def test_batch_first_unbatched_relu_and_eval_dropout_match_torch_nn(cls):
    extra = {"nonlinearity": "relu"} if cls is RNN else {}
    reference, ours = pair(cls, seed=4, num_layers=2, bidirectional=True, batch_first=True, dropout=0.3,
                           **extra)
    reference.eval(), ours.eval()
    x = torch.randn(B, T, D, dtype=torch.float64)
    assert_parity(reference, ours, x, initial_state(cls, 2, 2), rtol=1e-10, atol=1e-12)
    unbatched = torch.randn(T, D, dtype=torch.float64)
    state = initial_state(cls, 2, 2, batch=1)
    state = tuple(s[:, 0] for s in state) if cls is LSTM else state[:, 0]
    out_ref, final_ref = reference(unbatched, state)
    out, final = ours(unbatched, state)
    torch.testing.assert_close(out, out_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(final, final_ref, rtol=1e-12, atol=1e-12)


def test_training_dropout_acts_between_layers_only():
    _, ours = pair(LSTM, num_layers=2, dropout=0.5)
    x = torch.randn(T, B, D, dtype=torch.float64)
    torch.manual_seed(0)
    dropped = ours(x)[0]
    ours.eval()
    assert not torch.allclose(dropped, ours(x)[0])
    single = LSTM(D, H, dropout=0.5, dtype=torch.float64)  # one layer: nothing lies between layers
    torch.testing.assert_close(single.train()(x)[0], single.eval()(x)[0], rtol=0, atol=0)


@pytest.mark.parametrize("name", [n for n in np_lstm.VARIANTS if n != "FGR"])
@pytest.mark.parametrize("fused", [True, False])
def test_lstm_variants_match_lstmlab_numpy(name, fused):
    rng = np.random.default_rng(2)
    params = {k: 0.6 * rng.normal(size=s) + 0.1 for k, s in np_lstm.param_shapes(D, H, name).items()}
    x = rng.normal(size=(T, B, D))
    state0 = (rng.normal(size=(B, H)), rng.normal(size=(B, H)))
    g_out, g_h, g_c = rng.normal(size=(T, B, H)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    out, (h_n, c_n), cache = np_lstm.forward(x, state0, params, name)
    dx, (dh0, dc0), grads = np_lstm.backward(g_out, (g_h, g_c), cache)

    ours = LSTM(D, H, dtype=torch.float64, variant=name, fused=fused)
    names = {"w_ih": "weight_ih_l0", "w_hh": "weight_hh_l0", "b_ih": "bias_ih_l0", "b_hh": "bias_hh_l0",
             "w_peep": "weight_peep_l0"}
    ours.load_state_dict({names[k]: torch.tensor(v) for k, v in params.items()})
    weights = [torch.tensor(w) for w in (g_out, g_h, g_c)]
    state = tuple(torch.tensor(s)[None] for s in state0)
    outputs, torch_grads = run_with_grads(ours, torch.tensor(x), state, weights)
    expected = [out, h_n[None], c_n[None], dx, dh0[None], dc0[None]]
    expected += [grads[k] for k in params]
    assert [n for n, _ in ours.named_parameters()] == [names[k] for k in params]
    for got, want in zip(outputs + torch_grads, expected):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU], ids=lambda c: c.__name__)
def test_matches_lstmlab_numpy_models(cls):
    _, ours = pair(cls, seed=6, num_layers=2, bidirectional=True)
    model = NUMPY[cls].from_torch(ours)  # same class name, parameter names and options as torch.nn
    x = torch.randn(T, B, D, dtype=torch.float64)
    out, final = ours(x)
    out_np, final_np = model.forward(x.numpy())
    np.testing.assert_allclose(out.detach().numpy(), out_np, rtol=1e-12, atol=1e-12)
    weights = loss_weights([out])
    (out * weights[0]).sum().backward()
    model.backward(weights[0].numpy())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), model.grads[name], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in np_lstm.VARIANTS if n != "FGR"])
def test_lstm_step_gradcheck(name):
    variant = F.lstm_variant(name)
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(B, 4 * H, dtype=torch.float64, generator=gen, requires_grad=True)
    c = torch.randn(B, H, dtype=torch.float64, generator=gen, requires_grad=True)
    peep = (torch.randn(3, H, dtype=torch.float64, generator=gen, requires_grad=True)
            if variant.peepholes else None)
    assert torch.autograd.gradcheck(lambda a, c, p: LSTMStep.apply(a, c, p, variant), (a, c, peep))
    h, c_new = LSTMStep.apply(a, c, peep, variant)
    h_ref, c_ref, _ = F.lstm_pointwise(a, c, peep, variant)
    torch.testing.assert_close((h, c_new), (h_ref, c_ref), rtol=0, atol=0)


def test_gru_step_gradcheck():
    gen = torch.Generator().manual_seed(0)
    args = [torch.randn(shape, dtype=torch.float64, generator=gen, requires_grad=True)
            for shape in ((B, 3 * H), (B, 3 * H), (B, H))]
    assert torch.autograd.gradcheck(GRUStep.apply, tuple(args))
    torch.testing.assert_close(GRUStep.apply(*args), F.gru_pointwise(*args)[0], rtol=0, atol=0)


def test_init_options_and_clear_errors():
    model = LSTM(D, 8, num_layers=2, bidirectional=True)
    reference = torch.nn.LSTM(D, 8, num_layers=2, bidirectional=True)
    assert list(model.state_dict()) == list(reference.state_dict())
    assert all(p.abs().max() <= 8 ** -0.5 for p in model.parameters())
    assert "weight_peep_l0" in dict(LSTM(D, H, variant="vanilla").named_parameters())
    assert "fused=False" in repr(GRU(D, H, fused=False))
    with pytest.raises(ValueError, match=r"D=4.*\(5, 3, 7\)"):
        model(torch.zeros(T, B, 7))
    with pytest.raises(TypeError, match="float64.*float32"):
        model(torch.zeros(T, B, D, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"c_0 must have shape \(4, 3, 8\), got \(2, 3, 8\)"):
        model(torch.zeros(T, B, D), (torch.zeros(4, B, 8), torch.zeros(2, B, 8)))
    with pytest.raises(TypeError, match=r"tuple \(h_0, c_0\)"):
        model(torch.zeros(T, B, D), torch.zeros(4, B, 8))
    with pytest.raises(ValueError, match="FGR.*use lstmlab.numpy.lstm"):
        LSTM(D, H, variant="FGR")
    with pytest.raises(ValueError, match=r"proj_size must be an integer in \[0, hidden_size=3\), got 3"):
        LSTM(D, H, proj_size=H)
    with pytest.raises(ValueError, match="proj_size=2: projections exist for LSTM only.*linear layer"):
        GRU(D, H, proj_size=2)
    with pytest.raises(ValueError, match=r"h_0 must have shape \(1, 3, 2\), got \(1, 3, 3\)"):
        LSTM(D, H, proj_size=2)(torch.zeros(T, B, D), (torch.zeros(1, B, H), torch.zeros(1, B, H)))
    with pytest.raises(ValueError, match=r"PackedSequence's data must be \(N, D\) with D=4, got shape \(9, 7"):
        LSTM(D, H)(pack_padded_sequence(torch.zeros(3, 4, 7), torch.tensor([3, 2, 2, 2])))
    with pytest.raises(TypeError, match="torch.jit.script cannot compile.*use torch.compile"):
        torch.jit.script(GRU(D, H))
    with pytest.raises(ValueError, match="fused"):
        GRU(D, H, fused=False, triton=True)
    with pytest.raises(ValueError, match="triton=True.*variant NP.*use triton=None or False"):
        LSTM(D, H, variant="vanilla", triton=True)
    with pytest.raises(ValueError, match="triton=True.*nothing to fuse.*use triton=None"):
        RNN(D, H, triton=True)
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(D, H, nonlinearity="sigmoid")
    # The CUDA-only options are harmless elsewhere: the CPU runs the exact torch step.
    _, ours = pair(GRU, options=dict(triton=True, cuda_graphs=True))
    reference, plain = pair(GRU)
    x = torch.randn(T, B, D, dtype=torch.float64)
    torch.testing.assert_close(ours(x), plain(x), rtol=0, atol=0)


# ---------------------------------------------------------------------------- torch.nn's contract
@pytest.mark.parametrize("cls", [RNN, LSTM, GRU], ids=lambda c: c.__name__)
@pytest.mark.parametrize("num_layers,bidirectional", list(itertools.product([1, 2], [False, True])))
@pytest.mark.parametrize("options", OPTIONS[::3], ids=lambda o: f"proj{int(o['input_projection'])}"
                                                               f"-fused{int(o['fused'])}")
def test_packed_sequences_match_torch_nn(cls, num_layers, bidirectional, options):
    """Ragged batch in, PackedSequence out: outputs, final states (in the caller's order) and the
    gradients of the packed input, the initial state and every parameter."""
    reference, ours = pair(cls, seed=7 + num_layers, options=options, num_layers=num_layers,
                           bidirectional=bidirectional)
    dirs = 2 if bidirectional else 1
    state = initial_state(cls, num_layers, dirs, batch=len(LENGTHS)) if num_layers == dirs else None
    assert_parity(reference, ours, ragged(LENGTHS), state, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lengths", [[5, 4, 4, 2, 1], [1, 1, 1], [4], [2, 6, 1, 6, 3, 1]],
                         ids=["sorted", "all-length-1", "one-sequence", "ties-and-ones"])
def test_packed_batches_of_every_shape_match_torch_nn(lengths):
    for cls in (LSTM, GRU):
        reference, ours = pair(cls, seed=len(lengths), num_layers=2, bidirectional=True)
        x = ragged(lengths, enforce_sorted=lengths == sorted(lengths, reverse=True))
        assert_parity(reference, ours, x, initial_state(cls, 2, 2, batch=len(lengths)),
                      rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("num_layers,bidirectional", list(itertools.product([1, 2], [False, True])))
@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
def test_lstm_projection_matches_torch_nn(num_layers, bidirectional, packed):
    """proj_size: h(t) = W_hr (o * tanh(s)), h_0 and h_n with proj_size units, c with hidden_size."""
    proj = 2
    reference, ours = pair(LSTM, seed=11, options=dict(fused=packed), num_layers=num_layers,
                           bidirectional=bidirectional, proj_size=proj)
    dirs = 2 if bidirectional else 1
    x = ragged(LENGTHS) if packed else torch.randn(T, B, D, dtype=torch.float64,
                                                   generator=torch.Generator().manual_seed(2))
    state = initial_state(LSTM, num_layers, dirs, batch=len(LENGTHS) if packed else B, proj_size=proj)
    assert_parity(reference, ours, x, state, rtol=1e-10, atol=1e-12)
    assert ours(x)[1][0].shape == (num_layers * dirs, len(LENGTHS) if packed else B, proj)
    if not packed:  # one unbatched sequence (T, D), its states without the batch dimension
        one = (state[0][:, 0], state[1][:, 0])
        torch.testing.assert_close(ours(x[:, 0], one), reference(x[:, 0], one), rtol=1e-10, atol=1e-12)


def test_state_dicts_and_rnnbase_attributes_interchange_with_torch_nn():
    """Every configuration: torch.nn's state dict loads into ours (strict) and ours into torch.nn, the
    two then compute the same output, and nn.RNNBase's attributes that code reads are the same."""
    configs = 0
    for cls in (RNN, LSTM, GRU):
        projections = [0, 2] if cls is LSTM else [0]
        for num_layers, bidirectional, bias, batch_first, proj_size in itertools.product(
                [1, 2], [False, True], [False, True], [False, True], projections):
            kw = dict(num_layers=num_layers, bidirectional=bidirectional, bias=bias, batch_first=batch_first)
            kw.update({"proj_size": proj_size} if proj_size else {})
            seed = 100 + configs
            ours_in = cls(D, H, dtype=torch.float64, **kw)
            torch_in = TORCH[cls](D, H, dtype=torch.float64, **kw)
            theirs = randomise(TORCH[cls](D, H, dtype=torch.float64, **kw), seed)
            mine = randomise(cls(D, H, dtype=torch.float64, **kw), seed + 1000)
            ours_in.load_state_dict(theirs.state_dict())  # torch.nn -> ours
            torch_in.load_state_dict(mine.state_dict())  # ours -> torch.nn
            x = torch.randn((B, T, D) if batch_first else (T, B, D), dtype=torch.float64)
            for a, b in ((ours_in, theirs), (mine, torch_in)):
                assert list(a.state_dict()) == list(b.state_dict())
                torch.testing.assert_close(a(x), b(x), rtol=1e-10, atol=1e-12)
                assert a._flat_weights_names == b._flat_weights_names
                assert a._all_weights == b._all_weights
                assert [[w.shape for w in ws] for ws in a.all_weights] == \
                    [[w.shape for w in ws] for ws in b.all_weights]
                assert (a.mode, a.proj_size, a.num_layers, a.bidirectional, a.bias, a.batch_first) == \
                    (b.mode, b.proj_size, b.num_layers, b.bidirectional, b.bias, b.batch_first)
            configs += 1
    assert configs == 16 + 32 + 16


def test_flat_weights_are_the_parameters_and_flatten_parameters_changes_nothing():
    model = LSTM(D, H, num_layers=2, bidirectional=True, proj_size=2, dtype=torch.float64)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert model.flatten_parameters() is None
    torch.testing.assert_close(model.state_dict(), before, rtol=0, atol=0)
    params = dict(model.named_parameters())
    assert all(w is params[n] for n, w in zip(model._flat_weights_names, model._flat_weights))
    assert all(w is params[n] for ws, names in zip(model.all_weights, model._all_weights)
               for w, n in zip(ws, names))
    model.float()  # after a move the attributes show the moved parameters
    assert all(w.dtype == torch.float32 for w in model._flat_weights)
    assert RNN(D, H, nonlinearity="relu").mode == "RNN_RELU" and GRU(D, H).proj_size == 0


def compiled_parity(reference, compiled, x, state):
    """The compiled module's outputs and gradients against torch.nn's (named parameters are the
    original module's, behind ``_orig_mod.``)."""
    with torch.no_grad():
        out, final = reference(x, state)
    weights = loss_weights([flat(out)] + ([final] if isinstance(final, torch.Tensor) else list(final)))
    got, want = run_with_grads(compiled, x, state, weights), run_with_grads(reference, x, state, weights)
    assert len(got[0] + got[1]) == len(want[0] + want[1])
    for a, b in zip(got[0] + got[1], want[0] + want[1]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_torch_compile_traces_one_graph_and_matches_torch_nn():
    """torch.compile with AOT autograd and no code generation (backend aot_eager, a few seconds per
    model): the padded forward is one graph (fullgraph=True), the fused steps' autograd Functions
    included. A packed batch's lengths are read in Python (a graph break), so a new pattern of
    lengths compiles anew and must not reuse the old one's loop."""
    from torch._dynamo.testing import CompileCounterWithBackend

    torch._dynamo.reset()
    for cls, kw in ((RNN, {}), (LSTM, dict(proj_size=2)), (GRU, {})):
        reference, ours = pair(cls, seed=21, bidirectional=True, **kw)
        counter = CompileCounterWithBackend("aot_eager")
        compiled = torch.compile(ours, backend=counter, fullgraph=True)
        x = torch.randn(T, B, D, dtype=torch.float64)
        compiled_parity(reference, compiled, x, initial_state(cls, 1, 2, proj_size=kw.get("proj_size", 0)))
        assert counter.frame_count == 1 and counter.op_count > 0
    compiled = torch.compile(ours, backend="aot_eager")
    for lengths in (LENGTHS, [4, 4, 5, 1, 1]):  # the same number of steps in all, other lengths
        compiled_parity(reference, compiled, ragged(lengths), initial_state(GRU, 1, 2, batch=len(lengths)))


@pytest.mark.skipif(shutil.which(os.environ.get("CXX", "g++")) is None,
                    reason="inductor's CPU backend compiles C++ and needs g++ (or $CXX)")
def test_torch_compile_with_inductor_on_the_cpu_matches_torch_nn():
    """torch.compile(model) as it comes (inductor, C++ for the CPU): a small LSTM, forward and
    backward. Compiling costs about 20 s on a loaded 2-core machine."""
    torch._dynamo.reset()
    reference, ours = pair(LSTM, seed=22, bidirectional=True)
    compiled_parity(reference, torch.compile(ours), torch.randn(3, 2, D, dtype=torch.float64), None)


def test_torch_export_gives_a_program_that_matches():
    reference, ours = pair(GRU, seed=23, num_layers=2)
    x = torch.randn(T, B, D, dtype=torch.float64)
    program = torch.export.export(ours, (x,))
    torch.testing.assert_close(program.module()(x), reference(x), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------- Triton interpreter
TRITON = importlib.util.find_spec("triton") is not None


@pytest.mark.skipif(not TRITON, reason="triton is not installed")
def test_triton_kernels_in_the_cpu_interpreter():
    """Triton's interpreter must be chosen before triton is imported: run the checks in a child."""
    if os.environ.get("TRITON_INTERPRET") != "1":
        env = dict(os.environ, TRITON_INTERPRET="1")
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                 f"{__file__}::test_triton_kernels_in_the_cpu_interpreter"],
                                env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return
    from lstmlab.torch import triton_kernels
    assert triton_kernels.AVAILABLE
    gen = torch.Generator().manual_seed(1)
    a, c = (torch.randn(s, dtype=torch.float64, generator=gen, requires_grad=True) for s in ((B, 4 * H), (B, H)))
    assert torch.autograd.gradcheck(lambda a, c: LSTMStep.apply(a, c, None, F.TORCH_LSTM, "triton"), (a, c))
    args = tuple(torch.randn(s, dtype=torch.float64, generator=gen, requires_grad=True)
                 for s in ((B, 3 * H), (B, 3 * H), (B, H)))
    assert torch.autograd.gradcheck(lambda *t: GRUStep.apply(*t, "triton"), args)
    # Against the torch step, forward and backward (one random cotangent; gradcheck's thousands of
    # interpreted launches would take minutes), at that size and at (5, 211): 1,055 (batch, unit)
    # pairs, three programs of BLOCK = 512, the last one partly masked.
    for batch, hidden in ((B, H), (5, 211)):
        for step, reference, shapes in (
                (lambda a, c: LSTMStep.apply(a, c, None, F.TORCH_LSTM, "triton"),
                 lambda a, c: F.lstm_pointwise(a, c)[:2], ((batch, 4 * hidden), (batch, hidden))),
                (lambda *t: (GRUStep.apply(*t, "triton"),), lambda *t: F.gru_pointwise(*t)[:1],
                 ((batch, 3 * hidden), (batch, 3 * hidden), (batch, hidden)))):
            inputs = [torch.randn(s, dtype=torch.float64, generator=gen, requires_grad=True) for s in shapes]
            got, want = step(*inputs), reference(*inputs)
            cotangents = [torch.randn(o.shape, dtype=torch.float64, generator=gen) for o in want]
            grads = [torch.autograd.grad(out, inputs, cotangents) for out in (got, want)]
            for x, y in zip(list(got) + list(grads[0]), list(want) + list(grads[1])):
                torch.testing.assert_close(x, y, rtol=1e-14, atol=1e-15)
    check_triton_bfloat16(triton_kernels, gen)
    # Whole models with the kernels in every step (only CUDA chooses them by itself), on a padded
    # batch and on a packed one, where the kernels see the shrinking and growing batch of each step.
    for cls in (LSTM, GRU):
        reference, ours = pair(cls, num_layers=2, bidirectional=True)
        ours._backend = lambda tensor: "triton"
        assert_parity(reference, ours, torch.randn(T, B, D, dtype=torch.float64),
                      initial_state(cls, 2, 2), rtol=1e-10, atol=1e-12)
        assert_parity(reference, ours, ragged(LENGTHS), None, rtol=1e-10, atol=1e-12)


def check_triton_bfloat16(kernels, gen, batch=5, hidden=211):
    """bfloat16 in and out, float32 inside: each output is the float32 result (of the same bfloat16
    inputs) rounded once, so it is at most one bfloat16 step (a relative 2^-7) from it."""
    def bf16(*shape):
        return torch.randn(shape, generator=gen).bfloat16()

    def close(got, want):
        assert got.dtype == torch.bfloat16
        torch.testing.assert_close(got.float(), want, rtol=2 ** -7, atol=1e-6)

    a, c_prev, dh, dc = bf16(batch, 4 * hidden), bf16(batch, hidden), bf16(batch, hidden), bf16(batch, hidden)
    h, c, gates = kernels.lstm_forward(a, c_prev)
    h32, c32, saved32 = F.lstm_pointwise(a.float(), c_prev.float())
    close(h, h32), close(c, c32), close(gates, torch.cat(saved32[:4], dim=1))  # i, f, g, o
    # The backward pass from the kernel's own (bfloat16) record, against the same record in float32.
    da, dc_prev = kernels.lstm_backward(dh, dc, gates, c, c_prev)
    i, f, g, o = gates.float().chunk(4, dim=1)
    saved = (i, f, g, o, c.float(), torch.tanh(c.float()))
    da32, dc_prev32, _ = F.lstm_pointwise_backward(dh.float(), dc.float(), c_prev.float(), None, saved,
                                                   F.TORCH_LSTM)
    close(da, da32), close(dc_prev, dc_prev32)
    a_x, a_h, h_prev, dh = bf16(batch, 3 * hidden), bf16(batch, 3 * hidden), bf16(batch, hidden), bf16(batch, hidden)
    h, saved = kernels.gru_forward(a_x, a_h, h_prev)
    h32, (r, z, n, _) = F.gru_pointwise(a_x.float(), a_h.float(), h_prev.float())
    close(h, h32), close(saved, torch.cat([r, z, n], dim=1))
    da_x, da_h, dh_prev = kernels.gru_backward(dh, h_prev, saved, a_h)
    r, z, n = saved.float().chunk(3, dim=1)
    expected = F.gru_pointwise_backward(dh.float(), h_prev.float(), (r, z, n, a_h.float()[:, 2 * hidden:]))
    for got, want in zip((da_x, da_h, dh_prev), expected):
        close(got, want)


# ---------------------------------------------------------------------------- CUDA
# The benchmark's levels, each adding one optimisation to the one before; triton=None (the kernels
# where triton imports, the torch step elsewhere) so that every level runs on any CUDA machine.
LEVELS = {name: dict(options, triton=None if options["triton"] else False)
          for name, options in BENCHMARK_LEVELS.items()}
# float32, compared with cuDNN directly: with TF32 off on both sides (the fixture below) the only
# difference is the order of float32 sums over D, H <= 6 terms of O(1) products, and of the
# gradients' sums over T * B = 15 terms; float32 rounds at 6e-8 relative, so 1e-4 (over a thousand
# ulps of O(1) values) covers any order of summation with a wide margin, yet a wrong gate, sign or
# missing term shows up at the 1e-2 level and fails.
FLOAT32 = dict(rtol=1e-4, atol=1e-4)
# bfloat16 keeps 8 significant bits (rounding error up to 2^-9 = 0.2 % per operation), and cuDNN
# rounds differently from us (it keeps float32 inside a step where we round after each op), so
# the two are compared with the exact answer instead: float64 on the CPU with the same, rounded,
# parameters and inputs. Each output and gradient must lie within 4 % of its largest magnitude:
# measured on the CPU for T = 5, two bidirectional layers and ten seeds, our bfloat16 errors reach
# 1.5 % (torch.nn's CPU bfloat16 LSTM 1.0 %, GRU 2.4 %); a wrong term errs by tens of percent.
BFLOAT16_RELATIVE_TO_MAX = 0.04


@pytest.fixture
def full_float32():
    """float32 products without TF32 on both sides (cuDNN's RNNs default to TF32, cuBLAS not)."""
    saved = float32_precision()
    set_float32_precision("ieee")
    yield
    set_float32_precision(saved)


def cuda_problem(cls, dtype):
    """Input and initial state for the CUDA tests, on the GPU, in ``dtype``."""
    x = torch.randn(T, B, D, dtype=torch.float64, generator=torch.Generator().manual_seed(8)).to(dtype)
    state = initial_state(cls, 2, 2, dtype=dtype)
    return x.cuda(), (tuple(s.cuda() for s in state) if cls is LSTM else state.cuda())


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("cls", [LSTM, GRU], ids=lambda c: c.__name__)
@pytest.mark.parametrize("level", list(LEVELS))
def test_cuda_float32_matches_cudnn(cls, level, full_float32):
    reference, ours = pair(cls, seed=3, dtype=torch.float32, device="cuda", options=LEVELS[level],
                           num_layers=2, bidirectional=True)
    x, state = cuda_problem(cls, torch.float32)
    for _ in range(2):  # CUDA graphs: the second call replays the captured graph
        assert_parity(reference, ours, x, state, **FLOAT32)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not CUDA, reason="needs a CUDA GPU"))])
@pytest.mark.parametrize("cls", [LSTM, GRU], ids=lambda c: c.__name__)
@pytest.mark.parametrize("level", list(LEVELS))
def test_packed_and_projected_match_torch_nn_at_every_level(cls, level, device, request):
    """A ragged batch, packed, through two bidirectional layers (the LSTM with proj_size) at every
    benchmark level: in float64 on the CPU, in float32 against cuDNN on CUDA, where CUDA graphs
    capture once per pattern of lengths and replay on the second call."""
    if device == "cuda":
        request.getfixturevalue("full_float32")
    dtype, tolerance = ((torch.float64, dict(rtol=1e-10, atol=1e-12)) if device == "cpu"
                        else (torch.float32, FLOAT32))
    proj = 2 if cls is LSTM else 0
    reference, ours = pair(cls, seed=12, dtype=dtype, device=device, options=LEVELS[level], num_layers=2,
                           bidirectional=True, **({"proj_size": proj} if proj else {}))
    state = initial_state(cls, 2, 2, batch=len(LENGTHS), dtype=dtype, proj_size=proj)
    state = tuple(s.to(device) for s in state) if cls is LSTM else state.to(device)
    for _ in range(2):
        assert_parity(reference, ours, ragged(LENGTHS).to(device, dtype), state, **tolerance)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("cls", [LSTM, GRU], ids=lambda c: c.__name__)
@pytest.mark.parametrize("level", list(LEVELS))
def test_cuda_bfloat16_stays_as_near_float64_as_cudnn_must(cls, level, full_float32):
    reference, ours = pair(cls, seed=3, dtype=torch.bfloat16, device="cuda", options=LEVELS[level],
                           num_layers=2, bidirectional=True)
    exact = TORCH[cls](D, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    exact.load_state_dict({k: v.double().cpu() for k, v in reference.state_dict().items()})
    x, state = cuda_problem(cls, torch.bfloat16)
    as_float64 = (lambda s: s.double().cpu())
    x64 = as_float64(x)
    state64 = tuple(map(as_float64, state)) if cls is LSTM else as_float64(state)
    with torch.no_grad():
        out, final = exact(x64, state64)
    weights = [w.bfloat16() for w in loss_weights([out] + (list(final) if cls is LSTM else [final]))]
    expected = run_with_grads(exact, x64, state64, [w.double() for w in weights])
    for module in (reference, ours, ours):  # ours twice: CUDA graphs replay on the second call
        got = run_with_grads(module, x, state, [w.cuda() for w in weights])
        for a, b in zip(got[0] + got[1], expected[0] + expected[1]):
            error = (a.double().cpu() - b).abs().max()
            assert error <= BFLOAT16_RELATIVE_TO_MAX * b.abs().max(), (module, error, b.abs().max())


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_cuda_graphs_follow_parameter_updates_and_inference():
    _, ours = pair(LSTM, dtype=torch.float32, device="cuda", options=LEVELS["graphs"])
    _, eager = pair(LSTM, dtype=torch.float32, device="cuda", options=LEVELS["fused"])
    x = torch.randn(T, B, D, device="cuda")
    for step in range(3):
        torch.testing.assert_close(ours(x)[0], eager(x)[0], rtol=1e-5, atol=1e-5)
        with torch.no_grad():
            torch.testing.assert_close(ours(x)[0], eager(x)[0], rtol=1e-5, atol=1e-5)
            for p, q in zip(ours.parameters(), eager.parameters()):
                p.add_(0.01 * step)
                q.add_(0.01 * step)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", ["vanilla", "CIFG", "NOAF"])
def test_cuda_lstm_variants_match_the_cpu_in_float64(name):
    """The variants have no cuDNN counterpart: the same module in float64 on the CPU is the reference.
    Both run the same float64 arithmetic, so only the order of the sums in the products differs."""
    cpu = LSTM(D, H, num_layers=2, bidirectional=True, variant=name, dtype=torch.float64)
    randomise(cpu, 9)
    gpu = LSTM(D, H, num_layers=2, bidirectional=True, variant=name, dtype=torch.float64, device="cuda")
    gpu.load_state_dict(cpu.state_dict())
    x = torch.randn(T, B, D, dtype=torch.float64)
    state = initial_state(LSTM, 2, 2)
    weights = loss_weights(list(cpu(x, state)[:1]) + list(cpu(x, state)[1]))
    expected = run_with_grads(cpu, x, state, weights)
    got = run_with_grads(gpu, x.cuda(), tuple(s.cuda() for s in state), [w.cuda() for w in weights])
    for a, b in zip(got[0] + got[1], expected[0] + expected[1]):
        torch.testing.assert_close(a.cpu(), b, rtol=1e-10, atol=1e-12)
