"""The assistant: a chat turn's answer."""

from __future__ import annotations

from pydantic import BaseModel

from assistant.reply import Reply
from miniapp_api.responses.common import strict


class ChatAnswer(BaseModel):
    model_config = strict({"session_id": "Vx1s2k3j4h5g6f7d", "turn_id": 1, "reply": {
        "text": "补办居民身份证……", "intent": "ask_guide", "confidence": 0.91, "aspect": "费用", "aspects": ["费用"],
        "situation": "遗失补领", "cards": [],
        "quick_replies": ["需要什么材料"], "sources": [{"type": "service_item", "id": "CD-0001", "name": "居民身份证补领",
                                                       "version": 1}], "needs_clarification": False, "no_answer": False,
        "coarse_aspect": "费用"}})
    session_id: str
    turn_id: int
    reply: Reply
