#!/usr/bin/env bash
# Proves that lowbit::dispatch's per-target translation units (kernel_table.cpp, one per backend) share no code:
# every symbol one of them exports names its own target namespace (lowbit::target_<isa>::..., or a standard
# template instantiated on one of its types) or is its kernel table (lowbit::abi::kernels_<tag>), and no two
# of them define the same symbol. So the linker can never resolve a call from one target to a copy compiled
# with another target's flags. Usage: check_dispatch_symbols.sh liblowbit_dispatch.a
set -euo pipefail
lib=$1
# nm prints "member:" before each archive member's symbols (every kernel table is "kernel_table.cpp.o", so
# members are numbered); keep the global definitions (upper-case types, and u for unique globals).
report=$(nm -C --defined-only "$lib" | awk -F'\n' '
  /^$/ { next }
  /:$/ { member = $0 "#" (++n); next }
  member ~ /^kernel_table/ {
    type = substr($0, 18, 1); symbol = substr($0, 20)
    if (type ~ /^[A-Z]$/ || type == "u") print member "\t" type "\t" symbol }' | sort -u)
tables=$(printf '%s\n' "$report" | cut -f1 | sort -u | wc -l)
bad=$(printf '%s\n' "$report" | grep -v 'lowbit::target_[a-z0-9_]*::\|	lowbit::abi::kernels_[a-z0-9_]*()$\|	DW.ref.__gxx_personality_v0$' || true)
shared=$(printf '%s\n' "$report" | cut -f1,3 | sort -u | cut -f2 | grep -vx 'DW.ref.__gxx_personality_v0' | sort | uniq -d)
echo "$tables kernel tables; exported symbols per target namespace:"
printf '%s\n' "$report" | cut -f3 | grep -o 'lowbit::target_[a-z0-9_]*::' | sort | uniq -c
status=0
if [[ -n $bad ]]; then printf 'FAIL: symbols outside a target namespace:\n%s\n' "$bad"; status=1; fi
if [[ -n $shared ]]; then printf 'FAIL: symbols defined by two kernel tables:\n%s\n' "$shared"; status=1; fi
if [[ $tables -lt 2 ]]; then echo "FAIL: expected a kernel table per backend, found $tables"; status=1; fi
[[ $status == 0 ]] && echo "1 passed, 0 failed"
exit $status
