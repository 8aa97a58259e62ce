// HDF5 building blocks shared by every flotilla file written with the HDF5 C
// API (the trace store in trace_h5.cpp, the simulation results in
// simulator/results_h5.cpp): handles that close themselves, a guard that keeps
// HDF5 from printing, fixed on-disk types, chunked + deflated columns, string
// tables and attributes, and the temp-file-then-rename write.
// Thread-compatible: HDF5 (serial build) must not be entered from two threads.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "scheduler/status.h"

namespace flotilla::h5 {

// Owns one HDF5 id and closes it when it goes out of scope.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Handle& operator=(Handle&&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }
  // Closes now and reports whether the close succeeded (files: data on disk).
  bool close() {
    const herr_t r = id_ >= 0 ? close_(id_) : -1;
    id_ = -1;
    return r >= 0;
  }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// Library code never prints: silences HDF5's error stack printer while alive.
class QuietHdf5 {
 public:
  QuietHdf5() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  QuietHdf5(const QuietHdf5&) = delete;
  QuietHdf5& operator=(const QuietHdf5&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

template <class T>
hid_t native_type() {
  if constexpr (std::is_same_v<T, std::uint8_t>) return H5T_NATIVE_UINT8;
  if constexpr (std::is_same_v<T, std::uint16_t>) return H5T_NATIVE_UINT16;
  if constexpr (std::is_same_v<T, std::uint32_t>) return H5T_NATIVE_UINT32;
  if constexpr (std::is_same_v<T, std::uint64_t>) return H5T_NATIVE_UINT64;
  if constexpr (std::is_same_v<T, std::int64_t>) return H5T_NATIVE_INT64;
  if constexpr (std::is_same_v<T, std::int32_t>) return H5T_NATIVE_INT32;
  if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
}

// The type on disk: fixed little-endian, whatever the writing machine is.
template <class T>
hid_t file_type() {
  if constexpr (std::is_same_v<T, std::uint8_t>) return H5T_STD_U8LE;
  if constexpr (std::is_same_v<T, std::uint16_t>) return H5T_STD_U16LE;
  if constexpr (std::is_same_v<T, std::uint32_t>) return H5T_STD_U32LE;
  if constexpr (std::is_same_v<T, std::uint64_t>) return H5T_STD_U64LE;
  if constexpr (std::is_same_v<T, std::int64_t>) return H5T_STD_I64LE;
  if constexpr (std::is_same_v<T, std::int32_t>) return H5T_STD_I32LE;
  if constexpr (std::is_same_v<T, double>) return H5T_IEEE_F64LE;
}

// A variable-length UTF-8 string type (what h5py reads as str).
Handle string_type();

// Writes datasets and attributes under any group of one file. Errors read
// "PATH: HDF5: what", PATH being the file the caller is producing.
// Not thread-safe; lives no longer than the file it writes.
class Writer {
 public:
  explicit Writer(std::string path) : path_(std::move(path)) {}

  // A 1-D column, chunked (64 Ki rows), shuffled and deflate-compressed.
  // `label` names it in errors ("/jobs/id").
  template <class T>
  Status column(hid_t group, const char* name, const std::vector<T>& values,
                const std::string& label) const {
    return column_bytes(group, name, file_type<T>(), native_type<T>(), values.size(), values.data(),
                        label);
  }

  // A 1-D dataset of variable-length UTF-8 strings.
  Status strings(hid_t loc, const char* name, const std::vector<std::string>& table,
                 const std::string& label) const;

  // A scalar attribute on `loc` (the file, a group or a dataset).
  template <class T>
  Status attribute(hid_t loc, const char* name, T value) const {
    return attribute_bytes(loc, name, file_type<T>(), native_type<T>(), 0, &value);
  }
  // A 1-D array attribute.
  template <class T>
  Status array_attribute(hid_t loc, const char* name, const std::vector<T>& values) const {
    return attribute_bytes(loc, name, file_type<T>(), native_type<T>(), values.size(),
                           values.data(), true);
  }
  Status string_attribute(hid_t loc, const char* name, const std::string& value) const;

  Status fail(const std::string& what) const { return Status::error(path_ + ": HDF5: " + what); }

 private:
  Status column_bytes(hid_t group, const char* name, hid_t file_t, hid_t mem_t, std::size_t n,
                      const void* data, const std::string& label) const;
  Status attribute_bytes(hid_t loc, const char* name, hid_t file_t, hid_t mem_t, std::size_t n,
                         const void* data, bool array = false) const;

  std::string path_;
};

// Writes PATH as a whole: creates "PATH.tmp.<pid>.<n>" beside it, lets
// `write` fill the open file, closes and fsyncs it, runs `before_rename`
// (optional; tests use it to stand in for a crash) and renames it over PATH.
// A crash leaves the old PATH or the new one, never half of one; on any
// failure the temporary file is removed and PATH is untouched.
Status write_atomically(
    const std::string& path, const std::function<Status(hid_t file)>& write,
    const std::function<Status(const std::string& temp_path)>& before_rename = {});

}  // namespace flotilla::h5
