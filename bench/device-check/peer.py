import time, torch, torchvision
torch.manual_seed(7)
m = torchvision.models.resnet18(weights=None).eval().cuda()
print("torch", torch.__version__, torch.cuda.get_device_name(0), "tf32 matmul", torch.backends.cuda.matmul.allow_tf32, "cudnn tf32", torch.backends.cudnn.allow_tf32)
torch.backends.cudnn.allow_tf32 = False; torch.backends.cuda.matmul.allow_tf32 = False
for batch in (1, 16):
    x = (torch.rand(batch, 3, 224, 224, device="cuda") * 4 - 2)
    def fwd():
        with torch.no_grad(): m(x)
    def sal():
        xi = x.clone().requires_grad_(True); y = m(xi); y[:, 3].sum().backward()
    for name, f in (("forward", fwd), ("forward+saliency", sal)):
        for _ in range(5): f()
        torch.cuda.synchronize(); ts = []
        for _ in range(20):
            t0 = time.perf_counter(); f(); torch.cuda.synchronize(); ts.append((time.perf_counter() - t0) * 1e3)
        ts.sort(); print(f"pytorch cuda fp32 batch {batch} {name}: median {ts[10]:.2f} ms min {ts[0]:.2f}")
