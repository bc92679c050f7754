"""The question detector: does a member's message ask something a human should answer, and why.

A verdict adds up cues, each with a weight, and keeps the cues that fired as its reasons, so a
moderator can read why a message was (or was not) taken for a question:

- question marks (`?`, and `？` after NFKC), at the end or inside;
- interrogatives where a clause starts (how do, what is, can you, is there; как, где, почему)
  and Chinese interrogatives and particles anywhere (怎么, 如何, 为什么, 哪, 吗, 呢, 能不能, 是否);
- requests for help (anyone know, please help, is there a way; 请问, 求助, 有人知道; подскажите).

Before the cues are counted, the words that look like a question but ask no human anything are
taken out and named: greetings and chit-chat ("how are you?", 你好吗, как дела), reactions
("lol what?", 真的吗), tag questions ("…, right?", 对吧), rhetorical forms ("who cares?",
怎么可能) and interrogatives used as pronouns (什么都行, 我也不知道为什么, что-то). An
exclamation, banter (lol, 哈哈, 🙄), taking it back ("never mind") and a short hedged reply
("maybe tomorrow?") count against. English and Russian interrogatives count only where a clause
starts, because mid-sentence they are mostly conjunctions ("that's why", "я думаю, что");
Chinese marks no clause start, so its cues count anywhere and the pronoun uses are taken out
instead. Traditional characters are read as simplified.

The figures (`groupops eval-questions tests/data/questions/heldout.tsv`) are in README.md.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

THRESHOLD = 0.5  # a message scoring at least this is a question
QUESTION_MARK_AT_END = 0.6
QUESTION_MARK_INSIDE = 0.5  # "anyone selling a monitor? budget 100"
INTERROGATIVE = 0.5
WEAK_INTERROGATIVE = 0.3  # 几个, 几天: as often "a few" as "how many"
FINAL_PARTICLE = 0.55  # 吗, 了没
SOFT_PARTICLE = 0.3  # 呢 ends statements too ("我在吃饭呢")
HELP_REQUEST = 0.6
EXCLAMATION = -0.35
BANTER = -0.3
WITHDRAWN = -0.6
PROMPT = -1.0
HEDGE = -0.4
HEDGE_LENGTH = 30  # an unsure answer is short; a long message starting "maybe" can still ask
# A long message is read by its head and tail, where people put what they ask: the patterns cost
# time in proportion to the text, and a 4,096-character message would take tens of milliseconds.
HEAD_CHARS, TAIL_CHARS = 400, 200


class Cue(StrEnum):
    """What a reason says about the message."""

    QUESTION_MARK = "question_mark"
    INTERROGATIVE = "interrogative"
    PARTICLE = "particle"  # 吗, 呢, ли
    HELP_REQUEST = "help_request"
    CHIT_CHAT = "chit_chat"  # greetings and small talk
    REACTION = "reaction"  # "lol what?", "真的吗"
    TAG_QUESTION = "tag_question"  # "…, right?"
    RHETORICAL = "rhetorical"
    NOT_INTERROGATIVE = "not_interrogative"  # 什么都行, что-то, that's why
    EXCLAMATION = "exclamation"
    BANTER = "banter"  # lol, 哈哈, 🙄: joking or marvelling, not asking
    WITHDRAWN = "withdrawn"  # "never mind", 算了: the asker takes it back
    HEDGE = "hedge"  # "maybe tomorrow?": an unsure answer, not a question


@dataclass(frozen=True, slots=True)
class Reason:
    """One cue that fired, the words it fired on, and what it added to the score."""

    cue: Cue
    words: str
    weight: float


@dataclass(frozen=True, slots=True)
class QuestionVerdict:
    """Whether a message is a question a human should answer, its score (0 to 1) and why."""

    is_question: bool
    score: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class _Pattern:
    cue: Cue
    weight: float
    regex: re.Pattern[str]
    script: str | None  # only tried on text with letters of this script (None: any text)


# Each pattern is tried only on text in its script: an English message never pays for the Chinese
# and Russian patterns.
LATIN, HAN, CYRILLIC = "latin", "han", "cyrillic"
_SCRIPTS = {
    LATIN: re.compile("[a-z]"),
    HAN: re.compile("[\u3400-\u4dbf\u4e00-\u9fff]"),
    CYRILLIC: re.compile("[\u0400-\u04ff]"),
}


def _any(*alternatives: str) -> str:
    return "(?:" + "|".join(alternatives) + ")"


def _p(cue: Cue, weight: float, *parts: str, script: str | None = None) -> _Pattern:
    # No IGNORECASE: the text is lower-cased once, and case-folding every comparison doubled
    # the cost of a message.
    return _Pattern(cue, weight, re.compile("".join(parts)), script)


# Where an English or Russian clause starts: the message's start, after a sentence mark, comma
# or dash, past any greetings and fillers there ("hey guys, so how do i …", "ребята, как …"),
# or after a conjunction ("… but why"). A filler mid-sentence starts nothing: "you guys are".
_FILLERS = (
    "(?:"
    + _any(
        "ok|okay|hey|hi|hello|hiya|heya|yo|gm|morning|evening|guys|all|everyone|folks|um+|uh+|"
        "hm+|oh|pls|please|sorry|so|quick question|question|q|ребята|народ|всем привет|привет"
    )
    + r"\b[\s,:]*)*"
)
_START = _any(
    _any(r"^", r"[.!?;:,。\n]\s*", r"\s[-–—]+\s*") + _FILLERS,
    r"\b" + _any("and|but|so|also|btw|а|и|но|так|ну") + r"\s+",
)
# Where a sentence starts: not after a comma, where "…, will ask" is a statement.
_SENTENCE_START = _any(r"^", r"[.!?\n]\s*") + _FILLERS
# Russian puts a comma before every subordinate что, как, когда ("то, что я искал", "я знаю,
# как"), so a Russian question starts a sentence, or follows a greeting or "а", "и", "ну".
_RUSSIAN_START = _any(
    _any(r"^", r"[.!?\n]\s*")
    + r"(?:(?:ребят\w*|народ|друзья|коллеги|люди|всем\s+привет|привет)\b[\s,:!]*)*",
    r"\b(?:а|и|но|ну)\s+",
)
_AUX = _any(
    "is|are|was|were|am|do|does|did|can|could|would|will|should|shall|may|might|must|has|have|had|"
    "'s|s|'re|r|u|to|dont|don't|doesnt|doesn't|cant|can't|isnt|isn't|arent|aren't|wont|won't|"
    "didnt|didn't|ppl"
)
_SUBJECT = _any(
    r"i|you|u|ya|we|they|he|she|it|this|that|these|those|there|the|my|your|our|their|any|anyone|"
    r"anybody|someone|somebody|one|people|ppl|admins?|mods?|a|an"
)
_END_PUNCTUATION = r"[\s?!.。~…]*"
_CLAUSE_END = r"(?=\s*(?:[?!,.。~…啊呀]|$))"

# Words that look like a question but ask no human anything; taken out before cues count.
_NOT_A_QUESTION = (
    _p(
        Cue.CHIT_CHAT,
        0,
        r"\b",
        _any(
            r"how\s+(?:are|r)\s+(?:you|u|ya|y'all|you all|things|we)"
            r"(?:\s+(?:all|guys|doing|today|going))*",
            r"(?:how|hw)'?s\s+(?:it\s+going|everyone|everybody|life|(?:your|ur)\s+(?:day|weekend|week))",
            r"(?:how|hw)\s+(?:is|was)\s+(?:everyone|everybody|(?:your|ur)\s+(?:day|weekend|week|trip))",
            r"how\s+(?:you|ya)\s+doin[g']?",
            r"how\s+have\s+you\s+been",
            r"how've\s+you\s+been",
            r"hru",
            r"what'?s\s+up",
            r"wh?at'?s\s+new",
            r"wh?assup",
            r"sup",
            r"you\s+(?:ok|okay|alright|good)",
            r"(?:anyone|anybody)\s+(?:here|around|online|awake|alive)",
        ),
        r"\b",
        _END_PUNCTUATION,
        script=LATIN,
    ),
    _p(
        Cue.CHIT_CHAT,
        0,
        _any(
            r"(?:你|您|大家|最近|今天)(?:还)?好吗|"
            r"(?:最近|你|您|大家)(?:过得)?(?:怎么样|咋样|如何)|吃(?:饭)?了(?:吗|没|么)|"
            r"(?:^|[,\s])(?:(?:有人|你|您|大家)?在吗)+|在不在|(?:在)?干[嘛吗啥]呢|(?:睡|起床)了(?:吗|没)|"
            r"周末(?:过得)?(?:怎么样|咋样)|好久不见"
        ),
        _END_PUNCTUATION,
        script=HAN,
    ),
    _p(
        Cue.CHIT_CHAT,
        0,
        _any(
            r"как\s+(?:дела|ты|вы|сам|сама|жизнь|оно|поживаешь|поживаете|настроение|выходные)",
            r"что\s+нового",
            r"чем\s+занимаешься",
            r"все\s+живы",
            r"кто\s+тут(?:\s+есть)?",
        ),
        r"\b",
        _END_PUNCTUATION,
        script=CYRILLIC,
    ),
    # A tag on the end asks for agreement, not an answer.
    _p(
        Cue.TAG_QUESTION,
        0,
        r"(?:,\s*|\s)",
        _any(
            r"right|isn'?t\s+it|aren'?t\s+they|don'?t\s+you\s+think|wasn'?t\s+it|"
            r"didn'?t\s+(?:it|they|we|you)|won'?t\s+it|you\s+know|no|eh|huh|yeah|ok|okay|"
            r"am\s+i\s+right|innit|lol|не\s+так\s+ли|правда|да|верно|ага"
        ),
        r"\s*\?+[\s!.]*$",
    ),
    _p(
        Cue.TAG_QUESTION,
        0,
        r"(?:^|[,\s])",
        _any("对吧", "是吧", "对不对", "是不是", "不是吗", "好吧", "对吗", "是吗", "好吗", "行吗"),
        r"[?!。.~]*$",
        script=HAN,
    ),
    # Questions that answer themselves, marvel or complain.
    _p(
        Cue.RHETORICAL,
        0,
        r"\b",
        _any(
            r"who\s+cares",
            r"who\s+knows(?=[?!.\s]*$)",
            r"why\s+(?:not|bother)",
            r"what'?s\s+the\s+point",
            r"how\s+(?:hard|bad)\s+can\s+it\s+be",
            r"how\s+(?:cool|awesome|great|nice|cute|funny|sad|crazy|lucky)\s+is\s+that",
            r"(?:are\s+)?you\s+(?:kidding|serious|joking)(?:\s+me)?",
            r"guess\s+what",
            r"you\s+know\s+what",
            r"what\s+the\s+(?:hell|heck|fuck|f)",
            r"what\s+(?:else\s+is\s+new|did\s+you\s+expect|could\s+go\s+wrong)",
            r"who\s+(?:would\s+have|would'?ve|could\s+have)\s+(?:thought|guessed)",
            r"why\s+(?:would|should)\s+(?:i|anyone|anybody|we)\s+care",
            r"(?:did|have)\s+(?:you|u|y'all|you\s+guys)\s+(?:see|seen|hear|heard)\s+(?:that|this)",
            r"can\s+(?:you|u)\s+believe",
            r"(?:is|isn'?t|wasn'?t)\s+(?:that|this|it)\s+(?:so\s+)?(?:crazy|insane|wild|great|"
            r"nice|cool|funny|amazing|awesome|cute|sad|ridiculous)",
            r"am\s+i\s+the\s+only\s+one",
            r"is\s+it\s+(?:just\s+)?me\s+or",
            r"who\s+(?:even|still|actually)\s+\w+",
            r"who'?s\s+(?:excited|ready|hyped|pumped)",
            r"so\s+what(?=[\s?!.,]*(?:$|it'?s|,))",
            r"how\s+did\s+i\s+(?:not|never|miss)",
            r"why\s+did(?:n'?t)?\s+(?:nobody|no\s+one|anyone)\s+tell\s+me",
            r"did\s+you\s+know\s+(?:that|about)",  # trivia and pitches: the answer follows
            r"(?:have\s+you\s+)?ever\s+wondered",
        ),
        r"\b[^?]*",
        _END_PUNCTUATION,
        script=LATIN,
    ),
    _p(
        Cue.RHETORICAL,
        0,
        _any(
            r"难道|怎么可能|怎么会这样|谁在乎|谁管|凭什么|何必|何苦|又有什么用|"
            r"有(?:什么|啥)好(?:说|讲|怕|担心|奇怪|得意|看)的|就我一个|只有我一个|是我的错觉|"
            r"谁还(?:用|在|会)|我怎么(?:现在|才|没|不|就|会|这么)|谁知道呢|天知道|鬼知道|"
            r"关我(?:什么|啥)事|至于吗|有必要吗|你说呢|还用说|你敢信|谁能想到|(?:那)?又(?:怎样|如何|怎么样)|什么鬼|搞什么|"
            r"干什么吃的|开什么玩笑"
        ),
        # the rest of the clause goes with it: "谁还用传真啊？" asks nothing
        r"[^,?。!]*[嘛吗呢啊呀]?",
        _END_PUNCTUATION,
        script=HAN,
    ),
    _p(
        Cue.RHETORICAL,
        0,
        _any(
            r"кому\s+какое\s+дело",
            r"кого\s+это\s+волнует",
            r"а\s+что\s+такого",
            r"почему\s+бы\s+и\s+нет",
            r"кто\s+бы\s+(?:мог\s+подумать|сомневался|знал)",
            r"ну\s+и\s+что",
            r"что\s+за\s+(?:бред|фигня|ерунда|дичь|жесть)",
            r"(?:да\s+|а\s+)?кто\s+(?:его\s+)?знает(?=[\s?!.,]*(?:$|кто))",
            r"бог\s+его\s+знает",
            r"ты\s+серь[её]зно",
        ),
        _END_PUNCTUATION,
        script=CYRILLIC,
    ),
    # Interrogatives used as pronouns ("anything", "no matter how") or in reported speech.
    _p(
        Cue.NOT_INTERROGATIVE,
        0,
        _any(
            r"(?:(?<!为)什么|啥|怎么|怎样|谁|哪(?:里|儿|个)?|多少)\w{0,2}?(?:都|也)",
            r"(?:这|那)就?是为什么(?=[^?,。\s]{2})",
            r"没(?:有)?(?:什么|啥)",
            r"(?:不管|无论|不论)(?:是)?(?:什么|啥|怎么|怎样|谁|哪|多少)",
            r"什么的",
            r"不怎么",
            r"怎么说呢",
            r"(?:也|都|就|真|还|并)?不知(?:道)?(?:为什么|为啥|为何|怎么回事)",
            r"哪怕",
            r"哪里哪里",
            r"或多或少",
            r"多多少少",
            r"好几",
            r"几乎",
            r"为什么呢(?=[,，。.!]|$)",
            r"这么|那么|多么|要么",
            r"没多(?:大|久|少)",
            r"天哪",
            r"哪有",
            # "她知道自己在干什么": knowing, not asking (unless someone else is asked: 你知道…)
            r"(?<![人谁你您们不])(?:知道|明白|懂|想起|清楚)(?:了)?[^,?。!]{0,6}?"
            r"(?:为什么|为啥|什么|怎么|哪)",
            r"问(?:了)?(?:我|他|她|你|他们|她们)?(?:为什么|为啥)",
        ),
        script=HAN,
    ),
    _p(
        Cue.NOT_INTERROGATIVE,
        0,
        _any(
            r"(?:что|кто|где|как|когда|куда|почему|зачем|какой|какая|какое|какие|чей|сколько)"
            r"-(?:то|либо)",
            r"\bтак\s+как\b",
            r"\bкак\s+(?:и|будто|всегда|обычно|раз|только|же\s+я)\b",
            r"\b(?:вряд|едва|чуть)\s+ли\b",
            r"\bчто\s+ж\b",
            r"\bне\s+знаю\s+(?:почему|зачем|как)\b",
        ),
        script=CYRILLIC,
    ),
    _p(
        Cue.NOT_INTERROGATIVE,
        0,
        r"\b",
        _any(
            r"(?:that'?s|this\s+is|here'?s|which\s+is|i\s+know|we\s+know|no\s+matter|i\s+see|"
            r"regardless\s+of|idc|don'?t\s+care|doesn'?t\s+matter)\s+(?:how|what|why|where|"
            r"when|which|who)",
            r"what(?:ever|soever)",
            r"however",
        ),
        r"\b",
        script=LATIN,
    ),
)

# A whole message that only reacts ("what?", "lol really??", "真的吗", "серьёзно?").
_REACTION = _p(
    Cue.REACTION,
    0,
    # Atomic and possessive: "hahahaha…" splits into ha and haha in exponentially many ways,
    # and a regex that may try them all lets one message stall the event loop.
    r"^(?>(?>",
    _any(
        # longest first: an atomic group keeps the first alternative that matches
        "lmao|lol|haha+|ha|omg|wow|oh|uh|um|bruh|dude|wait|okay|ok|and|so|but|等等|等下|哈哈|呃|额|"
        "啊"
    ),
    r")\s*,?\s*)*+",
    _any(
        "what|wut|wat|wha|why|how|huh|eh|hm+|really|rly|seriously|srsly|sure|wtf|omg|lol|no way|"
        "for real|fr|is it|are you sure|u sure|you sure|you know|ya know|yes|no|yeah|nah|ok|okay|"
        "right|so|and|then|and then|what now|wait what|say what|come again|pardon|same|me|you|"
        "anyone|anybody|有人吗|有人在吗|真的吗|"
        "真的假的|是吗|是么|啊|哈|蛤|嗯|什么|啥|纳尼|不会吧|不是吧|真的|然后呢|所以呢|为什么|为啥|"
        "怎么了|咋了|认真的吗|认真的|你认真的吗|что|чего|шо|"
        "чё|че|серь[её]зно|правда|реально|да ну|да ладно|и что|а|как так|в смысле"
    ),
    r"?[\s?!.…~。]*$",
)

_CUES = (
    # English: an interrogative or an inverted auxiliary where a clause starts (one pattern:
    # the clause-start prefix is the costly part, so it is searched for once).
    _p(
        Cue.INTERROGATIVE,
        INTERROGATIVE,
        _START,
        _any(
            r"(?:how|hw|hwo)\s+"
            + _any(_AUX, "much|many|long|often|far|come|about|exactly|else|the|big|old|fast|soon")
            + r"\b",
            r"(?:what|wat|wht|whats|what's)\s+"
            + _any(
                _AUX,
                r"time|kind|sort|type|version|happened|happens|exactly|else|if|about|abt|the|"
                r"other|day|size|model|app|tool|plugin|settings?|command",
            )
            + r"\b",
            r"(?:when|where|whr|wher)\s+" + _AUX + r"\b",
            r"(?:what|which)\s+\w+\s+(?:do|does|did|is|are|was|were|should|can|will|would)\b",
            r"(?:in|on|at|for|from|to|with|by)\s+(?:what|which|whom|whose)\b",
            r"wen\s+\w+",
            r"(?:where|when|who|how|what|whr)'?s\s+\w",
            r"(?:why(?!\s+(?:i|we|he|she|they)\b)|y\s+(?:is|does|do|did|are))\b",
            r"which\s+(?!is\s+why)\w+",
            r"(?:who|whom|whose)\s+" + _any(_AUX, "else|here|knows|got|wants") + r"\b",
            _any(
                "can|could|would|will|should|shall|may|might|is|are|was|were|am|has|have|had|does|"
                "do|did|doesnt|doesn't|dont|don't|cant|can't|wont|won't|didnt|didn't"
            )
            + r"\s+"
            + _SUBJECT
            # "do it!", "had a great day": an imperative or a statement, not an inversion.
            + r"\b(?<!do it)(?<!did it)(?<!have a)(?<!had a)(?<!has a)(?<!have an)(?<!had an)",
        ),
        script=LATIN,
    ),
    # Where a sentence starts, an auxiliary asks about whatever follows ("does ubuntu support …",
    # "are schools closed …"), but for the set phrases that start statements ("will do").
    _p(
        Cue.INTERROGATIVE,
        INTERROGATIVE,
        _SENTENCE_START,
        r"(?:do|does|did|is|are|was|were|can|could|will|would|should|has|have)\s+",
        r"(?!(?:it|wait|confirm|be|do|love|a|an|not|so|too|what|fun|to|been|never|no|check|ask|"
        r"try|see|say|look|work|help|relate|get|go|let|make|take|send|also|just|only|still)\b)\w+",
        script=LATIN,
    ),
    # Chinese interrogatives and particles, anywhere (a clause boundary is rarely marked).
    _p(
        Cue.INTERROGATIVE,
        INTERROGATIVE,
        _any(
            "怎么|怎样|如何|为什么|为啥|为何|什么|啥|哪|谁|多少|是否|能否|可否|咋|何时|何处|干嘛|干吗",
            r"(\w)不\1",  # 好不好, 能不能: the A-not-A question
            r"真的假的|是真是假",
            r"(\w)没\2",  # 有没有
            r"多(?:久|大|长|远|高|重|快|贵|宽|深|厚)",
            r"几(?:点|号|岁|楼|时|级|折|成)",
            # "线上还是线下" asks to choose; "还是很慢" (still slow) and "我还是觉得" do not.
            r"(?<![但过可我他她你们还也就最后])还是(?![很挺太有不没觉算要得会一老决])",
        ),
        script=HAN,
    ),
    _p(Cue.INTERROGATIVE, WEAK_INTERROGATIVE, r"几(?:个|天|次|种|位|月|年|块|分|g)", script=HAN),
    _p(
        Cue.PARTICLE,
        FINAL_PARTICLE,
        _any("[吗嘛]", "了没有?", r"(?<![什怎这那多要])么"),
        _CLAUSE_END,
        script=HAN,
    ),
    _p(Cue.PARTICLE, SOFT_PARTICLE, r"呢", _CLAUSE_END, script=HAN),
    # Russian: interrogatives where a sentence starts, and the particle ли.
    _p(
        Cue.INTERROGATIVE,
        INTERROGATIVE,
        _RUSSIAN_START,
        _any(
            "как|что|почему|зачем|где|куда|откуда|когда|кто|какой|какая|какое|какие|каким|какую|"
            "каких|сколько|чей|чья|чьё|чем|кому|кого|чего|отчего|шо|чё|че"
        ),
        r"\b",
        script=CYRILLIC,
    ),
    # "во сколько", "для чего": a preposition before an interrogative
    _p(
        Cue.INTERROGATIVE,
        INTERROGATIVE,
        _RUSSIAN_START,
        r"(?:в|во|на|с|со|для|от|до|из|о|об|по|к|за|через)\s+",
        _any("сколько|чего|чем|кого|кому|каком|какой|какую|каких|что|когда"),
        r"\b",
        script=CYRILLIC,
    ),
    _p(Cue.PARTICLE, INTERROGATIVE, r"\bли\b", script=CYRILLIC),
    # Requests for help, in any language.
    _p(
        Cue.HELP_REQUEST,
        HELP_REQUEST,
        r"\b",
        _any(
            r"(?:please|pls|plz|plss)\s+(?:help|hlp|halp|send|share|tell|explain|dm)",
            r"lf\s+(?:someone|somebody|anyone)",
            r"my\s+question\s+is",
            r"(?:i'?d|i\s+would)\s+like\s+to\s+know",
            r"i\s+want\s+to\s+know\s+(?:how|if|whether|what|why|where|when|which)",
            r"help\s+(?:me|pls|plz|please|needed)",
            "halp",
            r"help!",
            r"need(?:s|ing)?\s+(?:some\s+|a\s+little\s+|your\s+)?(?:help|advice|assistance|guidance)",
            r"any\s+(?:ideas?|clue|tips?|hints?|chance|advice|suggestions?|recommendations?|"
            r"thoughts|solution|fix|workaround|help|pointers|news|update|eta|luck)",
            r"any\s+\w+\s+here\s+(?:know|use|tried|familiar)",
            r"is\s+there\s+(?:(?:a|an|any)\s*(?:way|option|setting|tool|bot|app|plugin|guide|docs?)"
            r"|anyway)",
            r"(?:any(?:one|body)|any1|some(?:one|body)|ppl|people|u\s+guys|you\s+guys|y'all)\s+"
            r"(?:know|knows|selling|going|coming|free|interested|want|wanna|up\s+for|playing|"
            r"here\s+(?:know|use|tried|used|familiar)|tried|ever|familiar|using|used|have|has|"
            r"got|seen|had|run|ran|experienced|able|can\s+help|could\s+help|help|explain|tell|"
            r"recommend|managed)",
            r"(?:can|could|would|will)\s+(?:any(?:one|body)|some(?:one|body)|you(?:\s+guys)?|u)\s+"
            r"(?:help|explain|tell|show|recommend|check|look|confirm|point|share|send)",
            r"(?:does|do|did)\s+(?:any(?:one|body)|any1|some(?:one|body)|any\s+of\s+you)",
            r"(?:i\s+(?:was\s+)?wonder(?:ing)?|wondering)\s+(?:if|whether|how|why|what|where|when)",
            r"(?:not\s+sure|unsure|idk|i\s+don'?t\s+know|dunno|dont\s+know|no\s+idea)\s+"
            r"(?:how|where|which|whether|if|what\s+to)\s+(?!matter)",
            r"(?:can'?t|cannot|couldn'?t)\s+(?:seem\s+to\s+)?(?:figure\s+out|find|work\s+out|"
            r"get\s+(?:\w+\s+){1,3}to\s+work)",
            r"trying\s+to\s+figure\s+out",
            r"looking\s+for\s+(?:a|an|some)?\s*(?:recommendation|advice|help|way|tool|bot|"
            r"solution)",
            r"where\s+(?:can|do|should)\s+i",
            r"how\s+(?:do|can|should|would)\s+(?:i|we|you|u|one)",
            r"how\s+to",
            r"what\s+should\s+i",
            r"should\s+i",
            r"recommend\s+(?:me\s+)?(?:a|an|some|any)",
        ),
        script=LATIN,
    ),
    _p(
        Cue.HELP_REQUEST,
        HELP_REQUEST,
        _any(
            r"请问|求助|求教|请教|求问|求解|求救|有人知道|有谁知道|谁知道|有没有人|"
            r"有人(?:会|懂|用过|遇到|了解|试过|碰到|知道|能|可以)|"
            r"(?:大佬|大神)们?(?:求|帮|请|有|知道|看)|帮忙|帮帮|帮我|麻烦(?:问|看|帮|各位|大家)|"
            r"求推荐|推荐一下|怎么办|咋办|咋整|怎么弄|怎么搞|怎么解决|咨询一下|"
            r"(?:^|想|请|弱弱地?|顺便|再)问(?:一)?下|想问|求指导|指点|不懂就问|救命|在线等|"
            r"急[,!。]|求(?:建议|意见|方法|链接|资源|分享|解答|攻略|帮助|带|提示|教程|解释|科普|告知)"
        ),
        script=HAN,
    ),
    _p(
        Cue.HELP_REQUEST,
        HELP_REQUEST,
        _any(
            r"подскаж|помогите|помоги\b|посоветуй|скиньте|скинь\b|киньте|пришлите|поделитесь|хелп",
            r"кто-нибудь\s+(?:знает|сталкивался|пробовал|может)",
            r"кто\s+(?:знает|сталкивался|пробовал|может\s+помочь)|есть\s+кто",
            r"нужна\s+помощь|нужен\s+совет|не\s+знаете|как\s+быть|что\s+делать|вопрос\s*:",
            r"не\s+могу\s+(?:понять|разобраться|найти)",
        ),
        script=CYRILLIC,
    ),
)

# Laughter, eye-rolls and interjections mark banter; "never mind" takes a question back.
_MOOD = (
    _p(
        Cue.BANTER,
        BANTER,
        _any(
            r"\b(?:lol|lmao|rofl|haha+|hehe+|jk|ахах\w*|хаха\w*)\b",
            "[\U0001f602\U0001f923\U0001f644\U0001f605\U0001f60f\U0001f606]",
            "哈哈|笑死|233+|天哪|天啊|卧槽|我去",
        ),
    ),
    # A prompt to the group ("question of the day: …? reply below!") wants replies, not a human.
    _p(
        Cue.RHETORICAL,
        PROMPT,
        _any(
            r"question\s+of\s+the\s+(?:day|week)|\bqotd\b",
            r"(?:reply|comment|answer|vote)\s+(?:below|in\s+the\s+comments)",
            "每日一问|今日话题|评论区告诉|欢迎留言",
        ),
    ),
    _p(
        Cue.WITHDRAWN,
        WITHDRAWN,
        _any(r"\bnever\s*mind\b", r"\bnvm\b", "没事了|算了|不用了", r"\bневажно\b|уже\s+не\s+надо"),
    ),
)

# A short unsure answer ("maybe 5pm?", "明天？", "五点吧？"): the ? is doubt, not a question.
_HEDGE = _p(
    Cue.HEDGE,
    HEDGE,
    _any(
        r"^(?:maybe|probably|perhaps|possibly|prob|i\s+think|i\s+guess|i\s+believe|i\s+suppose|"
        r"idk|dunno|kinda|sort\s+of|not\s+sure|might\s+be|could\s+be|наверное|может\s+быть)\b",
        r"^(?:可能|也许|大概|应该是|估计|我觉得|我猜|问问)",
        r"^(?:around|about|like|at|on|in|tomorrow|today|tonight|yesterday|next|this|завтра|"
        r"сегодня|明天|今天|后天|下周)\b[^?]{0,20}\?+$",
        r"(?:左右|吧)\?+$",
    ),
)
# Traditional characters (Taiwan, Hong Kong) that the Chinese cues spell in simplified form.
_SIMPLIFIED = str.maketrans(
    "請問麼嗎為誰幾這樣沒對個時裡兒說辦會還幫號點歲樓級遠長貴錢們與過給讓現開關設發試種",
    "请问么吗为谁几这样没对个时里儿说办会还帮号点岁楼级远长贵钱们与过给让现开关设发试种",
)
# Chat spellings of the interrogatives (肿么办 is 怎么办).
_CHINESE_SLANG = (("肿么", "怎么"), ("神马", "什么"), ("虾米", "什么"), ("木有", "没有"))
_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
_LINKS = re.compile(r"(?:https?://|www\.|t\.me/)\S+|@\w+|/\w+(?:@\w+)?(?=\s|$)")
_WORD = re.compile(r"\w")
_TRAILING_SYMBOLS = re.compile(r"[^\w?!]+$")  # emoji, dots and spaces after the last mark


def normalise(text: str) -> str:
    """The text as the cues read it: NFKC (full-width ？ becomes ?), no zero-width characters,
    traditional characters of the cues as simplified, no links, mentions or commands, straight
    apostrophes, spaces folded, lower case."""
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text)).translate(_SIMPLIFIED)
    if _SCRIPTS[HAN].search(text):
        for slang, plain in _CHINESE_SLANG:
            text = text.replace(slang, plain)
    text = _LINKS.sub(" ", text).replace("’", "'").replace("‘", "'")
    return " ".join(text.split()).lower()


def detect_question(text: str) -> QuestionVerdict:
    """Whether `text` asks something a human should answer, with its score and reasons."""
    rest = normalise(text)
    if len(rest) > HEAD_CHARS + TAIL_CHARS:
        rest = f"{rest[:HEAD_CHARS]}. {rest[-TAIL_CHARS:]}"
    scripts = {None} | {script for script, letters in _SCRIPTS.items() if letters.search(rest)}
    if _REACTION.regex.match(rest):
        return _verdict([Reason(Cue.REACTION, rest, 0)] if rest else [])
    reasons: list[Reason] = []
    for pattern in _NOT_A_QUESTION:
        if pattern.script in scripts:
            rest, taken = _take_out(pattern, rest)
            reasons.extend(taken)
    rest = rest.strip(" ,.")
    if not _WORD.search(rest):
        return _verdict(reasons)
    for cue in _CUES:
        match = cue.regex.search(rest) if cue.script in scripts else None
        if match:
            reasons.append(Reason(cue.cue, _words(match), cue.weight))
    # Mood only lowers a score: it is looked for only where something asks.
    if any(reason.weight > 0 for reason in reasons) or "?" in rest:
        for mood in _MOOD:
            match = mood.regex.search(rest)
            if match:
                reasons.append(Reason(mood.cue, _words(match), mood.weight))
    reasons.extend(_marks(rest))
    return _verdict(reasons)


def _take_out(pattern: _Pattern, text: str) -> tuple[str, list[Reason]]:
    taken: list[Reason] = []

    def take(match: re.Match[str]) -> str:
        taken.append(Reason(pattern.cue, _words(match), 0))
        return " "

    return pattern.regex.sub(take, text), taken


def _marks(text: str) -> list[Reason]:
    """What the punctuation says: a question mark, an exclamation, a short hedged reply."""
    reasons = []
    last = text.rfind("?")
    if last >= 0:
        at_end = not _WORD.search(text[last + 1 :])
        weight = QUESTION_MARK_AT_END if at_end else QUESTION_MARK_INSIDE
        reasons.append(Reason(Cue.QUESTION_MARK, "?", weight))
    if _TRAILING_SYMBOLS.sub("", text).endswith("!"):
        reasons.append(Reason(Cue.EXCLAMATION, "!", EXCLAMATION))
    hedge = _HEDGE.regex.search(text) if len(text) <= HEDGE_LENGTH else None
    if hedge:
        reasons.append(Reason(Cue.HEDGE, _words(hedge), HEDGE))
    return reasons


def _words(match: re.Match[str]) -> str:
    return match.group(0).strip(" ,.!?")


def _verdict(reasons: list[Reason]) -> QuestionVerdict:
    # Cues for are capped before cues against count, so "never mind" outweighs a question that
    # several cues agree on.
    asking = min(1.0, sum(reason.weight for reason in reasons if reason.weight > 0))
    score = round(
        max(0.0, asking + sum(reason.weight for reason in reasons if reason.weight < 0)), 3
    )
    return QuestionVerdict(score >= THRESHOLD, score, tuple(reasons))
