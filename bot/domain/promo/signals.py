"""The promo signals: what in a message, or around it, says it sells or advertises.

Each check reads normalised text (`normalise.normalise`) or facts the caller passes, and returns
the signals that fired with their weights. Weights are the odds on their own that a message
carrying the signal is a promo; `verdict.py` combines them. A link or a price alone stays below
the verdict's threshold (people share docs and talk about what they paid); two together do not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.promo.fingerprints import RepeatedTexts
from bot.domain.watching import WatchedMessage


class Signal(StrEnum):
    """A reason a message may be a promo."""

    LINK = "link"
    SHORTENER = "shortener"  # a short link hides where it goes
    INVITE_LINK = "invite_link"  # t.me/+…, t.me/joinchat/…
    CHANNEL_LINK = "channel_link"  # t.me/<name>: another group or channel
    MENTION = "mention"
    CONTACT = "contact"  # 微信, VX, WhatsApp, "в личку"…
    PHONE = "phone"
    PRICE = "price"
    DISCOUNT = "discount"
    CALL_TO_ACTION = "call_to_action"
    MONEY_OFFER = "money_offer"  # earnings, investment returns, giveaways
    MASS_MAILING = "mass_mailing"  # an unsubscribe footer: 退订回T, reply STOP, отписаться
    FORWARDED_FROM_CHANNEL = "forwarded_from_channel"
    URL_BUTTON = "url_button"
    REPEATED = "repeated"  # the same text from other members or in other groups
    FIRST_MESSAGES = "first_messages"  # a newcomer's first messages carrying other signals
    MODEL = "model"  # the trained model's probability (bot/detectors)


WEIGHTS: dict[Signal, float] = {
    Signal.LINK: 0.2,
    Signal.SHORTENER: 0.45,
    Signal.INVITE_LINK: 0.55,
    Signal.CHANNEL_LINK: 0.35,
    Signal.MENTION: 0.15,
    Signal.CONTACT: 0.35,
    Signal.PHONE: 0.35,
    Signal.PRICE: 0.15,
    Signal.DISCOUNT: 0.3,
    Signal.CALL_TO_ACTION: 0.3,
    Signal.MONEY_OFFER: 0.35,
    Signal.MASS_MAILING: 0.45,
    Signal.FORWARDED_FROM_CHANNEL: 0.3,
    Signal.URL_BUTTON: 0.45,
    Signal.REPEATED: 0.35,
    Signal.FIRST_MESSAGES: 0.25,
}


@dataclass(frozen=True, slots=True)
class PromoInput:
    """A message as the promo checks see it: its text and what the caller knows around it."""

    text: str
    chat_id: int = 0
    member_id: int | None = None
    forwarded_from_channel: bool = False
    links: tuple[str, ...] = ()  # URLs the text hides (text_link entities)
    url_buttons: tuple[str, ...] = ()  # URLs of inline keyboard buttons
    first_messages: bool = False  # among the member's first messages in the group

    @classmethod
    def of(cls, watched: WatchedMessage, *, first_messages: bool = False) -> PromoInput:
        """A watched message as the promo checks see it (the watcher knows `first_messages`)."""
        actor = watched.event.actor
        return cls(
            text=watched.text,
            chat_id=watched.chat_id,
            member_id=actor.user_id if actor else None,
            forwarded_from_channel=watched.forward_origin == "channel",
            links=watched.links,
            url_buttons=watched.url_buttons,
            first_messages=first_messages,
        )


@dataclass(frozen=True, slots=True)
class Reason:
    """A signal that fired, with its weight (0..1)."""

    signal: Signal
    weight: float


_TLDS = (
    "com|net|org|io|me|ru|su|cn|xyz|top|ltd|info|biz|cc|co|app|link|site|online|shop|store|club"
    "|vip|tk|ly|gl|gd|to|in|us|uk|de|fr|ws|gg|pro|live|fun|icu|win|bet|am|at|ee|im|id|рф"
)
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+"
    r"|(?<![\w@.])[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*"
    rf"(?:\.|。|点| dot )(?:{_TLDS})\b(?:/[^\s<>\"']*)?"
)
_HOST = re.compile(r"^(?:https?://)?(?:www\.)?([^/?#:\s]+)")
_SHORTENERS = frozenset(
    [
        "bit.ly",
        "tinyurl.com",
        "t.co",
        "goo.gl",
        "cutt.ly",
        "is.gd",
        "v.gd",
        "ow.ly",
        "rb.gy",
        "shorturl.at",
        "urlz.fr",
        "lanza.me",
        "clck.ru",
        "vk.cc",
        "u.to",
        "tiny.cc",
        "rebrand.ly",
        "s.id",
        "t.cn",
        "url.cn",
        "dwz.cn",
        "suo.im",
        "linktr.ee",
        "bit.do",
        "buff.ly",
        "tiny.one",
        "shorturl.asia",
        "qr.net",
    ]
)
_TELEGRAM_HOSTS = frozenset({"t.me", "telegram.me", "telegram.dog"})
_INVITE = re.compile(r"^(?:\+|joinchat/)|^tg://join")
_MENTION = re.compile(r"(?<![\w.@])@[a-z][a-z0-9_]{3,31}\b")
_CONTACT = re.compile(
    r"微信|威信|薇信|徽信|v信|vx|wx|weixin|wechat|加我|加v|私聊|私信我|扣扣|qq号|q群|联系方式|纸飞机|飞机号"
    r"|whats\s?app|wa\.me|viber|signal me|skype|line id|kik\b|telegram me|tg me"
    r"|в\s?лс\b|в личку|в личные|ватсап|вацап|вотсап|вайбер|телеграм[ем]?:|мой контакт"
)
# Digits spelled out, read only by the phone check: Han numerals (also the financial forms and
# 幺, "one" on the phone), English and Russian words.
_HAN_DIGITS = str.maketrans(
    dict(zip("零〇一二三四五六七八九幺壹贰叁肆伍陆柒捌玖", "0012345678912345678", strict=False))
)
_WORD_DIGITS = {
    word: str(digit)
    for digit, words in enumerate(
        [
            ("zero", "ноль"),
            ("one", "один"),
            ("two", "два"),
            ("three", "три"),
            ("four", "четыре"),
            ("five", "пять"),
            ("six", "шесть"),
            ("seven", "семь"),
            ("eight", "восемь"),
            ("nine", "девять"),
        ]
    )
    for word in words
}
_PHONE = re.compile(r"\+?\d(?:[\s\-().]{0,2}\d){7,16}")
_PRICE = re.compile(
    r"[¥$€£₽₹]\s?\d|\d(?:[\d,.]*\d)?\s?(?:[¥$€£₽₹]|元|块|usdt?\b|rmb\b|руб|р\.|rub\b|eur\b|dollars?\b"
    r"|bucks\b|k\b)"
)


# Python's re tries every branch of a pattern at every position of the text, so the long word
# lists cost 10–20 µs on a 100-character message. The English phrases start at a word start:
# each list's English part gets a leading \b (`_words`), which rules out four positions in
# five before any branch is tried (3–4 times faster), and no longer matches inside a word
# ("border now", "nonprofit"). Chinese has no spaces between words, Russian puts prefixes
# before its stems ("на-пишите", "по-звоните"), and a digit can follow a Han character
# ("打5折"): those parts keep matching anywhere, as lists whose every branch starts with a
# letter, which re skips through by its first characters.
def _words(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{pattern})")


_DISCOUNT = (
    _words(r"off\b[^.]{0,12}\d+\s?%|(?:pre|whole)?sale\b|discount|coupon|promo\s?code|deals?\b"),
    re.compile(
        r"优惠|促销|特价|打折|折扣|包邮|秒杀|限时|清仓|团购|скидк|акци[яи]|распродаж|промокод|дешевле"
    ),
)
_DISCOUNT_FIGURES = re.compile(r"\d+\s?%\s?off|[\d一二三四五六七八九](?:\.\d)?\s?折")
_CALL_TO_ACTION = (
    _words(
        r"(?:buy|order|shop|get yours|grab (?:it|yours)) now|(?:dm|pm|inbox|message) me\b"
        r"|contact (?:me|us)\b|click (?:the |on the |this )?(?:link|here|below|button)"
        r"|(?:hyper)?link (?:below|in (?:my )?bio)|sign up\b|register (?:now|here|today|with)"
        r"|join (?:now|us|our|my|the (?:group|channel))|don'?t miss|limited (?:time|offer|spots)"
        r"|hurry"
        r"|act now|check out (?:my|our)|visit (?:my|our)|follow (?:me|us|the link)|tap the link"
        r"|call (?:us|now)\b|book (?:now|today|a)\b|enrol+ now|apply now"
        r"|(?:reply|text|txt|send) \w+ to \d{3,}|reply (?:yes|claim|book|win)\b"
    ),
    re.compile(
        r"回复\s?[a-z0-9]{1,3}(?:办理|领取|订购)?(?![a-z0-9])|отправьте \S+ на (?:номер )?\d+"
        r"|ответьте (?:да|стоп)\b"
        r"|下单|扫码|扫一扫|点击链接|点击下方|点链接|戳链接|加群|进群|入群|私信|咨询|速来|抢购|立即|马上|赶紧|欢迎选购"
        r"|关注(?:我|频道|公众号)|订阅|拍下|二维码|长按|欢迎(?:光临|来电|合作|加盟)|报名|预约"
        r"|联系我|加入我们|来电咨询"
        r"|пиши(?:те)?\s(?:в|мне)|переход(?:и|ите)|жми\b|подписыва(?:йся|йтесь)|заказыва(?:й|йте)"
        r"|закаж(?:и|ите)|звони(?:те)?\b|ссылка в (?:профиле|био|описании|шапке)|успе(?:й|йте)\b"
        r"|торопи(?:сь|тесь)|регистрируй|вступа(?:й|йте)|присоединя(?:йся|йтесь)"
        r"|запис(?:ывайся|ывайтесь|ывайся|ь|аться)\b|брониру(?:й|йте)"
    ),
)
_MONEY_OFFER = (
    _words(
        r"passive income|make money|profit|invest|withdraw|work from home|per (?:day|week)"
        r"|daily (?:income|earnings|profit)|giveaway|airdrop|free (?:money|bonus|crypto|usdt)"
        r"|bonus|forex|signals?\b|guaranteed|earn(?:ed|ing|s)?\b"
    ),
    re.compile(
        r"赚|日入|月入|兼职|返利|收益|稳赚|副业|零投入|回本|理财|博彩|带单|日结|佣金|空投|投资|保本|保底|收入"
        r"|зараб|доход|пассивн|инвест|прибыл|выплат|без вложений|удалённ|удаленн|бонус|розыгрыш"
        r"|гарантир|гарантия результата"
    ),
)
_MASS_MAILING = re.compile(
    r"退订|拒收请回复|reply stop|text stop|opt out|unsubscribe|отписат|для отказа от рассылки"
)
# Each signal's patterns: it fires when any of them matches. A pattern that cannot match
# without certain characters is tried only when a quick search finds one: most chat has no
# percent sign or 折, and a sentence without a dot holds no link.
_MAY_LINK = re.compile(r"[.。点]|://| dot ")
_TEXT_CHECKS: tuple[tuple[Signal, re.Pattern[str], re.Pattern[str] | None], ...] = (
    (Signal.MENTION, _MENTION, re.compile("@")),
    (Signal.CONTACT, _CONTACT, None),
    (Signal.PRICE, _PRICE, None),
    *((Signal.DISCOUNT, pattern, None) for pattern in _DISCOUNT),
    (Signal.DISCOUNT, _DISCOUNT_FIGURES, re.compile("[%折]")),
    *((Signal.CALL_TO_ACTION, pattern, None) for pattern in _CALL_TO_ACTION),
    *((Signal.MONEY_OFFER, pattern, None) for pattern in _MONEY_OFFER),
    (Signal.MASS_MAILING, _MASS_MAILING, None),
)


def content_signals(normalised: str) -> list[Reason]:
    """The signals in a message's (normalised) text."""
    fired: dict[Signal, float] = {}
    if _MAY_LINK.search(normalised):
        for url in _URL.findall(normalised):
            kind = _link_kind(url)
            fired[kind] = WEIGHTS[kind]
    for signal, pattern, needs in _TEXT_CHECKS:
        if (
            signal not in fired
            and (needs is None or needs.search(normalised))
            and pattern.search(normalised)
        ):
            fired[signal] = WEIGHTS[signal]
    if _has_phone(normalised):
        fired[Signal.PHONE] = WEIGHTS[Signal.PHONE]
    return [Reason(signal, weight) for signal, weight in fired.items()]


def rule_signals(
    message: PromoInput, normalised: str, repeats: RepeatedTexts | None = None
) -> list[Reason]:
    """Every rule signal for a message: its text's, the caller's facts, and repeats.

    `repeats` remembers this message as a side effect, so call once per message.
    """
    reasons = content_signals(normalised)
    seen = {reason.signal for reason in reasons}
    for url in (*message.links, *message.url_buttons):
        kind = _link_kind(url.strip().lower())
        if kind not in seen:
            seen.add(kind)
            reasons.append(Reason(kind, WEIGHTS[kind]))
    if message.forwarded_from_channel:
        reasons.append(
            Reason(Signal.FORWARDED_FROM_CHANNEL, WEIGHTS[Signal.FORWARDED_FROM_CHANNEL])
        )
    if message.url_buttons:
        reasons.append(Reason(Signal.URL_BUTTON, WEIGHTS[Signal.URL_BUTTON]))
    if repeats is not None and repeats.seen_elsewhere(
        normalised, message.member_id, message.chat_id
    ):
        reasons.append(Reason(Signal.REPEATED, WEIGHTS[Signal.REPEATED]))
    # A first message is where spam comes from, but only one that carries something else.
    if message.first_messages and reasons:
        reasons.append(Reason(Signal.FIRST_MESSAGES, WEIGHTS[Signal.FIRST_MESSAGES]))
    return reasons


def _link_kind(url: str) -> Signal:
    if url.startswith("tg://join"):
        return Signal.INVITE_LINK
    host_match = _HOST.match(url)
    host = host_match.group(1) if host_match else url
    if host in _SHORTENERS:
        return Signal.SHORTENER
    if host in _TELEGRAM_HOSTS:
        path = url.split(host, 1)[1].lstrip("/")
        if _INVITE.match(path):
            return Signal.INVITE_LINK
        return Signal.CHANNEL_LINK if path else Signal.LINK
    return Signal.LINK


def _has_phone(normalised: str) -> bool:
    """Ten or more digits in a row (or eight after a +), spaces and dashes allowed, spelled too."""
    text = normalised.translate(_HAN_DIGITS)
    words = text.split()
    if not _WORD_DIGITS.keys().isdisjoint(word.strip(",.;:!-") for word in words):
        text = " ".join(_WORD_DIGITS.get(word.strip(",.;:!-"), word) for word in words)
    for match in _PHONE.finditer(text):
        digits = sum(ch.isdigit() for ch in match.group())
        if digits >= 10 or (match.group().startswith("+") and digits >= 8):
            return True
    return False
