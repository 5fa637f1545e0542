#!/bin/sh
# Whole-network comparison of issue 6, in one command: convlens vs ONNX Runtime (one JMH run) vs
# PyTorch, ResNet-18 and AlexNet, forward / saliency / train step / 10 steps of class
# visualization, plus the peak heap of a ResNet-18 forward and training step.
#
# Usage: bench/run-all.sh [THREADS]          (default 2; run from anywhere; about 13 minutes on 2 cores)
#        QUICK=1 bench/run-all.sh [THREADS]  (a smoke test of the whole pipeline on ResNet-18 forward
#                                             only, about 2 minutes; its numbers mean nothing)
#
# Steps: build bench/target/benchmarks.jar (mvn -o: nothing is downloaded), export the ONNX files
# into bench/target/models if missing (bench/export-models.sh), time PyTorch (bench/torch_bench.py),
# run NetworkBench through NetworkMain (convlens and ONNX Runtime, one JMH run), then MemoryMain.
# Results: bench/target/results/{torch.jsonl,jmh.jsonl,network.md,memory.md,uptime.txt}.
# The machine should be quiet: the script records `uptime` before and after; a load average
# above the thread count means the numbers are noisy.
set -e
threads=${1:-2}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/target/results"
java_flags="--add-modules jdk.incubator.vector"
if [ -n "$QUICK" ]; then
    torch_args="--models resnet18 --what forward,saliency --seconds 1"
    jmh_args="-p model=resnet18 -p what=forward,saliency -wi 1 -w 1 -i 1 -r 1"
    mem_cases=forward
else
    torch_args="--seconds 5"
    jmh_args=""
    mem_cases=all
fi

cd "$root"
echo "== build (mvn -o -q -pl bench -am package -DskipTests)"
mvn -o -q -pl bench -am package -DskipTests
mkdir -p "$out"
uptime > "$out/uptime.txt"
if [ ! -f "$here/target/models/resnet18.onnx" ] || [ ! -f "$here/target/models/resnet18_bn.onnx" ] \
        || [ ! -f "$here/target/models/alexnet.onnx" ]; then
    echo "== export the ONNX files (bench/export-models.sh)"
    "$here/export-models.sh" "$here/target/models"
fi

echo "== PyTorch ($threads threads)"
rm -f "$out/torch.jsonl"
# shellcheck disable=SC2086
/usr/bin/python3 "$here/torch_bench.py" --threads "$threads" $torch_args --out "$out/torch.jsonl"

echo "== convlens and ONNX Runtime: NetworkBench ($threads threads)"
# shellcheck disable=SC2086
java $java_flags -Dconvlens.models="$here/target/models" -Dconvlens.torch="$out/torch.jsonl" \
    -Dconvlens.results="$out/jmh.jsonl" -Dconvlens.table="$out/network.md" \
    -cp "$here/target/benchmarks.jar" dev.convlens.bench.NetworkMain NetworkBench -p threads="$threads" \
    $jmh_args -rf json -rff "$out/jmh.json"

echo "== peak heap (MemoryMain)"
# shellcheck disable=SC2086
java $java_flags -Dconvlens.models="$here/target/models" -cp "$here/target/benchmarks.jar" \
    dev.convlens.bench.MemoryMain "$threads" "$mem_cases" | tee "$out/memory.md"
uptime >> "$out/uptime.txt"

echo
echo "== results ($out)"
cat "$out/network.md"
cat "$out/memory.md"
echo "load (before, after):"
cat "$out/uptime.txt"
