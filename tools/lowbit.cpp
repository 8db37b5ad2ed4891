// The `lowbit` command-line tool; everything is in cli.hpp so that tests and fuzzers can call it in-process.
#include "cli.hpp"

int main(int argc, char** argv) { return lowbit::cli::run(argc, argv, stdout, stderr); }
