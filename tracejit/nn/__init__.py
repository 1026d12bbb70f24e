"""``tracejit.nn``: Modules, layers, losses, ``functional`` and ``init``, as ``torch.nn``."""
from __future__ import annotations

from . import functional, init
from .activation import *  # noqa: F403
from .activation import __all__ as _activation_all
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import Conv1d, Conv2d
from .dropout import Dropout, Dropout1d, Dropout2d
from .flatten import Flatten, Unflatten
from .linear import Bilinear, Identity, Linear
from .loss import *  # noqa: F403
from .loss import __all__ as _loss_all
from .module import Module, RemovableHandle
from .normalization import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    GroupNorm,
    LayerNorm,
    RMSNorm,
)
from .parameter import Buffer, Parameter
from .pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .sparse import Embedding

__all__ = [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "BatchNorm1d",
    "BatchNorm2d", "BatchNorm3d", "Bilinear", "Buffer", "Conv1d", "Conv2d", "Dropout",
    "Dropout1d", "Dropout2d", "Embedding", "Flatten", "GRU", "GRUCell", "GroupNorm",
    "Identity", "LSTM", "LSTMCell", "LayerNorm", "Linear", "MaxPool1d", "MaxPool2d", "Module",
    "ModuleDict", "ModuleList", "Parameter", "ParameterDict", "ParameterList", "RMSNorm", "RNN",
    "RNNBase", "RNNCell", "RNNCellBase", "RemovableHandle", "Sequential", "Unflatten",
    "functional", "init", *_activation_all, *_loss_all,
]
