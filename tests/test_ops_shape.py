"""Views, indexing, joining and matrix products (tracejit/ops/{shape,index,join,linalg}.py).

Every case runs against numpy and central finite differences in float64 (always), and against
PyTorch as an oracle for values, gradients, node names and error messages (skipped without
torch). Inputs are also fed non-contiguous (a transposed base) to the same cases.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tracejit as tj


def _torch() -> Any:
    return pytest.importorskip("torch")


def _arr(shape: tuple, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# (id, fn(module, *inputs), input shapes). ``module`` is tracejit or torch: the same code runs
# on both. Index tensors are built with ``m.tensor`` inside the case.
CASES: list[tuple[str, Any, tuple]] = [
    ("view", lambda m, x: x.view(3, 4), ((2, 6),)),
    ("view_-1", lambda m, x: x.view(-1, 2), ((2, 6),)),
    ("reshape_copy", lambda m, x: x.t().reshape(12), ((3, 4),)),
    ("reshape_view", lambda m, x: x.reshape(4, -1), ((3, 4),)),
    ("view_as", lambda m, x, y: x.view_as(y), ((2, 6), (12,))),
    ("permute", lambda m, x: x.permute(2, 0, 1), ((2, 3, 4),)),
    ("permute_neg", lambda m, x: x.permute(-1, 0, 1), ((2, 3, 4),)),
    ("transpose", lambda m, x: x.transpose(0, -1), ((2, 3, 4),)),
    ("swapaxes", lambda m, x: x.swapaxes(0, 1), ((2, 3),)),
    ("t", lambda m, x: x.t(), ((2, 3),)),
    ("t_1d", lambda m, x: x.t(), ((3,),)),
    ("T", lambda m, x: x.T, ((2, 3),)),
    ("mT", lambda m, x: x.mT, ((2, 3, 4),)),
    ("unsqueeze", lambda m, x: x.unsqueeze(-1), ((2, 3),)),
    ("unsqueeze_0d", lambda m, x: x.unsqueeze(0), ((),)),
    ("squeeze_all", lambda m, x: x.squeeze(), ((1, 3, 1),)),
    ("squeeze_dim", lambda m, x: x.squeeze(-1), ((1, 3, 1),)),
    ("squeeze_dim_noop", lambda m, x: x.squeeze(1), ((1, 3, 1),)),
    ("squeeze_dims", lambda m, x: x.squeeze((0, 2)), ((1, 3, 1),)),
    ("flatten", lambda m, x: x.flatten(), ((2, 3, 4),)),
    ("flatten_mid", lambda m, x: x.flatten(1), ((2, 3, 4),)),
    ("flatten_nc", lambda m, x: x.transpose(0, 1).flatten(), ((2, 3, 4),)),
    ("unflatten", lambda m, x: x.unflatten(1, (3, -1)), ((2, 6),)),
    ("expand", lambda m, x: x.expand(4, 2, 3), ((2, 3),)),
    ("expand_-1", lambda m, x: x.expand(4, -1, 3), ((2, 1),)),
    ("expand_as", lambda m, x, y: x.expand_as(y), ((3, 1), (2, 3, 4))),
    ("narrow", lambda m, x: x.narrow(1, 1, 2), ((2, 4),)),
    ("narrow_neg", lambda m, x: x.narrow(-1, -2, 2), ((2, 4),)),
    ("diagonal", lambda m, x: x.diagonal(), ((3, 4),)),
    ("diagonal_off", lambda m, x: x.diagonal(1, 0, 2), ((3, 2, 4),)),
    ("diagonal_neg", lambda m, x: x.diagonal(-1, -1, 0), ((3, 4),)),
    ("select", lambda m, x: x.select(1, -1), ((2, 3),)),
    ("unbind", lambda m, x: x.unbind(1), ((2, 3),)),
    ("unbind_one", lambda m, x: x.unbind(1)[2], ((2, 3),)),
    ("split", lambda m, x: x.split(2, 1), ((2, 5),)),
    ("split_one", lambda m, x: x.split(2, 1)[1], ((2, 5),)),
    ("split_sizes", lambda m, x: x.split([1, 4], -1), ((2, 5),)),
    ("chunk", lambda m, x: x.chunk(3, 1), ((2, 5),)),
    ("movedim", lambda m, x: x.movedim(0, 2), ((2, 3, 4),)),
    ("movedim_multi", lambda m, x: x.movedim((0, 1), (2, 0)), ((2, 3, 4),)),
    ("flip", lambda m, x: x.flip(0, 1), ((2, 3),)),
    ("flip_neg", lambda m, x: m.flip(x, [-1]), ((2, 3),)),
    ("roll", lambda m, x: x.roll(1, 1), ((2, 3),)),
    ("roll_flat", lambda m, x: x.roll(2), ((2, 3),)),
    ("roll_multi", lambda m, x: x.roll((1, -1), (0, 1)), ((2, 3),)),
    ("get_int", lambda m, x: x[1], ((3, 4),)),
    ("get_neg_int", lambda m, x: x[-1, -2], ((3, 4),)),
    ("get_slice", lambda m, x: x[:, 1:3], ((3, 4),)),
    ("get_full_slice", lambda m, x: x[:], ((3, 4),)),
    ("get_alias", lambda m, x: x[:, :], ((3, 4),)),
    ("get_step", lambda m, x: x[..., None, ::2], ((3, 4),)),
    ("get_list", lambda m, x: x[[0, 2, 0]], ((3, 4),)),
    ("get_list_dim1", lambda m, x: x[:, [1, 1, 3]], ((3, 4),)),
    ("get_mask", lambda m, x: x[x > 0], ((3, 4),)),
    ("get_mask_row", lambda m, x: x[m.tensor([True, False, True])], ((3, 4),)),
    ("get_tensor_2d", lambda m, x: x[m.tensor([[0, 1], [2, 2]]), 1:], ((3, 4),)),
    ("get_separated", lambda m, x: x[[0, 2], :, [1, 1]], ((3, 2, 4),)),
    ("get_int_and_tensor", lambda m, x: x[1, :, m.tensor([0, 3])], ((3, 2, 4),)),
    ("get_none_between", lambda m, x: x[:, [0, 1], None, [1, 1]], ((3, 2, 4),)),
    ("index_select", lambda m, x: x.index_select(1, m.tensor([2, 0, 2])), ((3, 4),)),
    ("index_select_fn", lambda m, x: m.index_select(x, -1, m.tensor([3])), ((3, 4),)),
    ("gather", lambda m, x: x.gather(1, m.tensor([[0, 0], [1, 3], [2, 2]])), ((3, 4),)),
    ("gather_dim0", lambda m, x: m.gather(x, 0, m.tensor([[0, 2, 2, 1]])), ((3, 4),)),
    ("take_along_dim", lambda m, x: x.take_along_dim(m.tensor([[0], [2]]), 1), ((2, 3),)),
    ("scatter", lambda m, x, s: x.scatter(1, m.tensor([[0, 1], [1, 3], [2, 0]]), s),
     ((3, 4), (3, 2))),
    ("scatter_value", lambda m, x: x.scatter(1, m.tensor([[0, 1], [1, 3], [2, 0]]), 2.0),
     ((3, 4),)),
    ("scatter_add", lambda m, x, s: x.scatter_add(1, m.tensor([[0, 0], [1, 3], [2, 0]]), s),
     ((3, 4), (3, 2))),
    ("index_add", lambda m, x, s: x.index_add(1, m.tensor([0, 0, 3]), s, alpha=2.0),
     ((3, 4), (3, 3))),
    ("masked_fill", lambda m, x: x.masked_fill(x > 0, 1.5), ((3, 4),)),
    ("masked_fill_bcast", lambda m, x: x.masked_fill(m.tensor([True, False, True, False]), 0.0),
     ((3, 4),)),
    ("masked_fill_tensor", lambda m, x, v: x.masked_fill(x > 0, v), ((3, 4), ())),
    ("masked_select", lambda m, x: x.masked_select(x > 0), ((3, 4),)),
    ("masked_select_bcast", lambda m, x: x.masked_select(m.tensor([True, False, True, True])),
     ((3, 4),)),
    ("cat", lambda m, x, y: m.cat([x, y], 1), ((2, 3), (2, 2))),
    ("cat_neg", lambda m, x, y: m.cat((x, y, x), -2), ((2, 3), (1, 3))),
    ("stack", lambda m, x, y: m.stack([x, y], -1), ((2, 3), (2, 3))),
    ("stack_0d", lambda m, x, y: m.stack([x, y]), ((), ())),
    ("hstack", lambda m, x, y: m.hstack([x, y]), ((2, 3), (2, 2))),
    ("vstack", lambda m, x, y: m.vstack([x, y]), ((3,), (3,))),
    ("repeat", lambda m, x: x.repeat(2, 1, 3), ((2, 3),)),
    ("tile", lambda m, x: x.tile(2), ((2, 3),)),
    ("repeat_interleave", lambda m, x: x.repeat_interleave(2, dim=1), ((2, 3),)),
    ("repeat_interleave_t", lambda m, x: x.repeat_interleave(m.tensor([1, 0, 2]), dim=1),
     ((2, 3),)),
    ("matmul_11", lambda m, a, b: a @ b, ((3,), (3,))),
    ("matmul_22", lambda m, a, b: a @ b, ((2, 3), (3, 4))),
    ("matmul_12", lambda m, a, b: a @ b, ((3,), (3, 4))),
    ("matmul_21", lambda m, a, b: a @ b, ((2, 3), (3,))),
    ("matmul_31", lambda m, a, b: a @ b, ((5, 2, 3), (3,))),
    ("matmul_13", lambda m, a, b: a @ b, ((3,), (5, 3, 4))),
    ("matmul_32", lambda m, a, b: a @ b, ((5, 2, 3), (3, 4))),
    ("matmul_23", lambda m, a, b: m.matmul(a, b), ((2, 3), (5, 3, 4))),
    ("matmul_33", lambda m, a, b: a @ b, ((5, 2, 3), (5, 3, 4))),
    ("matmul_33_bcast", lambda m, a, b: a @ b, ((1, 2, 3), (5, 3, 4))),
    ("matmul_43", lambda m, a, b: a @ b, ((2, 1, 2, 3), (5, 3, 4))),
    ("mm", lambda m, a, b: a.mm(b), ((2, 3), (3, 4))),
    ("mv", lambda m, a, b: m.mv(a, b), ((2, 3), (3,))),
    ("bmm", lambda m, a, b: a.bmm(b), ((5, 2, 3), (5, 3, 4))),
    ("dot", lambda m, a, b: m.dot(a, b), ((3,), (3,))),
    ("outer", lambda m, a, b: m.outer(a, b), ((2,), (3,))),
    ("addmm", lambda m, c, a, b: m.addmm(c, a, b, beta=0.5, alpha=2.0), ((4,), (2, 3), (3, 4))),
]
_IDS = [c[0] for c in CASES]


_MAKES_CPU_TENSORS = {"gather", "gather_dim0", "take_along_dim", "scatter", "scatter_value",
                      "scatter_add", "masked_fill_bcast", "masked_select_bcast"}


def _leaf(m: Any, a: np.ndarray, nc: bool, device: str = "cpu") -> tuple[Any, Any]:
    """A leaf and the op's input: the leaf itself, or a non-contiguous transpose of it."""
    if nc and a.ndim >= 2:
        base = m.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2)), requires_grad=True,
                        device=device)
        return base, base.transpose(-1, -2)
    t = m.tensor(a, requires_grad=True, device=device)
    return t, t


def _loss(m: Any, outs: tuple, device: str = "cpu") -> Any:
    total = None
    for i, o in enumerate(outs):
        term = (o * m.tensor(_arr(tuple(o.shape), seed=100 + i), device=device)).sum()
        total = term if total is None else total + term
    return total


def _run(m: Any, fn: Any, arrays: list[np.ndarray], nc: bool,
         device: str = "cpu") -> tuple[tuple, list]:
    pairs = [_leaf(m, a, nc, device) for a in arrays]
    out = fn(m, *(p[1] for p in pairs))
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    _loss(m, outs, device).backward()
    return outs, [p[0].grad for p in pairs]


def _inputs(shapes: tuple) -> list[np.ndarray]:
    return [_arr(s, seed=i + 1) for i, s in enumerate(shapes)]


@pytest.mark.parametrize("nc", [False, True], ids=["contig", "noncontig"])
@pytest.mark.parametrize("name,fn,shapes", CASES, ids=_IDS)
def test_against_torch(name: str, fn: Any, shapes: tuple, nc: bool, device: str) -> None:
    if device != "cpu" and name in _MAKES_CPU_TENSORS:
        pytest.skip("the case builds index/mask tensors on the cpu (a device mismatch)")
    torch = _torch()
    arrays = _inputs(shapes)
    try:
        t_outs, t_grads = _run(torch, fn, arrays, nc)
    except RuntimeError as e:  # e.g. view() of a non-contiguous input: the same error
        with pytest.raises(RuntimeError) as info:
            _run(tj, fn, arrays, nc, device)
        assert str(info.value) == str(e)
        return
    j_outs, j_grads = _run(tj, fn, arrays, nc, device)
    assert len(t_outs) == len(j_outs)
    for to, jo in zip(t_outs, j_outs):
        assert tuple(to.shape) == tuple(jo.shape)
        assert jo.dtype.name == str(to.dtype).replace("torch.", "")
        assert jo.device.type == device
        np.testing.assert_allclose(jo.detach().cpu().numpy(), to.detach().numpy(),
                                   rtol=1e-10, atol=1e-12)
        assert jo.grad_fn.name() == to.grad_fn.name()
    for tg, jg in zip(t_grads, j_grads):
        if tg is None:
            assert jg is None
        else:
            np.testing.assert_allclose(jg.cpu().numpy(), tg.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=_IDS)
def test_finite_differences(name: str, fn: Any, shapes: tuple) -> None:
    arrays = _inputs(shapes)
    _, grads = _run(tj, fn, arrays, False)

    def loss_at(arrs: list[np.ndarray]) -> float:
        with tj.no_grad():
            out = fn(tj, *(tj.tensor(a) for a in arrs))
            outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
            return float(_loss(tj, outs).item())

    eps = 1e-6
    for k, a in enumerate(arrays):
        num = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            hi = [x.copy() for x in arrays]
            lo = [x.copy() for x in arrays]
            hi[k][i] += eps
            lo[k][i] -= eps
            num[i] = (loss_at(hi) - loss_at(lo)) / (2 * eps)
        got = grads[k].numpy() if grads[k] is not None else np.zeros_like(a)
        np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-7)


_DATA_DEPENDENT = {"get_mask", "get_mask_row", "masked_select", "masked_select_bcast"}


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=_IDS)
def test_traced_matches_eager(name: str, fn: Any, shapes: tuple) -> None:
    """Under tracejit.jit the same ops record a graph (params hashable, no value reads)."""
    arrays = _inputs(shapes)
    jf = tj.jit(fn, static_argnums=0)
    if name in _DATA_DEPENDENT:
        with pytest.raises(tj.jit.TraceError, match="depends on the data"):
            _run(tj, jf, arrays, False)
        return
    e_outs, e_grads = _run(tj, fn, arrays, False)
    j_outs, j_grads = _run(tj, jf, arrays, False)
    for a, b in zip(e_outs, j_outs):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-12)
    for a, b in zip(e_grads, j_grads):
        if a is None:
            assert b is None or not b.numpy().any()
        else:
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# forward values against numpy


def test_forward_against_numpy() -> None:
    a = _arr((2, 3, 4))
    x = tj.tensor(a)
    eq = np.testing.assert_array_equal
    eq(x.view(6, 4).numpy(), a.reshape(6, 4))
    eq(x.permute(2, 0, 1).numpy(), a.transpose(2, 0, 1))
    eq(x.transpose(0, 2).numpy(), np.swapaxes(a, 0, 2))
    eq(x.T.numpy(), a.T)
    eq(x.mT.numpy(), np.swapaxes(a, -1, -2))
    eq(x.movedim(0, -1).numpy(), np.moveaxis(a, 0, -1))
    eq(x.flatten(1).numpy(), a.reshape(2, 12))
    eq(x.diagonal(1, 1, 2).numpy(), np.diagonal(a, 1, 1, 2))
    eq(x.diagonal(-1, 2, 1).numpy(), np.diagonal(a, -1, 2, 1))
    eq(x.flip(0, 2).numpy(), a[::-1, :, ::-1])
    eq(x.roll(2, -1).numpy(), np.roll(a, 2, -1))
    eq(x.expand(5, 2, 3, 4).numpy(), np.broadcast_to(a, (5, 2, 3, 4)))
    eq(x[1, ..., None, 1:3].numpy(), a[1, ..., None, 1:3])
    eq(x[[1, 0], :, [3, 3]].numpy(), a[[1, 0], :, [3, 3]])
    eq(x[x > 0].numpy(), a[a > 0])
    idx = np.array([[[0, 2], [1, 1], [2, 0]]] * 2)
    eq(x.gather(2, tj.tensor(idx)).numpy(), np.take_along_axis(a, idx, 2))
    eq(x.index_select(1, tj.tensor([2, 0])).numpy(), np.take(a, [2, 0], axis=1))
    eq(tj.cat([x, x[:, :1]], 1).numpy(), np.concatenate([a, a[:, :1]], 1))
    eq(tj.stack([x, x], 2).numpy(), np.stack([a, a], 2))
    eq(x.repeat(2, 1, 1, 3).numpy(), np.tile(a, (2, 1, 1, 3)))
    eq(x.repeat_interleave(2, 1).numpy(), np.repeat(a, 2, 1))
    for got, want in ((x.split(3, 2), np.split(a, [3], 2)), (x.chunk(2, 2), np.split(a, 2, 2)),
                      (x.tensor_split(3, 2), np.array_split(a, 3, 2))):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            eq(g.numpy(), w)
    eq(x.nonzero().numpy(), np.argwhere(a))
    b = _arr((4, 5), 1)
    np.testing.assert_allclose((x @ tj.tensor(b)).numpy(), a @ b, rtol=1e-12)
    np.testing.assert_allclose((tj.tensor(b[:, 0]) @ x.mT).numpy(),
                               b[:, 0] @ np.swapaxes(a, -1, -2), rtol=1e-12)
    out = np.zeros((3, 4))
    out[[0, 1, 2], [0, 3, 1]] = 7.0
    y = tj.zeros(3, 4)
    y[[0, 1, 2], [0, 3, 1]] = 7.0
    eq(y.numpy(), out)
    s = np.zeros((3, 4))
    np.put_along_axis(s, np.array([[1], [0], [3]]), 5.0, 1)
    eq(tj.zeros(3, 4).scatter(1, tj.tensor([[1], [0], [3]]), 5.0).numpy(), s)


def test_int_and_torch_order_of_int_with_tensor_index() -> None:
    # PyTorch applies an int as a select before the advanced index; numpy would not
    a = np.arange(24).reshape(3, 2, 4)
    x = tj.tensor(a)
    assert tuple(x[1, :, [0, 3]].shape) == (2, 2)
    np.testing.assert_array_equal(x[1, :, [0, 3]].numpy(), a[1][:, [0, 3]])
    y = tj.zeros(3, 2, 4, dtype=tj.int64)
    y[1, :, [0, 3]] = tj.tensor([[1, 2], [3, 4]])
    expect = np.zeros((3, 2, 4), np.int64)
    expect[1][:, [0, 3]] = [[1, 2], [3, 4]]
    np.testing.assert_array_equal(y.numpy(), expect)


# ---------------------------------------------------------------------------------------------
# views share storage and the version counter

VIEWS: list[tuple[str, Any]] = [
    ("view", lambda x: x.view(4, 6)),
    ("reshape", lambda x: x.reshape(-1)),
    ("flatten", lambda x: x.flatten(1)),
    ("unflatten", lambda x: x.unflatten(2, (2, 2))),
    ("permute", lambda x: x.permute(2, 1, 0)),
    ("transpose", lambda x: x.transpose(0, 1)),
    ("T", lambda x: x.T),
    ("mT", lambda x: x.mT),
    ("unsqueeze", lambda x: x.unsqueeze(1)),
    ("squeeze", lambda x: x.unsqueeze(0).squeeze(0)),
    ("narrow", lambda x: x.narrow(2, 1, 3)),
    ("select", lambda x: x.select(1, 1)),
    ("diagonal", lambda x: x.diagonal(1, 1, 2)),
    ("unbind", lambda x: x.unbind(2)[3]),
    ("split", lambda x: x.split(2, 2)[1]),
    ("chunk", lambda x: x.chunk(2, 1)[0]),
    ("movedim", lambda x: x.movedim(0, 2)),
    ("getitem", lambda x: x[1, :, 2:5]),
    ("getitem_0d", lambda x: x[1, 2, 3]),
    ("getitem_none", lambda x: x[None, ..., 1]),
    ("view_of_view", lambda x: x[1].t()[2:]),
    ("tensor_split", lambda x: x.tensor_split(3, 2)[1]),
]


@pytest.mark.parametrize("name,fn", VIEWS, ids=[v[0] for v in VIEWS])
def test_views_share_storage(name: str, fn: Any) -> None:
    base = tj.tensor(np.arange(24.0).reshape(2, 3, 4))
    v = fn(base)
    assert v._base is base
    assert np.shares_memory(v.numpy(), base.numpy())
    assert v._vc is base._vc
    before = base._version
    v.add_(100.0)  # write through the view
    assert base._version == v._version == before + 1
    assert (base.numpy() >= 100).sum() == v.numel()
    base.zero_()  # writes into the base are seen by the view
    assert not v.numpy().any()


def test_view_of_noncontiguous_and_copies() -> None:
    x = tj.tensor(np.arange(12.0).reshape(3, 4))
    sl = x[:, :2]  # strides (4, 1): splitting dim 0 is still a view
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        sl.view(6)
    y = x.t().reshape(12)  # not viewable: a copy
    assert not np.shares_memory(y.numpy(), x.numpy())
    for copy in (x.flip(0), x[[0, 1]], x[x > 3], tj.cat([x, x]), x.repeat(1, 2), x.roll(1)):
        assert not np.shares_memory(copy.numpy(), x.numpy())
        assert copy._base is None


def test_expand_is_a_readonly_broadcast_view() -> None:
    x = tj.tensor([1.0, 2.0, 3.0])
    e = x.expand(2, 3)
    assert e.stride() == (0, 1)
    assert np.shares_memory(e.numpy(), x.numpy())
    x.mul_(2)
    np.testing.assert_array_equal(e.numpy(), [[2, 4, 6], [2, 4, 6]])
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        e[0] = 1.0
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        e.masked_fill_(tj.tensor([True, False, True]), 0.0)
    same = x.expand(3)  # no broadcast: an ordinary writable view
    same[0] = 9.0
    assert x[0].item() == 9.0


def test_diagonal_is_writable() -> None:
    x = tj.zeros(3, 4)
    x.diagonal(1).fill_(1.0)
    np.testing.assert_array_equal(x.numpy(), np.eye(3, 4, 1))
    x.diagonal()[:] = 2.0
    assert x.numpy().trace() == 6.0


# ---------------------------------------------------------------------------------------------
# __setitem__


def test_setitem_grads_against_torch() -> None:
    torch = _torch()

    def run(m: Any) -> list:
        x = m.tensor(_arr((3, 4)), requires_grad=True)
        v = m.tensor(_arr((4,), 2), requires_grad=True)
        u = m.tensor(_arr((2, 1), 3), requires_grad=True)
        y = x * 2
        y[m.tensor([0, 2])] = v  # advanced, broadcast value
        y[m.tensor([[True, False, False, True]] * 3)] = 0.5
        z = x * 1
        z[1:, m.tensor([1, 3])] = u * 3
        loss = (y * m.tensor(_arr((3, 4), 4))).sum() + (z * m.tensor(_arr((3, 4), 5))).sum()
        loss.backward()
        return [y.detach().numpy(), z.detach().numpy(), x.grad.numpy(), v.grad.numpy(),
                u.grad.numpy(), y.grad_fn.name()]

    for a, b in zip(run(torch), run(tj)):
        if isinstance(a, str):
            assert a == b
        else:
            np.testing.assert_allclose(b, a, rtol=1e-12)


def test_setitem_basic_index_grads() -> None:
    x = tj.tensor(_arr((3, 4)), requires_grad=True)
    v = tj.tensor(_arr((4,), 1), requires_grad=True)
    y = x * 1
    y[1] = v
    y[:, 0] = 0.0
    w = _arr((3, 4), 2)
    (y * tj.tensor(w)).sum().backward()
    gx = w.copy()
    gx[1] = 0
    gx[:, 0] = 0
    np.testing.assert_allclose(x.grad.numpy(), gx)
    gv = w[1].copy()
    gv[0] = 0
    np.testing.assert_allclose(v.grad.numpy(), gv)
    assert y.grad_fn.name() == "IndexPutBackward0"


def test_setitem_plain_and_versions() -> None:
    x = tj.zeros(2, 3, dtype=tj.int64)
    v0 = x._version
    x[0] = 2.7  # cast like PyTorch's copy_
    x[1, 1:] = tj.tensor([5, 6])
    x[x == 0] = -1
    np.testing.assert_array_equal(x.numpy(), [[2, 2, 2], [-1, 5, 6]])
    assert x._version == v0 + 3
    assert x.grad_fn is None
    leaf = tj.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        leaf[0] = 2.0
    with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad"):
        leaf[[0]] = 2.0
    with tj.no_grad():
        leaf[0] = 2.0
    assert leaf.grad_fn is None and leaf[0].item() == 2.0
    with pytest.raises(RuntimeError, match="shape mismatch: value tensor of shape"):
        x[[0, 1]] = tj.tensor([1, 2])
    with pytest.raises(RuntimeError, match="Index put requires the source and destination"):
        x[tj.tensor([0])] = tj.ones(3)


def test_index_put_accumulate() -> None:
    x = tj.zeros(4, requires_grad=True)
    v = tj.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.index_put((tj.tensor([0, 0, 2]),), v, accumulate=True)
    np.testing.assert_array_equal(y.detach().numpy(), [3, 0, 3, 0])
    (y * tj.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 2, 3, 4])
    np.testing.assert_array_equal(v.grad.numpy(), [1, 1, 3])


def test_repeated_indices_accumulate() -> None:
    x = tj.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 1, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3, 1, 0])
    x.grad = None
    x.index_select(0, tj.tensor([2, 2])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 2])


# ---------------------------------------------------------------------------------------------
# second order: the backward ops are themselves differentiable

SECOND = [
    ("select", lambda m, x: x[1] ** 2),
    ("slice", lambda m, x: x[:, 1:] ** 2),
    ("diagonal", lambda m, x: x.diagonal() ** 2),
    ("index", lambda m, x: x[[0, 0, 2]] ** 2),
    ("gather", lambda m, x: x.gather(1, m.tensor([[0, 0], [1, 2], [3, 3]])) ** 2),
    ("index_select", lambda m, x: x.index_select(1, m.tensor([0, 0, 2])) ** 2),
    ("masked_select", lambda m, x: x.masked_select(x > 0) ** 2),
    ("expand", lambda m, x: x.expand(2, 3, 4) ** 2),
    ("split", lambda m, x: x.split(3, 1)[0] ** 2),
    ("cat", lambda m, x: m.cat([x, x[:1]]) ** 2),
    ("matmul", lambda m, x: x @ x.t()),
]


@pytest.mark.parametrize("name,fn", SECOND, ids=[s[0] for s in SECOND])
def test_double_backward(name: str, fn: Any) -> None:
    torch = _torch()
    w = _arr((3, 4), 7)

    def run(m: Any) -> np.ndarray:
        x = m.tensor(_arr((3, 4)), requires_grad=True)
        y = fn(m, x)
        (g,) = m.autograd.grad((y * m.tensor(_arr(tuple(y.shape), 8))).sum(), x,
                               create_graph=True)
        (g * m.tensor(w)).sum().backward()
        return x.grad.numpy()

    np.testing.assert_allclose(run(tj), run(torch), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# node names (fixed, so they are checked without torch too)

NAMES = {
    "x[0]": ("SelectBackward0", lambda m, x: x[0]),
    "x[:]": ("SliceBackward0", lambda m, x: x[:]),
    "x[:, :]": ("AliasBackward0", lambda m, x: x[:, :]),
    "x[...]": ("AliasBackward0", lambda m, x: x[...]),
    "x[None]": ("UnsqueezeBackward0", lambda m, x: x[None]),
    "x[None, 0]": ("SelectBackward0", lambda m, x: x[None, 0]),
    "x[0, None]": ("UnsqueezeBackward0", lambda m, x: x[0, None]),
    "x[:2, :]": ("AliasBackward0", lambda m, x: x[:2, :]),
    "x[-2:, :]": ("SliceBackward0", lambda m, x: x[-2:, :]),
    "x[[0]]": ("IndexBackward0", lambda m, x: x[[0]]),
    "x[True]": ("IndexBackward0", lambda m, x: x[True]),
    "view": ("ViewBackward0", lambda m, x: x.view(3, 2)),
    "reshape_copy": ("UnsafeViewBackward0", lambda m, x: x.t().reshape(6)),
    "T": ("PermuteBackward0", lambda m, x: x.T),
    "t": ("TBackward0", lambda m, x: x.t()),
    "mT": ("TransposeBackward0", lambda m, x: x.mT),
    "squeeze()": ("SqueezeBackward0", lambda m, x: x.squeeze()),
    "squeeze(0)": ("SqueezeBackward1", lambda m, x: x.squeeze(0)),
    "squeeze((0,))": ("SqueezeBackward2", lambda m, x: x.squeeze((0,))),
    "movedim": ("PermuteBackward0", lambda m, x: x.movedim(0, 1)),
    "chunk": ("SplitBackward0", lambda m, x: x.chunk(2, 1)[0]),
    "split_sizes": ("SplitWithSizesBackward0", lambda m, x: x.split([1, 2], 1)[0]),
    "unbind": ("UnbindBackward0", lambda m, x: x.unbind()[0]),
    "narrow": ("SliceBackward0", lambda m, x: x.narrow(1, 0, 1)),
    "flip": ("FlipBackward0", lambda m, x: x.flip(0)),
    "scatter_value": ("ScatterBackward1", lambda m, x: x.scatter(0, m.tensor([[0]]), 1.0)),
    "masked_fill_t": ("MaskedFillBackward1", lambda m, x: x.masked_fill(x > 0, m.tensor(1.0))),
    "tile": ("RepeatBackward0", lambda m, x: x.tile(2)),
    "repeat_interleave": ("ViewBackward0", lambda m, x: x.repeat_interleave(2)),
    "outer": ("MulBackward0", lambda m, x: m.outer(x[0], x[1])),
    "1@2": ("SqueezeBackward4", lambda m, x: x[0] @ x.t()),
    "3@2": ("UnsafeViewBackward0", lambda m, x: x.expand(4, 2, 3) @ x.t()),
    "2@3": ("CloneBackward0", lambda m, x: x @ x.mT.expand(4, 3, 2)),
}


@pytest.mark.parametrize("label", list(NAMES))
def test_node_names(label: str) -> None:
    name, fn = NAMES[label]
    x = tj.tensor(_arr((2, 3)), requires_grad=True)
    assert fn(tj, x).grad_fn.name() == name


@pytest.mark.parametrize("label", list(NAMES))
def test_node_names_match_torch(label: str) -> None:
    torch = _torch()
    name, fn = NAMES[label]
    x = torch.tensor(_arr((2, 3)), requires_grad=True)
    assert fn(torch, x).grad_fn.name() == name


# ---------------------------------------------------------------------------------------------
# errors: PyTorch's types and messages

ERRORS: list[tuple[str, Any, type, str]] = [
    ("view_size", lambda m, x: x.view(3, 5), RuntimeError,
     "shape '[3, 5]' is invalid for input of size 6"),
    ("view_two_infer", lambda m, x: x.view(-1, -1), RuntimeError,
     "only one dimension can be inferred"),
    ("view_nc", lambda m, x: x.t().view(6), RuntimeError,
     "view size is not compatible with input tensor's size and stride (at least one dimension "
     "spans across two contiguous subspaces). Use .reshape(...) instead."),
    ("view_neg", lambda m, x: x.view(-2, 3), RuntimeError,
     "invalid shape dimension -2 at index 0 of shape [-2, 3]"),
    ("permute_len", lambda m, x: x.permute(0), RuntimeError,
     "permute(sparse_coo): number of dimensions in the tensor input does not match the length "
     "of the desired ordering of dimensions i.e. input.dim() = 2 is not equal to len(dims) = 1"),
    ("permute_dup", lambda m, x: x.permute(0, 0), RuntimeError,
     "permute(): duplicate dims are not allowed."),
    ("t_3d", lambda m, x: x[None].t(), RuntimeError,
     "t() expects a tensor with <= 2 dimensions, but self is 3D"),
    ("mT_1d", lambda m, x: x[0].mT, RuntimeError,
     "tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor."),
    ("unsqueeze_dim", lambda m, x: x.unsqueeze(3), IndexError,
     "Dimension out of range (expected to be in range of [-3, 2], but got 3)"),
    ("squeeze_dim", lambda m, x: x.squeeze(2), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    ("expand_size", lambda m, x: x.expand(2, 4), RuntimeError,
     "The expanded size of the tensor (4) must match the existing size (3) at non-singleton "
     "dimension 1.  Target sizes: [2, 4].  Tensor sizes: [2, 3]"),
    ("expand_few", lambda m, x: x.expand(3), RuntimeError,
     "expand(torch.DoubleTensor{[2, 3]}, size=[3]): the number of sizes provided (1) must be "
     "greater or equal to the number of dimensions in the tensor (2)"),
    ("expand_lead", lambda m, x: x.expand(-1, 2, 3), RuntimeError,
     "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension 0"),
    ("narrow_len", lambda m, x: x.narrow(1, 2, 2), RuntimeError,
     "start (2) + length (2) exceeds dimension size (3)."),
    ("narrow_start", lambda m, x: x.narrow(1, 4, 0), IndexError,
     "start out of range (expected to be in range of [-3, 3], but got 4)"),
    ("select_range", lambda m, x: x.select(1, 3), IndexError,
     "select(): index 3 out of range for tensor of size [2, 3] at dimension 1"),
    ("diagonal_same", lambda m, x: x.diagonal(0, 1, 1), RuntimeError,
     "diagonal dimensions cannot be identical 1, 1"),
    ("split_sum", lambda m, x: x.split([1, 1], 1), RuntimeError,
     "split_with_sizes expects split_sizes to sum exactly to 3 (input tensor's size at "
     "dimension 1), but got split_sizes=[1, 1]"),
    ("split_neg", lambda m, x: x.split(-1, 1), RuntimeError,
     "split expects split_size be non-negative, but got split_size=-1"),
    ("chunk_zero", lambda m, x: x.chunk(0), RuntimeError,
     "chunk expects `chunks` to be greater than 0, got: 0"),
    ("movedim_len", lambda m, x: x.movedim((0, 1), (0,)), RuntimeError,
     "movedim: Invalid source or destination dims: source ([0, 1] dims) should contain the same "
     "number of dims as destination ([0] dims)"),
    ("flip_dup", lambda m, x: x.flip(0, 0), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    ("unflatten", lambda m, x: x.unflatten(1, (2, 2)), RuntimeError,
     "unflatten: Provided sizes [2, 2] don't multiply up to the size of dim 1 (3) in the input "
     "tensor"),
    ("flatten_order", lambda m, x: x[None].flatten(2, 1), RuntimeError,
     "flatten() has invalid args: start_dim cannot come after end_dim"),
    ("get_step", lambda m, x: x[::-1], ValueError, "step must be greater than zero"),
    ("get_int_range", lambda m, x: x[5], IndexError,
     "index 5 is out of bounds for dimension 0 with size 2"),
    ("get_int_range_dim1", lambda m, x: x[0, -4], IndexError,
     "index -4 is out of bounds for dimension 1 with size 3"),
    ("get_list_range", lambda m, x: x[[0, 5]], IndexError,
     "index 5 is out of bounds for dimension 0 with size 2"),
    ("get_too_many", lambda m, x: x[0, 0, 0], IndexError,
     "too many indices for tensor of dimension 2"),
    ("get_float_index", lambda m, x: x[m.tensor([0.0])], IndexError,
     "tensors used as indices must be long, int, byte or bool tensors"),
    ("get_mask_shape", lambda m, x: x[m.tensor([True, False, True])], IndexError,
     "The shape of the mask [3] at index 0 does not match the shape of the indexed tensor "
     "[2, 3] at index 0"),
    ("index_select_2d", lambda m, x: x.index_select(0, m.tensor([[0]])), IndexError,
     "index_select(): Index is supposed to be a vector"),
    ("index_select_range", lambda m, x: x.index_select(0, m.tensor([2])), IndexError,
     "index out of range in self"),
    ("gather_ndim", lambda m, x: x.gather(1, m.tensor([0])), RuntimeError,
     "Index tensor must have the same number of dimensions as input tensor"),
    ("gather_size", lambda m, x: x.gather(1, m.tensor([[0], [0], [0]])), RuntimeError,
     "Size does not match at dimension 0 expected index [3, 1] to be no larger than self "
     "[2, 3] apart from dimension 1"),
    ("gather_range", lambda m, x: x.gather(1, m.tensor([[5]])), RuntimeError,
     "index 5 is out of bounds for dimension 1 with size 3"),
    ("gather_dtype", lambda m, x: x.gather(1, m.tensor([[0.0]])), RuntimeError,
     "gather(): Expected dtype int32/int64 for index"),
    ("scatter_dtype", lambda m, x: x.scatter(1, m.tensor([[0]]), m.ones(1, 1)), RuntimeError,
     "scatter(): Expected self.dtype to be equal to src.dtype"),
    ("scatter_size", lambda m, x: x.scatter(1, m.tensor([[0, 1]]), x[:1, :1]), RuntimeError,
     "Expected index [1, 2] to be no larger than self [2, 3] apart from dimension 1 and to be "
     "no larger size than src [1, 1]"),
    ("index_add_count", lambda m, x: x.index_add(1, m.tensor([0, 1]), x[:, :1]), RuntimeError,
     "index_add_(): Number of indices (2) should be equal to source.size(dim): (1), for dim: 1"),
    ("masked_fill_mask", lambda m, x: x.masked_fill(x, 1.0), RuntimeError,
     "masked_fill_ only supports boolean masks, but got mask with dtype double"),
    ("masked_fill_value", lambda m, x: x.masked_fill(x > 0, x[0]), RuntimeError,
     "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 "
     "dimension(s)."),
    ("masked_select_mask", lambda m, x: x.masked_select(x), RuntimeError,
     "masked_select: expected BoolTensor for mask"),
    ("cat_empty", lambda m, x: m.cat([]), ValueError,
     "torch.cat(): expected a non-empty list of Tensors"),
    ("cat_0d", lambda m, x: m.cat([x, x[0, 0]]), RuntimeError,
     "zero-dimensional tensor (at position 1) cannot be concatenated"),
    ("cat_ndim", lambda m, x: m.cat([x, x[0]]), RuntimeError,
     "Tensors must have same number of dimensions: got 2 and 1"),
    ("cat_size", lambda m, x: m.cat([x, x.t()], 1), RuntimeError,
     "Sizes of tensors must match except in dimension 1. Expected size 2 but got size 3 for "
     "tensor number 1 in the list."),
    ("stack_size", lambda m, x: m.stack([x, x[0]]), RuntimeError,
     "stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [3] at entry 1"),
    ("repeat_few", lambda m, x: x.repeat(2), RuntimeError,
     "Number of dimensions of repeat dims can not be smaller than number of dimensions of "
     "tensor"),
    ("matmul_0d", lambda m, x: x[0, 0] @ x, RuntimeError,
     "both arguments to matmul need to be at least 1D, but they are 0D and 2D"),
    ("mm_shapes", lambda m, x: x @ x, RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)"),
    ("mm_dtype", lambda m, x: x.float() @ x.t(), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    ("mm_not_matrix", lambda m, x: x[0].mm(x), RuntimeError, "self must be a matrix"),
    ("mv_size", lambda m, x: x.mv(x[:, 0]), RuntimeError,
     "size mismatch, got input (2), mat (2x3), vec (2)"),
    ("dot_size", lambda m, x: x[0].dot(x[:, 0]), RuntimeError,
     "inconsistent tensor size, expected tensor [3] and src [2] to have the same number of "
     "elements, but got 3 and 2 elements respectively"),
    ("dot_dtype", lambda m, x: x[0].float().dot(x[0]), RuntimeError,
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    ("dot_2d", lambda m, x: x.dot(x), RuntimeError,
     "1D tensors expected, but got 2D and 2D tensors"),
    ("bmm_3d", lambda m, x: x.bmm(x), RuntimeError, "batch1 must be a 3D tensor"),
    ("bmm_sizes", lambda m, x: x.expand(4, 2, 3).bmm(x.expand(4, 2, 3)), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [4, 3] but got: [4, 2]."),
    ("matmul_batch", lambda m, x: x.expand(2, 2, 3) @ x.t().expand(3, 3, 2), RuntimeError,
     "The size of tensor a (2) must match the size of tensor b (3) at non-singleton "
     "dimension 0"),
    ("matmul_31", lambda m, x: x.expand(4, 2, 3).contiguous() @ x[:, 0], RuntimeError,
     "size mismatch, got input (8), mat (8x3), vec (2)"),
]


@pytest.mark.parametrize("name,fn,exc,msg", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name: str, fn: Any, exc: type, msg: str) -> None:
    x = tj.tensor(_arr((2, 3)))
    with pytest.raises(exc) as info:
        fn(tj, x)
    assert str(info.value) == msg


@pytest.mark.parametrize("name,fn,exc,msg", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(name: str, fn: Any, exc: type, msg: str) -> None:
    torch = _torch()
    x = torch.tensor(_arr((2, 3)))
    with pytest.raises(exc) as info:
        fn(torch, x)
    assert str(info.value) == msg


# ---------------------------------------------------------------------------------------------
# 0-d, empty, dtypes


def test_zero_dim_and_empty() -> None:
    s = tj.tensor(3.0, requires_grad=True)
    for r in (s[...], s[None], s.unsqueeze(0), s.squeeze(), s.squeeze(0), s.t(), s.T,
              s.flatten(), s.reshape(1, 1), s.expand(2, 2)):
        r.sum().backward()
    assert s.grad.item() == 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 4
    assert s[None].shape == (1,) and s.flatten().shape == (1,)
    e = tj.zeros(0, 3, requires_grad=True)
    assert e.view(-1, 3).shape == (0, 3)
    assert e[[]].shape == (0, 3)
    assert tj.cat([e, tj.ones(2, 3)]).shape == (2, 3)
    assert tj.cat([tj.zeros(0), tj.ones(2, 3)]).shape == (2, 3)  # legacy empty is skipped
    assert [t.shape for t in tj.zeros(0).chunk(3)] == [(0,), (0,), (0,)]
    assert len(e.unbind(0)) == 0
    assert e.gather(1, tj.zeros(0, 1, dtype=tj.int64)).shape == (0, 1)
    assert tj.stack([tj.tensor(1.0), tj.tensor(2.0)]).shape == (2,)
    assert tj.tensor(1.0).nonzero().shape == (1, 0)
    (nz,) = tj.tensor(0.0).nonzero(as_tuple=True)
    assert nz.shape == (0,)
    (tj.cat([e, e]).sum() + e.diagonal().sum()).backward()
    assert e.grad.shape == (0, 3)
    with pytest.raises(RuntimeError, match="cannot reshape tensor of 0 elements"):
        e.view(-1, 0)


def test_dtype_promotion_in_cat_and_stack() -> None:
    a = tj.tensor([[1.0, 2.0]], dtype=tj.float32, requires_grad=True)
    b = tj.tensor([[3.0, 4.0]], dtype=tj.float64, requires_grad=True)
    c = tj.cat([a, b])
    assert c.dtype is tj.float64 and c.grad_fn.name() == "CatBackward0"
    c.sum().backward()
    assert a.grad.dtype is tj.float32 and b.grad.dtype is tj.float64
    assert tj.cat([tj.ones(1, dtype=tj.bool), tj.ones(1, dtype=tj.int32)]).dtype is tj.int32
    assert tj.stack([tj.ones(2, dtype=tj.int64), tj.ones(2)]).dtype is tj.float32
    m = tj.ones(2, 3, dtype=tj.int64) @ tj.ones(3, 2, dtype=tj.int64)
    assert m.dtype is tj.int64 and m.numpy().tolist() == [[3, 3], [3, 3]]


def test_nonzero_and_masks() -> None:
    a = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    x = tj.tensor(a)
    np.testing.assert_array_equal(x.nonzero().numpy(), np.argwhere(a))
    for got, want in zip(x.nonzero(as_tuple=True), np.nonzero(a)):
        np.testing.assert_array_equal(got.numpy(), want)
    assert x.nonzero().dtype is tj.int64
    np.testing.assert_array_equal(x.masked_select(x > 0).numpy(), a[a > 0])
    np.testing.assert_array_equal(tj.where(x > 0)[1].numpy(), np.nonzero(a > 0)[1])
    y = tj.ones(3, dtype=tj.int64).masked_fill(tj.tensor([True, False, True]), 1.5)
    assert y.dtype is tj.int64 and y.numpy().tolist() == [1, 1, 1]
    z = tj.zeros(2, 3)
    z.masked_fill_(tj.tensor([True, False, False]), 5.0)
    assert z.numpy()[:, 0].tolist() == [5.0, 5.0] and z._version == 1


def test_inplace_scatter_family() -> None:
    x = tj.zeros(2, 4)
    x.scatter_(1, tj.tensor([[1], [3]]), 1.0)
    x.scatter_add_(1, tj.tensor([[1, 1]] * 2), tj.ones(2, 2))
    x.index_add_(0, tj.tensor([1]), tj.ones(1, 4), alpha=10)
    x.index_fill_(1, tj.tensor([0]), -1.0)
    np.testing.assert_array_equal(x.numpy(), [[-1, 3, 0, 0], [-1, 12, 10, 11]])
    assert x._version == 4
    assert x.scatter(1, tj.tensor([[0], [0]]), tj.ones(2, 1) * 4,
                     reduce="add").numpy()[:, 0].tolist() == [3.0, 3.0]
