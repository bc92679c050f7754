"""The promo rules: each normaliser trick, each signal, repeats and the combined verdict."""

from __future__ import annotations

import pytest

from bot.domain.promo import (
    PromoInput,
    RepeatedTexts,
    Signal,
    combine,
    content_signals,
    judge_by_rules,
    normalise,
    rule_signals,
)
from bot.domain.promo.signals import WEIGHTS, Reason
from bot.domain.watching import WatchedMessage
from tests.unit.test_services import message


@pytest.mark.parametrize(
    ("trick", "text", "plain"),
    [
        ("fullwidth", "ＢＵＹ　ｎｏｗ", "buy now"),
        ("mathematical bold", "𝐁𝐔𝐘 𝐍𝐎𝐖", "buy now"),
        ("mathematical script", "𝓬𝓵𝓲𝓬𝓴", "click"),
        ("circled", "ⓑⓤⓨ", "buy"),
        ("negative circled", "🅑🅤🅨", "buy"),
        ("negative squared", "🅱🆄🆈", "buy"),
        ("small capitals", "ᴅᴍ ᴍᴇ", "dm me"),
        ("zero-width", "fr\u200bee mo\u200dn\ufeffey", "free money"),
        ("soft hyphen", "cas\u00adino", "casino"),
        ("combining strike-through", "b̶u̶y̶", "buy"),
        ("Cyrillic in a Latin word", "pаypаl cаsinо", "paypal casino"),
        ("Greek in a Latin word", "ΒUΥ nοw", "buy now"),
        ("Latin in a Cyrillic word", "пpивeт, CКИДKA", "привет, скидка"),
        ("spaced letters", "f r e e  m o n e y", "free money"),
        ("dotted letters", "c.l.i.c.k here", "click here"),
        ("spaced digits", "1 3 8-0 0 1 3 8 0 0 0", "13800138000"),
        ("spaced Han", "加 微 信", "加微信"),
        ("punctuated Han", "加.微.信", "加微信"),
    ],
)
def test_normalise_undoes_each_trick(trick: str, text: str, plain: str) -> None:
    assert normalise(text) == plain, trick


@pytest.mark.parametrize(
    "text",
    ["Привет, как дела? Всё хорошо.", "йогурт и ёжик", "我们明天开会。", "e.g. the docs", "ok ок"],
)
def test_normalise_leaves_plain_text_alone(text: str) -> None:
    assert normalise(text) == text.lower()


def signals_of(text: str) -> set[Signal]:
    return {reason.signal for reason in content_signals(normalise(text))}


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("read https://docs.python.org/3/library/re.html", Signal.LINK),
        ("see example.com/page", Signal.LINK),
        ("网址 shop123点com", Signal.LINK),
        ("here https://bit.ly/3xYz", Signal.SHORTENER),
        ("tinyurl.com/yrd86r5b", Signal.SHORTENER),
        ("https://t.me/+dGA3mE_zk-EwZThk", Signal.INVITE_LINK),
        ("t.me/joinchat/AAAAAE", Signal.INVITE_LINK),
        ("t.me/best_deals_channel", Signal.CHANNEL_LINK),
        ("follow @crypto_signals_pro", Signal.MENTION),
        ("加我微信", Signal.CONTACT),
        ("VX: abc123", Signal.CONTACT),
        ("V信 同号", Signal.CONTACT),
        ("私聊", Signal.CONTACT),
        ("whatsapp only", Signal.CONTACT),
        ("пиши в лс", Signal.CONTACT),
        ("call 13800138000", Signal.PHONE),
        ("+7 999 123-45-67", Signal.PHONE),
        ("一三八零零一三八零零零", Signal.PHONE),
        ("one three eight zero zero one three eight zero zero zero", Signal.PHONE),
        ("1 3 8 0 0 1 3 8 0 0 0", Signal.PHONE),
        ("only ¥99", Signal.PRICE),
        ("仅需 99元", Signal.PRICE),
        ("$30 each", Signal.PRICE),
        ("всего 500 руб", Signal.PRICE),
        ("цена 990₽", Signal.PRICE),
        ("全场8折", Signal.DISCOUNT),
        ("限时优惠", Signal.DISCOUNT),
        ("促销", Signal.DISCOUNT),
        ("特价", Signal.DISCOUNT),
        ("50% off today", Signal.DISCOUNT),
        ("скидка на всё", Signal.DISCOUNT),
        ("buy now", Signal.CALL_TO_ACTION),
        ("order now", Signal.CALL_TO_ACTION),
        ("DM me", Signal.CALL_TO_ACTION),
        ("click the link below", Signal.CALL_TO_ACTION),
        ("马上下单", Signal.CALL_TO_ACTION),
        ("扫码进群", Signal.CALL_TO_ACTION),
        ("点击链接", Signal.CALL_TO_ACTION),
        ("有兴趣的朋友联系我", Signal.CALL_TO_ACTION),
        ("пишите мне", Signal.CALL_TO_ACTION),
        ("переходи по ссылке", Signal.CALL_TO_ACTION),
        ("earn $500 per day", Signal.MONEY_OFFER),
        ("日赚500", Signal.MONEY_OFFER),
        ("收入稳定", Signal.MONEY_OFFER),
        ("we invest your savings", Signal.MONEY_OFFER),
        ("пассивный доход", Signal.MONEY_OFFER),
        ("退订回T", Signal.MASS_MAILING),
        ("Reply STOP to opt out", Signal.MASS_MAILING),
        ("Отписаться от рассылки: ответьте СТОП", Signal.MASS_MAILING),
        ("text WIN to 80088", Signal.CALL_TO_ACTION),
        ("回复1立即办理", Signal.CALL_TO_ACTION),
        ("回复KT办理", Signal.CALL_TO_ACTION),
        ("отправьте 1 на номер 0500", Signal.CALL_TO_ACTION),
        # English phrases start at a word start, wherever the word is.
        ("(buy now)", Signal.CALL_TO_ACTION),
        ("tap the hyperlink below", Signal.CALL_TO_ACTION),
        ("presale is live", Signal.DISCOUNT),
        ("wholesale only", Signal.DISCOUNT),
        ("best deals", Signal.DISCOUNT),
        ("nonstop bonus", Signal.MONEY_OFFER),
        # Russian stems after a prefix, Chinese words inside a run, a digit after a Han character.
        ("напишите мне", Signal.CALL_TO_ACTION),
        ("позвоните", Signal.CALL_TO_ACTION),
        ("подзаработать", Signal.MONEY_OFFER),
        ("请立即下单", Signal.CALL_TO_ACTION),
        ("打5折", Signal.DISCOUNT),
        ("省50%off", Signal.DISCOUNT),
        # Links without a dot.
        ("http://localhost:8080/x", Signal.LINK),
        ("shop dot com", Signal.LINK),
        ("网址 shop123。com", Signal.LINK),
    ],
)
def test_each_content_signal_fires(text: str, signal: Signal) -> None:
    assert signal in signals_of(text)


@pytest.mark.parametrize(
    "text",
    [
        "where can I buy a good keyboard?",
        "meeting on 2024-11-25 at 10:30",
        "I have 3 cats",
        "我买了一个一个试",
        "email me at a.b@example",
        "Привет всем, как дела?",
        "I want to learn Rust",  # not "earn"
        "an ideal setup",  # not "deal"
        "see you at 3pm meeting room",  # not "pm me"
        "the border now reopened",  # not "order now"
        "a nonprofit group",  # not "profit"
    ],
)
def test_ordinary_chat_fires_nothing(text: str) -> None:
    assert signals_of(text) == set()


def test_link_kinds_do_not_double_count_a_plain_link() -> None:
    assert signals_of("https://t.me/+abcdef") == {Signal.INVITE_LINK}


def test_forwarded_from_channel_and_url_buttons_are_inputs() -> None:
    message = PromoInput(
        "hello everyone", forwarded_from_channel=True, url_buttons=("https://example.com",)
    )
    fired = [reason.signal for reason in rule_signals(message, normalise(message.text))]
    assert sorted(fired) == sorted([Signal.LINK, Signal.FORWARDED_FROM_CHANNEL, Signal.URL_BUTTON])


def test_hidden_links_and_button_links_are_read_by_kind() -> None:
    message = PromoInput(
        "click here",
        links=("https://T.me/+AbCdEf",),
        url_buttons=("https://bit.ly/x", "https://bit.ly/y"),
    )
    fired = [reason.signal for reason in rule_signals(message, normalise(message.text))]
    assert sorted(fired) == sorted(
        [Signal.CALL_TO_ACTION, Signal.INVITE_LINK, Signal.SHORTENER, Signal.URL_BUTTON]
    )


def test_a_hidden_link_of_a_kind_the_text_shows_counts_once() -> None:
    message = PromoInput("see https://example.com", links=("https://example.org",))
    assert rule_signals(message, normalise(message.text)) == [
        Reason(Signal.LINK, WEIGHTS[Signal.LINK])
    ]


def test_first_messages_count_only_with_another_signal() -> None:
    quiet = PromoInput("hello, glad to be here", first_messages=True)
    selling = PromoInput("buy now, glad to be here", first_messages=True)
    assert rule_signals(quiet, normalise(quiet.text)) == []
    fired = {reason.signal for reason in rule_signals(selling, normalise(selling.text))}
    assert fired == {Signal.CALL_TO_ACTION, Signal.FIRST_MESSAGES}


TEXT = "the best trading platform around, ask me how"


def test_repeated_text_from_another_member_fires() -> None:
    repeats = RepeatedTexts()
    assert not repeats.seen_elsewhere(TEXT, member_id=1, chat_id=10)
    assert not repeats.seen_elsewhere(TEXT, member_id=1, chat_id=10)  # same member, same group
    assert repeats.seen_elsewhere(
        normalise("The best  trading platform around!! ask me how 2"), 2, 10
    )


def test_repeated_text_in_another_group_fires() -> None:
    repeats = RepeatedTexts()
    repeats.seen_elsewhere(TEXT, member_id=1, chat_id=10)
    assert repeats.seen_elsewhere(TEXT, member_id=1, chat_id=11)


def test_repeats_is_a_signal_on_the_second_copy() -> None:
    repeats = RepeatedTexts()
    first = PromoInput(TEXT, chat_id=10, member_id=1)
    second = PromoInput(TEXT, chat_id=11, member_id=2)
    assert rule_signals(first, normalise(TEXT), repeats) == []
    assert rule_signals(second, normalise(TEXT), repeats) == [
        Reason(Signal.REPEATED, WEIGHTS[Signal.REPEATED])
    ]


def test_short_texts_are_not_repeats() -> None:
    repeats = RepeatedTexts()
    repeats.seen_elsewhere("thanks a lot", 1, 10)
    assert not repeats.seen_elsewhere("thanks a lot", 2, 10)
    assert len(repeats) == 0


def test_repeats_forget_the_oldest_past_capacity() -> None:
    repeats = RepeatedTexts(capacity=2)
    for text in (TEXT, TEXT + " again", TEXT + " and again"):
        repeats.seen_elsewhere(text, 1, 10)
    assert len(repeats) == 2
    assert not repeats.seen_elsewhere(TEXT, 2, 10)  # forgotten: remembered afresh
    assert repeats.seen_elsewhere(TEXT + " and again", 2, 10)


def test_combine_is_a_noisy_or_with_reasons_strongest_first() -> None:
    verdict = combine([Reason(Signal.PRICE, 0.2), Reason(Signal.LINK, 0.5)])
    assert verdict.score == pytest.approx(0.6)
    assert verdict.is_promo
    assert [reason.signal for reason in verdict.reasons] == [Signal.LINK, Signal.PRICE]
    assert combine([]) == combine(())
    assert not combine([]).is_promo and combine([]).score == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "the docs are at https://docs.python.org/3/",
        "I paid $30 for mine, worth it",
        "我买的时候是3000元",
        "где купить нормальный роутер?",
    ],
)
def test_one_weak_signal_is_not_a_promo(text: str) -> None:
    assert not judge_by_rules(PromoInput(text)).is_promo


@pytest.mark.parametrize(
    "text",
    [
        "𝐁𝐔𝐘 𝐍𝐎𝐖 50% off https://bit.ly/x",
        "加 V 信：一三八零零一三八零零零，全场特价",
        "Скидка 30%! Пиши в лс",
        "Join now https://t.me/+AbCdEf and earn daily",
    ],
)
def test_disguised_promos_are_promos(text: str) -> None:
    assert judge_by_rules(PromoInput(text)).is_promo


def test_a_watched_message_becomes_a_promo_input() -> None:
    event = message(7, user=42, text="see the button")
    watched = WatchedMessage(
        event,
        "see the button",
        forward_origin="channel",
        links=("https://t.me/+abc",),
        url_buttons=("https://bit.ly/x",),
    )
    assert PromoInput.of(watched, first_messages=True) == PromoInput(
        "see the button",
        chat_id=event.group.chat_id,
        member_id=42,
        forwarded_from_channel=True,
        links=("https://t.me/+abc",),
        url_buttons=("https://bit.ly/x",),
        first_messages=True,
    )
    from_a_user = WatchedMessage(event, "hi", forward_origin="user")
    assert not PromoInput.of(from_a_user).forwarded_from_channel
