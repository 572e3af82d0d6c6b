#pragma once
// CRC-32C (Castagnoli), as used by record batch v2. Uses the SSE4.2 crc32 instruction when the CPU
// has it (checked once at run time) and a table-driven portable fallback otherwise.
#include <cstddef>
#include <cstdint>

namespace broker::protocol {

/// Extends `crc` (0 to start) over `data`.
uint32_t crc32c(const void* data, std::size_t size, uint32_t crc = 0);
/// The portable implementation, exposed so tests can check both paths agree.
uint32_t crc32c_portable(const void* data, std::size_t size, uint32_t crc = 0);
bool crc32c_hardware_available();

}  // namespace broker::protocol
