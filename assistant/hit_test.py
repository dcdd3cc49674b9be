"""Hit testing (命中测试) for staff: one question through the search and the assistant as a dry
run, and batch hit testing of a query file (Recall@k and MRR, via ``assistant.search_eval``).

Nothing here leaves a trace: the search runs with ``channel=None`` (not logged in
``search_queries``) and the assistant answers through ``DialogueManager.dry_run`` (no session, no
``chat_turns`` row, no 12345 ticket). A staff member testing the knowledge base must not show up
in the statistics the knowledge base is judged by.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.dialogue import DialogueManager, DryRun
from assistant.search import SearchFilters, SearchResult, SearchService
from assistant.search_eval import EvalQuery, evaluate, parse_queries
from domain_errors import DomainError

BUNDLED_QUERIES = Path(__file__).resolve().parents[1] / "benchmarks" / "queries"
MAX_QUESTION = 200  # the search reads no further (search_max_query_chars' default)
MAX_TOP_K = 20
MAX_UPLOAD_BYTES = 256 * 1024
MAX_QUERIES = 500  # four searches each (fused and every method alone): some seconds of shared CPU
MAX_PROBLEMS = 50  # a file that is wrong everywhere: the first fifty lines say enough
BATCH_TOP_K = 10  # Recall@10 needs the first ten


class HitTestError(DomainError):
    """A request the hit test cannot run, with a message for the staff member who made it."""


@dataclass
class HitTestReport:
    search: SearchResult
    # None when the assistant is not built (starting, or switched off)
    dry_run: DryRun | None
    # the other intents the classifier considered, most likely first
    runners_up: list[tuple[str, float]]


@dataclass
class QueryFile:
    name: str
    queries: list[EvalQuery]
    problems: list[tuple[int, str]]  # (line number, what is wrong); those lines are left out


class HitTester:
    def __init__(self, search: SearchService, dialogue: Callable[[], DialogueManager | None], *,
                 query_dir: Path = BUNDLED_QUERIES) -> None:
        self.search = search
        self.dialogue = dialogue  # a callable: the assistant is built after the server starts
        self.query_dir = query_dir
        # one batch at a time: a batch shares the CPU pool with citizens' searches
        self._batch_lock = asyncio.Lock()

    async def test(self, question: str, filters: SearchFilters | None = None, top_k: int = 10) -> HitTestReport:
        """Raises ``SearchError`` for an empty question or a filter value that does not exist."""
        question = question[:MAX_QUESTION]
        top_k = max(1, min(top_k, MAX_TOP_K))
        result = await self.search.search(question, filters, top_k, channel=None)
        manager = self.dialogue()
        dry_run = await manager.dry_run(question) if manager is not None else None
        runners_up: list[tuple[str, float]] = []
        if dry_run is not None and dry_run.decision is not None:
            runners_up = sorted(((i, s) for i, s in dry_run.decision.scores.items() if i != dry_run.decision.intent),
                                key=lambda pair: -pair[1])[:3]
        return HitTestReport(result, dry_run, runners_up)

    # --- batches --------------------------------------------------------------------------
    def bundled_files(self) -> list[str]:
        return sorted(path.name for path in self.query_dir.glob("*.jsonl"))

    def bundled(self, name: str) -> QueryFile:
        if name not in self.bundled_files():  # a name from the list only: never a path someone typed
            raise HitTestError("unknown_query_file", f"没有名为“{name[:100]}”的内置查询文件")
        return self._parse(name, (self.query_dir / name).read_bytes())

    def uploaded(self, name: str, body: bytes) -> QueryFile:
        if not body:
            raise HitTestError("empty_upload", "上传的文件是空的")
        if len(body) > MAX_UPLOAD_BYTES:
            raise HitTestError("upload_too_large", f"文件不能超过 {MAX_UPLOAD_BYTES // 1024} KB")
        return self._parse(name[:100] or "上传文件", body)

    def _parse(self, name: str, body: bytes) -> QueryFile:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise HitTestError("not_utf8", "文件不是 UTF-8 编码的文本") from None
        lines = text.splitlines()
        if sum(1 for line in lines if line.strip()) > MAX_QUERIES:
            raise HitTestError("too_many_queries", f"一个文件最多 {MAX_QUERIES} 条查询")
        queries, problems = parse_queries(lines)
        if not queries:
            raise HitTestError("no_queries", "文件中没有可用的查询（每行一个 JSON："
                               "{\"query\": \"…\", \"expected\": [\"事项编码或名称\"]}）")
        return QueryFile(name, queries, problems[:MAX_PROBLEMS])

    @property
    def batch_running(self) -> bool:
        return self._batch_lock.locked()

    async def batch(self, queries: list[EvalQuery]) -> dict[str, Any]:
        """Recall@1/3/5/10 and MRR (fused and per method) and the misses; refused while another
        batch runs. Each search runs in the CPU pool, so the event loop stays free."""
        if self._batch_lock.locked():
            raise HitTestError("batch_running", "另一项批量测试正在进行，请稍后再试")
        async with self._batch_lock:
            return await evaluate(self.search, queries, BATCH_TOP_K)
