"""The simulator's object speed test, read through the bot's client: streamed like the real server, per node.

Keep-alive zero values every 500 ms, then one result; a node down during the test, or failing its writes,
reports the real server's texts; MinIO takes no lock, so a second test runs alongside the first; a stream
that stops mid-answer, or never ends, is an error naming the node.
"""

from __future__ import annotations

import threading
import time

import pytest
from pydantic import SecretStr

from bot.clients import MinioClient, MinioError, Timeouts
from bot.clients.minio_models import SpeedTestResult
from bot.clients.timeouts import SPEEDTEST_OVERHEAD_S, speedtest_deadline_s
from sandbox.minio_sim import SimCluster
from sandbox.minio_sim.speedtest import go_duration_text, ibytes, parse_go_duration

MIB = 1 << 20


def client(cluster: SimCluster, read_s: float = 5.0) -> MinioClient:
    return MinioClient(cluster.endpoints, cluster.access_key, SecretStr(cluster.secret_key),
                       timeouts=Timeouts(connect=1.0, read=read_s, admin_read=read_s))


def test_the_answer_streams_keep_alives_then_one_result_with_every_node(minio_cluster: SimCluster) -> None:
    minio_cluster.speedtest_clear(time_scale=0.1)  # 10 s + 10 s stream for 2 s
    seen: list[tuple[float, SpeedTestResult]] = []
    started = time.monotonic()
    result = client(minio_cluster).speedtest(
        size=4 * MIB, concurrent=8, duration_s=10, on_value=lambda v: seen.append((time.monotonic() - started, v)))
    keep_alives = [at for at, v in seen if not v.is_result]
    assert len(keep_alives) >= 3 and seen[-1][1].is_result
    assert keep_alives[0] < 1.5, "the first value arrives long before the result: the answer is streamed"
    assert (result.servers, result.disks, result.size, result.concurrent) == (4, 8, 4 * MIB, 8)
    assert len(result.put.servers) == len(result.get.servers) == 4 and not result.failed_servers()
    assert result.get.ttfb.measured and not result.put.ttfb.measured
    assert result.put.throughput_per_s == sum(s.throughput_per_s for s in result.put.servers)
    assert minio_cluster.speedtests_running() == 0 and minio_cluster.speedtests_started() == 1


def test_a_node_stopped_during_the_test_reports_no_uploads(minio_cluster: SimCluster) -> None:
    minio_cluster.speedtest_clear(time_scale=0.1)
    threading.Timer(0.5, minio_cluster.stop_node, args=(3,)).start()
    result = client(minio_cluster).speedtest(size=4 * MIB, concurrent=8, duration_s=10, node=1)
    [(endpoint, error)] = result.failed_servers().items()
    assert endpoint == minio_cluster.node_url(3)
    assert error == "no results for uploads upon first attempt, concurrency 8 and duration 10s"


def test_a_node_failing_its_writes_uploads_half_and_downloads_nothing(minio_cluster: SimCluster) -> None:
    minio_cluster.speedtest_clear(time_scale=0.1)
    minio_cluster.speedtest_fail(2)
    result = client(minio_cluster).speedtest(size=4 * MIB, concurrent=8, duration_s=10)
    failing = {s.endpoint: s for s in result.get.servers}[minio_cluster.node_url(2)]
    assert failing.throughput_per_s == 0
    assert failing.error == "no results for downloads upon first attempt, concurrency 8 and duration 10s"
    put = {s.endpoint: s.throughput_per_s for s in result.put.servers}
    assert 0 < put[minio_cluster.node_url(2)] < put[minio_cluster.node_url(1)]


def test_a_second_test_is_not_refused_by_the_server_it_runs_alongside(minio_cluster: SimCluster) -> None:
    minio_cluster.speedtest_clear(time_scale=0.1)
    results: list[SpeedTestResult] = []
    first = threading.Thread(target=lambda: results.append(
        client(minio_cluster).speedtest(size=4 * MIB, concurrent=8, duration_s=10)))
    first.start()
    time.sleep(0.5)
    assert minio_cluster.speedtests_running() == 1
    results.append(client(minio_cluster).speedtest(size=4 * MIB, concurrent=8, duration_s=10, node=2))
    first.join(10)
    assert len(results) == 2 and minio_cluster.speedtests_started() == 2


def test_not_enough_space_is_refused_before_anything_runs(minio_cluster: SimCluster) -> None:
    with pytest.raises(MinioError) as err:
        client(minio_cluster).speedtest(size=64 * MIB, concurrent=1 << 20, duration_s=10)
    assert err.value.status == 507 and "XMinioSpeedtestInsufficientCapacity" in str(err.value)
    assert "expected 64 TiB, got" in str(err.value) and minio_cluster.speedtests_started() == 0


def test_the_answering_node_stopping_mid_answer_is_an_error_naming_it(minio_cluster: SimCluster) -> None:
    minio_cluster.speedtest_clear(time_scale=0.1)
    threading.Timer(0.7, minio_cluster.stop_node, args=(1,)).start()
    with pytest.raises(MinioError) as err:
        client(minio_cluster).speedtest(size=4 * MIB, concurrent=8, duration_s=10, node=1)
    assert "MinIO node 1" in str(err.value) and err.value.kind in ("unreachable", "bad_response")


def test_a_node_that_stops_writing_times_out_on_the_read_timeout(minio_cluster: SimCluster) -> None:
    minio_cluster.speedtest_clear(time_scale=0.1)
    threading.Timer(0.7, minio_cluster.hang_node, args=(1,)).start()
    started = time.monotonic()
    with pytest.raises(MinioError) as err:
        client(minio_cluster, read_s=1.0).speedtest(size=4 * MIB, concurrent=8, duration_s=10, node=1)
    minio_cluster.start_node(1)
    assert err.value.kind == "timeout" and "MinIO node 1" in str(err.value)
    assert time.monotonic() - started < speedtest_deadline_s(10)


def test_the_deadline_is_both_phases_plus_the_servers_set_up_and_clean_up() -> None:
    assert speedtest_deadline_s(10) == 20 + SPEEDTEST_OVERHEAD_S


@pytest.mark.parametrize(("text", "seconds"), [("10s", 10.0), ("1m30s", 90.0), ("500ms", 0.5), ("2.5s", 2.5),
                                                ("bogus", None), ("", None)])
def test_go_durations(text: str, seconds: float | None) -> None:
    assert parse_go_duration(text) == seconds
    if seconds:
        assert parse_go_duration(go_duration_text(seconds)) == seconds


def test_go_humanize_ibytes() -> None:
    assert [ibytes(v) for v in (5, 2 << 30, 1288490188, 64 << 40)] == ["5 B", "2.0 GiB", "1.2 GiB", "64 TiB"]
