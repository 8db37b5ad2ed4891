#include <lowbit/lowbit.hpp>

const char* lowbit_test_backend_description() { return lowbit::backend_description<LOWBIT_TEST_BACKEND>(); }
