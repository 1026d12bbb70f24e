"""nn.Module and containers: registration, traversal, state_dict, hooks, repr (vs torch.nn)."""
from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

import tracejit as tj
import tracejit.nn as nn

torch = pytest.importorskip("torch")


def _build(lib):
    """The same nested model in either framework."""
    class Block(lib.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = lib.nn.Linear(4, 4)
            self.norm = lib.nn.LayerNorm(4)
            self.register_buffer("scale", lib.ones(4))
            self.register_buffer("cache", lib.zeros(2), persistent=False)

        def forward(self, x):
            return self.norm(self.fc(x)) * self.scale

    class Net(lib.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4),
                                          lib.nn.ReLU())
            self.blocks = lib.nn.ModuleList([Block(), Block()])
            self.heads = lib.nn.ModuleDict({"a": lib.nn.Linear(4, 2), "b": lib.nn.Identity()})
            self.temperature = lib.nn.Parameter(lib.ones(1))

        def forward(self, x):
            h = self.stem(x)
            for b in self.blocks:
                h = b(h)
            return self.heads["a"](h) / self.temperature

    return Net()


def _to_tj_state(sd) -> OrderedDict:
    return OrderedDict((k, tj.tensor(v.detach().numpy())) for k, v in sd.items())


def test_names_and_order_match_torch() -> None:
    t, j = _build(torch), _build(tj)
    assert list(j.state_dict()) == list(t.state_dict())
    assert [n for n, _ in j.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in j.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in j.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in j.named_children()] == [n for n, _ in t.named_children()]
    assert [n for n, _ in j.named_parameters(prefix="m", recurse=False)] == ["m.temperature"]
    assert [n for n, _ in j.blocks[0].named_buffers()] == ["scale", "cache"]
    assert "blocks.0.cache" not in j.state_dict()
    assert j.state_dict()._metadata["stem.1"] == {"version": 2}
    assert len(list(j.parameters())) == len(list(t.parameters()))
    assert all(isinstance(p, nn.Parameter) for p in j.parameters())


def test_load_torch_weights_and_match_outputs() -> None:
    t, j = _build(torch), _build(tj)
    t.double()
    j.double()
    res = j.load_state_dict(_to_tj_state(t.state_dict()))
    assert repr(res) == "<All keys matched successfully>"
    x = np.random.default_rng(0).standard_normal((5, 3))
    t.eval()
    j.eval()
    np.testing.assert_allclose(j(tj.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-10)


def _error(fn) -> str:
    with pytest.raises(RuntimeError) as e:
        fn()
    return str(e.value)


def test_load_state_dict_errors_match_torch() -> None:
    t, j = _build(torch), _build(tj)
    tsd = t.state_dict()
    bad = OrderedDict(tsd)
    del bad["stem.0.bias"]
    bad["extra.weight"] = torch.zeros(1)
    bad["blocks.0.fc.weight"] = torch.zeros(3, 4)
    jbad = _to_tj_state(bad)
    tmsg = _error(lambda: t.load_state_dict(bad))
    jmsg = _error(lambda: j.load_state_dict(jbad))
    assert jmsg == tmsg.replace("torch.Size", "tracejit.Size")
    assert jmsg.startswith("Error(s) in loading state_dict for Net:\n\tMissing key(s)")
    # strict=False still reports size mismatches, and returns the same incompatible keys
    del bad["blocks.0.fc.weight"]
    del jbad["blocks.0.fc.weight"]
    tres, jres = t.load_state_dict(bad, strict=False), j.load_state_dict(jbad, strict=False)
    assert jres.missing_keys == tres.missing_keys
    assert jres.unexpected_keys == tres.unexpected_keys
    assert repr(jres) == repr(tres)
    with pytest.raises(TypeError, match="dict-like"):
        j.load_state_dict([1, 2])


def test_load_state_dict_accepts_numpy_and_assign() -> None:
    lin = nn.Linear(2, 3)
    w = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    lin.load_state_dict({"weight": w, "bias": np.zeros(3, np.float32)})
    np.testing.assert_array_equal(lin.weight.detach().numpy(), w)
    old = lin.weight
    lin.load_state_dict({"weight": tj.ones(3, 2), "bias": tj.ones(3)}, assign=True)
    assert lin.weight is not old and isinstance(lin.weight, nn.Parameter)
    assert lin.weight.requires_grad


def test_registration_rules() -> None:
    m = nn.Module()
    m.w = nn.Parameter(tj.ones(2))
    m.sub = nn.Linear(1, 1)
    m.register_buffer("buf", tj.zeros(1))
    m.plain = 3
    assert set(m._parameters) == {"w"} and set(m._modules) == {"sub"}
    assert set(m._buffers) == {"buf"} and m.plain == 3
    m.buf = tj.ones(1)  # re-assigning a buffer keeps it a buffer
    assert m._buffers["buf"] is m.buf
    with pytest.raises(TypeError, match="cannot assign 'tracejit.Tensor' as parameter 'w'"):
        m.w = tj.ones(2)
    m.w = None
    assert m.w is None and "w" in m._parameters and list(m.parameters()) != []
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", tj.ones(1))
    with pytest.raises(KeyError, match="name can"):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="not a Module subclass"):
        m.add_module("x", 3)
    del m.sub
    assert "sub" not in m._modules
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = m.nope

    class Early(nn.Module):
        def __init__(self) -> None:
            self.p = nn.Parameter(tj.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    with pytest.raises(NotImplementedError, match="missing the required \"forward\""):
        nn.Module()(tj.ones(1))
    with pytest.raises(ValueError, match="non-leaf"):
        m.register_parameter("q", _non_leaf_param())


def _non_leaf_param() -> nn.Parameter:
    p = nn.Parameter(tj.ones(1))
    p.grad_fn = object()
    return p


def test_shared_parameters_are_listed_once() -> None:
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(list(seq.modules())) == 3


def test_train_eval_zero_grad_requires_grad() -> None:
    j = _build(tj)
    assert j.training and j.stem[1].training
    assert j.eval() is j and not j.blocks[1].norm.training
    j.train()
    assert j.heads["a"].training
    out = j(tj.randn(3, 3)).sum()
    out.backward()
    assert all(p.grad is not None for p in j.parameters())
    j.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in j.parameters())
    j.zero_grad()
    assert all(p.grad is None for p in j.parameters())
    j.requires_grad_(False)
    assert not any(p.requires_grad for p in j.parameters())
    with pytest.raises(ValueError, match="boolean"):
        j.train(1)


def test_dtype_conversion_keeps_parameter_objects() -> None:
    j = _build(tj)
    w = j.stem[0].weight
    j.double()
    assert j.stem[0].weight is w and w.dtype is tj.float64 and w.requires_grad
    assert j.blocks[0].scale.dtype is tj.float64
    assert j.stem[1].num_batches_tracked.dtype is tj.int64
    j.to(tj.float32)
    assert w.dtype is tj.float32
    assert j.to("cpu") is j
    with pytest.raises(TypeError, match="floating point"):
        j.to(tj.int64)


def test_apply_visits_children_first() -> None:
    seen = []
    _build(tj).apply(lambda m: seen.append(type(m).__name__))
    tseen = []
    _build(torch).apply(lambda m: tseen.append(type(m).__name__))
    assert seen == tseen


def test_forward_hooks() -> None:
    lin = nn.Linear(2, 2)
    calls = []

    def pre(mod, args):
        calls.append("pre")
        return (args[0] * 0,)

    def post(mod, args, out):
        calls.append("post")
        return out + 1

    h1 = lin.register_forward_pre_hook(pre)
    h2 = lin.register_forward_hook(post)
    out = lin(tj.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), lin.bias.detach().numpy()[None] + 1,
                               rtol=1e-6)
    assert calls == ["pre", "post"]
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(lin(tj.zeros(1, 2)).detach().numpy(),
                               lin.bias.detach().numpy()[None], rtol=1e-6)
    seen = {}
    with lin.register_forward_hook(lambda m, a, k, o: seen.update(k), with_kwargs=True):
        lin(input=tj.ones(1, 2))
    assert "input" in seen and not lin._forward_hooks


def test_repr_matches_torch() -> None:
    assert repr(_build(tj)) == repr(_build(torch))
    for make in (lambda L: L.nn.Embedding(10, 3, padding_idx=0),
                 lambda L: L.nn.Dropout(0.2), lambda L: L.nn.Flatten(),
                 lambda L: L.nn.Unflatten(1, (2, 3)),
                 lambda L: L.nn.GELU(approximate="tanh"), lambda L: L.nn.LeakyReLU(0.2, True),
                 lambda L: L.nn.BatchNorm2d(3, affine=False, momentum=None),
                 lambda L: L.nn.GroupNorm(2, 4), lambda L: L.nn.Bilinear(2, 3, 4, bias=False),
                 lambda L: L.nn.CrossEntropyLoss(), lambda L: L.nn.Softmax(dim=-1),
                 lambda L: L.nn.PReLU(3), lambda L: L.nn.Hardtanh(-2.0, 2.0)):
        assert repr(make(tj)) == repr(make(torch))


def test_parameter() -> None:
    p = nn.Parameter(tj.tensor([1.0, 2.0]))
    assert isinstance(p, tj.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.], requires_grad=True)")
    q = nn.Parameter(tj.ones(2), requires_grad=False)
    assert not q.requires_grad
    assert isinstance(copy.deepcopy(p), nn.Parameter)
    assert nn.Parameter().shape == (0,)


def test_deepcopy_module() -> None:
    j = _build(tj)
    c = copy.deepcopy(j)
    assert c.stem[0].weight is not j.stem[0].weight
    np.testing.assert_array_equal(c.stem[0].weight.detach().numpy(),
                                  j.stem[0].weight.detach().numpy())
    with tj.no_grad():
        c.stem[0].weight.add_(1)
    assert not np.array_equal(c.stem[0].weight.detach().numpy(),
                              j.stem[0].weight.detach().numpy())
    assert list(c.state_dict()) == list(j.state_dict())


def test_sequential_and_module_list() -> None:
    a, b, c = nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1)
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and s[0] is a and s[-1] is c
    assert isinstance(s[1:], nn.Sequential) and list(s[1:]) == [b, c]
    s.append(nn.Tanh())
    del s[1]
    assert list(s._modules) == ["0", "1", "2"] and s[1] is c
    s2 = nn.Sequential(OrderedDict([("first", a), ("second", b)]))
    assert list(s2.state_dict()) == ["first.weight", "first.bias"]
    ml = nn.ModuleList([a])
    ml.append(c)
    ml.extend([b])
    ml.insert(0, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Identity", "Linear", "Linear", "ReLU"]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    md = nn.ModuleDict({"x": a})
    md["y"] = c
    assert list(md.keys()) == ["x", "y"] and "y" in md and len(md) == 2
    assert md.pop("x") is a and list(md) == ["y"]
    pl = nn.ParameterList([nn.Parameter(tj.ones(1)), tj.zeros(2)])
    assert len(pl) == 2 and isinstance(pl[1], nn.Parameter)
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pd = nn.ParameterDict({"w": tj.ones(2)})
    assert isinstance(pd["w"], nn.Parameter) and list(pd.keys()) == ["w"]
