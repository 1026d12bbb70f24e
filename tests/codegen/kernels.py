"""Small kernel builders shared by the tests."""

from conftest import load_codegen

cg = load_codegen()


def unary(op, dt, ndim=1):
    return cg.Kernel(f"u_{op}_{dt}", ndim, (dt,), outputs=(cg.Unary(op, cg.Load(0, dt)),))


def binary(op, dt, ndim=1):
    e = cg.Binary(op, cg.Load(0, dt), cg.Load(1, dt))
    return cg.Kernel(f"b_{op}_{dt}", ndim, (dt, dt), outputs=(e,))


def reduce_kernel(op, dt, ndim, nreduce, acc=None):
    acc = acc or dt
    x = cg.Load(0, dt)
    if acc != dt:
        x = cg.Cast(x, acc)
    r = cg.Reduce(op, x, acc)
    return cg.Kernel(f"r_{op}_{dt}", ndim, (dt,), nreduce, (r,), (cg.ReduceRef(0, acc),))
