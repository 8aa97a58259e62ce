#include "traces/h5_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace flotilla::h5 {
namespace {

constexpr hsize_t kChunkRows = 64 * 1024;

std::atomic<unsigned> temp_counter{0};

}  // namespace

Handle string_type() {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  if (type.ok() &&
      (H5Tset_size(type.get(), H5T_VARIABLE) < 0 || H5Tset_cset(type.get(), H5T_CSET_UTF8) < 0)) {
    type.close();
  }
  return type;
}

Status Writer::column_bytes(hid_t group, const char* name, hid_t file_t, hid_t mem_t,
                            std::size_t rows, const void* data, const std::string& label) const {
  const hsize_t n = rows;
  const hsize_t max = H5S_UNLIMITED;
  Handle space(H5Screate_simple(1, &n, &max), H5Sclose);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  const hsize_t chunk = std::clamp<hsize_t>(n, 1, kChunkRows);
  if (!space.ok() || !dcpl.ok() || H5Pset_chunk(dcpl.get(), 1, &chunk) < 0 ||
      H5Pset_shuffle(dcpl.get()) < 0 || H5Pset_deflate(dcpl.get(), 4) < 0) {
    return fail("cannot set up " + label);
  }
  Handle ds(H5Dcreate2(group, name, file_t, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
            H5Dclose);
  if (!ds.ok()) return fail("cannot create " + label);
  if (n > 0 && H5Dwrite(ds.get(), mem_t, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    return fail("cannot write " + label);
  }
  return Status::ok();
}

Status Writer::strings(hid_t loc, const char* name, const std::vector<std::string>& table,
                       const std::string& label) const {
  std::vector<const char*> ptrs;
  ptrs.reserve(table.size());
  for (const std::string& s : table) ptrs.push_back(s.c_str());
  const hsize_t n = table.size();
  Handle type = string_type();
  if (!type.ok()) return fail("cannot make the string type");
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle ds(H5Dcreate2(loc, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
            H5Dclose);
  if (!ds.ok()) return fail("cannot create " + label);
  if (n > 0 && H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0) {
    return fail("cannot write " + label);
  }
  return Status::ok();
}

Status Writer::attribute_bytes(hid_t loc, const char* name, hid_t file_t, hid_t mem_t,
                               std::size_t n, const void* data, bool array) const {
  const hsize_t dims = n;
  Handle space(array ? H5Screate_simple(1, &dims, nullptr) : H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(loc, name, file_t, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.ok() || ((!array || n > 0) && H5Awrite(attr.get(), mem_t, data) < 0)) {
    return fail(std::string("cannot write attribute ") + name);
  }
  return Status::ok();
}

Status Writer::string_attribute(hid_t loc, const char* name, const std::string& value) const {
  Handle type = string_type();
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(loc, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  const char* p = value.c_str();
  if (!attr.ok() || H5Awrite(attr.get(), type.get(), &p) < 0) {
    return fail(std::string("cannot write attribute ") + name);
  }
  return Status::ok();
}

Status write_atomically(const std::string& path, const std::function<Status(hid_t file)>& write,
                        const std::function<Status(const std::string& temp_path)>& before_rename) {
  const QuietHdf5 quiet;
  const std::string temp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(temp_counter++);
  Status s = Status::ok();
  {
    Handle file(H5Fcreate(temp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    if (!file.ok()) return Status::error(path + ": cannot create " + temp);
    s = write(file.get());
    if (s && !file.close()) s = Status::error(path + ": HDF5: cannot close " + temp);
  }
  if (s) {  // the data must be on disk before the name points at it
    const int fd = ::open(temp.c_str(), O_RDONLY);
    if (fd < 0 || ::fsync(fd) != 0) s = Status::error(path + ": cannot sync " + temp);
    if (fd >= 0) ::close(fd);
  }
  if (s && before_rename) s = before_rename(temp);
  if (s && std::rename(temp.c_str(), path.c_str()) != 0) {
    s = Status::error(path + ": cannot rename " + temp + " to it: " + std::strerror(errno));
  }
  if (!s) std::remove(temp.c_str());
  return s;
}

}  // namespace flotilla::h5
