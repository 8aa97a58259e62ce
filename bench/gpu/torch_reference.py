#!/usr/bin/env python3
"""The reference figures device-check.sh compares flotilla's probe with,
measured the same way in the same run: torch.matmul on BF16 n x n inputs
(fresh random inputs, CUDA events, warm-up, median) and a device-to-device
copy of a 1 GiB tensor (bytes read + written, as the probe counts it).
Prints one JSON object."""
import json
import statistics
import sys

import torch


def median_ms(run, before=lambda: None, warm_up=3, repeats=15):
    start = torch.cuda.Event(enable_timing=True)
    stop = torch.cuda.Event(enable_timing=True)
    times = []
    for i in range(warm_up + repeats):
        before()
        start.record()
        run()
        stop.record()
        stop.synchronize()
        if i >= warm_up:
            times.append(start.elapsed_time(stop))
    return statistics.median(times)


def main():
    sizes = [int(s) for s in sys.argv[1:]] or [8192]
    dev = torch.device("cuda")
    out = {"device": torch.cuda.get_device_name(dev), "torch": torch.__version__, "gemm_tflops": {}}
    for n in sizes:
        a = torch.empty(n, n, dtype=torch.bfloat16, device=dev)
        b = torch.empty(n, n, dtype=torch.bfloat16, device=dev)

        def fresh():
            a.uniform_(-1, 1)
            b.uniform_(-1, 1)

        ms = median_ms(lambda: torch.matmul(a, b), fresh)
        out["gemm_tflops"][str(n)] = 2 * n**3 / (ms * 1e-3) / 1e12
        del a, b
    src = torch.rand(1 << 28, dtype=torch.float32, device=dev)  # 1 GiB
    dst = torch.empty_like(src)
    ms = median_ms(lambda: dst.copy_(src))
    out["copy_gb_per_s"] = 2 * src.numel() * 4 / (ms * 1e-3) / 1e9
    print(json.dumps(out))


if __name__ == "__main__":
    main()
