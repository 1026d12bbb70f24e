"""Every exportable op: onnxruntime on the exported file (and tracejit's loader on it) equals
tracejit's eager output, at two sizes of the dynamic batch axis (dim 0 of every input unless
a case says otherwise)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx.checker")  # (a bare "onnx" could find tests/onnx)
pytest.importorskip("onnxruntime")

from onnx_check import check_export  # noqa: E402

import tracejit as torch  # noqa: E402
import tracejit.nn.functional as F  # noqa: E402
from tracejit import nn  # noqa: E402

_R = np.random.default_rng(1)


def fl(*shape: object, lo: float = -2.0, hi: float = 2.0, dtype: object = np.float32):
    """Floats of ``shape``, where "b" marks the dynamic (batch) size."""
    return lambda b: _R.uniform(lo, hi, [b if s == "b" else s for s in shape]).astype(dtype)


def it(*shape: object, lo: int = 0, hi: int = 5, dtype: object = np.int64):
    return lambda b: _R.integers(lo, hi, [b if s == "b" else s for s in shape]).astype(dtype)


def bo(*shape: object):
    return lambda b: _R.random([b if s == "b" else s for s in shape]) > 0.5


X = fl("b", 3)
POS = fl("b", 3, lo=0.1, hi=3.0)
IDX = torch.tensor([2, 0])
EMB = nn.Embedding(6, 3)

UNARY = {
    "neg": lambda x: -x, "abs": torch.abs, "sign": torch.sign, "exp": torch.exp,
    "sin": torch.sin, "cos": torch.cos, "tan": lambda x: torch.tan(x * 0.5),
    "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "erf": torch.erf,
    "floor": torch.floor, "ceil": torch.ceil, "round": torch.round, "trunc": torch.trunc,
    "reciprocal": lambda x: torch.reciprocal(x + 3), "expm1": torch.expm1,
    "square": lambda x: x ** 2, "pow_scalar": lambda x: x ** 3, "rpow": lambda x: 2 ** x,
    "rsub": lambda x: 1 - x, "clamp": lambda x: x.clamp(-0.5, 0.7),
    "clamp_min": lambda x: x.clamp(min=0.1), "isfinite": lambda x: torch.isfinite(x / x),
    "isnan": lambda x: torch.isnan(torch.sqrt(x)),
    "isinf": lambda x: torch.isinf(1 / torch.relu(x)),
    "logical_not": lambda x: torch.logical_not(x > 0), "to_int": lambda x: (x * 3).to(torch.int32),
    "to_double": lambda x: x.double(), "to_bool": lambda x: torch.relu(x).bool(),
    "clone": lambda x: x.clone() + 1, "masked_fill": lambda x: x.masked_fill(x > 0.5, -1.0),
    "where_scalar": lambda x: torch.where(x > 0, x, 0.25),
    "full_like": lambda x: torch.full_like(x, 3.0) * x,
    "softmax": lambda x: torch.softmax(x, 1), "log_softmax": lambda x: torch.log_softmax(x, -1),
    "leaky_relu": F.leaky_relu, "elu": F.elu, "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu, "softplus": F.softplus, "mish": F.mish, "hardtanh": F.hardtanh,
    "relu6": F.relu6, "hardswish": F.hardswish, "hardsigmoid": F.hardsigmoid, "selu": F.selu,
    "softsign": F.softsign, "logsigmoid": F.logsigmoid, "celu": F.celu,
    "sum": lambda x: x.sum(), "sum_dim": lambda x: x.sum(1, keepdim=True),
    "mean": lambda x: x.mean(0), "prod": lambda x: x.prod(1), "amax": lambda x: x.amax(0),
    "amin": lambda x: x.amin(1), "max": lambda x: x.max(), "min": lambda x: x.min(),
    "max_dim": lambda x: x.max(1), "min_dim": lambda x: x.min(0, keepdim=True),
    "argmax": lambda x: x.argmax(1), "argmax_all": lambda x: x.argmax(),
    "argmin_keep": lambda x: x.argmin(0, keepdim=True), "var": lambda x: x.var(0),
    "std": lambda x: x.std(1, unbiased=False), "var_all": lambda x: x.var(),
    "norm": lambda x: x.norm(dim=1), "norm1": lambda x: torch.norm(x, 1, dim=0),
    "norm_inf": lambda x: torch.norm(x, float("inf"), dim=1),
    "norm3": lambda x: torch.norm(x, 3), "logsumexp": lambda x: x.logsumexp(1),
    "all": lambda x: (x > -1).all(1), "any": lambda x: (x > 1).any(),
    "count_nonzero": lambda x: torch.count_nonzero(torch.relu(x), 1),
    "nansum": lambda x: torch.nansum(torch.sqrt(x), 1), "cumsum": lambda x: x.cumsum(1),
    "cumsum_batch": lambda x: x.cumsum(0), "sum_int": lambda x: (x > 0).sum(1),
    "view": lambda x: x.view(x.shape[0], 3, 1), "reshape_flat": lambda x: x.reshape(-1),
    "flatten": lambda x: x.unsqueeze(2).flatten(1), "permute": lambda x: x.permute(1, 0),
    "t": lambda x: x.t(), "transpose": lambda x: x.unsqueeze(0).transpose(0, 2),
    "unsqueeze": lambda x: x.unsqueeze(1), "squeeze": lambda x: x.unsqueeze(1).squeeze(1),
    "expand": lambda x: x[:, :1].expand(x.shape[0], 4), "select": lambda x: x[:, 1],
    "select_last": lambda x: x[-1], "slice": lambda x: x[:, 1:3], "slice_batch": lambda x: x[1:],
    "slice_step": lambda x: x[:, ::2], "getitem": lambda x: x[..., None, 0],
    "narrow": lambda x: x.narrow(1, 1, 2), "index_tensor": lambda x: x[:, IDX],
    "index_select": lambda x: x.index_select(1, IDX), "unbind": lambda x: x.unbind(1),
    "split": lambda x: x.split([1, 2], 1),
    "chunk": lambda x: x.unsqueeze(2).repeat(1, 1, 4).chunk(2, 2),
    "flip": lambda x: x.flip(1), "flip_batch": lambda x: x.flip(0), "roll": lambda x: x.roll(1, 1),
    "cat": lambda x: torch.cat([x, x * 2], 1), "cat_batch": lambda x: torch.cat([x, -x], 0),
    "stack": lambda x: torch.stack([x, x + 1], 1), "repeat": lambda x: x.repeat(2, 1, 1),
    "topk": lambda x: x.topk(2, 1), "sort": lambda x: x.sort(1, descending=True),
    "argsort": lambda x: x.argsort(1), "sort_batch": lambda x: x.sort(0)[0],
    "pad": lambda x: F.pad(x, (1, 2)),
    "pad_value": lambda x: F.pad(x.unsqueeze(0), (1, 0, 0, 2), value=3.0),
    "zeros_batch": lambda x: torch.zeros(x.shape[0], 2) + x[:, :2],
    "batch_mean_manual": lambda x: x - x.mean(0, keepdim=True),
    "normalize": lambda x: F.normalize(x, dim=1),
}

BINARY = {
    "add": torch.add, "add_alpha": lambda x, y: torch.add(x, y, alpha=2),
    "sub": torch.sub, "sub_alpha": lambda x, y: torch.sub(x, y, alpha=0.5), "mul": torch.mul,
    "div": torch.div, "pow": lambda x, y: torch.pow(torch.abs(x) + 0.5, y),
    "maximum": torch.maximum, "minimum": torch.minimum,
    "remainder": lambda x, y: torch.remainder(x * 3, torch.abs(y) + 1),
    "floor_divide": lambda x, y: torch.floor_divide(x * 3, torch.abs(y) + 1),
    "eq": lambda x, y: torch.eq(x.round(), y.round()), "ne": lambda x, y: x.round() != y.round(),
    "lt": torch.lt, "le": torch.le, "gt": torch.gt, "ge": torch.ge,
    "logical_and": lambda x, y: torch.logical_and(x > 0, y > 0),
    "logical_or": lambda x, y: torch.logical_or(x > 0, y),
    "logical_xor": lambda x, y: torch.logical_xor(x > 0, y > 0),
    "bool_and": lambda x, y: (x > 0) & (y > 0), "where": lambda x, y: torch.where(x > y, x, y),
    "mse": F.mse_loss, "mse_none": lambda x, y: F.mse_loss(x, y, reduction="none"),
    "l1": F.l1_loss, "smooth_l1": F.smooth_l1_loss,
    "huber": lambda x, y: F.huber_loss(x, y, delta=0.5),
    "bce": lambda x, y: F.binary_cross_entropy(torch.sigmoid(x), torch.sigmoid(y)),
    "bce_logits": lambda x, y: F.binary_cross_entropy_with_logits(x, torch.sigmoid(y)),
    "bce_logits_pw": lambda x, y: F.binary_cross_entropy_with_logits(
        x, torch.sigmoid(y), pos_weight=torch.tensor([1.0, 2.0, 0.5])),
    "kl_div": lambda x, y: F.kl_div(torch.log_softmax(x, 1), torch.softmax(y, 1),
                                    reduction="batchmean"),
    "soft_ce": lambda x, y: F.cross_entropy(x, torch.softmax(y, 1)),
    "cosine": F.cosine_similarity,
}

INTS = {
    "int_add": lambda a, b: a + b * 3, "int_mul": torch.mul,
    "int_remainder": lambda a, b: a % (b + 1),
    "int_floor_divide": lambda a, b: (a - 2) // (b + 1), "int_max": torch.maximum,
    "int_lt": torch.lt, "int_sum": lambda a, b: (a * b).sum(0),
    "int_cast": lambda a, b: (a + b).float(),
}

LOSSES = [
    ("cross_entropy", F.cross_entropy, [fl("b", 4), it("b", hi=4)]),
    ("cross_entropy_none", lambda x, t: F.cross_entropy(x, t, reduction="none"),
     [fl("b", 4), it("b", hi=4)]),
    ("cross_entropy_smooth", lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
     [fl("b", 4), it("b", hi=4)]),
    ("nll_weight", lambda x, t: F.nll_loss(torch.log_softmax(x, 1), t, weight=torch.tensor(
        [1.0, 2.0, 0.5, 1.5]), ignore_index=1), [fl("b", 4), it("b", hi=4)]),
    ("nll_sum_2d", lambda x, t: F.nll_loss(x, t, reduction="sum"), [fl("b", 3, 2, 2),
                                                                   it("b", 2, 2, hi=3)]),
    ("embedding", EMB, [it("b", 4, hi=6)]),
    ("one_hot", lambda t: F.one_hot(t, 5), [it("b", 2)]),
    ("gather", lambda x, t: x.gather(1, t), [fl("b", 3), it("b", 2, hi=3)]),
    ("scatter", lambda x, t: x.scatter(1, t[:, :1], 7.0), [fl("b", 3), it("b", 2, hi=3)]),
    ("scatter_add", lambda x, t: x.scatter_add(1, t, x[:, :2]), [fl("b", 3), it("b", 2, hi=3)]),
    ("scatter_mul", lambda x, t: x.scatter(1, t, x[:, :2], reduce="multiply"),
     [fl("b", 3), it("b", 2, hi=3)]),
    ("matmul_3d", lambda x, w: torch.matmul(x, w[0]), [fl("b", 2, 3), fl(1, 3, 4)]),
    ("bmm", torch.bmm, [fl("b", 2, 3), fl("b", 3, 4)]),
    ("mm", lambda x, y: torch.mm(x, y[:3].t()), [fl("b", 3), fl(4, 3)]),
    ("mv", lambda x, v: torch.mv(x, v[0]), [fl("b", 3), fl(1, 3)]),
    ("dot", lambda v, w: torch.dot(v[0], w[0]), [fl(1, 3), fl(1, 3)]),
    ("addmm", lambda x, y, c: torch.addmm(c[0], x, y[0], beta=0.5, alpha=2.0),
     [fl("b", 3), fl(1, 3, 4), fl(1, 4)]),
    ("where_cond", torch.where, [bo("b", 3), fl("b", 3), fl(1, 3)]),
]


def _case(name: str, fn: object, makers: list, **kw: object) -> object:
    return pytest.param(fn, makers, kw, id=name)


ALL = ([_case(n, f, [X]) for n, f in UNARY.items()]
       + [_case(n, f, [X, fl("b", 3)]) for n, f in BINARY.items()]
       + [_case(n, f, [it("b", 3, lo=-4), it("b", 3)]) for n, f in INTS.items()]
       + [_case(n, f, m) for n, f, m in LOSSES])
POSITIVE = {"log": torch.log, "sqrt": torch.sqrt, "rsqrt": torch.rsqrt, "log1p": torch.log1p,
            "pow_half": lambda x: x ** 0.5}
ALL += [_case(n, f, [POS]) for n, f in POSITIVE.items()]


@pytest.mark.parametrize("fn, makers, kw", ALL)
def test_op_exports(fn: object, makers: list, kw: dict) -> None:
    check_export(fn, lambda b: [m(b) for m in makers], **kw)


def _fill_copy(x: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y.fill_(2.0)
    z = torch.zeros_like(x)  # made inside the function: in-place writes to it are data flow
    z.copy_(x[:, :1])
    return y + z


def test_in_place_and_mixed_dtype_ops() -> None:
    check_export(_fill_copy, lambda n: [X(n)])
    check_export(lambda x: x.masked_fill(x > 0, torch.tensor(5.0)), lambda n: [X(n)])
    check_export(lambda x, i: torch.cat([x, i.float(), i.double().float()], 1),
                 lambda n: [X(n), it(n, 2)(n)])
    check_export(lambda x: x.expand(2, *x.shape) + x.new_zeros(x.shape), lambda n: [X(n)])
    check_export(lambda x: x.index_select(0, torch.tensor(1)), lambda n: [fl(4, n)(n)],
                 dyn={0: [1]})


def test_bitwise_ints_need_opset_18() -> None:
    check_export(lambda a, b: (a & b) | (~a ^ b), lambda n: [it(n, 3, hi=9)(n), it(n, 3)(n)],
                 opset=18)
    with pytest.raises(torch.onnx.OnnxExportError, match="opset 18"):
        check_export(lambda a, b: a & b, lambda n: [it(n, 3)(n), it(n, 3)(n)], opset=17)


def test_reductions_with_opset_18_axes_inputs() -> None:
    check_export(lambda x: (x.amax(1), x.mean(0), x.var(0), x.logsumexp(1), x.norm(dim=1)),
                 lambda n: [X(n)], opset=18)
