// Catch2's runner, compiled once for every test executable. Prints the backend the executable exercises.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

const char* lowbit_test_backend_description();  // tests/backend.cpp, compiled per backend

int main(int argc, char** argv) {
    std::printf("lowbit tests: backend %s\n", lowbit_test_backend_description());
    std::fflush(stdout);
    return Catch::Session().run(argc, argv);
}
