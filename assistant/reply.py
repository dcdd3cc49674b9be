"""The channel-neutral reply (回复): what the assistant says, whatever the channel. WeChat and the
mini-program each render it their own way."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from intents.aspects import coarse_of


@dataclass(frozen=True)
class Source:
    """A curated record an answer was rendered from."""

    type: str  # "service_item" or "faq"
    id: str
    name: str
    version: int


@dataclass(frozen=True)
class Card:
    title: str
    description: str = ""
    item_code: str | None = None
    url: str | None = None


@dataclass
class Reply:
    text: str
    intent: str
    confidence: float = 1.0
    aspect: str | None = None
    cards: list[Card] = field(default_factory=list)
    quick_replies: list[str] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    needs_clarification: bool = False
    no_answer: bool = False
    aspects: list[str] = field(default_factory=list)  # every aspect answered, when a question asked two
    situation: str | None = None  # the name of the item's situation (情形) the answer is for
    # the coarse aspect (材料, 时限, …) the aspect refines: what a client that knows only those shows
    coarse_aspect: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.coarse_aspect = coarse_of(self.aspect)
        if not self.aspects and self.aspect:
            self.aspects = [self.aspect]

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["confidence"] = round(self.confidence, 4)
        return body
