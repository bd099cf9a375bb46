// Fixed-width little-endian integers and length-prefixed strings: the
// vocabulary every on-disk record in the store is written in. Big-endian
// helpers exist only for tree keys, where byte order must equal number order;
// varints (LEB128: 7 bits a byte, low bits first) only for the compact edit
// records of store format 5 (store/edit_log.h) and the compact records, key
// entries and nodes of format 6 (store/format.h).
#ifndef KVS_STORE_CODING_H_
#define KVS_STORE_CODING_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace kvs {

inline void PutFixed16(std::string* dst, uint16_t v) {
  dst->append(reinterpret_cast<char*>(&v), 2);
}
inline void PutFixed32(std::string* dst, uint32_t v) {
  dst->append(reinterpret_cast<char*>(&v), 4);
}
inline void PutFixed64(std::string* dst, uint64_t v) {
  dst->append(reinterpret_cast<char*>(&v), 8);
}

inline uint16_t DecodeFixed16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline void EncodeFixed16(char* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline void EncodeFixed32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void EncodeFixed64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }

inline void PutVarint64(std::string* dst, uint64_t v) {
  char buf[10];
  size_t n = 0;
  for (; v >= 0x80; v >>= 7) buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
  buf[n++] = static_cast<char>(v);
  dst->append(buf, n);
}

// Reads a varint from *p, advancing it, never past end: false when the
// varint runs past end or over 10 bytes. Most are one byte.
inline bool GetVarint64(const char** p, const char* end, uint64_t* v) {
  if (*p < end && static_cast<uint8_t>(**p) < 0x80) {
    *v = static_cast<uint8_t>(*(*p)++);
    return true;
  }
  *v = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(*(*p)++);
    *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// The bytes PutVarint64 writes for v.
inline size_t VarintLength(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

inline void PutBigEndian64(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(buf, 8);
}
inline uint64_t DecodeBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Reads fields from a byte range, remembering whether it ever ran past the
// end; parsers check ok() once at the end instead of after every field.
class Decoder {
 public:
  explicit Decoder(std::string_view data) : p_(data.data()), end_(data.data() + data.size()) {}
  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? static_cast<size_t>(end_ - p_) : 0; }
  uint8_t U8() { return Need(1) ? static_cast<uint8_t>(*p_++) : 0; }
  uint16_t U16() { return Need(2) ? Advance16() : 0; }
  uint32_t U32() { return Need(4) ? Advance32() : 0; }
  uint64_t U64() { return Need(8) ? Advance64() : 0; }
  // A varint of at most 10 bytes (PutVarint64).
  uint64_t Varint() {
    uint64_t v = 0;
    if (ok_ && GetVarint64(&p_, end_, &v)) return v;
    ok_ = false;
    return 0;
  }
  std::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    std::string_view out(p_, n);
    p_ += n;
    return out;
  }

 private:
  bool Need(size_t n) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) ok_ = false;
    return ok_;
  }
  uint16_t Advance16() {
    auto v = DecodeFixed16(p_);
    p_ += 2;
    return v;
  }
  uint32_t Advance32() {
    auto v = DecodeFixed32(p_);
    p_ += 4;
    return v;
  }
  uint64_t Advance64() {
    auto v = DecodeFixed64(p_);
    p_ += 8;
    return v;
  }
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

}  // namespace kvs

#endif  // KVS_STORE_CODING_H_
