"""callgraph.worst_path / format_worst_path / main: which calls set a stack bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_bridge.boards.callgraph import (
    EXCEPTION_FRAME_BYTES,
    LIBRARY_FRAME_BYTES,
    format_worst_path,
    main,
    read_callgraph,
    stack_bound,
    worst_path,
)

GRAPH = (
    'graph: { title: "a.c"\n'
    'node: { title: "Reset_Handler" label: "Reset_Handler\\na.c:1:1\\n8 bytes (static)" }\n'
    'node: { title: "main" label: "main\\na.c:2:1\\n40 bytes (static)" }\n'
    'node: { title: "report" label: "report\\na.c:3:1\\n96 bytes (static)" }\n'
    'node: { title: "invoke" label: "invoke\\na.c:4:1\\n48 bytes (static)" }\n'
    'node: { title: "/k/conv.c:gemm" label: "gemm\\nconv.c:5:1\\n824 bytes (static)" }\n'
    'node: { title: "/k/conv.c:pair" label: "pair\\nconv.c:6:1\\n128 bytes (static)" }\n'
    'node: { title: "memset" label: "memset\\nstring.h:1:1" shape : ellipse }\n'
    'node: { title: "fe_fault_handler" label: "fe_fault_handler\\na.c:7:1\\n8 bytes (static)" }\n'
    'node: { title: "board_exit" label: "board_exit\\na.c:8:1\\n16 bytes (static)" }\n'
    'edge: { sourcename: "Reset_Handler" targetname: "main" label: "a.c:1:2" }\n'
    'edge: { sourcename: "main" targetname: "report" label: "a.c:2:2" }\n'
    'edge: { sourcename: "main" targetname: "invoke" label: "a.c:2:3" }\n'
    'edge: { sourcename: "invoke" targetname: "/k/conv.c:gemm" label: "a.c:4:2" }\n'
    'edge: { sourcename: "/k/conv.c:gemm" targetname: "/k/conv.c:pair" label: "conv.c:5:2" }\n'
    'edge: { sourcename: "/k/conv.c:gemm" targetname: "memset" label: "conv.c:5:3" }\n'
    'edge: { sourcename: "fe_fault_handler" targetname: "board_exit" label: "a.c:7:2" }\n'
    "}\n"
)


def _graph(tmp_path: Path, text: str = GRAPH):
    (tmp_path / "obj").mkdir(exist_ok=True)
    (tmp_path / "obj" / "a.ci").write_text(text)
    return read_callgraph([tmp_path / "obj" / "a.ci"])


def test_worst_path_names_each_frame_and_adds_up_to_the_bound(tmp_path: Path) -> None:
    graph = _graph(tmp_path)
    worst = worst_path(graph)
    assert worst is not None
    assert worst.reset == (("Reset_Handler", 8), ("main", 40), ("invoke", 48), ("gemm", 824),
                           ("pair", max(128, LIBRARY_FRAME_BYTES)))
    assert worst.handler == (("fe_fault_handler", 8), ("board_exit", 16))
    assert worst.exception_frame == EXCEPTION_FRAME_BYTES
    bound = stack_bound(graph)
    assert worst.bytes == bound.bytes == 8 + 40 + 48 + 824 + 128 + 8 + 16 + EXCEPTION_FRAME_BYTES
    assert tuple(fn for fn, _ in worst.reset) == bound.path


def test_worst_path_charges_a_library_callee_when_it_is_the_deepest(tmp_path: Path) -> None:
    graph = _graph(tmp_path, GRAPH.replace("128 bytes (static)", "8 bytes (static)"))
    worst = worst_path(graph)
    assert worst is not None and worst.reset[-1] == ("memset", LIBRARY_FRAME_BYTES)
    assert worst.bytes == stack_bound(graph).bytes


def test_format_worst_path_lists_frames_running_totals_and_unknown_callees(tmp_path: Path) -> None:
    text = format_worst_path(_graph(tmp_path))
    lines = text.splitlines()
    assert lines[0] == f"stack bound {stack_bound(_graph(tmp_path)).bytes} B"
    assert any(line.split() == ["824", "B", "920", "B", "gemm"] for line in lines), text
    assert any(line.split() == ["16", "B", "1072", "B", "board_exit"] for line in lines), text
    assert f"exception frame: {EXCEPTION_FRAME_BYTES} B" in text
    assert "memset" in lines[-1]


def test_unbounded_graph_has_no_worst_path_and_says_why(tmp_path: Path) -> None:
    graph = _graph(tmp_path, GRAPH.replace(
        "}\n", 'edge: { sourcename: "/k/conv.c:pair" targetname: "invoke" label: "x" }\n}\n'))
    assert worst_path(graph) is None
    assert format_worst_path(graph).startswith("stack bound unknown: recursion: invoke -> gemm")


def test_main_reads_every_ci_under_the_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                               ) -> None:
    _graph(tmp_path)
    assert main([str(tmp_path)]) == 0
    assert "gemm" in capsys.readouterr().out
    assert main([str(tmp_path / "obj" / "nothing-here")]) == 1
    assert main([]) == 2
