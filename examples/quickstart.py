"""Quick start: the tape PyTorch users know, then a tiny model trained with it."""
import tracejit as torch

# The seed example: every op records how its output was made.
t = torch.ones([2, 2], requires_grad=True)
print(t.grad_fn)                    # None
y = t + 2
print(y.grad_fn)                    # <AddBackward0 object at 0x...>
z = y * 3
print(z.grad_fn)                    # <MulBackward0 object at 0x...>
print(z.grad_fn.next_functions)     # ((<AddBackward0 object at 0x...>, 0), (None, 0))
z.sum().backward()
print(t.grad)                       # tensor([[3., 3.], [3., 3.]])

# A tiny model: fit y = sin(x) with a 1-32-1 tanh network, plain gradient descent.
torch.manual_seed(0)
x = torch.linspace(-3, 3, 128).reshape(128, 1)
target = x.sin()
w1 = (torch.randn(1, 32) * 0.5).requires_grad_()
b1 = torch.zeros(32, requires_grad=True)
w2 = (torch.randn(32, 1) * 0.5).requires_grad_()
b2 = torch.zeros(1, requires_grad=True)
params = [w1, b1, w2, b2]
lr = 0.05
for step in range(501):
    pred = (x @ w1 + b1).tanh() @ w2 + b2
    loss = ((pred - target) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad.zero_()
    if step % 100 == 0:
        print(f"step {step:3d}  loss {loss.item():.5f}")
print(f"final loss {loss.item():.5f} (a fit of sin on [-3, 3])")
