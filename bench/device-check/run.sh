#!/bin/bash
# Runs on the GPU machine, from the repository root: bash .gpu/run.sh. Registers the NVIDIA OpenCL
# driver with the carried ICD loader, runs the OpenCL tests there (CONVLENS_OPENCL=required, so a
# missing device fails), times ResNet-18 on opencl and simd, then PyTorch (CUDA) on the same work.
cd "$(dirname "$0")"
tar xzf jrt.tgz -C /tmp
nvidia-smi -L
lib=$(find /usr/local/nvidia /usr/lib /usr/lib64 /lib -name 'libnvidia-opencl.so*' 2>/dev/null | head -1)
echo "NVIDIA OpenCL driver: ${lib:-none found}"
mkdir -p /tmp/icd; [ -n "$lib" ] && echo "$lib" > /tmp/icd/nvidia.icd
export OCL_ICD_VENDORS=/tmp/icd
export LD_LIBRARY_PATH=$PWD/ocl/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}
export LD_PRELOAD=/tmp/convlens-jrt/lib/libjsig.so CONVLENS_OPENCL=required
J="/tmp/convlens-jrt/bin/java --add-modules jdk.incubator.vector -cp classes:lib/*"
echo "--- OpenCL tests"
timeout 200 $J GpuCheck tests dev.convlens.tensor.opencl.OpenClOpsParityTest dev.convlens.tensor.opencl.OpenClKernelsTest \
  dev.convlens.tensor.opencl.OpenClHonestyTest dev.convlens.nn.ClGraphTest dev.convlens.models.zoo.OpenClResNet18Test 2>&1 | grep -v '^WARNING'
echo "--- ResNet-18 timing (ad hoc medians, not JMH)"
timeout 150 $J GpuCheck time opencl,simd 10 2>&1 | grep -v '^WARNING'
echo "--- PyTorch on the same GPU"
unset LD_PRELOAD; timeout 60 python3 peer.py 2>&1 | tail -8
if [ "${SWEEP:-}" != "" ]; then
  echo "--- SIMD thread sweep (warm medians; lscpu first)"
  lscpu | grep -E 'Model name|^CPU\(s\)|Thread|Flags' | cut -c1-200
  timeout 400 $J GpuCheck sweep "$SWEEP" 60 2>&1 | grep -v '^WARNING'
fi
