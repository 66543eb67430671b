"""`Hub` and `AsyncHub` offer the same operations with the same signatures, since both read them from one list."""

from __future__ import annotations

import asyncio
import inspect

from dockyard.client import AsyncHub, AsyncPaged, Hub, Paged
from dockyard.client.surface import ListOperation, Operation, Operations


def operations() -> dict[str, Operation[..., object] | ListOperation[..., object]]:
    return {name: value for name, value in vars(Operations).items() if isinstance(value, Operation | ListOperation)}


def test_both_clients_have_every_operation_with_the_same_signature() -> None:
    hub, ahub = Hub("http://127.0.0.1:9"), AsyncHub("http://127.0.0.1:9")
    found = operations()
    assert len(found) > 100
    for name, op in found.items():
        sync, asynchronous = getattr(hub, name), getattr(ahub, name)
        source = op.flow if isinstance(op, Operation) else op.listing
        expected = list(inspect.signature(source).parameters)[1:]  # without the context
        assert list(inspect.signature(sync).parameters) == expected, name
        assert list(inspect.signature(asynchronous).parameters) == expected, name
        assert sync.__doc__ == asynchronous.__doc__ == source.__doc__
    hub.close()
    asyncio.run(ahub.aclose())


def test_list_operations_return_iterators_of_each_kind() -> None:
    hub, ahub = Hub("http://127.0.0.1:9"), AsyncHub("http://127.0.0.1:9")
    assert isinstance(hub.list_tags("a", "b"), Paged)
    assert isinstance(ahub.list_tags("a", "b"), AsyncPaged)
    pending = ahub.get_repository("a", "b")
    assert inspect.isawaitable(pending)
    pending.close()  # type: ignore[attr-defined]
    hub.close()
    asyncio.run(ahub.aclose())
