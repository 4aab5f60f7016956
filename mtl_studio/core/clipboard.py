"""Copy and paste of a selection of nodes as JSON text, for the system
clipboard and between two open projects.

The node and edge dicts are those of the project file, so the file format's
checks (and its migrations) read them. Tasks are not copied: an Output
pasted alone belongs to no task until the user adds one, and validation
says so.
"""

from __future__ import annotations

import json

from .commands import AddNode, Command, Connect, Macro
from .fileformat import FORMAT_NAME, FORMAT_VERSION, ProjectError, from_dict, to_dict
from .graph import Edge, GraphError, Node
from .params import describe
from .project import Project

MIME_TYPE = "application/x-mtl-studio-nodes"
FORMAT = "mtl-studio-nodes"
FIELDS = ("format", "format_version", "nodes", "edges")


def copy_nodes(project: Project, node_ids) -> str:
    """The selected nodes, in file order, and the edges between them."""
    chosen = set(node_ids)
    missing = chosen - set(project.nodes)
    if missing:
        raise KeyError(f"there is no node {sorted(missing)[0]!r}")
    # A project of just the selection, written by the file's own to_dict.
    part = Project()
    for node in project.nodes.values():
        if node.id in chosen:
            part.graph.add_node(node)
    for edge in project.edges:
        if edge.source in chosen and edge.target in chosen:
            part.graph.insert_edge(edge)
    data = to_dict(part)
    # The dicts are the file's, so the clipboard shares its format version.
    return json.dumps(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "nodes": data["nodes"],
            "edges": data["edges"],
        },
        indent=2,
    )


def paste_command(project: Project, text: str, offset=(40.0, 40.0)) -> Macro:
    """One undo step that adds the nodes in `text` with fresh ids and free
    names, moved by `offset`, and connects them as they were. Raises
    ValueError saying what is wrong with the text."""
    part = _read(text)
    # Ids and names are taken in a stand-in that holds the project's nodes
    # (never changed) plus the pasted ones so far, so the pasted nodes are
    # unique among themselves too; connecting there tries every edge.
    scratch = Project()
    scratch.graph.nodes = dict(project.nodes)
    new_id: dict[str, str] = {}
    commands: list[Command] = []
    dx, dy = offset
    for node in part.nodes.values():
        name = node.name
        if scratch.node_by_name(name) is not None:
            name = scratch.unique_node_name(name)
        pasted = Node(
            scratch.new_node_id(node.kind), node.kind, name, node.params, node.x + dx, node.y + dy
        )
        scratch.graph.add_node(pasted)
        new_id[node.id] = pasted.id
        commands.append(AddNode(pasted))
    for i, edge in enumerate(part.edges):
        pasted_edge = Edge(new_id[edge.source], new_id[edge.target], edge.port, edge.out)
        try:
            scratch.connect(pasted_edge)
        except GraphError as exc:
            raise ValueError(f"cannot paste: edges[{i}]: {exc}") from None
        commands.append(Connect(pasted_edge))
    return Macro("Paste", commands)


def duplicate_command(project: Project, node_ids, offset=(40.0, 40.0)) -> Macro:
    """A copy of the selection beside it, as one undo step."""
    command = paste_command(project, copy_nodes(project, node_ids), offset)
    command.text = "Duplicate"
    return command


def _read(text: str) -> Project:
    """The pasted nodes and edges as a project, checked as a file would be."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"cannot paste: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise ValueError("cannot paste: not valid JSON: nested too deeply") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = describe(data.get("format")) if isinstance(data, dict) else "no object"
        raise ValueError(
            f"cannot paste: the text is not MTL Studio nodes (format "
            f"{FORMAT!r} expected, got {found})"
        )
    extra = [k for k in data if k not in FIELDS]
    if extra:
        raise ValueError(f"cannot paste: {extra[0]}: unknown field (known: {', '.join(FIELDS)})")
    as_file = {
        "format": FORMAT_NAME,
        "format_version": data.get("format_version"),
        "nodes": data.get("nodes", []),
        "edges": data.get("edges", []),
    }
    try:
        return from_dict(as_file)
    except (ProjectError, GraphError) as exc:
        raise ValueError(f"cannot paste: {exc}") from None
