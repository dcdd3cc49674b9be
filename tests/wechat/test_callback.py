"""The official-account callback over real HTTP: the real app with the real assistant, a local
WeChat API server, and a test-side WeChat that signs and encrypts with wechatpy."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
import pytest_asyncio
import sqlalchemy as sa

from server import create_app
from settings import Settings
from store.tables.dialogue import chat_turns
from store.tables.outbox import outbox_jobs
from store.tables.wechat import wechat_messages, wechat_users
from tests.helpers import assert_error, wait_until
from tests.miniapp_api.conftest import serve
from tests.wechat.conftest import ACCOUNT, PlaysWeChat, event_xml, text_xml, wechat_settings
from tests.wechat.local_wechat import LocalWeChat

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def local_wechat_m():
    with LocalWeChat() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(tmp_path_factory, embedding_cache_file, local_wechat_m):
    # a 3 s reply budget instead of production's 4.5 s: the lateness test waits it out on every run,
    # and a warmed-up assistant answers in a tenth of it even on a loaded machine
    settings = wechat_settings(Settings(
        data_dir=tmp_path_factory.mktemp("wechat") / "var", log_json=False, outbox_poll_seconds=0.05,
        embedding_cache_file=embedding_cache_file, search_sync_seconds=0.2), local_wechat_m.base_url,
        wechat_reply_budget_seconds=3.0)
    app = create_app(settings)
    async with serve(app) as http:
        await asyncio.wait_for(asyncio.shield(app.ctx.dialogue_task), timeout=300)
        await app.ctx.dialogue.handle("wechat", "o_warm_up", "公积金怎么提取")  # the first answer loads what it needs
        yield app, http


@pytest.fixture
def app(running):
    return running[0]


@pytest.fixture
def wechat(running):
    return PlaysWeChat(running[1])


async def turns_of(app, openid: str) -> list:
    async with app.ctx.db.read() as conn:
        return list(await conn.execute(sa.select(chat_turns).where(chat_turns.c.session_key == f"wechat:{openid}")
                                       .order_by(chat_turns.c.id)))


# --- the end-to-end conversation ----------------------------------------------------------
async def test_an_encrypted_question_gets_an_encrypted_signed_answer(app, wechat):
    delivery = await wechat.post(text_xml("o_citizen_1", "身份证丢了怎么补办"), mode="safe")
    assert delivery.status == 200 and delivery.fields is not None  # decrypted and msg_signature checked
    assert delivery.fields["ToUserName"] == "o_citizen_1" and delivery.fields["FromUserName"] == ACCOUNT
    assert delivery.fields["MsgType"] == "text"
    assert "居民身份证" in delivery.content and "依据：" in delivery.content
    assert len(delivery.content.encode("utf-8")) <= 2048
    [turn] = await turns_of(app, "o_citizen_1")
    assert turn.text == "身份证丢了怎么补办" and turn.channel == "wechat"


async def test_plaintext_and_compatible_modes(app, wechat):
    plain = await wechat.post(text_xml("o_plain", "结婚登记要带什么材料"), mode="plaintext")
    assert "<Encrypt>" not in plain.body and "结婚" in plain.content
    compatible = await wechat.post(text_xml("o_compat", "结婚登记要带什么材料"), mode="compatible")
    assert "<Encrypt>" in compatible.body and compatible.content == plain.content


async def test_numbered_options_can_be_answered_with_a_number(app, wechat):
    first = await wechat.post(text_xml("o_numbers", "结婚登记"))
    assert "回复序号继续" in first.content
    options = [line.split(". ", 1)[1] for line in first.content.splitlines() if line[:2] in ("1.", "2.")]
    second = await wechat.post(text_xml("o_numbers", "2"))
    assert second.fields is not None
    turns = await turns_of(app, "o_numbers")
    assert turns[-1].text == options[1]  # "2" reached the assistant as the option the user saw


async def test_voice_subscribe_unsubscribe_menu_and_other_types(app, wechat):
    voice = await wechat.post(
        f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>o_types</FromUserName><CreateTime>{int(time.time())}"
        "</CreateTime><MsgType>voice</MsgType><MediaId>m1</MediaId><Format>amr</Format>"
        "<Recognition><![CDATA[公积金怎么提取]]></Recognition><MsgId>9100000000000000001</MsgId></xml>")
    assert "公积金" in voice.content
    unheard = await wechat.post(
        f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>o_types</FromUserName><CreateTime>{int(time.time())}"
        "</CreateTime><MsgType>voice</MsgType><MediaId>m2</MediaId><Format>amr</Format>"
        "<MsgId>9100000000000000002</MsgId></xml>")
    assert "没有听清" in unheard.content

    welcome = await wechat.post(event_xml("o_new", "subscribe"))
    assert "欢迎关注" in welcome.content and "转人工" in welcome.content
    from_qr = await wechat.post(event_xml("o_new_qr", "subscribe", key="qrscene_42"))
    assert "欢迎关注" in from_qr.content

    hot = await wechat.post(event_xml("o_types", "CLICK", key="MENU_HOT"))
    assert "大家最近常问" in hot.content and "1. " in hot.content
    progress = await wechat.post(event_xml("o_types", "CLICK", key="MENU_PROGRESS", created=int(time.time()) + 1))
    assert "受理编号" in progress.content
    human = await wechat.post(event_xml("o_types", "CLICK", key="MENU_HUMAN", created=int(time.time()) + 2))
    assert "人工" in human.content and "12345" in human.content
    unknown_key = await wechat.post(event_xml("o_types", "CLICK", key="NOT_CONFIGURED", created=int(time.time()) + 3))
    assert unknown_key.body == "success"

    base = f"<ToUserName>{ACCOUNT}</ToUserName><FromUserName>o_types</FromUserName><CreateTime>{int(time.time())}</CreateTime>"
    image = await wechat.post(f"<xml>{base}<MsgType>image</MsgType><PicUrl>http://x/y.jpg</PicUrl><MediaId>1</MediaId><MsgId>9100000000000000003</MsgId></xml>")
    assert "图片" in image.content
    location = await wechat.post(f"<xml>{base}<MsgType>location</MsgType><Location_X>30.6</Location_X><Location_Y>104.0</Location_Y><Scale>15</Scale><Label>成都</Label><MsgId>9100000000000000004</MsgId></xml>")
    assert "位置" in location.content
    link = await wechat.post(f"<xml>{base}<MsgType>link</MsgType><Title>t</Title><Description>d</Description><Url>http://x</Url><MsgId>9100000000000000005</MsgId></xml>")
    assert "链接" in link.content
    unknown = await wechat.post(f"<xml>{base}<MsgType>hologram</MsgType><MsgId>9100000000000000006</MsgId></xml>")
    assert unknown.status == 200 and unknown.body == "success"


async def test_unsubscribe_forgets_the_conversation(app, wechat):
    await wechat.post(text_xml("o_leaving", "结婚登记要带什么材料"))
    async with app.ctx.db.read() as conn:
        assert (await conn.execute(sa.text("SELECT count(*) FROM dialogue_sessions WHERE session_key = 'wechat:o_leaving'"))).scalar() == 1
    bye = await wechat.post(event_xml("o_leaving", "unsubscribe"))
    assert bye.body == "success"
    async with app.ctx.db.read() as conn:
        assert (await conn.execute(sa.text("SELECT count(*) FROM dialogue_sessions WHERE session_key = 'wechat:o_leaving'"))).scalar() == 0
        user = (await conn.execute(sa.select(wechat_users).where(wechat_users.c.openid == "o_leaving"))).one()
    assert user.subscribed is False and user.options == []


# --- retries --------------------------------------------------------------------------------
async def test_a_retry_gets_the_identical_reply_and_no_second_turn(app, wechat):
    xml = text_xml("o_retry", "公积金怎么提取", msg_id=9200000000000000001)
    first = await wechat.post(xml)
    again = await wechat.post(xml)
    assert first.fields == again.fields  # same plaintext, freshly encrypted
    assert len(await turns_of(app, "o_retry")) == 1


async def test_a_slow_assistant_answers_late_as_one_customer_service_message(app, wechat, local_wechat_m):
    real = app.ctx.dialogue

    answer_now = asyncio.Event()

    class SlowAssistant:  # the test hook: the real assistant, answering only when the test says so
        def __getattr__(self, name):
            return getattr(real, name)

        async def handle(self, *args):
            await answer_now.wait()
            return await real.handle(*args)

    def sent() -> list:
        return [c for c in local_wechat_m.calls("/cgi-bin/message/custom/send") if c.body["touser"] == "o_slow"]

    async def late_job_done() -> bool:
        async with app.ctx.db.read() as conn:
            return (await conn.execute(sa.select(outbox_jobs.c.status).where(
                outbox_jobs.c.idempotency_key == "wechat-late:msg:9300000000000000001"))).scalar() == "done"

    app.ctx.dialogue = SlowAssistant()
    try:
        xml = text_xml("o_slow", "结婚登记要带什么材料", msg_id=9300000000000000001)
        first = await wechat.post(xml)  # the budget passes without an answer
        assert first.body == "success"
        answer_now.set()
        retry = await wechat.post(xml)  # WeChat's retry while the answer is on its way, late
        assert retry.body == "success"
        await wait_until(late_job_done)  # sent, and its job is finished: nothing is left to send it again
        [message] = sent()
        assert message.body["msgtype"] == "text" and "结婚" in message.body["text"]["content"]
        after = await wechat.post(xml)  # a retry after the late answer: still no second answer
        assert after.body == "success"
    finally:
        app.ctx.dialogue = real
    async with app.ctx.db.read() as conn:
        row = (await conn.execute(sa.select(wechat_messages).where(
            wechat_messages.c.dedupe_key == "msg:9300000000000000001"))).one()
    assert row.mode == "late" and row.delivered_at is not None and row.message is None
    assert len(await turns_of(app, "o_slow")) == 1


async def test_a_retry_answers_in_place_of_a_worker_that_died(app, wechat):
    from datetime import timedelta

    from store.tables.base import utcnow
    from wechat.messages import parse_incoming

    xml = text_xml("o_orphan", "公积金怎么提取", msg_id=9300000000000000002)
    incoming = parse_incoming(xml)
    async with app.ctx.db.transaction() as conn:  # the first delivery's worker claimed it, then died
        await conn.execute(wechat_messages.insert().values(
            dedupe_key=incoming.dedupe_key, openid="o_orphan", status="processing", mode="passive",
            owner="inbox-dead", lease_until=utcnow() - timedelta(seconds=1), received_at=utcnow(),
            message=incoming.__dict__))
    retry = await wechat.post(xml)
    assert "公积金" in retry.content
    assert len(await turns_of(app, "o_orphan")) == 1


# --- security and bad input ------------------------------------------------------------------
async def test_a_wrong_signature_is_refused_without_processing(app, wechat, running):
    http = running[1]
    query = wechat.signed_query()
    xml = text_xml("o_forger", "你好", msg_id=9400000000000000001)
    bad = await http.post("/wechat/callback", params={**query, "signature": "0" * 40}, content=xml)
    assert_error(bad, 403, "bad_signature")
    safe = await wechat.post(xml)  # a genuine one with a tampered msg_signature
    assert safe.status == 200
    query = wechat.signed_query()
    tampered = await http.post("/wechat/callback", params={**query, "encrypt_type": "aes", "msg_signature": "1" * 40},
                               content="<xml><Encrypt><![CDATA[abcd]]></Encrypt></xml>")
    assert_error(tampered, 403, "bad_signature")
    missing = await http.post("/wechat/callback", params={**query, "encrypt_type": "aes"},
                              content="<xml><Encrypt><![CDATA[abcd]]></Encrypt></xml>")
    assert_error(missing, 403, "bad_signature")
    async with app.ctx.db.read() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(wechat_messages)
                                    .where(wechat_messages.c.openid == "o_forger"))).scalar()
    assert count == 1  # only the genuine delivery


async def test_stale_oversized_and_hostile_bodies_are_refused(app, wechat, running):
    http = running[1]
    stale = wechat.signed_query(timestamp=str(int(time.time()) - 301))
    assert_error(await http.post("/wechat/callback", params=stale, content=text_xml("o_x", "你好")), 403,
                 "stale_timestamp")
    query = wechat.signed_query()
    huge = text_xml("o_x", "长" * 30_000)
    assert_error(await http.post("/wechat/callback", params=query, content=huge), 413, "payload_too_large")
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
              "<xml><Content>&lol2;</Content></xml>")
    assert_error(await http.post("/wechat/callback", params=query, content=laughs), 400, "xml_declaration_refused")
    external = '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Content>&x;</Content></xml>'
    assert_error(await http.post("/wechat/callback", params=query, content=external), 400, "xml_declaration_refused")
    assert_error(await http.post("/wechat/callback", params=query, content="<xml><Content>open"), 400, "malformed_xml")
    assert_error(await http.post("/wechat/callback", params=query, content='{"json": true}'), 400, "not_xml")
    assert_error(await http.post("/wechat/callback", params=query, content=b"\xff\xfe<xml/>"), 400, "bad_encoding")
    assert_error(await http.post("/wechat/callback", params=query, content="<xml><MsgType>text</MsgType></xml>"), 400,
                 "bad_message")


async def test_an_oversized_callback_is_refused_before_its_body_is_read(app, wechat, running):
    """The callback's limit (RYB_WECHAT_MAX_BODY_BYTES, far below the API's) holds while the body
    is read: a declared length over it is refused at once, a chunked body once it passes it. Neither
    body is ever sent in full; the server answers without it."""
    from urllib.parse import urlencode

    from tests.helpers import chunked, unread_body

    limit = app.ctx.settings.wechat_max_body_bytes
    path = f"/wechat/callback?{urlencode(wechat.signed_query())}"
    for headers, sent in (({"Content-Length": str(limit + 1)}, []),
                          ({"Transfer-Encoding": "chunked"}, chunked(limit + 1, chunk=4096))):
        status, answer = await unread_body(str(running[1].base_url), "POST", path,
                                           {"Content-Type": "text/xml", **headers}, sent)
        assert status == 413 and answer["error"]["code"] == "payload_too_large"


async def test_a_message_encrypted_for_another_appid_is_refused(app, running):
    other = PlaysWeChat(running[1], appid="wx_someone_else_0")
    delivery = await other.post(text_xml("o_other", "你好"))
    assert delivery.status == 403


async def test_fuzzed_callbacks_never_get_a_server_error(app, wechat, running):
    http = running[1]
    rng = random.Random(20261122)
    fragments = ["<xml>", "</xml>", "<Content>", "</Content>", "<MsgType>text</MsgType>", "<![CDATA[", "]]>",
                 "<Encrypt>", "</Encrypt>", "<FromUserName>o</FromUserName>", "<CreateTime>1</CreateTime>",
                 "<MsgId>x</MsgId>", "&amp;", "&#0;", "<!--", "-->", "<?xml version='1.0'?>", "\x00", "办", "\ufffd"]
    statuses = set()
    for round_ in range(300):
        if rng.random() < 0.5:
            body = "".join(rng.choice(fragments) for _ in range(rng.randint(0, 12))).encode("utf-8", "surrogatepass")
        else:
            body = rng.randbytes(rng.randint(0, 300))
        query = wechat.signed_query()
        if round_ % 3 == 0:
            query.update(encrypt_type="aes", msg_signature=f"{rng.getrandbits(160):040x}")
        if round_ % 7 == 0:
            query["timestamp"] = rng.choice(["", "abc", "9" * 40, "-1", "²", "１７００００００００"])
        response = await http.post("/wechat/callback", params=query, content=body)
        statuses.add(response.status_code)
        assert response.status_code < 500, (body, response.text)
    assert statuses <= {200, 400, 403, 413}


async def test_the_channel_is_off_until_configured(test_settings, capsys):
    app = create_app(test_settings.with_overrides(assistant=False))
    async with serve(app) as http:
        assert_error(await http.get("/wechat/callback"), 503, "wechat_disabled")
        assert_error(await http.post("/wechat/callback", content="<xml/>"), 503, "wechat_disabled")
    log = capsys.readouterr().err
    assert "official-account channel is off: RYB_WECHAT_TOKEN, RYB_WECHAT_APPID, RYB_WECHAT_SECRET not set" in log
