"""The promo model and detector (bot/detectors): training, scoring, verdicts, eval-promo."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main as cli_main
from bot.detectors.evaluate import evaluate
from bot.detectors.evaluate import main as eval_main
from bot.detectors.promo import PromoDetector
from bot.detectors.promo_model import (
    LabelledText,
    PromoModel,
    model_text,
    read_labelled,
    shipped_examples,
    shipped_model,
    train,
)
from bot.domain.promo import PromoInput, RepeatedTexts, Signal, normalise
from bot.questions_eval import Scores


@pytest.fixture(scope="module")
def model() -> PromoModel:
    return shipped_model()


def test_the_weight_table_gives_scikit_learns_probabilities(model: PromoModel) -> None:
    texts = [normalise(example.text) for example in shipped_examples()[:200]]
    texts += ["", "x", "see https://example.com/a", "a  b   c", "加我微信 13800138000"]
    table = [model.probability(text) for text in texts]
    reference = model.pipeline.predict_proba([model_text(text) for text in texts])[:, 1]
    assert table == pytest.approx(list(reference), abs=1e-9)


def test_the_model_reads_words_not_links_or_exact_figures() -> None:
    assert model_text("see https://docs.python.org/3/ now") == "see now"
    assert model_text("earn $5,520 today") == model_text("earn $1,234 today")


def test_the_shipped_model_is_built_once(model: PromoModel) -> None:
    assert shipped_model() is model


def test_the_shipped_model_tells_promos_from_chat(model: PromoModel) -> None:
    assert model.probability(normalise("Earn $500 a day from home, message me to join")) > 0.7
    assert model.probability(normalise("Does anyone know a good dentist nearby?")) < 0.3


def test_extra_examples_teach_the_model() -> None:
    # Moderators' marks (/promo, /notpromo) arrive as extra labelled examples.
    phrase = "zorblax gadgets restocked, grab a zorblax"
    marks = [LabelledText(f"{phrase} {i}", is_promo=True) for i in range(8)]
    before = train().probability(normalise(phrase))
    after = train(marks).probability(normalise(phrase))
    assert after > before + 0.2


def test_training_needs_both_kinds() -> None:
    with pytest.raises(ValueError, match="promos and ordinary"):
        train([LabelledText("buy now", is_promo=True)], shipped=False)


def test_read_labelled_parses_and_refuses() -> None:
    assert read_labelled(["1\tbuy now\n", "\n", "0\thello there"]) == [
        LabelledText("buy now", True),
        LabelledText("hello there", False),
    ]
    with pytest.raises(ValueError, match="line 2"):
        read_labelled(["1\tok", "promo without a label"])
    with pytest.raises(ValueError, match="line 1"):
        read_labelled(["2\tno such label"])


def test_the_verdict_carries_the_model_beside_the_rules(model: PromoModel) -> None:
    detector = PromoDetector(model)
    verdict = detector.judge(PromoInput("𝐁𝐔𝐘 𝐍𝐎𝐖 50% off, DM me https://bit.ly/x"))
    signals = {reason.signal for reason in verdict.reasons}
    assert verdict.is_promo
    assert {Signal.SHORTENER, Signal.DISCOUNT, Signal.CALL_TO_ACTION, Signal.MODEL} <= signals
    assert 0.0 <= verdict.score <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "The docs are here: https://docs.python.org/3/library/asyncio.html",
        "I paid $120 for these headphones last month, worth it",
        "哪里可以买到正宗的云南咖啡豆？",
        "Где купить нормальный роутер недорого?",
        "100% agree",
    ],
)
def test_hard_negatives_are_not_promos(model: PromoModel, text: str) -> None:
    assert not PromoDetector(model).judge(PromoInput(text)).is_promo


def test_a_short_text_gives_the_model_little_say(model: PromoModel) -> None:
    text = "100% legit"  # nine characters outside spaces: the model has 9/24 of its say
    verdict = PromoDetector(model).judge(PromoInput(text))
    weights = {reason.signal: reason.weight for reason in verdict.reasons}
    assert weights.get(Signal.MODEL, 0.0) == pytest.approx(
        model.probability(normalise(text)) * 9 / 24, abs=1e-3
    )


def test_a_batch_gives_the_verdicts_single_calls_give(model: PromoModel) -> None:
    texts = [example.text for example in shipped_examples()[::7]]
    singles = [PromoDetector(model).judge(PromoInput(text)) for text in texts]
    batch = PromoDetector(model).judge_many([PromoInput(text) for text in texts])
    assert [v.is_promo for v in batch] == [v.is_promo for v in singles]
    assert [v.score for v in batch] == pytest.approx([v.score for v in singles], abs=1e-3)


def test_the_detector_remembers_repeats_it_is_given(model: PromoModel) -> None:
    detector = PromoDetector(model, RepeatedTexts())
    text = "Welcome to the best community for traders, say hi"
    detector.judge(PromoInput(text, chat_id=1, member_id=1))
    again = detector.judge(PromoInput(text, chat_id=2, member_id=2))
    assert Signal.REPEATED in {reason.signal for reason in again.reasons}


def test_rules_alone_when_there_is_no_model() -> None:
    verdict = PromoDetector(None).judge(PromoInput("加我微信 13800138000 全场特价"))
    assert verdict.is_promo
    assert Signal.MODEL not in {reason.signal for reason in verdict.reasons}


def test_evaluate_counts_per_language(model: PromoModel) -> None:
    examples = [
        LabelledText("加我微信 13800138000，全场特价，扫码下单", True),
        LabelledText("今天天气不错", False),
        LabelledText("Скидка 50% на всё, пиши в лс, доставка бесплатно", True),
        LabelledText("Does anyone know a good dentist nearby?", False),
        LabelledText("the meeting moved to 3pm", True),  # mislabelled: a false negative
    ]
    scores = evaluate(examples, PromoDetector(model))
    assert scores["overall"] == Scores(true_positives=2, false_negatives=1, true_negatives=2)
    assert scores["zh"] == Scores(true_positives=1, true_negatives=1)
    assert scores["ru"] == Scores(true_positives=1)
    assert scores["en"] == Scores(false_negatives=1, true_negatives=1)


def test_eval_promo_prints_overall_then_each_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labelled = tmp_path / "labelled.tsv"
    labelled.write_text(
        "1\tEarn $500 a day from home, DM me to join https://bit.ly/x\n"
        "0\tDoes anyone know a good dentist nearby?\n"
        "0\t今天天气不错\n",
        encoding="utf-8",
    )
    assert cli_main(["eval-promo", str(labelled)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "overall: precision 1.000 recall 1.000 F1 1.000 false-positive rate 0.000"
    assert [line.split(":")[0] for line in lines[1:]] == ["zh", "en"]


def test_eval_promo_refuses_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("yes\tbuy now\n", encoding="utf-8")
    assert eval_main([str(bad)]) == 2
    assert "line 1" in capsys.readouterr().err
    assert eval_main([str(tmp_path / "missing.tsv")]) == 2


def test_the_held_out_split_is_not_in_the_training_corpus() -> None:
    heldout = Path(__file__).parents[2] / "bot/detectors/data/promo_heldout.tsv"
    held = {example.text for example in read_labelled(heldout.read_text("utf-8").splitlines())}
    assert held
    assert held.isdisjoint(example.text for example in shipped_examples())
