"""tracejit.viz: DOT structure of tape and traced-graph pictures (nodes, edges, clusters)."""
from __future__ import annotations

import pathlib
import re

import pytest

import tracejit as tj
from tracejit import nn, viz

NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"', re.M)
EDGE = re.compile(r"^\s*(\w+) -> (\w+);", re.M)
CLUSTER = re.compile(r'subgraph (cluster_\w+) \{\s*label="([^"]*)"', re.M)


def parse(dot: str) -> tuple[dict[str, str], list[tuple[str, str]], dict[str, str]]:
    nodes = dict(NODE.findall(dot))
    return nodes, EDGE.findall(dot), dict(CLUSTER.findall(dot))


def test_tape_nodes_and_edges() -> None:
    w = tj.randn(4, 3, requires_grad=True)
    b = tj.randn(3, requires_grad=True)
    x = tj.randn(2, 4)
    loss = ((x @ w + b).tanh() * 2).sum()
    pic = viz.draw_graph(loss, params={"w": w, "b": b})
    nodes, edges, clusters = parse(pic.dot)
    labels = sorted(nodes.values())
    for name in ("SumBackward0", "MulBackward0", "TanhBackward0", "AddBackward0",
                 "MmBackward0"):
        assert name in labels
    leaves = [lbl for lbl in labels if "AccumulateGrad" in lbl]
    assert sorted(lbl.split(" ")[0] for lbl in leaves) == ["b", "w"]
    ids = {v: k for k, v in nodes.items()}
    assert (ids["SumBackward0"], "out") in edges
    assert (ids["TanhBackward0"], ids["MulBackward0"]) in edges  # edges point forward
    assert len(edges) == 7 and not clusters
    assert all(a in nodes and b in nodes for a, b in edges)


def test_tape_of_a_leaf_and_a_no_grad_input() -> None:
    assert "output" in viz.draw_graph(tj.ones(3)).dot
    a = tj.randn(3, requires_grad=True)
    nodes, edges, _ = parse(viz.draw_graph(a * tj.randn(3)).dot)
    assert len(nodes) == 3 and len(edges) == 2  # Mul, the leaf a, the output


def test_traced_graph_boxes_fused_kernels() -> None:
    def chain(x, y):
        return (x * y + 0.5).tanh() * x.sigmoid() - y.relu() * 0.1

    f = tj.jit(chain)
    x, y = tj.randn(64), tj.randn(64)
    nodes, edges, clusters = parse(viz.draw_graph(f, x, y).dot)
    names = [k.name for k in f.lower(x, y).kernels]
    assert len(clusters) == len(names) == 1
    assert list(clusters.values()) == [f"kernel 0: {names[0]}"]
    ops = [v for k, v in nodes.items() if k.startswith("fop")]
    assert len(ops) == 8 and any(v.startswith("add(·, 0.5)") for v in ops)
    assert {v.split("\\n")[0] for k, v in nodes.items() if k.startswith("fin")} == {
        "arg0", "arg1"}
    assert any(b == "fout0" for _, b in edges)


def test_traced_graph_with_backward_library_ops_and_parameters() -> None:
    w = tj.randn(8, 4, requires_grad=True)
    f = tj.jit(lambda a: (a @ w).tanh().sum())
    a = tj.randn(5, 8)
    dot = viz.draw_graph(f, a, params={"w": w}).dot
    nodes, edges, clusters = parse(dot)
    assert any(v.startswith("mm(") for k, v in nodes.items() if k.startswith("fop"))
    assert any(v.startswith("mm(") for k, v in nodes.items() if k.startswith("bop"))
    assert any(lbl.startswith("backward kernel") for lbl in clusters.values())
    assert any(v.startswith("w\\n") for v in nodes.values())
    assert "grad of w" in nodes.values() and "grad of output 0" in " ".join(nodes.values())
    # a value saved by the forward feeds the backward directly
    assert any(a.startswith("f") and b.startswith("b") for a, b in edges)
    fwd_only = viz.draw_graph(f, a, backward=False).dot
    assert "bop" not in fwd_only


def test_jitted_module_names_its_parameters() -> None:
    model = nn.Linear(4, 2)
    f = tj.jit(model)
    nodes, _, _ = parse(viz.draw_graph(f, tj.randn(3, 4)).dot)
    labels = " ".join(nodes.values())
    assert "weight" in labels and "bias" in labels


def test_save_and_render(tmp_path: pathlib.Path) -> None:
    pic = viz.draw_graph((tj.randn(2, requires_grad=True) * 2).sum())
    p = pic.save(tmp_path / "g.dot")
    assert p.read_text().startswith("digraph")
    if not viz.have_dot():
        with pytest.raises(RuntimeError, match="apt-get install graphviz"):
            pic.save(tmp_path / "g.svg")
        return
    assert b"<svg" in pic.save(tmp_path / "g.svg").read_bytes()
    assert pic.save(tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


def test_rejects_other_objects() -> None:
    with pytest.raises(TypeError, match="draw_graph"):
        viz.draw_graph(lambda x: x)
