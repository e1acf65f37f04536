"""Bit-mask helpers for the kernels: the day's events and services are bits of small integers."""

from __future__ import annotations

from numba import types
from numba.core.extending import intrinsic


@intrinsic
def popcount(typingctx: object, x: types.Integer) -> tuple[object, object]:
    """The number of set bits of an integer, by LLVM's ctpop: no loop, so no branch to miss."""
    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])
    return x(x), codegen
