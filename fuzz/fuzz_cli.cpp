// fuzz_cli: lowbit::cli::run (tools/cli.hpp) on fuzzer-chosen arguments and input file.
//   - run() returns 0, 1 or 2 and never throws or crashes (ASan/UBSan watch the streaming code);
//   - a non-zero status comes with a message on `err` that starts with "lowbit: ", and leaves no output
//     file behind (the directory holds only "in");
//   - the input file "in" is never modified.
//
// Input: byte 0 = number of arguments (0..7), then the arguments, each ended by a NUL byte, then the
// contents of the file "in". Every call runs in a fresh private directory: an argument is used as given,
// except that '/' becomes '_' and ".", ".." and "-" become "in", so every path the tool can open is a plain
// name inside that directory (run fuzz_cli with an absolute -artifact_prefix: the working directory changes
// during each call).
// Not fuzzed, by design: `bench-model` (it times each figure for seconds and reads a 256 MiB buffer), and --calib
// with rows of more than 2048 columns (its statistics are cols x cols doubles: up to 8 GiB is legitimate use,
// past libFuzzer's memory limit).
#include "fuzz_common.hpp"

#include <cli.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

std::string sandboxed(std::string arg) {
    if (arg == "." || arg == ".." || arg == "-") return "in";
    for (char& c : arg)
        if (c == '/') c = '_';
    return arg;
}

/// A fresh directory for one call, made the working directory until destruction.
class scratch_dir {
public:
    scratch_dir() : m_previous(::open(".", O_RDONLY | O_DIRECTORY)) {
        char name[] = "/tmp/lowbit_fuzz_cli.XXXXXX";
        LOWBIT_FUZZ_REQUIRE(m_previous >= 0 && ::mkdtemp(name) && ::chdir(name) == 0, "cannot set up %s", name);
        m_path = name;
    }
    ~scratch_dir() {
        (void)::fchdir(m_previous);
        ::close(m_previous);
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;

private:
    int m_previous;
    std::string m_path;
};

/// Whether run() would legitimately take seconds or gigabytes (see the file comment).
bool too_costly(const std::vector<std::string>& args) {
    bool calib = false;
    std::size_t cols = 0;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "bench-model") return true;
        calib |= args[i] == "--calib" || args[i].rfind("--calib=", 0) == 0;
        const std::string value = args[i] == "--cols" && i + 1 < args.size() ? args[i + 1]
                                  : args[i].rfind("--cols=", 0) == 0      ? args[i].substr(7)
                                                                          : "";
        if (!value.empty()) cols = value.size() > 9 ? 1000000000 : std::strtoul(value.c_str(), nullptr, 10);
    }
    return calib && cols > 2048;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    lowbit_fuzz::input in(data, size);
    std::vector<std::string> args{"lowbit"};
    for (int count = in.byte() % 8; count > 0 && in.remaining() > 0; --count) {
        std::string arg;
        for (std::uint8_t c = in.byte(); c != 0; c = in.remaining() ? in.byte() : 0) arg += static_cast<char>(c);
        args.push_back(sandboxed(arg));
    }
    if (too_costly(args)) return 0;
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    scratch_dir dir;
    if (std::FILE* f = std::fopen("in", "wb")) {
        std::fwrite(in.rest(), 1, in.remaining(), f);
        std::fclose(f);
    }
    char* err_text = nullptr;
    std::size_t err_size = 0;
    std::FILE* out = std::fopen("/dev/null", "w");
    std::FILE* err = ::open_memstream(&err_text, &err_size);
    LOWBIT_FUZZ_REQUIRE(out && err, "cannot open the output streams");
    const int status = lowbit::cli::run(static_cast<int>(args.size()), argv.data(), out, err);
    std::fclose(out);
    std::fclose(err);
    const std::string message(err_text, err_size);
    std::free(err_text);

    LOWBIT_FUZZ_REQUIRE(status >= 0 && status <= 2, "exit status %d", status);
    std::string in_now;
    if (std::FILE* f = std::fopen("in", "rb")) {
        for (int c; (c = std::fgetc(f)) != EOF;) in_now += static_cast<char>(c);
        std::fclose(f);
    }
    LOWBIT_FUZZ_REQUIRE(in_now == std::string(reinterpret_cast<const char*>(in.rest()), in.remaining()),
                        "the input file changed (status %d)", status);
    if (status != 0) {
        LOWBIT_FUZZ_REQUIRE(message.rfind("lowbit: ", 0) == 0, "status %d with message \"%s\"", status,
                            message.c_str());
        for (const auto& entry : std::filesystem::directory_iterator("."))
            LOWBIT_FUZZ_REQUIRE(entry.path().filename() == "in", "status %d left '%s' behind", status,
                                entry.path().filename().c_str());
    }
    return 0;
}
