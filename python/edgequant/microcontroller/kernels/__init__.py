"""The C kernels export-c can call, each registered once.

A :class:`Kernel` holds everything the exporter knows about one kernel kind of ``runtime/c``: the C
function and the header declaring it, its parameter struct (``eq_shapes.h``) and the struct's fields,
the constants it reads, how its call is written into ``model.c``, and the shapes rule — the facts
about its tensors and parameters the C trusts, checked by :mod:`..validation`. The code generator,
the validator and the registry-wide tests (``tests/python/microcontroller/test_kernel_registry.py``
and the CTest file ``tests/c/test_<kind>.c``) all read :data:`KERNELS`.

Adding a kernel: its C source and header in ``runtime/c`` (struct in ``eq_shapes.h`` if it takes
one), a module here calling :func:`register` (every module of this package is imported, so the file
is all it takes), its C test ``tests/c/test_<kind>.c``, and a front end emitting
``Layer("<kind>", ...)``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CallSite:
    """What the code generator knows where a layer's call goes.

    Attributes
    ----------
    prefix : str
        The layer's C name prefix (``layer<i>``); its parameter block is ``<prefix>_params``.
    sources : list of str
        C expressions of the activations read, in ``Layer.inputs`` order.
    destination : str
        C expression of the activation written.
    constants : dict
        Constant name -> C expression (a ``static const`` array, or a decoded scratch buffer).
    layer : Layer
    """

    prefix: str
    sources: list
    destination: str
    constants: dict
    layer: object

    @property
    def params(self) -> str:
        """C expression of a pointer to the layer's parameter block."""
        return f"&{self.prefix}_params"


@dataclass(frozen=True)
class Kernel:
    """One kernel kind of ``runtime/c`` as export-c uses it.

    Attributes
    ----------
    kind : str
        The ``Layer.kind`` naming it.
    function : str
        The C function called (``<function>_ref`` is its plain reference when ``reference``).
    header : str
        The ``runtime/c`` header declaring it (included by ``edgequant_runtime.h``).
    struct : str or None
        Its parameter struct in ``eq_shapes.h``; ``None`` for a kernel taking plain arguments.
    fields : tuple of str
        The parameter block's fields (the struct's, in declaration order): ``Layer.params`` keys.
    arguments : callable
        ``CallSite -> str``: the argument list of the call in ``model.c``.
    check : callable
        ``(graph, layer, src, dst) -> None``: the shapes rule; raises ``Refusal`` with a reason.
    required, optional : frozenset of str
        ``Layer.constants`` names the kernel must / may read.
    operands : int
        Tensors it reads (activations plus constant operands such as ``input1``).
    reference : bool
        A fast version beside a plain reference: called as ``EQ_KERNEL(function)``.
    alias : bool
        The output is its input's bytes unchanged (a copy): the planner may give both one buffer and skip the
        call.
    """

    kind: str
    function: str
    header: str
    struct: str | None
    fields: tuple
    arguments: Callable
    check: Callable
    required: frozenset = field(default_factory=frozenset)
    optional: frozenset = field(default_factory=frozenset)
    operands: int = 1
    reference: bool = False
    alias: bool = False

    def call(self, site: CallSite) -> str:
        """The C call statement's expression for the layer at ``site``."""
        name = f"EQ_KERNEL({self.function})" if self.reference else self.function
        return f"{name}({self.arguments(site)})"


#: kind -> :class:`Kernel`, in registration order.
KERNELS: dict[str, Kernel] = {}


def register(kernel: Kernel) -> Kernel:
    """Add ``kernel`` to :data:`KERNELS` (once per kind)."""
    if kernel.kind in KERNELS:
        raise ValueError(f"kernel kind {kernel.kind!r} registered twice")
    KERNELS[kernel.kind] = kernel
    return kernel


def kernel(kind: str) -> Kernel:
    """The kernel of ``kind``; ``KeyError`` naming the known kinds otherwise."""
    try:
        return KERNELS[kind]
    except KeyError:
        raise KeyError(f"no C kernel {kind!r}; known: {sorted(KERNELS)}") from None


def _register_all() -> None:
    """Import every kind module of this package (``kernels/<kind>.py``; ``_``-prefixed helpers aside): each
    registers its kernel, so a new file is all it takes."""
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_register_all()

__all__ = ["KERNELS", "CallSite", "Kernel", "kernel", "register"]
