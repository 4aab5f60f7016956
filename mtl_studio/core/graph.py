"""The directed graph of layer nodes: storage, connection rules and queries.

Mutation goes through Project, which emits events; this module only keeps
the data consistent and answers questions about it.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field

from .catalogue import get_kind


class GraphError(Exception):
    """A graph edit that is not allowed; the message says why."""


class CycleError(GraphError):
    pass


class PortError(GraphError):
    pass


@dataclass
class Node:
    id: str
    kind: str
    name: str
    params: dict = field(default_factory=dict)
    x: float = 0.0
    y: float = 0.0

    def copy(self) -> "Node":
        return copy.deepcopy(self)

    @property
    def label(self) -> str:
        """How messages name the node: "Dense 'fc1'"."""
        return f"{self.kind} '{self.name}'"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    port: int = 0  # input port of the target; merge nodes have ports 0, 1, ...
    # Output port of the source: 0, except on blocks with an output per task
    # (an MMoE's port k is gate k's mixture).
    out: int = 0


class Graph:
    """Nodes and edges, with the edges also indexed by node: validation
    and the canvas ask "what feeds this node" hundreds of times per edit,
    and a scan of every edge each time made that quadratic. Change edges
    only through insert_edge / remove_edge so the index stays true."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self._in: dict[str, list[Edge]] = {}
        self._out: dict[str, list[Edge]] = {}

    # --- storage ----------------------------------------------------------

    def add_node(self, node: Node) -> None:
        if node.id in self.nodes:
            raise GraphError(f"a node with id {node.id!r} already exists")
        self.nodes[node.id] = node

    def remove_node(self, node_id: str) -> Node:
        """Remove a node; its edges must already be gone."""
        if self._in.get(node_id) or self._out.get(node_id):
            raise GraphError(f"node {node_id!r} still has edges")
        return self.nodes.pop(node_id)

    def insert_edge(self, edge: Edge, index: int | None = None) -> None:
        if index is None:
            self.edges.append(edge)
        else:
            self.edges.insert(index, edge)
        self._in.setdefault(edge.target, []).append(edge)
        self._in[edge.target].sort(key=lambda e: e.port)
        self._out.setdefault(edge.source, []).append(edge)

    def remove_edge(self, edge: Edge) -> int:
        index = self.edges.index(edge)
        del self.edges[index]
        self._in[edge.target].remove(edge)
        self._out[edge.source].remove(edge)
        return index

    # --- connection rules ---------------------------------------------------

    def output_ports(self, node_id: str) -> int:
        """How many output ports a node has now (blocks: one per task)."""
        node = self.nodes[node_id]
        return get_kind(node.kind).outputs(node.params, len(self.inputs_of(node_id)))

    def check_connect(self, source: str, target: str, port: int = 0, out: int = 0) -> None:
        """Raise a GraphError saying why source:out -> target:port is refused."""
        if source not in self.nodes:
            raise GraphError(f"there is no node {source!r}")
        if target not in self.nodes:
            raise GraphError(f"there is no node {target!r}")
        src, dst = self.nodes[source], self.nodes[target]
        kind = get_kind(dst.kind)
        if kind.max_inputs == 0:
            raise PortError(f"{dst.label} takes no inputs")
        if source == target:
            raise CycleError(f"{src.label} cannot feed itself")
        # A cycle is the deeper reason, so it is named before busy ports.
        if source in self.descendants(target):
            raise CycleError(f"connecting {src.label} to {dst.label} would make a cycle")
        if port < 0 or (kind.max_inputs is not None and port >= kind.max_inputs):
            raise PortError(f"{dst.label} has no input port {port}")
        if out < 0 or out >= self.output_ports(source):
            raise PortError(f"{src.label} has no output port {out}")
        if any(e.port == port for e in self.inputs_of(target)):
            raise PortError(
                f"{dst.label} already has an input on port {port}: remove that edge first"
            )
        if any(e.target == target for e in self.outputs_of(source)):
            raise GraphError(f"{src.label} already feeds {dst.label}")

    def free_port(self, target: str) -> int:
        """The first input port of target with no edge (merge nodes grow)."""
        used = {e.port for e in self.inputs_of(target)}
        port = 0
        while port in used:
            port += 1
        return port

    def free_output(self, source: str) -> int:
        """The first output port of source that feeds nothing (0 when all
        do): a new task head on a block takes the next task's port."""
        used = {e.out for e in self.outputs_of(source)}
        return next((k for k in range(self.output_ports(source)) if k not in used), 0)

    # --- queries ------------------------------------------------------------

    def inputs_of(self, node_id: str) -> list[Edge]:
        """Edges into a node, ordered by port."""
        return list(self._in.get(node_id, ()))

    def outputs_of(self, node_id: str) -> list[Edge]:
        return list(self._out.get(node_id, ()))

    def edges_of(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if node_id in (e.source, e.target)]

    def predecessors(self, node_id: str) -> list[str]:
        return [e.source for e in self.inputs_of(node_id)]

    def sources(self, node_id: str) -> list[tuple[str, int]]:
        """(node, output port) feeding each input port of a node, in port order."""
        return [(e.source, e.out) for e in self.inputs_of(node_id)]

    def successors(self, node_id: str) -> list[str]:
        return [e.target for e in self.outputs_of(node_id)]

    def _walk(self, start: str, step) -> set[str]:
        seen: set[str] = set()
        stack = list(step(start))
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack.extend(step(n))
        return seen

    def ancestors(self, node_id: str) -> set[str]:
        return self._walk(node_id, self.predecessors)

    def descendants(self, node_id: str) -> set[str]:
        return self._walk(node_id, self.successors)

    def topological_order(self) -> tuple[list[str], set[str]]:
        """Nodes in an order where each comes after its inputs (Kahn), and the
        set of nodes left over because they sit on or behind a cycle."""
        indegree = {n: 0 for n in self.nodes}
        for e in self.edges:
            if e.source in self.nodes and e.target in self.nodes:
                indegree[e.target] += 1
        ready = deque(n for n in self.nodes if indegree[n] == 0)
        order: list[str] = []
        while ready:
            n = ready.popleft()
            order.append(n)
            for m in self.successors(n):
                if m in indegree:
                    indegree[m] -= 1
                    if indegree[m] == 0:
                        ready.append(m)
        leftover = set(self.nodes) - set(order)
        return order, leftover

    def cycle_nodes(self) -> set[str]:
        """Nodes that lie on a cycle (not merely downstream of one): those in
        a strongly connected component of two or more nodes, or feeding
        themselves. Tarjan's algorithm with a stack of its own, so a long
        cycle neither recurses nor takes quadratic time."""
        _, leftover = self.topological_order()
        if not leftover:
            return set()
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        on_stack: set[str] = set()
        stack: list[str] = []
        found: set[str] = set()
        for root in leftover:
            if root in index:
                continue
            index[root] = low[root] = len(index)
            stack.append(root)
            on_stack.add(root)
            work = [(root, iter(self.successors(root)))]
            while work:
                node, todo = work[-1]
                for nxt in todo:
                    if nxt not in leftover:
                        continue  # a node in the order lies on no cycle
                    if nxt not in index:
                        index[nxt] = low[nxt] = len(index)
                        stack.append(nxt)
                        on_stack.add(nxt)
                        work.append((nxt, iter(self.successors(nxt))))
                        break
                    if nxt in on_stack:
                        low[node] = min(low[node], index[nxt])
                else:
                    work.pop()
                    if work:
                        parent = work[-1][0]
                        low[parent] = min(low[parent], low[node])
                    if low[node] == index[node]:
                        component = []
                        while True:
                            member = stack.pop()
                            on_stack.discard(member)
                            component.append(member)
                            if member == node:
                                break
                        if len(component) > 1 or node in self.successors(node):
                            found.update(component)
        return found
