"""The live hub: stream limits per session and per process, changed fragments only."""

from __future__ import annotations

import asyncio
import contextlib
import gc

import pytest

from app.telemetry.metrics import VigilMetrics
from app.ui.live import LiveHub, TooManyStreams, session_key


def test_a_session_gets_at_most_its_share_of_streams() -> None:
    hub = LiveHub(VigilMetrics(), max_per_session=2, max_streams=10)
    leases = [hub.open("a"), hub.open("a")]
    with pytest.raises(TooManyStreams, match="at most 2 live streams per session"):
        hub.open("a")
    leases.append(hub.open("b"))  # another session is not affected
    assert hub.open_streams == 3


def test_the_process_caps_streams_across_sessions() -> None:
    hub = LiveHub(VigilMetrics(), max_per_session=5, max_streams=2)
    kept = [hub.open("a"), hub.open("b")]
    with pytest.raises(TooManyStreams, match="already serves 2 live streams"):
        hub.open("c")
    assert len(kept) == 2


def test_a_lease_nobody_holds_any_more_frees_its_slot() -> None:
    hub = LiveHub(VigilMetrics(), max_per_session=1)
    hub.open("a")  # dropped at once: e.g. a response that never started streaming
    gc.collect()
    hub.open("a")


def test_session_key_hides_the_cookie() -> None:
    key = session_key("secret-session-id")
    assert "secret" not in key
    assert len(key) == 32
    assert key == session_key("secret-session-id") != session_key("other")


async def test_a_stream_gets_every_fragment_then_only_the_changed_ones() -> None:
    hub = LiveHub(VigilMetrics())
    fragments = {"alerts": "<p>0 firing</p>", "services": "<p>up</p>"}
    renders = 0

    async def render() -> dict[str, str]:
        nonlocal renders
        renders += 1
        return dict(fragments)

    hub.renderer = render
    lease = hub.open("a")
    stream = hub.stream(lease)
    first = await anext(stream)
    assert first.comment == "connected"
    assert first.retry
    initial = [await anext(stream), await anext(stream)]
    assert {(m.event, m.data) for m in initial} == set(fragments.items())

    fragments["alerts"] = "<p>1 firing</p>"
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    await hub.refresh()
    update = await asyncio.wait_for(waiting, 1)
    assert (update.event, update.data) == ("alerts", "<p>1 firing</p>")

    await hub.refresh()  # nothing changed: no message, no new version
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    waiting.cancel()  # what the server does when the client goes away
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    assert hub.open_streams == 0
    assert renders == 3


async def test_a_failing_render_keeps_the_last_fragments() -> None:
    hub = LiveHub(VigilMetrics())

    async def broken() -> dict[str, str]:
        raise OSError("database unreachable")

    hub.fragments = {"alerts": "<p>kept</p>"}
    hub.renderer = broken
    await hub.refresh()
    assert hub.fragments == {"alerts": "<p>kept</p>"}


async def test_closing_ends_every_stream_and_frees_its_slot() -> None:
    hub = LiveHub(VigilMetrics())
    hub.fragments = {"alerts": "<p>0 firing</p>"}
    stream = hub.stream(hub.open("a"))
    assert (await anext(stream)).comment == "connected"
    assert (await anext(stream)).event == "alerts"
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)

    hub.close_streams()

    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, 1)
    assert hub.open_streams == 0


async def test_a_stream_ends_after_its_maximum_lifetime() -> None:
    hub = LiveHub(VigilMetrics(), stream_max_seconds=0.05)
    hub.fragments = {"alerts": "<p>0 firing</p>"}
    messages = [m async for m in hub.stream(hub.open("a"))]
    assert [m.event for m in messages] == [None, "alerts"]
    assert hub.open_streams == 0


async def test_a_new_stream_never_gets_fragments_older_than_a_tick() -> None:
    hub = LiveHub(VigilMetrics(), tick=60)
    html = "<p>0 firing</p>"

    async def render() -> dict[str, str]:
        return {"alerts": html}

    hub.renderer = render
    await hub.refresh()  # someone was connected an hour ago...
    hub.rendered_at -= 3600
    html = "<p>2 firing</p>"  # ...and things changed since, with nobody watching

    stream = hub.stream(hub.open("a"))
    await anext(stream)
    assert (await anext(stream)).data == "<p>2 firing</p>"
    await stream.aclose()
