# The CPU peers on the GPU machine's cores, beside `GpuCheck sweep` (bench/device-check/README.md):
# PyTorch (its own CPU build there) and ONNX Runtime on a seeded torchvision ResNet-18 at 224x224,
# FP32, per thread count: forward at batch 1, saliency at batch 1 (input gradient of logit 3), forward
# at batch 16. Warm medians in ms, as many warm-ups as timed runs. Usage: python3 peer_cpu.py 2,8,16 60
import sys, time, os, torch, torchvision
threads = [int(t) for t in sys.argv[1].split(",")]; iters = int(sys.argv[2])
torch.manual_seed(7)
m = torchvision.models.resnet18(weights=None).eval()
onnx_path = "/tmp/resnet18_peer.onnx"
torch.onnx.export(m, torch.zeros(1, 3, 224, 224), onnx_path, input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "n"}, "logits": {0: "n"}}, opset_version=13)
try:
    import onnxruntime as ort
except ImportError:
    ort = None
print("torch", torch.__version__, "onnxruntime", ort.__version__ if ort else "absent", "mkldnn", torch.backends.mkldnn.is_available())

def median(f, n):
    for _ in range(n): f()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter(); f(); ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort(); return ts[len(ts) // 2], ts[0]

for t in threads:
    torch.set_num_threads(t)
    x1 = torch.rand(1, 3, 224, 224) * 4 - 2; x16 = torch.rand(16, 3, 224, 224) * 4 - 2
    def fwd(x):
        with torch.no_grad(): m(x)
    def sal():
        xi = x1.clone().requires_grad_(True); y = m(xi); y[:, 3].sum().backward()
    r = [median(lambda: fwd(x1), iters), median(sal, iters), median(lambda: fwd(x16), max(5, iters // 8))]
    line = f"pytorch {t} threads: forward b1 {r[0][0]:.2f} (min {r[0][1]:.2f})  saliency b1 {r[1][0]:.2f} (min {r[1][1]:.2f})  forward b16 {r[2][0]:.2f} (min {r[2][1]:.2f})"
    print(line, flush=True)
    if ort:
        so = ort.SessionOptions(); so.intra_op_num_threads = t; so.inter_op_num_threads = 1
        s = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        a1 = x1.numpy(); a16 = x16.numpy()
        r = [median(lambda: s.run(None, {"input": a1}), iters), median(lambda: s.run(None, {"input": a16}), max(5, iters // 8))]
        print(f"onnxruntime {t} threads: forward b1 {r[0][0]:.2f} (min {r[0][1]:.2f})  forward b16 {r[1][0]:.2f} (min {r[1][1]:.2f})", flush=True)
