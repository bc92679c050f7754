"""The FAQ matcher: paraphrases in English and Chinese find their entry, other questions do not,
and the shipped threshold is the one the measurement chooses."""

from __future__ import annotations

import pytest

from benchmarks.faq_threshold import DATA, choose_threshold, precision_recall, score_queries
from bot.detectors.faq import MATCH_THRESHOLD, FaqEntry, FaqMatcher, topic

FAQ = (
    FaqEntry("How do I reset my password?", "Tap “Forgot password” on the login screen."),
    FaqEntry("How long does a withdrawal take?", "Within 24 hours on business days."),
    FaqEntry("Is there a student discount?", "Yes, 50% with a university email."),
    FaqEntry("怎么重置密码？", "在登录页点“忘记密码”。"),
    FaqEntry("提现多久到账？", "工作日 24 小时内处理完成。"),
)


@pytest.fixture(scope="module")
def matcher() -> FaqMatcher:
    return FaqMatcher(FAQ)


@pytest.mark.parametrize(
    ("question", "index"),
    [
        ("forgot my password, how to reset it", 0),
        ("withdrawal still not here, how long does it take", 1),
        ("any discount for students?", 2),
        ("忘记密码了怎么重置", 3),
        ("提现一般多久能到", 4),
    ],
)
def test_a_paraphrase_finds_its_entry(matcher: FaqMatcher, question: str, index: int) -> None:
    found = matcher.match(question)
    assert found is not None
    assert (found.index, found.entry) == (index, FAQ[index])
    assert MATCH_THRESHOLD <= found.score <= 1


@pytest.mark.parametrize(
    "question",
    ["how do i add the bot to my group", "what's the best laptop for editing", "怎么邀请朋友进群"],
)
def test_another_question_is_not_matched(matcher: FaqMatcher, question: str) -> None:
    assert matcher.match(question) is None


def test_the_same_question_scores_one(matcher: FaqMatcher) -> None:
    found = matcher.best("How do I reset my password?")
    assert found is not None
    assert found.score == pytest.approx(1.0)


def test_words_no_entry_has_lower_the_score(matcher: FaqMatcher) -> None:
    plain = matcher.best("reset password")
    padded = matcher.best("reset password for the printer spooler daemon on my router")
    assert plain is not None and padded is not None
    assert padded.score < plain.score


def test_framing_words_are_not_the_topic() -> None:
    assert topic("Hey, how do I reset my password??") == "hey reset password"
    assert topic("请问怎么重置密码吗？") == "重置密码"


def test_an_empty_faq_or_a_question_with_nothing_in_common_matches_nothing() -> None:
    assert FaqMatcher([]).best("how do i reset my password") is None
    assert FaqMatcher([FaqEntry("how do i?", "what?")]).best("reset") is None
    assert FaqMatcher(FAQ).best("???") is None


def test_the_shipped_threshold_is_the_one_measured_on_the_dev_queries() -> None:
    scored = score_queries(DATA)
    dev = [query for query in scored if query.split == "dev"]
    assert choose_threshold(dev) == MATCH_THRESHOLD
    heldout = [query for query in scored if query.split == "heldout"]
    precision, recall = precision_recall(heldout, MATCH_THRESHOLD)
    assert precision >= 0.8
    assert recall >= 0.8
