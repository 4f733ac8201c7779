"""The real, unmodified `cent` client (PyPI, Centrifugo HTTP API) against a
real telltale-hub process: publish, broadcast, batch, history with offsets and
epochs, info, channels, and the errors cent turns into exceptions.

Run: `pytest` here with the venv of tests/sdk/.venv, after
`cargo build -p telltale-hub` at the root (or set TELLTALE_HUB_BIN).
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cent import (
    BatchRequest,
    BroadcastRequest,
    CentApiResponseError,
    CentTransportError,
    CentUnauthorizedError,
    ChannelsRequest,
    Client,
    HistoryRequest,
    InfoRequest,
    PublishRequest,
    StreamPosition,
)

ROOT = Path(__file__).resolve().parents[3]
HUB_BIN = Path(os.environ.get("TELLTALE_HUB_BIN", ROOT / "target" / "debug" / "telltale-hub"))
API_KEY = "sdk-python-api-key"
PUBLISH_KEY = "sdk-python-publish-key"
HISTORY_SIZE = 5
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
LISTENING = re.compile(r"telltale-hub listening on (\S+)")


class Hub:
    """A telltale-hub process on 127.0.0.1 with an OS-chosen port."""

    def __init__(self, args: list[str]):
        if not HUB_BIN.exists():
            pytest.fail(f"hub binary {HUB_BIN} not found: run `cargo build -p telltale-hub` or set TELLTALE_HUB_BIN")
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"telltale-hub-pytest-{os.getpid()}.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(HUB_BIN), "--listen", "127.0.0.1:0", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        try:
            self.addr = self._wait_listening()
        except BaseException:
            self.stop()
            raise
        self.api_url = f"http://{self.addr}/api"

    def _wait_listening(self) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buffered = b""
        try:
            while time.monotonic() < deadline:
                if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    break
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    raise RuntimeError(f"hub exited before listening:\n{self.read_log()}")
                buffered += chunk
                match = LISTENING.search(buffered.decode("utf-8", "replace"))
                if match:
                    return match.group(1)
        finally:
            sel.close()
        raise TimeoutError(f"hub printed no listening line within {START_TIMEOUT_S} s:\n{self.read_log()}")

    def read_log(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()
        return self.proc.returncode


@pytest.fixture(scope="module")
def hub():
    running = Hub(["--api-key", API_KEY, "--publish-key", PUBLISH_KEY, "--history-size", str(HISTORY_SIZE)])
    yield running
    code = running.stop()
    assert code == 0, f"hub exited with {code} after SIGTERM:\n{running.read_log()}"
    running.log_path.unlink(missing_ok=True)


@pytest.fixture
def client(hub):
    with Client(hub.api_url, API_KEY, timeout=5.0) as c:
        yield c


def test_publish_then_history_has_offsets_epoch_and_data(client):
    channel = "py:history"
    results = [client.publish(PublishRequest(channel=channel, data={"n": n, "text": f"hello {n}"})) for n in (1, 2, 3)]
    assert [r.offset for r in results] == [1, 2, 3]
    epoch = results[0].epoch
    assert epoch, "publish returns the stream epoch"
    assert all(r.epoch == epoch for r in results)

    history = client.history(HistoryRequest(channel=channel, limit=10))
    assert history.epoch == epoch
    assert history.offset == 3
    assert [(p.offset, p.data) for p in history.publications] == [
        (n, {"n": n, "text": f"hello {n}"}) for n in (1, 2, 3)
    ]

    after_first = client.history(
        HistoryRequest(channel=channel, limit=10, since=StreamPosition(offset=1, epoch=epoch))
    )
    assert [p.offset for p in after_first.publications] == [2, 3]

    newest_first = client.history(HistoryRequest(channel=channel, limit=2, reverse=True))
    assert [p.offset for p in newest_first.publications] == [3, 2]

    position_only = client.history(HistoryRequest(channel=channel))
    assert position_only.publications == []
    assert (position_only.offset, position_only.epoch) == (3, epoch)


def test_history_is_bounded_by_history_size(client):
    channel = "py:bounded"
    for n in range(1, HISTORY_SIZE + 4):
        client.publish(PublishRequest(channel=channel, data={"n": n}))
    history = client.history(HistoryRequest(channel=channel, limit=100))
    top = HISTORY_SIZE + 3
    assert history.offset == top
    assert [p.offset for p in history.publications] == list(range(top - HISTORY_SIZE + 1, top + 1))
    assert [p.data["n"] for p in history.publications] == [p.offset for p in history.publications]


def test_unknown_channel_history_is_empty_position(client):
    history = client.history(HistoryRequest(channel="py:never-published", limit=10))
    assert history.publications == []
    assert history.offset == 0


def test_broadcast_batch_info_and_channels(client):
    broadcast = client.broadcast(BroadcastRequest(channels=["py:b1", "py:b2"], data={"all": True}))
    assert len(broadcast.responses) == 2
    for response in broadcast.responses:
        assert response.error is None
        assert response.result is not None and response.result.offset == 1

    batch = client.batch(
        BatchRequest(
            requests=[
                PublishRequest(channel="py:batch", data={"i": 1}),
                PublishRequest(channel="py:batch", data={"i": 2}),
                HistoryRequest(channel="py:batch", limit=10),
            ]
        )
    )
    assert [r.offset for r in batch.replies[:2]] == [1, 2]
    assert [p.data for p in batch.replies[2].publications] == [{"i": 1}, {"i": 2}]

    info = client.info(InfoRequest())
    assert len(info.nodes) == 1
    assert info.nodes[0].uid and info.nodes[0].name

    channels = client.channels(ChannelsRequest())
    assert isinstance(channels.channels, dict)  # no subscribers here, so possibly empty


def test_wrong_or_missing_api_key_is_unauthorized(hub):
    for key in ("wrong-key", ""):
        with Client(hub.api_url, key, timeout=5.0) as wrong:
            with pytest.raises(CentUnauthorizedError):
                wrong.publish(PublishRequest(channel="py:denied", data={"x": 1}))
            with pytest.raises(CentUnauthorizedError):
                wrong.history(HistoryRequest(channel="py:denied", limit=1))


def test_publish_key_may_publish_metrics_but_not_read_history(hub):
    with Client(hub.api_url, PUBLISH_KEY, timeout=5.0) as publisher:
        result = publisher.publish(PublishRequest(channel="metrics:py-1", data={"ts": 1, "values": {"cpu.total": 1.5}}))
        assert result.offset >= 1
        with pytest.raises(CentTransportError) as err:
            publisher.history(HistoryRequest(channel="metrics:py-1", limit=10))
        assert err.value.status_code == 403, str(err.value)


def test_stale_epoch_is_an_api_error_112(client):
    channel = "py:epoch"
    client.publish(PublishRequest(channel=channel, data={"x": 1}))
    with pytest.raises(CentApiResponseError) as err:
        client.history(
            HistoryRequest(channel=channel, limit=10, since=StreamPosition(offset=1, epoch="not-the-epoch"))
        )
    assert err.value.code == 112, str(err.value)
    assert err.value.message


@pytest.mark.parametrize(
    "channel",
    ["", "x" * 300],
    ids=["empty", "too-long"],
)
def test_invalid_channel_name_is_an_api_error(client, channel):
    with pytest.raises(CentApiResponseError) as err:
        client.publish(PublishRequest(channel=channel, data={"x": 1}))
    assert err.value.code in (102, 107), str(err.value)
    assert err.value.message
