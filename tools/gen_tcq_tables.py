#!/usr/bin/env python3
"""Prints the value tables of lowbit's trellis-coded formats (include/lowbit/format/tcq2.hpp, tcq3.hpp): the 2^q
Gaussian quantiles Phi^-1((i + 1/2) / 2^q), scaled so the largest is 127, rounded to int8. Standard library only."""
from statistics import NormalDist

for name, q in (("tcq2", 6), ("tcq3", 7)):
    n = 1 << q
    top = NormalDist().inv_cdf((n - 0.5) / n)
    table = [int(round(127 * NormalDist().inv_cdf((i + 0.5) / n) / top)) for i in range(n)]
    print(f"{name} values[{n}] = {{{', '.join(map(str, table))}}}")
