// Sealing a store's files: making their checksums right again after the
// fuzzer changed their bytes. Unsealed, nearly every mutation fails a crc
// or a trailer's salted check, and the store target would test little but
// those checks; sealed, the mutated bytes reach the code that trusts what
// passed them: tree nodes, versions, commits and the offsets they hold,
// which is what a bug in a writer, or a file made to attack the reader,
// puts behind valid checksums. Layouts in store/format.h.
#ifndef KVS_FUZZ_STORE_SEAL_H_
#define KVS_FUZZ_STORE_SEAL_H_

#include <cstdint>
#include <string>

#include "kvs/store.h"
#include "store/data_file.h"

namespace kvs::fuzz {

// Fixes the crc of a STORE file; one of another size is left as it is.
void SealIdentityFile(std::string* store_file);

// Makes a data file's header name the given generation and replica (so that
// opening reaches its blocks) and fixes its crc, then walks the blocks from
// the first, each starting where the one before ends: fixes the block
// header's crc, the crc of every record in its payload, and its trailer's
// group crc and salted check. Stops at the first block whose header or
// trailer magic is not where it should be, or that runs past the file.
void SealDataFile(std::string* data_file, uint64_t generation, const ReplicaId& replica,
                  const Salt& salt);

}  // namespace kvs::fuzz

#endif  // KVS_FUZZ_STORE_SEAL_H_
