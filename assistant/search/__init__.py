"""Smart search (智能搜索) over the guide catalog.

A query runs through three methods — BM25 over jieba tokens (with colloquial → official
synonym expansion), e5 vectors over each item and its guide sections (conditions, materials,
linked FAQ questions), and fuzzy/pinyin matching of item names and aliases — whose rankings are
fused by reciprocal rank, deduplicated to items, and given a calibrated confidence. Below the
confidence threshold the response says ``no_good_match`` instead of pretending.

One job per module:

- ``results``: filters, hits, results, ``SearchError`` (plain data);
- ``documents``: what the indexes hold of an item (``IndexedItem``) and how it is built;
- ``snapshot``: the immutable ``IndexSnapshot`` a search reads, and how the next one is made;
- ``index``: ``SearchIndex`` — start/stop, incremental sync, vectors in the background, readiness;
- ``searcher``: ``Searcher`` — pure ranking, fusion, facets and confidence over a snapshot;
- ``snippets``: the highlighted excerpt of a returned item;
- ``suggester``: search-box completions;
- ``query_log``: the query log, written in batches off the request path, and the hot list;
- ``service``: ``SearchService``, the facade the HTTP layers, the console and the dialogue use.
"""

from assistant.search.documents import IndexedItem, build_documents
from assistant.search.results import METHODS, SearchError, SearchFilters, SearchHit, SearchResult
from assistant.search.service import SearchService
from assistant.search.snapshot import IndexSnapshot, apply_changes, empty_snapshot
from assistant.search.snippets import make_snippet

__all__ = ["METHODS", "IndexSnapshot", "IndexedItem", "SearchError", "SearchFilters", "SearchHit", "SearchResult",
           "SearchService", "apply_changes", "build_documents", "empty_snapshot", "make_snippet"]
