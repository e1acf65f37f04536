"""`expf` that loops can vectorise, bit for bit the exponential numpy gives a float32.

Why: the daily mean approval needs one sigmoid per citizen, and a call to the C library's
`expf` cannot be vectorised, so that call was a quarter of the day's tallies. This is the
algorithm of glibc's `expf` (Szabolcs Nagy's, from Arm's optimized-routines, used by glibc
since 2.27, musl and others): exp(x) = 2^(k/32) * 2^(r/32), with 2^(k/32) from a table of 32
doubles and 2^(r/32) from a cubic, all in double precision and rounded once to float32. It is
written with explicit fused multiply-adds where glibc's x86-64 build for FMA machines fuses
them, and checked against `np.exp` on every float32 (`tests/test_expf.py` samples them). An
explicit `llvm.fma` is exact on every machine, so the result no longer depends on which of
glibc's variants the CPU selects.
"""

from __future__ import annotations

from decimal import Decimal, getcontext

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_N = 32
_INV_LN2_N = float.fromhex("0x1.71547652b82fep+0") * _N
_SHIFT = float.fromhex("0x1.8p+52")  # adding it rounds k to an integer in the low bits
_C0 = float.fromhex("0x1.c6af84b912394p-5") / _N / _N / _N
_C1 = float.fromhex("0x1.ebfce50fac4f3p-3") / _N / _N
_C2 = float.fromhex("0x1.62e42ff0c52d6p-1") / _N
# Beyond these, float32's exp is inf and 0; clamping keeps the table index in range.
_HIGH, _LOW = 89.0, -104.0


def _table() -> np.ndarray:
    """2^(i/32), rounded to the nearest double, less i/32 in the exponent field: adding k << 47
    to entry k mod 32 gives 2^(k/32) for any integer k."""
    getcontext().prec = 60
    out = np.empty(_N, np.uint64)
    for i in range(_N):
        bits = np.float64(float(Decimal(2) ** (Decimal(i) / _N))).view(np.uint64)
        out[i] = np.uint64(int(bits) - ((i << 52) // _N))
    return out


_TABLE = _table()  # a global, so numba compiles it in as a constant and the lookup vectorises


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c rounded once."""
    def codegen(context, builder, signature, args):
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, args)
    return types.float64(types.float64, types.float64, types.float64), codegen


@intrinsic
def _bits(typingctx, x):
    """The 64 bits of a double."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.uint64(types.float64), codegen


@intrinsic
def _double(typingctx, bits):
    """The double of 64 bits."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.uint64), codegen


@njit(inline="always")
def expf(x):
    """exp of a float32, as a float32 (NaN stays NaN)."""
    xd = np.float64(x)
    xd = _HIGH if xd > _HIGH else xd
    xd = _LOW if xd < _LOW else xd
    kd = _fma(_INV_LN2_N, xd, _SHIFT)
    ki = _bits(kd)
    kd -= _SHIFT
    r = _fma(_INV_LN2_N, xd, -kd)  # x / ln2 * 32 = k + r, |r| <= 1/2
    s = _double(_TABLE[ki & np.uint64(_N - 1)] + (ki << np.uint64(52 - 5)))
    y = _fma(_fma(_C0, r, _C1), r * r, _fma(_C2, r, 1.0))
    return np.float32(y * s)
