// Configure-time probe: exit 0 when this CPU can run backend LOWBIT_PROBE_BACKEND (a tag of core/backends.hpp),
// by the library's own CPU detection.
#include <lowbit/core/backends.hpp>

int main() { return lowbit::arch::LOWBIT_PROBE_BACKEND::runs_on(lowbit::detect_cpu()) ? 0 : 1; }
