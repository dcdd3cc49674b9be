"""Answers composed from passages: for a resolved item (and situation), the passages that best answer
*this* question, quoted verbatim under their section names, short enough for a phone screen, with
the source and version. Nothing is said that no passage says.

- A coarse aspect that names a whole section (材料, 时限, 费用, 地点, 流程, 电话, 在线办理, 条件) is
  answered with that section's rows for the person's situation.
- A fine aspect (待遇期限, 代办委托, …) or a question about one named thing is answered with the
  passages that score best on it: a prior for the sections that usually hold the answer, the words
  that mark such an answer ("委托", "个月"), and the question's own words (BM25 and e5 cosine within
  the item's passages).
- A yes/no question starts with 需要/不需要/可以/不可以 when a passage settles it, and otherwise
  says what the guide says and that it does not settle the question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.models import ServiceItem, Situation
from assistant.passages import SECTIONS, Passage

# the section a coarse aspect asks for as a whole
WHOLE_SECTION = {"材料": "materials", "条件": "conditions", "时限": "time_limit", "费用": "fees",
                 "地点": "places", "流程": "process", "电话": "phones", "在线办理": "online"}
# where a fine aspect's answer usually is (section → prior), and the words that mark such a passage.
# The priors are a ranking, not a measurement: the section a guide is meant to put it in (1.0),
# others that often hold it (0.5); cue words were read off our demo guides' own rows.
FINE = {
    "金额标准": ({"conditions": 0.5, "notes": 1.0, "fees": 0.5, "faq": 0.5},
                re.compile(r"\d+(?:\.\d+)?元|标准|金额|额度|最高|上限|计发|发放|×|÷|工资")),
    "待遇期限": ({"conditions": 0.5, "notes": 1.0, "faq": 0.5},
                re.compile(r"最长|期限|\d+个月|个月|年以上|不足\d+年")),
    "截止时间": ({"conditions": 0.5, "notes": 1.0, "process": 0.5, "faq": 0.5, "time_limit": 0.3},
                re.compile(r"之前|以内|之内|届满|逾期|截止|前\d+|起\d+|内申请|内办理|日内|天内|个月内")),
    "预约": ({"process": 1.0, "online": 0.5, "places": 0.5, "notes": 0.5, "faq": 0.5},
            re.compile(r"预约|取号|约号|排号")),
    "次数频率": ({"conditions": 1.0, "notes": 0.5, "faq": 0.5},
                re.compile(r"每年|每月|每次|一次|\d+次|次数|间隔|满\d+个月|可连续|多次")),
    "代办委托": ({"conditions": 1.0, "materials": 0.5, "notes": 0.5, "faq": 0.5},
                re.compile(r"代办|代为|委托|受托|本人到场|本人到|须本人|不能由他人|监护人|经办人")),
    "异地远程": ({"online": 1.0, "places": 0.5, "conditions": 0.5, "notes": 0.5, "faq": 0.5},
                re.compile(r"异地|跨省|外地|全国|省内通办|通办|网上|线上|邮寄|不用跑|全程网办")),
    "是否需要材料": ({"materials": 1.0, "notes": 0.3, "faq": 0.3}, None),
}
MAX_PASSAGES = 3  # a fine aspect quotes at most this many passages
MAX_CHARS = 420  # about one phone screen of Chinese text at the mini-program's font size
# The weights below are set by hand from what they must do, not fitted or tuned on any set:
# a passage answers only if its combined score reaches MIN_SCORE — below the prior of the aspect's
# own section (1.0), so any passage there may answer; a passage of a section that only sometimes
# holds the answer (0.5) needs the aspect's marking words or the question's own words as well
MIN_SCORE = 0.9
CUE_WEIGHT = 0.6  # a passage with the aspect's marking words beats one without in the same section
LEXICAL_WEIGHT = 0.6  # the question's own words (BM25 share of the item's best)
VECTOR_WEIGHT = 2.0  # e5 cosines of one item's passages differ by tenths at most: the spread counts

_NEGATIVE_AGENT = re.compile(r"不能由他人|不得委托|不能委托|不可委托|不接受委托|须本人|必须本人|须由本人|应由本人|应当由本人|本人到场"
                             r"|本人亲自|亲自到|不能代办|不可代办|不得代办|不予代办|不能代为|双方.{0,6}(?:共同|亲自|一同)到")
_POSITIVE_AGENT = re.compile(r"可委托|可以委托|可由.{0,12}代|委托.{0,8}(?:代为|办理|申请)|代为办理|代办人|受托人|经办人")
_NEED_BOOKING = re.compile(r"须预约|需预约|需要预约|实行预约|应当预约|先预约")
_NO_BOOKING = re.compile(r"无需预约|不需要预约|不用预约|可直接|无须预约")
_FREE = re.compile(r"^(?:不收费|免费|免收|无)")
_OPTIONAL = "〔视情况提供〕"


@dataclass(frozen=True)
class ScoredPassage:
    passage: Passage
    score: float


def rank(passages: Sequence[Passage], scores: Sequence[tuple[float, float]], aspect: str) -> list[ScoredPassage]:
    """Passages by how well they answer ``aspect``; ``scores`` are (lexical share, cosine) per passage."""
    priors, cue = FINE.get(aspect, ({WHOLE_SECTION.get(aspect, ""): 1.0}, None))
    cosines = [c for _, c in scores]
    floor = min(cosines, default=0.0)
    ranked = []
    for passage, (lexical, cosine) in zip(passages, scores, strict=True):
        prior = priors.get(passage.section, 0.0)
        if prior == 0.0:
            continue
        marked = CUE_WEIGHT if cue is not None and cue.search(passage.text) else 0.0
        ranked.append(ScoredPassage(passage, prior + marked + LEXICAL_WEIGHT * lexical
                                    + VECTOR_WEIGHT * (cosine - floor)))
    return sorted(ranked, key=lambda sp: -sp.score)


def group_by_section(passages: Sequence[Passage]) -> str:
    """Passages under their section names, in guide order, numbered where a section has several."""
    order = list(SECTIONS)
    lines: list[str] = []
    by_section: dict[str, list[Passage]] = {}
    for passage in passages:
        by_section.setdefault(passage.section, []).append(passage)
    for section in sorted(by_section, key=order.index):
        rows = by_section[section]
        lines.append(f"【{SECTIONS[section]}】")
        if len(rows) == 1:
            lines.append(rows[0].text)
        else:
            lines.extend(f"{n}. {p.text}" for n, p in enumerate(rows, 1))
    return "\n".join(lines)


def shorten(text: str, limit: int = MAX_CHARS) -> str:
    """Whole lines up to ``limit`` characters; what is cut is said to be in the full guide."""
    if len(text) <= limit:
        return text
    kept: list[str] = []
    used = 0
    for line in text.split("\n"):
        if used + len(line) > limit and kept:
            kept.append("……（其余内容见完整办事指南）")
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)


def named_thing(question: str) -> str:
    """"要不要带户口本" → "户口本": the thing a 是否需要材料 question names."""
    match = re.search(r"(?:带|交|提供|准备|拿|开|出示)(?:个|张|份|本)?([^\s，。？?,！!]{1,12}?)(?:吗|不|么|没|嘛|$|[，。？?！!])",
                      question) or re.search(r"(?:需要|要|用)(?:个|张|份|本)?([^\s，。？?,！!要]{2,10}?)(?:吗|不|么|嘛)", question)
    return match.group(1) if match else ""


_DOCUMENT = re.compile(r"(?:本|簿|证|证明|证书|照片|相片|照|复印件|原件|书|表|卡|单|报告|材料|合同|执照|协议|回执|公章)$")


def is_document(thing: str) -> bool:
    """"户口本", "结婚证", "照片": a thing one brings, as opposed to "登报" or "体检"."""
    return bool(thing) and bool(_DOCUMENT.search(thing))


def settle(aspect: str, form: str, chosen: Sequence[Passage], item: ServiceItem,
           situation: Situation | None, thing: str) -> str | None:
    """The word a yes/no question is answered with, when the chosen passages settle it; else None."""
    texts = [p.text for p in chosen]
    if aspect == "代办委托":
        if any(_NEGATIVE_AGENT.search(t) for t in texts):
            return "不可以" if form == "can" else "需要本人办理"
        if any(_POSITIVE_AGENT.search(t) for t in texts):
            return "可以"
        return None
    if aspect == "预约":
        if any(_NO_BOOKING.search(t) for t in texts):
            return "不需要"
        if any(_NEED_BOOKING.search(t) for t in texts):
            return "需要"
        return None
    if aspect in ("在线办理", "异地远程") and form == "can":
        return "可以" if item.online.available else None
    if aspect == "费用" and form == "need":
        fees = situation.fees if situation and situation.fees else item.fees
        if fees and _FREE.match(fees.strip()):
            return "不需要"
        return "需要" if re.search(r"\d+(?:\.\d+)?元", fees or "") else None
    if aspect == "条件" and form == "can":
        return "可以" if situation is not None else None  # the guide has a situation for exactly this case
    if aspect == "是否需要材料" and form == "need":
        materials = [p for p in chosen if p.section == "materials"]
        if materials:
            return "视情况需要" if _OPTIONAL in materials[0].text else "需要"
        # the guide's material list is the whole list: a document it does not name is not needed
        return "不需要" if not chosen and is_document(thing) else None
    return None
