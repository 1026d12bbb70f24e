"""``tracejit.nn.functional`` (``F``): PyTorch's functional API.

Activations, losses and normalisations live in their own modules and are re-exported here;
this file holds linear/bilinear, dropout, embedding, one_hot, pad and the small helpers, plus
the convolution and pooling functions of ``nn.conv``/``nn.pooling``.
"""
from __future__ import annotations

from typing import Any

from .. import dtypes
from ..dispatch import apply
from ..ops import linalg as _linalg
from ..tensor import Tensor
from . import primitives as P
from .conv import conv1d, conv2d
from .functional_activations import *  # noqa: F403
from .functional_activations import __all__ as _act_all
from .functional_losses import *  # noqa: F403
from .functional_losses import __all__ as _loss_all
from .functional_norm import *  # noqa: F403
from .functional_norm import __all__ as _norm_all
from .pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool1d_with_indices,
    max_pool2d,
    max_pool2d_with_indices,
)

__all__ = [
    *_act_all, *_loss_all, *_norm_all,
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "bilinear",
    "conv1d", "conv2d", "cosine_similarity", "dropout", "dropout1d", "dropout2d", "embedding",
    "linear", "max_pool1d", "max_pool1d_with_indices", "max_pool2d", "max_pool2d_with_indices",
    "normalize", "one_hot", "pad", "pairwise_distance",
]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """y = x W^T + b (addmm for 2-D inputs, as torch)."""
    if input.ndim == 2 and bias is not None:
        return _linalg.addmm(bias, input, weight.t())
    out = _linalg.matmul(input, weight.t())
    return out + bias if bias is not None else out


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """y_k = x1^T W_k x2 + b_k over the trailing feature dim."""
    out_f, in1, in2 = weight.shape
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    t = _linalg.matmul(x1, weight.permute(1, 0, 2).reshape(in1, out_f * in2))
    y = (t.reshape(-1, out_f, in2) * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, out_f)


# ---- dropout ----------------------------------------------------------------------------------

def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
            inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (training only)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    out = input * P.dropout_noise(input, p, tuple(input.shape))
    return input.copy_(out) if inplace else out


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool,  # noqa: A002
                     batched_ndim: int, name: str) -> Tensor:
    _check_p(p)
    if input.ndim not in (batched_ndim - 1, batched_ndim):
        raise RuntimeError(
            f"{name}: Expected {batched_ndim - 1}D or {batched_ndim}D input, but received a "
            f"{input.ndim}D input."
        )
    if not training or p == 0.0:
        return input
    nfeat = 2 if input.ndim == batched_ndim else 1
    shape = tuple(input.shape[:nfeat]) + (1,) * (input.ndim - nfeat)
    out = input * P.dropout_noise(input, p, shape)
    return input.copy_(out) if inplace else out


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) inputs."""
    return _feature_dropout(input, p, training, inplace, 3, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) inputs."""
    return _feature_dropout(input, p, training, inplace, 4, "dropout2d")


# ---- embedding, one_hot, pad ------------------------------------------------------------------

def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,  # noqa: A002
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` at ``input``; rows at padding_idx get no gradient."""
    if input.dtype.np.kind not in "iu":
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {input.dtype} instead (while checking arguments for "
            "embedding)"
        )
    n = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= n:
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -n:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = n + padding_idx
    else:
        padding_idx = -1
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError(
            "embedding: max_norm, scale_grad_by_freq and sparse are not supported by tracejit"
        )
    return apply(P.embedding_op, (weight, input), {"padding_idx": int(padding_idx)})


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot of class indices; num_classes=-1 means max + 1 (needs the data)."""
    if tensor.dtype is not dtypes.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        num_classes = int(tensor.max().item()) + 1 if tensor.numel() else 0
        if tensor.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
    return apply(P.one_hot_op, (tensor,), {"num_classes": int(num_classes)})


def pad(input: Tensor, pad: Any, mode: str = "constant",  # noqa: A002
        value: float | None = None) -> Tensor:
    """Constant padding, last dim first: pad=(left, right, top, bottom, ...); negative crops."""
    pad = tuple(int(v) for v in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the "
                           "input dimension but got padding length "
                           f"{len(pad)} and input of dimension {input.ndim}")
    if mode != "constant":
        raise NotImplementedError(f"pad mode {mode!r} is not supported by tracejit yet")
    return apply(P.pad_op, (input,), {"pad": pad, "value": 0.0 if value is None else value})


# ---- distances --------------------------------------------------------------------------------

def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,  # noqa: A002
              out: Any = None) -> Tensor:
    """x / max(||x||_p, eps) along dim."""
    return input / input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """<x1, x2> / (max(||x1||, eps) * max(||x2||, eps)) along dim."""
    n1 = (x1 * x1).sum(dim).sqrt().clamp_min(eps)
    n2 = (x2 * x2).sum(dim).sqrt().clamp_min(eps)
    return (x1 * x2).sum(dim) / (n1 * n2)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim."""
    return (x1 - x2 + eps).norm(p, -1, keepdim=keepdim)
