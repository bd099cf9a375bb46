// CRC32C (Castagnoli), the checksum on every record the store writes. Uses
// the SSE4.2 instruction when the CPU has it, a table otherwise.
#ifndef KVS_STORE_CRC32C_H_
#define KVS_STORE_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace kvs {

// The CRC32C of data[0, n), continuing from crc (0 to start).
uint32_t Crc32c(uint32_t crc, const void* data, size_t n);

// The same, a byte at a time by table, whatever the CPU: what Crc32c is
// tested against.
uint32_t Crc32cByTable(uint32_t crc, const void* data, size_t n);

}  // namespace kvs

#endif  // KVS_STORE_CRC32C_H_
