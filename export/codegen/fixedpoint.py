"""gemmlowp fixed-point arithmetic in Python, bit for bit as ``edge/kernels/fe_fixedpoint.h``.

Used at code-generation time to tabulate functions of an int8 input whose every value the
generated C would otherwise recompute per element (SOFTMAX's exp of the difference to the row
maximum). Python integers do not overflow, so every int32 wrap of the C code is explicit
(:func:`wrap`); ``>>`` on Python ints is an arithmetic (floor) shift like GCC's.
"""

from __future__ import annotations

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
_EXP_MULTIPLIERS = (1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242)
"""exp(-2^k) for k = -2..4 in Q0.31 (gemmlowp's barrel shifter constants)."""


def wrap(x: int) -> int:
    """``x`` as a wrapped int32."""
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def srdhm(a: int, b: int) -> int:
    """SaturatingRoundingDoublingHighMul."""
    if a == b == INT32_MIN:
        return INT32_MAX
    return (a * b + (1 << 30)) >> 31


def rdbpot(x: int, exponent: int) -> int:
    """RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero."""
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if (x & mask) > threshold else 0)


def srmpot(x: int, exponent: int) -> int:
    """SaturatingRoundingMultiplyByPOT."""
    if exponent == 0:
        return x
    if exponent < 0:
        return rdbpot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return x << exponent


def exp_quarter_q0(a: int) -> int:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out (a Taylor polynomial around -1/8)."""
    constant_term, one_third = 1895147668, 715827883
    x = wrap(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4_over_4 = srmpot(srdhm(x2, x2), -2)
    poly = srmpot(wrap(srdhm(wrap(x4_over_4 + x3), one_third) + x2), -1)
    return wrap(constant_term + srdhm(constant_term, wrap(x + poly)))


def exp_on_negative(a: int, integer_bits: int) -> int:
    """exp(a) for a <= 0 with ``integer_bits`` integer bits; Q0.31 result."""
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    a_mod_minus_quarter = wrap((a & (one_quarter - 1)) - one_quarter)
    remainder = wrap(a_mod_minus_quarter - a)
    result = exp_quarter_q0(srmpot(a_mod_minus_quarter, integer_bits))
    for exponent in range(-2, 5):
        if integer_bits > exponent and remainder & (1 << (fractional_bits + exponent)):
            result = srdhm(result, _EXP_MULTIPLIERS[exponent + 2])
    if integer_bits > 5 and a < -(1 << (36 - integer_bits)):
        result = 0
    return INT32_MAX if a == 0 else result


def softmax_exp_table(multiplier: int, left_shift: int, diff_min: int,
                      diff_bits: int = 5) -> list[int]:
    """exp of every int8 difference to the row maximum, index d for difference -d.

    Entry d is TFLite's exp_on_negative_values(srdhm(-d << left_shift, multiplier)) in Q0.31
    for -d >= diff_min; the table stops at the last non-zero entry (at most
    min(256, 1 - diff_min)): differences beyond it, like those below diff_min, contribute
    nothing to the sum and give output -128. Entry 0 (exp 0 = 1) is never zero.
    """
    size = max(1, min(256, 1 - diff_min))
    table = [exp_on_negative(srdhm(wrap(-d << left_shift), multiplier), diff_bits)
             for d in range(size)]
    while len(table) > 1 and table[-1] == 0:
        table.pop()
    return table
