"""The pure parts of `make bench`'s comparison with Rasa's starter bot (no Rasa is started here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import bench  # noqa: E402
from starter_bot import StarterBot, stop_process  # noqa: E402


def figures(p50: float, throughput: float, start: float, memory: float, actions=None) -> bench.Figures:
    """Figures whose one-user latencies have median `p50` and whose 20-user run gave `throughput`."""
    load = bench.Load(single=[p50 - 1, p50, p50 + 1], concurrent=[100.0] * 200, elapsed_s=200 / throughput)
    return bench.Figures(load, start_s=start, rasa_mb=memory, train_s=60.0, actions_mb=actions)


def by_name(rows):
    return {row.measure: row for row in rows}


def test_ratio_says_which_way_is_better():
    assert bench.ratio_text(11.0, 20.0, "lower") == "0.55x (lower is better)"
    assert bench.ratio_text(120.0, 40.0, "higher") == "3.00x (higher is better)"


def test_ratio_is_empty_without_two_numbers_and_na_when_undefined():
    assert bench.ratio_text(12.0, None) == ""
    assert bench.ratio_text("0.10/0.20/0.30 ms", None) == ""
    assert bench.ratio_text(12.0, 0.0) == "n/a"
    assert bench.ratio_text(float("nan"), 30.0) == "n/a"


def test_rows_compare_the_same_measures_of_both_bots():
    rows = by_name(bench.comparison_rows(figures(14, 110, 12, 650, actions=300), figures(50, 40, 30, 1000)))
    p50 = rows["REST p50, 1 user"]
    assert (p50.ours, p50.starter, p50.target) == (14, 50, "<= 15 ms")
    assert bench.ratio_text(p50.ours, p50.starter, p50.better) == "0.28x (lower is better)"
    throughput = rows["throughput, 20 users"]
    assert throughput.ours == pytest.approx(110) and throughput.starter == pytest.approx(40)
    assert throughput.target == ">= 100 msg/s"
    assert bench.ratio_text(throughput.ours, throughput.starter, throughput.better) == "2.75x (higher is better)"
    assert rows["server start (ready on GET /)"].target == "<= 15 s"
    assert rows["resident memory, Rasa"].target == "<= 700 MB"
    actions = rows["resident memory, actions"]
    assert actions.ours == 300 and actions.starter is None  # the starter bot has no action server


def test_table_prints_ours_target_starter_and_ratio_on_each_row():
    rows = bench.comparison_rows(figures(14, 110, 12, 650), figures(50, 40, 30, 1000))
    rows.append(bench.Row("throughput, 20 users over 2 instances", 180.0, ">= 100 msg/s", 40.0, "msg/s", "higher"))
    lines = bench.format_table(rows)
    assert "ours/starter" in lines[0]
    p50 = next(line for line in lines if "REST p50, 1 user" in line)
    assert all(part in p50 for part in ("14.0 ms", "<= 15 ms", "50.0 ms", "0.28x (lower is better)"))
    memory = next(line for line in lines if "resident memory, Rasa" in line)
    assert all(part in memory for part in ("650 MB", "<= 700 MB", "1000 MB", "0.65x (lower is better)"))
    added = lines[-1]
    assert all(part in added for part in ("180.0 msg/s", "40.0 msg/s", "4.50x (higher is better)"))


def test_without_the_starter_bot_its_columns_stay_empty():
    lines = bench.format_table(bench.comparison_rows(figures(14, 110, 12, 650), None))
    p50 = next(line for line in lines if "REST p50, 1 user" in line)
    assert p50.endswith("<= 15 ms")
    assert "x (" not in "\n".join(lines[1:])


def test_percentile():
    values = [float(v) for v in range(1, 101)]
    assert bench.percentile(values, 50) == 51.0  # nearest rank on 0..99
    assert bench.percentile(values, 95) == 95.0
    assert bench.percentile(values, 100) == 100.0
    assert bench.percentile([7.0], 95) == 7.0


def test_starter_bot_urls_use_its_own_port_and_need_a_started_bot():
    bot = StarterBot(port=5305)
    assert bot.rest_url == "http://127.0.0.1:5305/webhooks/rest/webhook"
    with pytest.raises(RuntimeError):
        bot.rss_mb()
    bot.stop()  # stopping a bot that never started is harmless


@pytest.mark.parametrize(("ignore_term", "code"), [(False, -15), (True, -9)])
def test_stop_terminates_then_kills_after_the_timeout(ignore_term, code):
    script = (
        "import signal, sys, time\n"
        f"if {ignore_term}: signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True)
    assert process.stdout.readline() == b"up\n"  # the handler is in place
    stop_process(process, timeout_s=1)
    process.stdout.close()
    assert process.returncode == code
