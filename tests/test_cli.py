"""The ``rongyiban`` command line, run as a newcomer would run it, and a real served instance."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.served import rongyiban_many

RONGYIBAN = [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())"]
ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*RONGYIBAN, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def env(tmp_path, embedding_cache_file) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RYB_")}
    return {**clean, "RYB_DATA_DIR": str(tmp_path / "var"), "RYB_LOG_JSON": "true",
            "RYB_EMBEDDING_CACHE_FILE": embedding_cache_file}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_print_settings_shows_effective_values_with_secrets_masked(env):
    env.update(RYB_SECRET_KEY="s3cret-value", RYB_DATABASE_URL="postgresql+asyncpg://ryb:hunter2@db.internal/ryb")
    result = run("serve", "--print-settings", "--port", "9001", env=env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["port"] == "9001" and shown["secret_key"] == "***"
    assert shown["database_url"] == "postgresql+asyncpg://ryb:***@db.internal/ryb"
    assert "s3cret-value" not in result.stdout and "hunter2" not in result.stdout


def test_an_unreachable_database_is_refused_with_a_one_line_reason(env):
    env["RYB_DATABASE_URL"] = "postgresql+asyncpg://ryb:pw@127.0.0.1:9/ryb"
    for command in (["db", "upgrade"], ["serve"]):
        result = run(*command, env=env)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("rongyiban: cannot reach database"), result.stderr
        assert "pw@" not in lines[0]


def test_bad_settings_are_refused_with_a_one_line_reason(env):
    env["RYB_PORT"] = "eighty"
    result = run("serve", "--print-settings", env=env)
    assert result.returncode == 2 and result.stderr.strip() == "rongyiban: bad settings: RYB_PORT: expected int, got 'eighty'"


def test_import_catalog_reports_per_line_and_is_idempotent(env, tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text('{"TASK_CODE": "X1", "TASK_NAME": "测试事项"}\nnot json\n', encoding="utf-8")
    # three commands one after another (in one process: the start-up is paid once)
    first, second, missing = rongyiban_many([
        (["import-catalog", "--format", "gdzwfw", str(path)], ""),
        (["import-catalog", "--format", "gdzwfw", str(path)], ""),
        (["import-catalog", "--format", "gdzwfw", str(tmp_path / "nope.jsonl")], "")], env)
    assert first.returncode == 0
    assert "items.jsonl:2: not valid JSON" in first.stderr
    assert "items: 1 created" in first.stdout and "1 skipped" in first.stdout
    assert "0 changes" in second.stdout
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_load_demo_twice_changes_nothing_the_second_time(env):
    first, second = rongyiban_many([(["load-demo"], ""), (["load-demo"], "")], env)
    assert "items: 80 created" in first.stdout, first.stderr
    assert "0 changes" in second.stdout


@pytest.mark.slow  # starts `rongyiban serve`
def test_serve_starts_on_embedded_defaults_and_answers_over_http(env):
    port = free_port()
    process = subprocess.Popen([*RONGYIBAN, "serve", "--port", str(port)], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # a safety net, as in tests/e2e/served.py: start-up is slow on a loaded machine
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)

        item = httpx.get(f"{base}/api/v1/items/CD-0001").json()
        assert item["name"] == "居民身份证申领"  # demo content loaded on first start

        missing = httpx.get(f"{base}/api/v1/items/510104199001011234", headers={"X-Request-ID": "req-42"})
        assert missing.status_code == 404
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert (Path(env["RYB_DATA_DIR"]) / "rongyiban.db").exists()
    access = [json.loads(line) for line in stderr.splitlines() if line.startswith("{") and '"req-42"' in line]
    assert access and access[0]["status"] == 404
    assert "510104199001011234" not in stderr and "5101**********1234" in access[0]["path"]
    # and the demo policy graph, imported through review and publication on first start
    loaded = [json.loads(line)["msg"] for line in stderr.splitlines() if "loaded demo policies" in line]
    assert loaded and "'published': " in loaded[0] and "'unchanged': 0" in loaded[0]


def test_eval_search_reports_recall_for_fused_and_each_method(env, tmp_path):
    queries = tmp_path / "queries.jsonl"
    queries.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"query": "公积金怎么取出来", "expected": ["CD-0021"]},
        {"query": "jiashizheng huanzheng", "expected": ["机动车驾驶证换证"]},
        {"query": "教资", "expected": ["教师资格"]},
    ]), encoding="utf-8")
    result, text = rongyiban_many([
        (["eval-search", "--queries", str(queries), "--catalog", "demo:demo/catalog", "--json"], ""),
        (["eval-search", "--queries", str(queries), "--catalog", "demo:demo/catalog"], "")], env, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["queries"] == 3 and set(report) == {"queries", "fused", "lexical", "vector", "fuzzy", "misses",
                                                      "out_of_scope"}
    assert set(report["fused"]) == {"recall@1", "recall@3", "recall@5", "recall@10", "mrr"}
    assert report["out_of_scope"] == {"queries": 0, "no_good_match": 0}
    assert report["fused"]["recall@1"] == 1.0 and report["misses"] == []
    assert "fused" in text.stdout and "R@5" in text.stdout


def test_eval_routing_and_eval_dialogue_report_their_figures(env, tmp_path):
    # the evaluations build the assistant on demo content; it reads no policy graph, so none is imported
    env["RYB_LOAD_DEMO_POLICIES"] = "false"
    messages = tmp_path / "messages.csv"
    messages.write_text(
        "topic,detail,level1\n"
        "公司拖欠工资,我在A区一家公司上班，老板已经三个月没发工资了,劳动和社会保障\n"
        "烧烤油烟扰民,小区楼下烧烤店每天晚上油烟很大，窗户都不敢开,环境保护\n"
        "公交车太挤,早高峰的公交车一直很挤，希望增加班次,交通运输\n", encoding="utf-8")
    conversations = tmp_path / "dialogues.jsonl"
    conversations.write_text(json.dumps({"id": "c1", "turns": [
        {"user": "结婚登记要带什么材料", "expect": {"item": "结婚登记", "aspect": "材料", "intent": "consult"}},
        {"user": "那要多久", "expect": {"item": "结婚登记", "aspect": "时限"}},
        {"user": "今天天气怎么样", "expect": {"no_answer": True, "intent": "out_of_scope"}},
    ]}, ensure_ascii=False) + "\n", encoding="utf-8")
    routing, dialogue = rongyiban_many([(["eval-routing", "--messages", str(messages), "--json"], ""),
                                        (["eval-dialogue", str(conversations), "--json"], "")], env, timeout=600)
    result = routing
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["messages"] == 3 and set(report) == {"messages", "accuracy", "macro_f1", "per_class", "baseline"}
    assert set(report["baseline"]) == {"accuracy", "macro_f1"} and report["accuracy"] >= 2 / 3

    result = dialogue
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["conversations"], report["turns"], report["met"]) == (1, 3, 3)
    assert report["by_expectation"]["aspect"] == {"turns": 2, "met": 2} and report["failures"] == []


def test_load_facts_reports_bad_rows_by_number_and_loads_the_rest(env, tmp_path):
    path = tmp_path / "facts.csv"
    path.write_text("uscc,key,value,unit,as_of,source\n"
                    "91440115708216261R,employees,30,,2025-12-31,社保\n"
                    "91440115708216261R,revenue_last_year,2,人,2025-12-31,税务\n"
                    "91440115708216261R,revenue_last_year,2,亿元,2025-12-31,税务\n", encoding="utf-8")
    result, again = rongyiban_many([(["load-facts", "--format", "csv", str(path)], "")] * 2, env)
    assert result.returncode == 1  # a refused row is reported and the exit status says so
    assert "facts.csv row 2 value: revenue_last_year: unit '人' cannot be converted to '万元'" in result.stderr
    assert "2 facts read, 2 new or changed, 1 rows refused" in result.stdout
    assert "2 facts read, 0 new or changed" in again.stdout
