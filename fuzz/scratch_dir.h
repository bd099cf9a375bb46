// The directory where the fuzz targets that need files (a store, its
// copies) keep them: made under $TMPDIR on first use and removed when the
// process exits normally. One per process, not per execution: a target runs
// millions of times and must neither leak a directory each time nor pay for
// making one. A process that crashes or is interrupted leaves it behind,
// which is why scripts/fuzz points TMPDIR at a folder of its own and clears
// it.
#ifndef KVS_FUZZ_SCRATCH_DIR_H_
#define KVS_FUZZ_SCRATCH_DIR_H_

#include <string>

namespace kvs::fuzz {

// The process's scratch directory, absolute. Aborts when it cannot be made:
// a target that cannot run must not look like one that found nothing.
const std::string& ScratchDir();

// ScratchDir()/name, emptied (created when missing); the same path on every
// call with the same name.
std::string EmptySubdirectory(const std::string& name);

}  // namespace kvs::fuzz

#endif  // KVS_FUZZ_SCRATCH_DIR_H_
