"""Plain data between the grader and its sandbox: JSON with tensors as raw bytes, never pickle.

A tensor travels as {"tensor": dtype, "shape": [...], "data": base64 of its bytes}; the reader
rebuilds a plain, contiguous torch.Tensor (or numpy array for {"ndarray": ...}) and checks that
the byte count matches the shape. Numbers travel as JSON numbers, sequences as lists, and modules
(score layers, GRU cells, decoder steps) as their class name, constructor arguments and weights.
Whatever comes back from the sandbox was written by code the learner controls: `decode` accepts
only these shapes of data, within size limits, and raises WireError on anything else.
"""

from __future__ import annotations

import base64
import math

import numpy as np
import torch
from torch import nn

DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "bool": torch.bool,
}
NUMPY_DTYPES = {name for name in DTYPES if name != "bfloat16"}
MAX_ELEMENTS = 1_000_000  # per tensor; the course's tensors have a few hundred
MAX_DEPTH = 6


class WireError(ValueError):
    """Data from the sandbox that is not one of the plain shapes the grader reads."""


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    flat = tensor.detach().cpu().contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""


def encode(value: object, depth: int = 0) -> object:
    """A JSON-able form of a value an answer returned or a case's argument."""
    if depth > MAX_DEPTH:
        return {"other": "nesting too deep"}
    if isinstance(value, torch.Tensor):
        plain = value.as_subclass(torch.Tensor)
        return {
            "tensor": _dtype_name(plain.dtype),
            "shape": list(plain.shape),
            "data": base64.b64encode(_tensor_bytes(plain)).decode("ascii"),
        }
    if isinstance(value, np.ndarray | np.generic):
        array = np.ascontiguousarray(value)
        return {
            "ndarray": str(array.dtype),
            "shape": list(array.shape),
            "scalar": isinstance(value, np.generic),
            "data": base64.b64encode(array.tobytes()).decode("ascii"),
        }
    if isinstance(value, bool):
        return {"bool": bool(value)}
    if isinstance(value, int):
        return {"int": int(value)}
    if isinstance(value, float):
        return {"float": float(value)}
    if value is None:
        return {"none": True}
    if isinstance(value, list | tuple):
        key = "tuple" if isinstance(value, tuple) else "list"
        return {key: [encode(item, depth + 1) for item in value]}
    if isinstance(value, nn.Module):
        return _encode_module(value)
    return {"other": type(value).__name__}


def _module_kwargs(module: nn.Module) -> dict:
    if hasattr(module, "init_kwargs"):
        return dict(module.init_kwargs)
    if isinstance(module, nn.Linear):
        bias = module.bias is not None
        return {
            "in_features": module.in_features,
            "out_features": module.out_features,
            "bias": bias,
        }
    if isinstance(module, nn.GRUCell):
        return {"input_size": module.input_size, "hidden_size": module.hidden_size}
    if isinstance(module, nn.Embedding):
        return {"num_embeddings": module.num_embeddings, "embedding_dim": module.embedding_dim}
    raise WireError(f"cannot send a {type(module).__name__} to the sandbox")


def _encode_module(module: nn.Module) -> dict:
    state = {name: encode(tensor) for name, tensor in module.state_dict().items()}
    return {"module": type(module).__name__, "kwargs": _module_kwargs(module), "state": state}


def _module_classes() -> dict[str, type[nn.Module]]:
    from ..checks.ex05_full_model import LuongStep, MLPScore

    classes = [nn.Linear, nn.GRUCell, nn.Embedding, MLPScore, LuongStep]
    return {cls.__name__: cls for cls in classes}


def _decode_module(data: dict) -> nn.Module:
    cls = _module_classes().get(data["module"])
    if cls is None:
        raise WireError(f"unknown module {data['module']!r}")
    with torch.random.fork_rng(devices=[]):
        module = cls(**data["kwargs"])
    module.load_state_dict({name: decode(value) for name, value in data["state"].items()})
    return module


def _raw(data: dict, itemsize: int) -> tuple[bytes, list[int]]:
    shape = data.get("shape")
    if not isinstance(shape, list) or not all(type(n) is int and 0 <= n for n in shape):
        raise WireError("a tensor's shape must be a list of sizes")
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise WireError(f"a tensor of {count} elements is larger than the grader accepts")
    try:
        raw = base64.b64decode(data.get("data", ""), validate=True)
    except (ValueError, TypeError) as err:
        raise WireError("a tensor's bytes are not valid base64") from err
    if len(raw) != count * itemsize:
        raise WireError("a tensor's bytes do not match its shape")
    return raw, shape


def _decode_tensor(data: dict) -> torch.Tensor:
    dtype = DTYPES.get(data["tensor"])
    if dtype is None:
        raise WireError(f"tensors of dtype {data['tensor']!r} are not accepted")
    raw, shape = _raw(data, torch.empty((), dtype=dtype).element_size())
    if not raw:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(raw), dtype=dtype).reshape(shape).clone()


def _decode_ndarray(data: dict) -> np.ndarray | np.generic:
    if data["ndarray"] not in NUMPY_DTYPES:
        raise WireError(f"arrays of dtype {data['ndarray']!r} are not accepted")
    dtype = np.dtype(data["ndarray"])
    raw, shape = _raw(data, dtype.itemsize)
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    return array[()] if data.get("scalar") and array.shape == () else array


def decode(data: object, depth: int = 0, modules: bool = False) -> object:
    """The value `encode` wrote, as plain Python, numpy or torch objects; WireError otherwise.

    Modules are rebuilt only with modules=True: inside the sandbox, from the grader's cases.
    The grader never builds a module from what the sandbox sends back.
    """
    if depth > MAX_DEPTH:
        raise WireError("nesting too deep")
    if not isinstance(data, dict) or len(data) == 0:
        raise WireError("not a value")
    try:
        if "tensor" in data:
            return _decode_tensor(data)
        if "ndarray" in data:
            return _decode_ndarray(data)
        if "module" in data and modules:
            return _decode_module(data)
        (key, value), *rest = data.items()
        if rest:
            raise WireError("a value has extra fields")
        if key == "bool" and type(value) is bool:
            return value
        if key == "int" and type(value) is int:
            return value
        if key == "float" and type(value) in (int, float):
            return float(value)
        if key == "none":
            return None
        if key in ("list", "tuple") and isinstance(value, list):
            items = [decode(item, depth + 1, modules) for item in value]
            return tuple(items) if key == "tuple" else items
        if key == "other" and isinstance(value, str):
            return Unreadable(value[:80])
    except WireError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise WireError(f"malformed value ({type(err).__name__})") from err
    raise WireError("not a value")


class Unreadable:
    """Stands for an object the sandbox could not send as plain data (its type name only)."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"
