// Configure-time probe: exit 0 when this CPU can run the native AVX-512 (F/CD/DQ/BW/VL + VNNI) tests.
int main() {
    __builtin_cpu_init();
    return (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
               ? 0
               : 1;
}
