// GGUF model files (they will come from the network): a hostile file must never crash the
// reader or make it allocate beyond what the file could hold.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "model/gguf_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static int fd = ::memfd_create("gguf", 0);
    if (fd < 0 || ::ftruncate(fd, 0) != 0) return 0;
    if (size && ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
    auto r = llorch::model::gguf_reader::open("/proc/self/fd/" + std::to_string(fd));
    if (r) {
        (void)r->hparams();
        (void)r->tensor_bytes();
    }
    return 0;
}
