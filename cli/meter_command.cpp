// `flotilla meter import-sacct FILE --provider P -o RECORDS.jsonl`: metering
// records (scheduler/metering.h) from a Slurm cluster's own accounting, so a
// provider that runs Slurm is metered and rewarded without `flotilla ctld`.
// The State -> outcome/fault mapping is in traces/sacct.h.
#include <boost/program_options.hpp>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "scheduler/metering.h"
#include "traces/sacct.h"

namespace flotilla::cli {

int meter_import_sacct(const Args& args) {
  namespace po = boost::program_options;
  po::options_description options(
      "usage: flotilla meter import-sacct FILE --provider P [--gpu-type T] -o RECORDS.jsonl\n\n"
      "FILE is `sacct -P` output (columns: slurm/README.md). One record per job per node;\n"
      "jobs still running, never started or without GPUs are counted, not written.\n\noptions");
  options.add_options()                                                                    //
      ("help,h", "print this help")                                                        //
      ("provider", po::value<std::string>(), "who runs the cluster (gets paid)")           //
      ("gpu-type", po::value<std::string>(), "GPU type of rows whose AllocTRES has none")  //
      ("output,o", po::value<std::string>(), "JSON Lines file to write");
  po::options_description all;
  all.add(options).add_options()("file", po::value<std::string>(), "");
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << options << '\n';
    return 0;
  }
  if (!vm.count("file") || !vm.count("provider") || !vm.count("output")) {
    std::cerr << "usage: flotilla meter import-sacct FILE --provider P -o RECORDS.jsonl"
                 "   (flotilla meter import-sacct --help)\n";
    return 2;
  }
  Result<SacctLog> log = read_sacct(vm["file"].as<std::string>());
  if (!log) {
    std::cerr << log.message() << '\n';
    return 1;
  }
  const std::string default_type = vm.count("gpu-type") ? vm["gpu-type"].as<std::string>() : "";
  Result<SacctMetering> m =
      sacct_meter_records(*log, vm["provider"].as<std::string>(), default_type);
  if (!m) {
    std::cerr << m.message() << '\n';
    return 1;
  }
  const std::string out = vm["output"].as<std::string>();
  if (Status s = write_meter_file(out, m->records); !s) {
    std::cerr << s.message() << '\n';
    return 1;
  }
  std::cout << "wrote " << m->records.size() << " records to " << out << " (not ended "
            << m->not_ended << ", never started " << m->never_started << ", CPU-only "
            << m->cpu_only << ", step rows " << log->steps_skipped << ")\n";
  return 0;
}

}  // namespace flotilla::cli
