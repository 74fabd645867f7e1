"""Cached reads answered by the HTTP protocol itself (web/server.py), on a real `rejoinder serve`.

The protocol answers a cached GET without an ASGI request cycle. These check, with raw sockets,
that what it sends is what the application sends for the same request, and that HTTP's rules
for a connection still hold: keep-alive, HTTP/1.0 closing, pipelined requests answered in order
(also when the first of them goes the long way round through the application).
"""

from __future__ import annotations

import re
import socket
from urllib.parse import urlencode

import httpx
import pytest
from tests.integration.test_serve_e2e import server  # noqa: F401  # the fixture

pytestmark = pytest.mark.e2e

THREAD = "/api/v1/comments?" + urlencode({"site": "demo", "thread": "/demo/welcome"})
OTHER = "/api/v1/comments?" + urlencode({"site": "demo", "thread": "/demo/other"})


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def _request(path: str, version: str = "1.1", extra: str = "") -> bytes:
    return f"GET {path} HTTP/{version}\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode()


def _read_responses(sock: socket.socket, count: int) -> list[tuple[str, dict[str, str], bytes]]:
    """Read `count` responses (content-length framed) from the socket, in order."""
    buf = b""
    out = []
    sock.settimeout(10)
    while len(out) < count:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(out)} responses"
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        status, *lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        length = int(headers["content-length"])
        while len(buf) < length:
            chunk = sock.recv(65536)
            assert chunk
            buf += chunk
        out.append((status, headers, buf[:length]))
        buf = buf[length:]
    return out


def _metric(base: str, route: str) -> float:
    text = httpx.get(f"{base}/metrics").text
    pattern = (r'rejoinder_http_requests_total\{method="GET",route="' + re.escape(route)
               + r'",status="200"\} ([0-9.e+]+)')
    m = re.search(pattern, text)
    return float(m.group(1)) if m else 0.0


def test_a_cached_answer_is_the_applications_answer(server: str) -> None:  # noqa: F811
    port = _port(server)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        # The first read misses the cache (the application answers and fills it), the second
        # is answered by the protocol: same status, same headers but the date, same body.
        sock.sendall(_request(THREAD))
        (miss,) = _read_responses(sock, 1)
        before = _metric(server, "/api/v1/comments")
        sock.sendall(_request(THREAD))
        (hit,) = _read_responses(sock, 1)
    assert miss[0] == hit[0] == "HTTP/1.1 200 OK"
    assert miss[2] == hit[2] and b'"comments"' in hit[2]
    drop = {"date"}
    assert {k: v for k, v in miss[1].items() if k not in drop} == \
        {k: v for k, v in hit[1].items() if k not in drop}
    assert "date" in hit[1] and hit[1]["server"] == "uvicorn"
    assert _metric(server, "/api/v1/comments") == before + 1  # counted as the middleware would


def test_keep_alive_and_pipelined_requests_are_answered_in_order(server: str) -> None:  # noqa: F811
    port = _port(server)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(_request(THREAD))
        (first,) = _read_responses(sock, 1)
        # Three in one write: a hit, a miss (through the application), a hit again.
        sock.sendall(_request(THREAD) + _request(OTHER) + _request(THREAD))
        answers = _read_responses(sock, 3)
        # And the connection is still usable afterwards.
        sock.sendall(_request(THREAD))
        (last,) = _read_responses(sock, 1)
    assert [a[0] for a in answers] == ["HTTP/1.1 200 OK"] * 3
    assert answers[0][2] == first[2] == answers[2][2] == last[2]
    assert b'"/demo/other"' in answers[1][2] and answers[1][2] != first[2]


def test_http_1_0_and_connection_close_end_the_connection(server: str) -> None:  # noqa: F811
    port = _port(server)
    httpx.get(server + THREAD)  # cached now
    for request in (_request(THREAD, version="1.0"),
                    _request(THREAD, extra="Connection: close\r\n")):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request)
            ((status, headers, body),) = _read_responses(sock, 1)
            assert status == "HTTP/1.1 200 OK" and headers["connection"] == "close"
            assert b'"comments"' in body
            sock.settimeout(5)
            assert sock.recv(1) == b""  # closed by the server


def test_a_comment_posted_is_in_the_next_protocol_answer(server: str) -> None:  # noqa: F811
    port = _port(server)
    httpx.get(server + THREAD)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(_request(THREAD))
        (before,) = _read_responses(sock, 1)
        posted = httpx.post(f"{server}/api/v1/comments", json={
            "site": "demo", "thread": "/demo/welcome", "body": "Fresh off the press"})
        assert posted.status_code == 201
        sock.sendall(_request(THREAD))  # a miss: the post invalidated the cached page
        sock.sendall(_request(THREAD))  # a hit of the new page
        after = _read_responses(sock, 2)
    assert b"Fresh off the press" not in before[2]
    assert all(b"Fresh off the press" in a[2] for a in after)
    assert after[0][2] == after[1][2]
