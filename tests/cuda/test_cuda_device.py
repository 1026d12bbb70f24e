"""The cuda device: placement, transfers, errors, the caching allocator, one module per graph.

Runs on the simulator (TRACEJIT_CUDA_SIM=1) in CI; ``gpu``-marked tests need a real GPU.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import tracejit as tj

needs_cuda = pytest.mark.skipif(not tj.cuda.is_available(),
                                reason="no CUDA runtime (set TRACEJIT_CUDA_SIM=1)")


def test_cuda_without_a_driver_is_a_clear_error() -> None:
    code = ("import tracejit as tj\n"
            "assert not tj.cuda.is_available() and tj.cuda.device_count() == 0\n"
            "try:\n    tj.ones(2, device='cuda')\nexcept RuntimeError as e:\n    print(e)\n")
    env = {k: v for k, v in os.environ.items() if k != "TRACEJIT_CUDA_SIM"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    if out.returncode and "pycuda" in out.stderr and "assert" in out.stderr:
        pytest.skip("a real GPU is present")
    assert out.returncode == 0, out.stderr
    assert "CUDA" in out.stdout and "TRACEJIT_CUDA_SIM=1" in out.stdout


@pytest.mark.cuda
@needs_cuda
class TestDevice:
    def test_placement_and_transfers(self) -> None:
        x = tj.arange(6.0, device="cuda").reshape(2, 3)
        assert x.device == tj.device("cuda", 0) and x.is_cuda
        assert str(x.device) == "cuda:0"
        assert repr(x) == ("tensor([[0., 1., 2.],\n        [3., 4., 5.]], device='cuda:0')")
        c = x.cpu()
        assert c.device.type == "cpu" and c.tolist() == [[0, 1, 2], [3, 4, 5]]
        assert x.to("cpu").device.type == "cpu" and c.to("cuda:0").is_cuda
        assert c.to(x).is_cuda and x.to(c).device.type == "cpu"
        assert c.cuda().is_cuda and x.cuda() is x and c.cpu() is c
        assert tj.zeros_like(x).is_cuda and tj.ones_like(x).is_cuda
        assert x.sum().item() == 15.0
        with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
            x.numpy()
        assert tj.cuda.device_count() >= 1 and tj.cuda.current_device() == 0
        tj.cuda.synchronize()
        assert isinstance(tj.cuda.get_device_name(), str)

    def test_device_mismatch_is_pytorchs_error(self) -> None:
        x, y = tj.ones(3, device="cuda"), tj.ones(3)
        msg = ("Expected all tensors to be on the same device, but found at least two "
               "devices, cuda:0 and cpu!")
        with pytest.raises(RuntimeError, match=msg):
            x + y
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
            y * x
        assert (x + 2).is_cuda and (x + tj.tensor(2.0)).is_cuda  # cpu scalars are allowed

    def test_to_copy_backward_moves_the_gradient_back(self) -> None:
        a = tj.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = a.cuda()
        assert b.grad_fn.name() == "ToCopyBackward0"
        (b * b).sum().backward()
        assert a.grad.device.type == "cpu" and a.grad.tolist() == [2.0, 4.0, 6.0]

    def test_inplace_and_views_share_device_memory(self) -> None:
        x = tj.zeros(3, 4, device="cuda")
        x[1].add_(2.0)
        x.t()[0].fill_(5.0)
        x.add_(tj.ones(4, device="cuda"))
        exp = np.zeros((3, 4))
        exp[1] += 2
        exp.T[0] = 5
        exp += 1
        np.testing.assert_array_equal(x.cpu().numpy(), exp)
        assert x._version == 3

    def test_out_of_memory_is_a_clear_error(self) -> None:
        with pytest.raises(tj.cuda.OutOfMemoryError, match="CUDA out of memory. Tried to "):
            tj.zeros(1, device="cuda").expand(1 << 46).contiguous()
        assert issubclass(tj.cuda.OutOfMemoryError, RuntimeError)

    def test_caching_allocator_reuses_blocks(self) -> None:
        from tracejit.codegen.cuda import get_runtime

        tj.cuda.empty_cache()
        base = tj.cuda.memory_allocated()
        stats = get_runtime().allocator.stats
        x = tj.ones(1000, device="cuda")
        for _ in range(5):
            x = (x * 2 + 1).relu()
        hits = stats["hits"]
        for _ in range(5):
            x = (x * 2 + 1).relu()
        assert stats["hits"] > hits  # steady state: blocks come from the cache
        del x
        assert tj.cuda.memory_allocated() == base
        assert tj.cuda.memory_reserved() > 0
        tj.cuda.empty_cache()
        assert tj.cuda.memory_reserved() == tj.cuda.memory_allocated()

    def test_jit_graph_is_one_module(self) -> None:
        from tracejit.codegen.cuda import get_runtime

        x = tj.randn(8, 5, device="cuda", requires_grad=True)

        @tj.jit
        def f(x: tj.Tensor) -> tj.Tensor:
            y = (x.exp() * 2).sum(1, keepdim=True)
            return (x / y).tanh().mean() + x.t().relu().amax()

        rt = get_runtime()
        before = rt.stats["compiler_invocations"] + rt.stats["disk_loads"]
        out = f(x)
        entry = next(iter(f._cache.values()))[0]
        assert len(entry.fwd.kernels) >= 2
        assert rt.stats["compiler_invocations"] + rt.stats["disk_loads"] - before <= 2
        assert "__global__" in entry.fwd.source("cuda")
        out.backward()
        xe = x.detach().requires_grad_()
        y = (xe.exp() * 2).sum(1, keepdim=True)
        ref = (xe / y).tanh().mean() + xe.t().relu().amax()
        ref.backward()
        np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-5)
        np.testing.assert_allclose(x.grad.cpu().numpy(), xe.grad.cpu().numpy(), rtol=1e-5,
                                   atol=1e-6)
        assert f.cache_info().traces == 1
        f(tj.randn(8, 5))  # a cpu argument: another signature
        assert f.cache_info().traces == 2

    @pytest.mark.parametrize("nd,stride,padding,dilation,groups", [
        (2, 1, 1, 1, 1), (2, 2, (0, 2), (2, 1), 2), (1, 3, 2, 2, 1), (2, 1, "same", 1, 3)])
    def test_convolution_runs_im2col_and_gemm_on_the_device(
            self, nd: int, stride, padding, dilation, groups: int) -> None:
        from tracejit.cuda import ops

        conv = tj.nn.functional.conv2d if nd == 2 else tj.nn.functional.conv1d
        sp = (9, 7) if nd == 2 else (13,)
        x = tj.randn(2, 6, *sp, dtype=tj.float64)
        w = tj.randn(6, 6 // groups, *((3,) * nd), dtype=tj.float64)
        b = tj.randn(6, dtype=tj.float64)
        args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        leaves = [t.clone().requires_grad_() for t in (x, w, b)]
        ref = conv(*leaves, **args)
        (ref * ref.detach().cos()).sum().backward()
        dev = [t.cuda().requires_grad_() for t in (x, w, b)]
        host, lib = ops.stats["host"], ops.stats["library"]
        y = conv(*dev, **args)
        (y * y.detach().cos()).sum().backward()
        assert ops.stats["host"] == host  # no op of this test left the device
        assert ops.stats["library"] >= lib + 3  # forward, input and weight gradients
        np.testing.assert_allclose(y.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)
        for d, c in zip(dev, leaves):
            np.testing.assert_allclose(d.grad.cpu().numpy(), c.grad.numpy(), rtol=1e-10,
                                       atol=1e-10)

    @pytest.mark.parametrize("case", ["max2d", "max2d_ceil", "max1d", "avg2d", "avg2d_nopad",
                                      "avg1d", "adaptive2d", "adaptive1d"])
    def test_pooling_runs_on_the_device(self, case: str) -> None:
        from tracejit.cuda import ops

        F = tj.nn.functional
        pools = {
            "max2d": lambda x: F.max_pool2d(x, 3, 2, 1),
            "max2d_ceil": lambda x: F.max_pool2d(x, (2, 3), (2, 1), (1, 0), (1, 2), True),
            "max1d": lambda x: F.max_pool1d(x.flatten(2), 4, 3, 2),
            "avg2d": lambda x: F.avg_pool2d(x, 3, 2, 1, True),
            "avg2d_nopad": lambda x: F.avg_pool2d(x, (3, 2), 2, (1, 1), False, False),
            "avg1d": lambda x: F.avg_pool1d(x.flatten(2), 3, 2, 1),
            "adaptive2d": lambda x: F.adaptive_avg_pool2d(x, (3, 4)),
            "adaptive1d": lambda x: F.adaptive_avg_pool1d(x.flatten(2), 5),
        }
        pool = pools[case]
        x = tj.randn(2, 3, 9, 7, dtype=tj.float64)
        x[0, 0, 2, 2] = x[0, 0, 2, 3] = 7.0  # ties: the first maximum wins
        xc = x.clone().requires_grad_()
        ref = pool(xc)
        (ref * ref.detach().sin()).sum().backward()
        xd = x.cuda().requires_grad_()
        host = ops.stats["host"]
        y = pool(xd)
        (y * y.detach().sin()).sum().backward()
        assert ops.stats["host"] == host
        np.testing.assert_allclose(y.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(xd.grad.cpu().numpy(), xc.grad.numpy(), rtol=1e-12,
                                   atol=1e-12)

    def test_module_to_moves_parameters_buffers_and_grads(self) -> None:
        m = tj.nn.Sequential(tj.nn.Linear(3, 2), tj.nn.BatchNorm1d(2))
        params = list(m.parameters())
        m(tj.randn(4, 3)).sum().backward()
        assert m.cuda() is m and list(m.parameters()) == params  # same Parameter objects
        assert all(p.is_cuda and p.grad.is_cuda for p in m.parameters())
        assert all(b.is_cuda for b in m.buffers())
        m.to("cpu", dtype=tj.float64)
        assert all(p.device.type == "cpu" and p.dtype == tj.float64 for p in m.parameters())
        assert m[1].num_batches_tracked.dtype == tj.int64  # integer buffers keep their dtype

    def test_tensors_made_inside_a_jitted_function_stay_on_the_device(self) -> None:
        from tracejit.codegen.cuda import get_runtime

        rt = get_runtime()
        uploads = []
        orig = rt.copy_htod

        def counting(dst, src):
            uploads.append(src.nbytes)
            return orig(dst, src)

        @tj.jit
        def f(x):
            h = tj.zeros(4, 8, device="cuda")
            return (x + h) * tj.arange(8.0, device="cuda") + tj.ones_like(x) * 2

        x = tj.randn(4, 8, device="cuda")
        f(x)
        rt.copy_htod = counting
        try:
            y = f(x)
        finally:
            rt.copy_htod = orig
        assert uploads == [] and y.is_cuda  # constants uploaded once, at the trace
        np.testing.assert_allclose(y.cpu().numpy(), x.cpu().numpy() * np.arange(8.0) + 2,
                                   rtol=1e-6, atol=1e-6)

    @pytest.mark.parametrize("case", ["cat", "stack", "slice_grad", "select_grad",
                                      "reshape_copy", "addmm", "linear3d", "bmm4d",
                                      "log_softmax", "assign_view", "sum_outer",
                                      "index_select", "embedding", "cross_entropy",
                                      "nll_weighted", "gather", "index_tensor"])
    def test_library_ops_stay_on_the_device(self, case: str) -> None:
        """Device kernels for the ops models use most; values and grads equal the CPU's."""
        from tracejit.cuda import ops

        F = tj.nn.functional
        fns = {
            "cat": lambda a, b: tj.cat([a, b.double(), a], 1).sin(),
            "stack": lambda a, b: tj.stack([a, b, a * b], 2).cos(),
            "slice_grad": lambda a, b: a[:, 1:5:2] * b[1:3].sum(),
            "select_grad": lambda a, b: a[:, -1].exp() + b[0],
            "reshape_copy": lambda a, b: a.t().reshape(-1).tanh(),
            "addmm": lambda a, b: F.linear(a, b[:, :6].t().contiguous(), b[0, :6]),
            "linear3d": lambda a, b: a.reshape(2, 3, 6) @ b[:, :4],
            "bmm4d": lambda a, b: a.reshape(1, 2, 3, 6) @ b.reshape(1, 2, 6, 3)[..., :3],
            "log_softmax": lambda a, b: F.log_softmax(a, dim=0) * b[:, :1].t(),
            "assign_view": lambda a, b: _assigned(a, b),
            "sum_outer": lambda a, b: (a * a).sum(0, keepdim=True) + b.sum((0,)),
            "index_select": lambda a, b: a.index_select(1, _idx(a, [4, 0, 4, 5])) * b[0, 0],
            "embedding": lambda a, b: F.embedding(_idx(a, [[1, 3, 1], [0, 5, 3]]), a,
                                                  padding_idx=3) * b[:2, :3, None],
            "cross_entropy": lambda a, b: F.cross_entropy(a * b, _idx(a, [0, 5, 2, 2, 1, 4]),
                                                          ignore_index=2),
            "gather": lambda a, b: a.gather(-1, _idx(a, [[0, 5, 0], [1, 1, 1]] * 3)) * b[:, :3]
            + a.reshape(2, 3, 6).gather(1, _idx(a, [[[2, 0, 1, 1, 0, 2]] * 3] * 2)).sum(),
            "index_tensor": lambda a, b: a[_idx(a, [[5, -1], [0, 2]])].sum(1) * b[1:3]
            + a[1:, _idx(a, [2, -2, 2])].sum(),
            "nll_weighted": lambda a, b: F.nll_loss(
                F.log_softmax(a.reshape(2, 3, 6), 1), _idx(a, [[0, 1, 2, 0, 1, 2]] * 2),
                b[0, :3].exp(), reduction="sum") * F.nll_loss(a, _idx(a, [3] * 6),
                                                              reduction="none").sum(),
        }
        fn = fns[case]
        rng = np.random.default_rng(5)
        x = tj.tensor(rng.standard_normal((6, 6)))
        y = tj.tensor(rng.standard_normal((6, 6)))
        xc, yc = (t.clone().requires_grad_() for t in (x, y))
        ref = fn(xc, yc)
        (ref * ref.detach()).sum().backward()
        xd, yd = (t.cuda().requires_grad_() for t in (x, y))
        host = ops.stats["host"]
        out = fn(xd, yd)
        (out * out.detach()).sum().backward()
        assert ops.stats["host"] == host
        assert out.is_cuda and out.shape == ref.shape and out.dtype == ref.dtype
        if case in ("index_select", "index_tensor"):  # the host's IndexError, never a crash
            with pytest.raises(IndexError):
                xd.index_select(0, _idx(xd, [0, 6])) if case == "index_select" else \
                    xd[_idx(xd, [0, -7])]
        np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(),
                                   rtol=1e-12, atol=1e-12)
        for d, c in ((xd, xc), (yd, yc)):
            assert (d.grad is None) == (c.grad is None)
            if c.grad is not None:
                np.testing.assert_allclose(d.grad.cpu().numpy(), c.grad.numpy(), rtol=1e-12,
                                           atol=1e-12)

    def test_matmul_of_transposed_operands_is_one_gemm(self) -> None:
        from tracejit.cuda import ops

        a, b = tj.randn(5, 7), tj.randn(4, 7)
        ac, bc = a.cuda(), b.cuda()
        lib = ops.stats["library"]
        for got, ref in ((ac @ bc.t(), a @ b.t()), (ac.t().t() @ bc.T, a @ b.T),
                         (bc.T.contiguous().T.matmul(ac.T), b @ a.T),
                         (tj.bmm(ac.expand(3, 5, 7).transpose(1, 2), ac.expand(3, 5, 7)),
                          tj.bmm(a.expand(3, 5, 7).transpose(1, 2), a.expand(3, 5, 7)))):
            np.testing.assert_allclose(got.cpu().numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)
        assert ops.stats["library"] == lib + 4

    def test_ops_without_device_kernels_use_the_host_fallback(self) -> None:
        x = tj.randn(2, 3, 8, 8, device="cuda", requires_grad=True)
        w = tj.randn(4, 3, 3, 3, device="cuda", requires_grad=True)
        y = tj.nn.functional.conv2d(x, w, padding=1)
        s, i = y.flatten(1).sort(dim=1)
        loss = (s[:, -5:] ** 2).sum() + tj.cat([y, y]).mean()
        loss.backward()
        xc, wc = x.detach().cpu().requires_grad_(), w.detach().cpu().requires_grad_()
        yc = tj.nn.functional.conv2d(xc, wc, padding=1)
        sc, _ = yc.flatten(1).sort(dim=1)
        ((sc[:, -5:] ** 2).sum() + tj.cat([yc, yc]).mean()).backward()
        assert y.is_cuda and i.is_cuda and x.grad.is_cuda
        np.testing.assert_allclose(x.grad.cpu().numpy(), xc.grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(w.grad.cpu().numpy(), wc.grad.numpy(), rtol=1e-4, atol=1e-4)


def _idx(like, values):
    return tj.tensor(values, device=like.device)


def _assigned(a, b):
    c = a * 1
    c[1:4, ::2] = b[:3, :3]  # a strided destination on the device
    c[0] += b[5]  # and an accumulating one
    return c


@pytest.mark.gpu
@pytest.mark.skipif(os.environ.get("TRACEJIT_CUDA_SIM") or not tj.cuda.is_available(),
                    reason="needs a real NVIDIA GPU (pycuda + cuBLAS)")
def test_matmul_uses_cublas_on_a_real_gpu() -> None:
    from tracejit.cuda import ops

    a, b = tj.randn(3, 64, 32, device="cuda"), tj.randn(3, 32, 16, device="cuda")
    n = ops.stats["library"]
    c = a @ b
    assert ops.stats["library"] == n + 1
    np.testing.assert_allclose(c.cpu().numpy(), a.cpu().numpy() @ b.cpu().numpy(), rtol=1e-4,
                               atol=1e-4)


@pytest.mark.cuda
@pytest.mark.skipif(not os.environ.get("TRACEJIT_CUDA_SIM"), reason="a dry run on the simulator")
def test_gpu_check_script_dry_run_on_the_simulator(tmp_path) -> None:
    """bench/gpu_check.sh's benchmark part runs (small sizes) so it cannot rot unseen."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, GPU_CHECK_LOG2N="12", OUT=str(tmp_path))
    out = subprocess.run(["bash", os.path.join(root, "bench", "gpu_check.sh"), "--bench-only"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    log = (tmp_path / "gpu_bench.log").read_text()
    diff = float(log.split("max abs diff:")[1].split()[0])
    assert diff < 1e-5, log  # the jitted chain on the device equals the CPU's
    assert "of the copy's" in log and "matmul 256^3" in log, log
