// `flotilla sim --sweep FILE`: runs every cell of a sweep (simulator/sweep.h)
// and prints the cells table (or JSON). Alone it runs all cells on TBB
// threads; started by mpirun (OMPI_COMM_WORLD_SIZE set) it initialises MPI,
// rank r runs the cells whose index % K == r (each on TBB threads), and rank 0
// gathers every summary, writes the HDF5 file (`out`) and prints; the other
// ranks print nothing but their own errors. Without mpirun MPI is never
// initialised. The output is the same for any rank and thread count.
#pragma once

#include <string>

namespace flotilla::cli {

// Returns the process exit code (0, or 1 with one line on stderr).
int run_sweep(const std::string& sweep_path, bool json);

}  // namespace flotilla::cli
