"""The question detector on tricky cases in each language, and `groupops eval-questions`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main as cli_main
from bot.domain.questions import Cue, detect_question, normalise
from bot.questions_eval import (
    LabelledFileError,
    Scores,
    has_question_mark,
    language,
    read_labelled,
    report,
    score,
)

HELDOUT = Path(__file__).parents[1] / "data" / "questions" / "heldout.tsv"


@pytest.mark.parametrize(
    "text",
    [
        "anyone know how to reset this",  # no question mark
        "How do I change the group language?",
        "is there a way to mute just this chat",
        "hey guys, quick question - how long does withdrawal take",
        "my order is stuck, any idea why",
        "pls help cant login since the update",
        "can someone explain staking",
        "Where's the pinned message",
        "price?",  # a one-word question is still a question
        "anyone selling a used monitor? budget 100",  # ? inside
        "请问这个怎么设置",
        "有人知道怎么重置密码吗",
        "提现要多久",
        "能不能用支付宝",
        "会议是线上还是线下",
        "求助，手机号换了",
        "收到确认邮件了没",
        "传感器找不到，需要先配对吗",  # ends in 对吗, but no tag
        "any chance the app gets a widget",
        "这个链接是真的假的",
        "請問這個字怎麼念",  # traditional characters
        "项目方还在吗",  # 在吗 after whom it asks about is no bump
        "does ubuntu support secure boot out of the box",  # an auxiliary starts the message
        "what age did your kids start sleeping through the night",
        "во сколько ресет на евро серверах",
        "ребят, как настроить вебхук",
        "pls hlp cant send msgs",  # chat spellings
        "whr can i find the docs",
        "yo where's the link for the meetup",
        "肿么办，密码忘了",
        "这是神马情况",
        "my question is whether the pro plan includes support",
        "这个软件在哪下载",
        "как поменять язык в боте",
        "подскажите, где найти ключ",
        "можно ли оплатить картой",
        "кто-нибудь знает, когда созвон",
    ],
)
def test_questions(text: str) -> None:
    verdict = detect_question(text)
    assert verdict.is_question, verdict


@pytest.mark.parametrize(
    "text",
    [
        "how are you?",
        "how's it going guys",
        "lol what?",
        "what??",
        "right?",
        "It's great, isn't it?",
        "who cares?",
        "are you kidding me",
        "what a game last night!",
        "how cool is that!",
        "that's why I switched",
        "I know what you mean",
        "maybe tomorrow?",
        "+1",
        "👍👍",
        "???",
        "thanks, that worked!",
        "when I got home it was there",  # a conjunction, not an interrogative
        "你好吗",
        "真的吗",
        "什么都行",
        "怎么都行，你定吧",
        "我也不知道为什么",
        "对吧",
        "怎么可能！",
        "谁还用传真啊？",
        "几乎每天都加班",
        "可能下周？",
        "в общем, как всегда",
        "как дела?",
        "что-то не работает, ну и ладно",
        "серьёзно?",
        "вряд ли",
        "это как раз то, что я искал",  # Russian subordinate clauses follow a comma
        "я знаю, как это исправить: перезапустите бота",
        "кто бы сомневался",
        "you guys are the best",  # a filler mid-sentence starts no clause
        "why I left: too many ads",
        "isn't this what we asked for last year",
        "why is it always mondays 🙄",
        "谁会去看用户协议啊哈哈",
        "多少钱都值",
        "那又怎样，只是测试",
        "anyone?",
        "在吗在吗",
        "Can confirm, works on android",
        "will do",
        "I know someone who knows docker, will ask",  # no sentence starts after a comma
        "hw was ur weekend",
        "Question of the day: what's your favorite snack? reply below!",
        "大佬们辛苦了",
        "Ever wondered why your bot is slow? Here's the answer: batching.",
        "did you know that groups with rules grow faster?",
        "上线激动吗！🚀",  # an exclamation, emoji after it or not
    ],
)
def test_not_questions(text: str) -> None:
    verdict = detect_question(text)
    assert not verdict.is_question, verdict


def test_the_verdict_says_why() -> None:
    verdict = detect_question("Anyone know how to export the chat?")
    cues = {reason.cue for reason in verdict.reasons}
    assert {Cue.HELP_REQUEST, Cue.QUESTION_MARK} <= cues
    assert verdict.score == 1.0  # capped


def test_what_was_taken_out_is_named() -> None:
    verdict = detect_question("hi, how are you?")
    assert [(r.cue, r.words) for r in verdict.reasons] == [(Cue.CHIT_CHAT, "how are you")]
    assert verdict.score == 0


def test_a_greeting_does_not_hide_the_question_after_it() -> None:
    verdict = detect_question("hey how are you? anyone know how to add a second admin")
    assert verdict.is_question
    assert Cue.CHIT_CHAT in {reason.cue for reason in verdict.reasons}


def test_an_exclamation_counts_against() -> None:
    plain, exclaimed = detect_question("what time?"), detect_question("what time?!")
    assert Cue.EXCLAMATION in {reason.cue for reason in exclaimed.reasons}
    assert exclaimed.score < plain.score


def test_banter_and_taking_it_back_count_against() -> None:
    plain = detect_question("why is it always mondays")
    joking = detect_question("why is it always mondays lol")
    assert plain.is_question and not joking.is_question
    assert Cue.BANTER in {reason.cue for reason in joking.reasons}
    withdrawn = detect_question("how do I export this? never mind, found it")
    assert Cue.WITHDRAWN in {reason.cue for reason in withdrawn.reasons}
    assert withdrawn.score < detect_question("how do I export this?").score


def test_the_score_is_the_sum_of_the_reasons_between_0_and_1() -> None:
    verdict = detect_question("请问有没有人知道怎么退款？")
    assert verdict.score == 1.0
    weak = detect_question("我们几个人")  # 几个 alone is too weak
    assert weak.score == pytest.approx(0.3)
    assert not weak.is_question


def test_a_long_message_is_read_by_its_head_and_tail() -> None:
    filler = "we moved the servers last week and everything went fine. " * 20
    assert detect_question(filler + "anyone know how to reset the cache").is_question
    assert detect_question("anyone know how to reset the cache " + filler).is_question
    middle = filler + "anyone know how to reset the cache " + filler
    assert not detect_question(middle).is_question


def test_repeated_laughter_is_judged_at_once() -> None:
    """Laughter splits into "ha" and "haha" in exponentially many ways; the reaction pattern is
    atomic, so this returns at once (before, 40 of them took minutes: the suite would hang)."""
    assert not detect_question("ha" * 40 + " x").is_question
    assert not detect_question("lol " * 400 + "x").is_question


def test_normalises_zero_width_full_width_links_and_case() -> None:
    assert normalise("Is\u200b IT？ https://t.me/x?start=1 @bob") == "is it?"
    assert detect_question("怎么\u200b办").is_question  # split by a zero-width space
    assert not detect_question("see https://example.com/page?id=3").is_question


def test_a_question_mark_in_a_link_is_not_one() -> None:
    assert not has_question_mark("look https://example.com/?q=1")


# --- groupops eval-questions -------------------------------------------------------------------


def test_reads_labelled_lines_skipping_blanks_and_comments() -> None:
    labelled = read_labelled(["# comment\n", "\n", "1\thow?\n", "0\tok\twith a tab\n"])
    assert [(item.line, item.label, item.text) for item in labelled] == [
        (3, True, "how?"),
        (4, False, "ok\twith a tab"),
    ]


@pytest.mark.parametrize("line", ["how?", "2\thow?", "yes\thow?"])
def test_refuses_a_malformed_line(line: str) -> None:
    with pytest.raises(LabelledFileError, match="line 2"):
        read_labelled(["1\tfine\n", line])


def test_scores_count_each_outcome() -> None:
    labelled = read_labelled(["1\ta?", "1\tb", "0\tc?", "0\td", "0\te"])
    scores = score(labelled, has_question_mark)
    assert scores == Scores(
        true_positives=1, false_positives=1, false_negatives=1, true_negatives=2
    )
    assert (scores.precision, scores.recall, scores.f1) == (0.5, 0.5, 0.5)
    assert scores.false_positive_rate == pytest.approx(1 / 3)
    assert scores.line("overall") == (
        "overall: precision 0.500 recall 0.500 F1 0.500 false-positive rate 0.333"
    )


def test_empty_counts_score_zero_not_an_error() -> None:
    assert (
        Scores().line("x") == "x: precision 0.000 recall 0.000 F1 0.000 false-positive rate 0.000"
    )


def test_languages_by_script() -> None:
    assert [language(t) for t in ("how?", "怎么办", "как?", "ok 好")] == ["en", "zh", "ru", "zh"]


def test_the_report_starts_with_overall_then_baseline_then_languages() -> None:
    lines = report(read_labelled(["1\thow do i fix this", "0\tlol what?", "1\t怎么办"]))
    assert lines[0] == "overall: precision 1.000 recall 1.000 F1 1.000 false-positive rate 0.000"
    assert lines[1] == "baseline: precision 0.000 recall 0.000 F1 0.000 false-positive rate 1.000"
    assert [line.split(":")[0] for line in lines[2:]] == ["en", "zh"]


def test_the_command_meets_the_goal_on_the_held_out_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["eval-questions", str(HELDOUT)]) == 0
    overall, baseline = capsys.readouterr().out.splitlines()[:2]
    assert overall.startswith("overall: precision ")
    f1 = float(overall.split(" F1 ")[1].split()[0])
    baseline_f1 = float(baseline.split(" F1 ")[1].split()[0])
    assert f1 >= 0.85
    assert f1 > baseline_f1 + 0.2


def test_errors_lists_each_misjudged_line_with_its_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labelled = tmp_path / "labelled.tsv"
    labelled.write_text("1\thow do i fix this\n0\tanyone know how to export?\n", encoding="utf-8")
    assert cli_main(["eval-questions", str(labelled), "--errors"]) == 0
    misjudged = capsys.readouterr().out.splitlines()[3:]
    assert len(misjudged) == 1
    assert misjudged[0].startswith("line 2: label 0 score 1.0: anyone know how to export?")
    assert "help_request(anyone know)" in misjudged[0]


def test_the_command_says_what_is_wrong_with_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\tfine\nnot labelled\n", encoding="utf-8")
    assert cli_main(["eval-questions", str(bad)]) == 2
    assert "line 2" in capsys.readouterr().err
