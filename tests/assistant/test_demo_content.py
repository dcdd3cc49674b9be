"""Our demo content: the 80 high-frequency Chengdu items with complete guides, FAQ and synonyms."""

from __future__ import annotations

import re

import pytest

from assistant.importers import parse_demo
from server import DEMO_CATALOG_DIR

CANONICAL_NAMES = """居民身份证申领 居民身份证换领 居民身份证补领 户口迁入 出生登记 居住证办理 临时居民身份证 出入境证件办理
机动车驾驶证换证 机动车驾驶证补证 机动车检验合格标志核发 交通违法处理 社会保障卡申领 社会保障卡补换 城乡居民医保参保登记
异地就医备案 养老保险关系转移 养老金领取资格认证 失业保险金申领 生育津贴申领 住房公积金提取 住房公积金贷款 住房公积金缴存证明
不动产转移登记 不动产抵押登记 不动产登记信息查询 结婚登记 离婚登记 生育登记 最低生活保障申请 高龄津贴申领 残疾人证办理
残疾人两项补贴 义务教育入学报名 个人所得税年度汇算 灵活就业人员参保 就业创业证申领 创业担保贷款 职业技能培训补贴 人才公寓申请
公共租赁住房申请 教师资格认定 无犯罪记录证明 亲属关系证明 养犬登记 燃气开户 用电报装 用水报装 退役军人优待证申领 出生医学证明
丧葬补助金申领 城乡居民医保缴费 个体工商户设立登记 企业设立登记 企业变更登记 企业简易注销 食品经营许可 公共场所卫生许可
烟草专卖零售许可 道路运输经营许可 建筑工程施工许可 排污许可 新办纳税人发票申领 单位社保参保登记 单位住房公积金缴存登记
招用员工就业登记 失业保险稳岗返还 高新技术企业认定 专精特新中小企业认定 科技型中小企业评价 药品经营许可 第二类医疗器械经营备案
户外广告设置许可 临时占用道路许可 公众聚集场所投入使用营业前消防安全检查 特种设备使用登记 人力资源服务许可 劳务派遣经营许可
营业执照遗失补领 电子营业执照下载""".split()


@pytest.fixture(scope="module")
def demo():
    items, faq, synonyms, problems, _ = parse_demo(DEMO_CATALOG_DIR)
    assert problems == []
    return items, faq, synonyms


def test_every_canonical_item_is_there_by_name_or_alias(demo):
    items, _, _ = demo
    assert len(CANONICAL_NAMES) == 80
    for name in CANONICAL_NAMES:
        assert any(name in n for item in items for n in item.all_names), name


def test_every_guide_is_complete(demo):
    items, faq, _ = demo
    for item in items:
        assert item.department and item.item_type and item.audience and item.level, item.code
        assert item.conditions and item.fees and item.legal_time_limit and item.promised_time_limit, item.code
        assert len(item.materials) >= 2 and item.places and item.phones.consult, item.code
        assert len(item.process) >= 3 and item.legal_basis and len(item.aliases) >= 3, item.code
        assert item.visits is not None, item.code
        assert sum(item.code in entry.items for entry in faq) >= 3, f"{item.code} has fewer than 3 FAQ"


def test_there_are_enough_faq_and_synonyms(demo):
    _, faq, synonyms = demo
    assert len(faq) >= 200
    assert len(synonyms) >= 150
    assert all(s.colloquial != s.official for s in synonyms)
    pairs = {s.colloquial: s.official for s in synonyms}
    assert pairs["公积金"] == "住房公积金" and pairs["社保卡"] == "社会保障卡"


def test_no_demo_sentence_is_copied_from_the_real_catalog(demo, shared_data):
    """Our content is written by us: no sentence of 20+ characters appears in the real catalog."""
    real = (shared_data / "gd_catalog" / "items.jsonl").read_text(encoding="utf-8")
    items, faq, _ = demo
    texts = [t for item in items for t in (item.conditions, item.notes, *item.process)]
    texts += [entry.answer for entry in faq]
    sentences = {s.strip() for t in texts for s in re.split(r"[。；;\n]", t) if len(s.strip()) >= 20}
    copied = [s for s in sentences if s in real]
    assert copied == []
