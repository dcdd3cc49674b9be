"""The channel-neutral reply rendered for WeChat: within 2,048 bytes, numbered options, a sources
line, one article at most, and XML that a curated text cannot break."""

from __future__ import annotations

import xmltodict

from assistant.reply import Card, Reply, Source
from wechat.render import MAX_TEXT_BYTES, custom_message, passive_xml, render, render_text
from wechat.security import parse_xml


def test_a_long_answer_is_cut_at_a_line_within_the_byte_limit_keeping_options_and_sources():
    body = "\n".join(f"第{n}项材料：居民户口簿原件及复印件一份，需本人签字确认" for n in range(200))
    reply = Reply(body, intent="consult", quick_replies=["要带什么材料", "在哪里办"],
                  sources=[Source("service_item", "CD-0001", "居民身份证申领", 3)])
    text = render_text(reply)
    assert len(text.encode("utf-8")) <= MAX_TEXT_BYTES
    assert "…（内容较长" in text and "\n1. 要带什么材料\n2. 在哪里办" in text
    assert text.endswith("依据：居民身份证申领（办事指南 v3）")
    kept = text.split("\n…（内容较长")[0].splitlines()
    assert all(line in body.splitlines() for line in kept)  # whole lines only


def test_every_byte_limit_holds_and_no_character_is_split():
    for size in range(0, 3000, 7):
        text = render_text(Reply("办" * size + "a", intent="consult", quick_replies=["转人工"]), max_bytes=600)
        assert len(text.encode("utf-8")) <= 600
        text.encode("utf-8").decode("utf-8")


def test_options_already_listed_are_not_repeated():
    clarify = Reply("您想办理的是：\n1. 结婚登记\n2. 离婚登记\n请回复序号或事项名称。", intent="consult",
                    quick_replies=["结婚登记", "离婚登记"], needs_clarification=True)
    assert render_text(clarify) == clarify.text
    not_sure = Reply("抱歉……\n1. 甲\n2. 乙\n您也可以回复“转人工”。", intent="consult", quick_replies=["甲", "乙", "转人工"])
    assert render_text(not_sure) == not_sure.text  # “转人工” is in its words; "3" still means it
    assert render(not_sure, 1)["options"] == ["甲", "乙", "转人工"]


def test_an_online_answer_is_one_article_and_the_same_as_a_late_message():
    reply = Reply("【结婚登记】可以网上办理：天府通办。", intent="consult", aspect="在线办理",
                  cards=[Card("结婚登记", url="https://example.org/marry"), Card("离婚登记", url="https://example.org/x")])
    rendered = render(reply, 1700000000)
    assert rendered["type"] == "news"
    fields = xmltodict.parse(passive_xml(rendered, to_user="o1", account="gh_1"))["xml"]
    assert fields["ArticleCount"] == "1" and fields["Articles"]["item"]["Url"] == "https://example.org/marry"
    late = custom_message(rendered, "o1")
    assert late["msgtype"] == "news" and len(late["news"]["articles"]) == 1


def test_reply_xml_survives_cdata_terminators_and_control_characters():
    rendered = render(Reply("a]]><b>&c\x00\x07d", intent="consult"), 1700000000)
    xml = passive_xml(rendered, to_user="o]]>1", account="gh_1")
    fields = parse_xml(xml)
    assert fields["ToUserName"] == "o]] >1" and fields["Content"] == "a]] ><b>&cd"
