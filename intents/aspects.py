"""Aspects: which part of a service guide a question asks about, from coarse (材料, 时限) to fine
(待遇期限: how long a benefit is paid, not how long processing takes).

Every fine aspect *refines* one or more coarse aspects (``REFINES``): an expectation or a caller
written with a coarse aspect is met by any aspect that refines it, and a reply carries both its
aspect and the coarse aspect it refines.

Finding the aspects of a question combines two readers:
- ``ASPECT_PATTERNS``: precise words ("多少钱", "在哪") — high precision, and the only way to find
  *two* aspects in one sentence ("要带啥，好多钱");
- ``AspectClassifier``: a character n-gram logistic regression trained on our own varied example
  questions (``demo/aspects/aspects.yaml``), which reads phrasings no pattern lists ("能领几个月",
  "我在外地咋个弄"). It is evaluated on held-out examples (``aspects_heldout.yaml``) it never saw.
The patterns decide when they find an aspect; the classifier reads what they do not understand.
"""

from __future__ import annotations

import re
from pathlib import Path

from retrieval.lexical import normalize_text
from yaml_files import read_yaml

COARSE = ("材料", "条件", "时限", "费用", "地点", "流程", "电话", "在线办理")
# fine aspect → the coarse aspects it refines (an expectation of any of them is met by it)
REFINES: dict[str, tuple[str, ...]] = {
    "金额标准": ("条件", "费用"),  # how much a benefit pays — not the applicant's fee
    "待遇期限": ("时限",),  # how long a benefit lasts — not the processing time
    "截止时间": ("时限",),  # by when one must apply
    "预约": ("流程",),
    "次数频率": ("条件",),  # how often one may apply is a condition of the item
    "代办委托": ("条件", "材料"),  # whether another person may apply, and with which papers
    "异地远程": ("在线办理", "地点"),
    "是否需要材料": ("材料",),
}
ASPECTS = (*COARSE, *REFINES)
NO_ASPECT = "无"  # the classifier's label for "no particular aspect" ("我想办个身份证")


def coarse_of(aspect: str | None) -> str | None:
    """The coarse aspect a reply names beside its own: itself when coarse, its first parent when fine."""
    if aspect is None or aspect in COARSE:
        return aspect
    return REFINES[aspect][0] if aspect in REFINES else None


def meets(expected: str, got: str | None) -> bool:
    """Whether a reply with aspect ``got`` answers an expectation of ``expected``."""
    return got == expected or (got is not None and expected in REFINES.get(got, ()))


# the aspects and the words that ask for each; checked in this order (fine before coarse, so
# "每月发多少钱" is 金额标准 though "多少钱" alone asks for 费用; "需要什么条件" is 条件 though
# "需要什么" alone asks for 材料). Written from our development conversations, the training examples
# in demo/aspects/aspects.yaml and the tuning half of the unseen set (never its test half).
ASPECT_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("电话", re.compile(r"电话|热线|联系方式|号码多少|打哪个")),
    ("异地远程", re.compile(r"(?:在|人在|身在|我在|回|去了?)(?:外地|外省|省外|国外|老家|外面上班|外头)"
                          r"|不在成都|不在本地|异地|远程|回不来|回不去")),
    ("预约", re.compile(r"预约|约号|取号|排号|挂号|排队|先约|约个时间|约时间")),
    ("代办委托", re.compile(r"代办|代领|代交|代取|代替|委托|帮我去|帮忙去|替我|帮他办|帮她办|帮我办|帮我弄|本人必须|本人到场|本人去"
                          r"|(?:家人|家属|亲戚|朋友|老婆|老公|爸|妈|儿子|女儿|子女|别人|其他人|同事)\S{0,3}(?:去办|代|能办|可以办|帮)")),
    ("次数频率", re.compile(r"几次|几回|多少次|多少回|每年.{0,4}(?:提|领|申请|办)|一年.{0,4}(?:能|可以).{0,4}(?:提|领|申请|办)|多久.{0,3}(?:提|领|申请)一次|隔多久")),
    ("截止时间", re.compile(r"截止|最晚|最迟|期限前|什么时候之前|哪天之前|过期了|逾期|超过.{0,4}(?:还能|还可以)|来不来得及|还来得及")),
    ("待遇期限", re.compile(r"领多久|发多久|多领几天|领几天|休几天|能休多久|能领几个月|领几个月|发几个月|最长.{0,4}(?:领|发|享受|几个月)|享受多久|能拿多久|拿几个月|补几个月|多少个月")),
    ("金额标准", re.compile(r"(?:发|领|补贴|补助|津贴|能拿|能领|到手|每月|每个月|一个月|标准).{0,4}(?:多少钱|好多钱|多少|几百|几千)"
                          r"|(?:多少钱|好多钱).{0,2}一个月|金额|额度|贷多少|能贷|最多.{0,2}(?:贷|提|取)多少|补贴标准|津贴标准|怎么算|咋个算")),
    ("在线办理", re.compile(r"网上|线上|手机上|手机能|小程序|app|网办|在线|不用跑|不出门|掌上|网站|12123")),
    ("是否需要材料", re.compile(r"(?:要不要|需不需要|用不用|得不得)(?:带|交|提供|准备|拿|开)(?![^\s，。？?,]*(?:什么|啥|哪些|多少|钱|费))[^\s，。？?,]{1,12}"
                            r"|(?:需要|要)(?:带|交|提供|准备|拿|开)(?![^\s，。？?,]*(?:什么|啥|哪些|多少|钱|费))[^\s，。？?,]{1,12}(?:吗|不|么|没)"
                            r"|(?:带|交|提供|准备)(?![^\s，。？?,]*(?:什么|啥|哪些|多少|钱|费))[^\s，。？?,]{1,10}(?:不|吗|么)$")),
    ("条件", re.compile(r"条件|要求|资格|谁可以|谁能|哪些人|什么人|能不能办|可以办吗|符合|满足|够不够|门槛")),
    ("材料", re.compile(r"材料|资料|带什么|带啥|带哪些|准备什么|准备啥|准备哪些|要什么证|需要什么|需要哪些|要啥子|提交什么|证件")),
    ("费用", re.compile(r"费用|收费|多少钱|好多钱|要钱|花钱|免费|工本费|交钱|几块钱|贵不贵")),
    ("时限", re.compile(r"多久|多长时间|几天|时限|多少天|几个工作日|什么时候能|啥时候|好久|办结|拿到证|当天|到账")),
    ("地点", re.compile(r"哪里办|在哪|去哪|哪儿|在那(?:办|打|开|弄|交|领|报)|去那(?:里|儿)?(?:办|打|开|弄|交|领|报|续)|地点|地址|哪个窗口|哪点|哪个部门|什么地方|窗口在")),
    ("流程", re.compile(r"流程|步骤|怎么办理|程序|手续|怎么弄|怎么申请|如何申请|咋个办|怎么办|怎么搞|办理方式"
                      r"|怎么补|怎么换|怎么领|怎么开|怎么交|怎么取|怎么报|怎么注册|怎么登记|咋个|咋整|咋办|咋弄")),
]

ASPECT_WORDS = dict(ASPECT_PATTERNS)

# A question that asks whether (能不能, 要不要, …吗): answered with 可以/需要 or their negation
# first, when a passage settles it. The form decides which word answers it.
YES_NO_NEED = re.compile(r"要不要|需不需要|用不用|需要.{0,12}(?:吗|不|么)$|要.{1,12}(?:吗|不|么)$|必须")
YES_NO_CAN = re.compile(r"能不能|可不可以|可以.{0,14}(?:吗|不|么)$|能.{0,14}(?:吗|不|么)$|行不行|行不|得行不|允许|是否可以|能否")

# Patterns first: the aspects their words name, when they name any; the classifier reads the
# questions no pattern understood, when its best aspect reaches this probability (its 17 classes
# share it, so 0.2 is a clear lead). From 5-fold cross-validation on the training examples
# (demo/aspects/aspects.yaml): patterns first, then the classifier at 0.2: 0.757 of examples right;
# the classifier overriding one pattern's aspect at 0.5: 0.755; the classifier first at 0.2: 0.74;
# patterns alone 0.65; the classifier alone 0.70. The held-out examples chose nothing.
CLASSIFIER_CONFIDENCE = 0.2


def pattern_aspects(text: str) -> list[str]:
    """Aspects whose words occur in the text, in ``ASPECT_PATTERNS`` order, a coarse aspect left out
    when a fine one refining it was found in the same words."""
    lowered = text.lower()
    found: list[tuple[int, str]] = []
    spans: list[tuple[int, int]] = []
    for aspect, pattern in ASPECT_PATTERNS:
        for match in pattern.finditer(lowered):
            if any(start < match.end() and match.start() < end for start, end in spans):
                continue  # these words already said a (finer) aspect
            found.append((match.start(), aspect))
            spans.append(match.span())
            break
    aspects: list[str] = []
    for _, aspect in sorted(found):
        if aspect not in aspects:
            aspects.append(aspect)
    return aspects


def yes_no_form(text: str) -> str | None:
    """``need`` (要不要 …: answered 需要/不需要), ``can`` (能不能 …: 可以/不可以) or None."""
    norm = re.sub(r"[\s，。？！?!,.~～]+$", "", text)
    if YES_NO_NEED.search(norm):
        return "need"
    if YES_NO_CAN.search(norm):
        return "can"
    return None


class AspectClassifier:
    """Character 1–3-grams (words of two or three characters carry the aspect: 多久, 几个月, 好多钱)
    into a logistic regression; trained in well under a second on a few hundred examples."""

    def __init__(self, examples: dict[str, list[str]]) -> None:
        unknown = set(examples) - {*ASPECTS, NO_ASPECT}
        if unknown:
            raise ValueError(f"unknown aspects {sorted(unknown)}")
        # imported here: scikit-learn costs every `rongyiban` process a second or two otherwise
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        texts = [normalize_text(t) for label in examples for t in examples[label]]
        labels = [label for label in examples for _ in examples[label]]
        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        # C=10: the examples are few and clean, a weak penalty lets rare cue words count
        self.model = LogisticRegression(C=10.0, max_iter=2000)
        self.model.fit(self.vectorizer.fit_transform(texts), labels)

    @classmethod
    def load(cls, path: Path) -> AspectClassifier:
        return cls(load_aspect_examples(path))

    def probabilities(self, text: str) -> dict[str, float]:
        row = self.model.predict_proba(self.vectorizer.transform([normalize_text(text)]))[0]
        return {str(label): float(p) for label, p in zip(self.model.classes_, row, strict=True)}


def load_aspect_examples(path: Path) -> dict[str, list[str]]:
    data = read_yaml(path)
    return {str(label): [str(t) for t in texts] for label, texts in data["aspects"].items()}


def read_aspects(text: str, classifier: AspectClassifier | None = None) -> list[str]:
    """The aspects a question asks about, most likely first: those its words name (two are both
    kept: a mixed question is answered on both), else the classifier's, when it is confident
    enough, else none."""
    patterns = pattern_aspects(text)
    if patterns or classifier is None:
        return patterns
    probabilities = classifier.probabilities(text)
    label = max(probabilities, key=probabilities.__getitem__)
    return [label] if label != NO_ASPECT and probabilities[label] >= CLASSIFIER_CONFIDENCE else []
