"""web/server.py: a response's writes leave in one call, in order, and nothing is held back."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from rejoinder.web.server import CorkedTransport

T = TypeVar("T")


def run_in_own_loop(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """asyncio.run in a thread of its own: in the full suite, Playwright's sync API keeps an
    event loop running in the main thread, where asyncio.run refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result()


class Recording(asyncio.Transport):
    """A transport that records what it is given (a real socket's timing is not testable)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[bytes]] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.calls.append([bytes(data)])

    def writelines(self, lines: Any) -> None:
        self.calls.append([bytes(x) for x in lines])

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0


def test_writes_of_one_turn_leave_together_and_in_order() -> None:
    async def main() -> list[list[bytes]]:
        real = Recording()
        corked = CorkedTransport(real, asyncio.get_running_loop())
        corked.write(b"HTTP/1.1 200 OK\r\n\r\n")
        corked.write(memoryview(b"body"))
        assert real.calls == []  # held until the turn ends
        assert corked.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\n\r\n") + 4
        await asyncio.sleep(0)
        corked.write(b"second")
        await asyncio.sleep(0)
        return real.calls

    assert run_in_own_loop(main) == [[b"HTTP/1.1 200 OK\r\n\r\n", b"body"], [b"second"]]


def test_close_sends_what_is_held_first_and_passes_the_rest_through() -> None:
    async def main() -> Recording:
        real = Recording()
        corked = CorkedTransport(real, asyncio.get_running_loop())
        corked.write(b"last words")
        corked.close()
        assert corked.is_closing()  # attributes it does not define are the real transport's
        await asyncio.sleep(0)  # the scheduled flush finds nothing more to send
        return real

    real = run_in_own_loop(main)
    assert real.calls == [[b"last words"]] and real.closed
