"""Intent classification: high-precision rules first (application and ticket numbers, asking for a
human), then nearest neighbours over our own labelled example utterances (``demo/intents/``),
with a confidence per decision and a fallback below the threshold.

Intents: consult 办事咨询, policy 政策咨询, progress 进度查询, demand 投诉建议求助 (for the 12345
hotline), human 转人工, greeting 问候/感谢/闲聊, out_of_scope 超出范围.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from intents.slots import APPLICATION_NUMBER, TICKET_NUMBER
from retrieval.embedding_cache import CachedEmbedder
from retrieval.lexical import normalize_text
from yaml_files import read_yaml

INTENTS = ("consult", "policy", "progress", "demand", "human", "greeting", "out_of_scope")
NEIGHBOURS = 5  # per intent: the mean of its closest examples is its score
TEMPERATURE = 0.01  # turns cosine gaps of a few hundredths into clear probabilities

# asking *for* a person; "窗口工作人员态度差" is a complaint and "客服电话多少" a consultation
_HUMAN = re.compile(r"转人工|人工客服|人工服务|接人工|找真人|真人客服|要真人|转接人工")


@dataclass(frozen=True)
class IntentDecision:
    intent: str
    confidence: float
    via: str  # "rule", "examples" or "fallback"
    scores: dict[str, float]


def load_examples(directory: Path) -> dict[str, list[str]]:
    examples: dict[str, list[str]] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = read_yaml(path)
        if data["intent"] not in INTENTS:
            raise ValueError(f"{path.name}: unknown intent {data['intent']!r}")
        examples.setdefault(data["intent"], []).extend(str(e) for e in data["examples"])
    return examples


class IntentClassifier:
    def __init__(self, embedder: CachedEmbedder, examples: dict[str, list[str]], *, threshold: float = 0.5,
                 fallback: str = "consult") -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.fallback = fallback
        self.labels = [intent for intent, texts in examples.items() for _ in texts]
        texts = [normalize_text(t) for intent_texts in examples.values() for t in intent_texts]
        self.vectors = embedder.embed_examples(texts)
        self.intents = [i for i in INTENTS if i in examples]
        self._rows = {i: np.array([n for n, label in enumerate(self.labels) if label == i]) for i in self.intents}

    def scores(self, text: str) -> dict[str, float]:
        """Probability of each intent from the nearest examples (a softmax over their similarities)."""
        query = self.embedder.embed_queries([normalize_text(text)])[0]
        similarity = self.vectors @ query
        raw = {}
        for intent, rows in self._rows.items():
            closest = np.sort(similarity[rows])[-NEIGHBOURS:]
            raw[intent] = float(closest.mean())
        top = max(raw.values())
        weights = {i: np.exp((s - top) / TEMPERATURE) for i, s in raw.items()}
        total = sum(weights.values())
        return {i: float(w / total) for i, w in weights.items()}

    def classify(self, text: str) -> IntentDecision:
        if APPLICATION_NUMBER.search(text) or TICKET_NUMBER.search(text):
            return IntentDecision("progress", 0.99, "rule", {})
        if _HUMAN.search(text):
            return IntentDecision("human", 0.99, "rule", {})
        scores = self.scores(text)
        intent = max(scores, key=scores.__getitem__)
        if scores[intent] < self.threshold:
            return IntentDecision(self.fallback, scores[intent], "fallback", scores)
        return IntentDecision(intent, scores[intent], "examples", scores)
