#!/usr/bin/env bash
# The GPU check of issue 8, for a machine with an NVIDIA GPU, the CUDA toolkit,
# the Debian packages of ./setup.sh and python3 with torch. It builds the CUDA
# probe, runs `flotilla probe` (whose GEMMs are checked against an exact CPU
# reference: relative error at most 2^-8 for a BF16 output, else it fails),
# runs a proof of compute at n=16384, measures PyTorch's BF16 matmul and
# device-to-device copy in the same run, and prints a table with the ratios.
# Targets: GEMM >= 85% of torch.matmul, copy >= 85% of torch's copy. Exit 0
# only when everything is correct and both targets are met. About 5 minutes on
# one H100 or H200, most of it the build.
#
#   bench/gpu/device-check.sh [OUT_DIR]     (default OUT_DIR: $OUT, else /tmp)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-${OUT:-/tmp}}
mkdir -p "$out"
build=${FLOTILLA_DEVICE_BUILD:-build-device}

if [[ ! -x $build/flotilla || ! -f $build/libflotilla_probe_cuda.so ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLOTILLA_BUILD_TESTS=OFF \
    -DFLOTILLA_BUILD_BENCHMARKS=OFF -DFLOTILLA_CUDA_ARCHITECTURES=native >"$out/configure.log"
fi
cmake --build "$build" --target flotilla flotilla_probe_cuda -j "$(nproc)" >"$out/build.log"

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$out/nvidia-smi.txt" || true
"$build/flotilla" probe --out "$out/probe.json" | tee "$out/probe.txt"

name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["gpus"][0]["name"])' "$out/probe.json")
case "$name" in
  *H200*) claim=H200 ;;
  *H100*PCIe*) claim=H100-PCIe ;;
  *H100*) claim=H100-SXM ;;
  *A100*) claim=A100-SXM-80GB ;;
  *4090*) claim=RTX4090 ;;
  *L40S*) claim=L40S ;;
  *) claim=RTX3090 ;;
esac
proof_rc=0
"$build/flotilla" probe --prove --n 16384 --claim "$claim" --json >"$out/proof.json" || proof_rc=$?

python3 bench/gpu/torch_reference.py 8192 16384 >"$out/torch.json"

python3 - "$out" "$proof_rc" <<'PY'
import json, sys
out, proof_rc = sys.argv[1], int(sys.argv[2])
probe = json.load(open(f"{out}/probe.json"))
ref = json.load(open(f"{out}/torch.json"))
proof = json.load(open(f"{out}/proof.json"))
m = probe["measurements"][0]
ours = {str(g["n"]): g["tflops"] for g in m["gemm_bf16"]}
rows = []
for n, theirs in ref["gemm_tflops"].items():
    rows.append((f"GEMM BF16 {n}^3 TFLOP/s", ours.get(n, 0.0), theirs))
rows.append(("device copy GB/s", m["device_copy"]["gb_per_s"], ref["copy_gb_per_s"]))
ok = True
print(f"\n{probe['gpus'][0]['name']}, driver {probe['nvml_driver_version']}, torch {ref['torch']}")
print(f"{'measure':28} {'flotilla':>10} {'PyTorch':>10} {'ratio':>7}  target")
for label, a, b in rows:
    ratio = a / b if b else 0.0
    met = ratio >= 0.85
    ok &= met
    print(f"{label:28} {a:10.1f} {b:10.1f} {ratio:7.1%}  >= 85% {'ok' if met else 'MISSED'}")
print(f"{'host->device GB/s':28} {m['host_to_device']['gb_per_s']:10.1f}")
print(f"{'device->host GB/s':28} {m['device_to_host']['gb_per_s']:10.1f}")
for a in probe["all_reduce"]:
    print(f"{'all-reduce ' + str(a['gpus']) + ' GPU bus GB/s':28} {a['bus_gb_per_s']:10.1f}")
print(f"GEMM check: max relative error {m['gemm_max_relative_error']:.2e} (limit 2^-8 = 3.91e-03)")
print(f"proof of compute n=16384 claiming {proof['claimed_class']}: "
      f"{'accepted' if proof['accepted'] else 'REJECTED'} ({proof['reason']}), "
      f"{proof['measured_tflops']:.1f} TFLOP/s end to end, fastest class {proof['fastest_class'] or 'none'}")
ok &= proof_rc == 0
sys.exit(0 if ok else 1)
PY
