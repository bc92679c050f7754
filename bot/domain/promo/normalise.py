"""Undo the disguises spammers put on text, so that signals and the model read plain words.

One pass each, in this order: compatibility forms (NFKC: fullwidth, mathematical and circled
letters, ligatures), invisible characters and stray combining marks, look-alike letters from the
other script inside a word, and single letters or digits spread apart by spaces or punctuation.
The result is lower case. It is for matching only: what a member sees is never rewritten.
"""

from __future__ import annotations

import re
import unicodedata

# Characters that print nothing: zero-width spaces and joiners, the word joiner, the BOM, the
# soft hyphen, the Mongolian vowel separator, the combining grapheme joiner, bidi controls.
_INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
        "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068"
        "\u2069\u3164\ufeff\uffa0",
    ),
    None,
)

# Letters NFKC leaves alone but that read as Latin or Cyrillic: small capitals, phonetic and
# Cherokee look-alikes, and the negative circled and squared letters that emoji keyboards offer
# (NFKC folds only the plain circled and squared).
_FANCY = {
    **dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnopqrstuvwyz", strict=True)),
    **dict(zip("ᴧᴫᴨᴩʍɸɜɯᴦᴎᴙ", "ллпрмфзшгир", strict=True)),
    **dict(zip("ᎪᏴᏟᎬᎻᏦᎷᏢᏫᏚᎢᏔᎳ", "ABCEHKMPOSTWW", strict=True)),
    **{chr(0x1F150 + i): chr(ord("a") + i) for i in range(26)},  # 🅐 negative circled
    **{chr(0x1F170 + i): chr(ord("a") + i) for i in range(26)},  # 🅰 negative squared
    **{chr(0x1F1E6 + i): chr(ord("a") + i) for i in range(26)},  # 🇦 regional indicators
}
_FANCY_TABLE = str.maketrans(_FANCY)
# str.translate looks every character up; a search finds the rare text that needs it faster.
_NEEDS_TABLES = re.compile(
    "[" + re.escape("".join(chr(code) for code in _INVISIBLE) + "".join(_FANCY)) + "]"
)

# Look-alikes, both cases (they apply before case folding, where Greek Υ still reads as Y).
_CYRILLIC_TO_LATIN = dict(
    zip("АВЕКМНОРСТХУаеорсухкіјѕһԁԛԝ", "ABEKMHOPCTXYaeopcyxkijshdqw", strict=True)
)
_GREEK_TO_LATIN = dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαικνορτυχ", "ABEZHIKMNOPTYXaiknoptux", strict=True))
# Inside a Cyrillic word a Latin n, u or r stands for п, и or г ("Haйдu uнтuм").
_LATIN_TO_CYRILLIC = dict(
    zip("ABEKMHOPCTXYaeopcyxbhkmtnur", "АВЕКМНОРСТХУаеорсухвнкмтпиг", strict=True)
)
_TO_LATIN = str.maketrans({**_CYRILLIC_TO_LATIN, **_GREEK_TO_LATIN})
_TO_CYRILLIC = str.maketrans(_LATIN_TO_CYRILLIC)
_LOOKALIKES = (
    frozenset(_CYRILLIC_TO_LATIN) | frozenset(_GREEK_TO_LATIN) | frozenset(_LATIN_TO_CYRILLIC)
)

_WORD = re.compile(r"[^\W\d_]{2,}")
# Most texts keep to one script; only one with both Latin and Cyrillic or Greek letters is
# worth reading word by word.
_LATIN = re.compile(r"[A-Za-z]")
_CYRILLIC_OR_GREEK = re.compile(r"[\u0370-\u04ff]")
# Combining marks that survive NFKC: strike-through, underline and Zalgo decorations.
_COMBINING = re.compile(
    r"[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)
# Three or more single letters or digits, each apart from the next by spaces or punctuation:
# "f r e e", "c.l.i.c.k", "加 微 信", "1 3 8 0 0". Two are left alone ("e.g.", "a b").
_SPREAD = re.compile(r"(?<![^\W_])[^\W_](?:[\s.\-_*|·•/\\~+,'\"]+[^\W_](?![^\W_])){2,}")
_SPREAD_GAP = re.compile(r"[\s.\-_*|·•/\\~+,'\"]+")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The text as plain lower-case words, for signals and the model to read."""
    text = unicodedata.normalize("NFKC", text)
    if _NEEDS_TABLES.search(text):
        text = text.translate(_INVISIBLE).translate(_FANCY_TABLE)
    text = _COMBINING.sub("", text)
    if _LATIN.search(text) and _CYRILLIC_OR_GREEK.search(text):
        text = _WORD.sub(_one_script, text)
    text = text.casefold()
    text = _SPREAD.sub(_close_up, text)
    return _SPACES.sub(" ", text).strip()


def _one_script(match: re.Match[str]) -> str:
    """A word that mixes Latin with Cyrillic or Greek look-alikes, written in one script."""
    word = match.group()
    latin = cyrillic = other = 0
    for ch in word:
        if ch.isascii():
            latin += ch not in _LOOKALIKES
        elif "\u0400" <= ch <= "\u04ff":
            cyrillic += ch not in _LOOKALIKES
        elif not ("\u0370" <= ch <= "\u03ff"):
            other += 1
    if other or not _is_mixed(word):
        return word
    # The letters only one script has decide; with none, Latin (the usual disguise).
    return word.translate(_TO_CYRILLIC if cyrillic > latin else _TO_LATIN)


def _close_up(match: re.Match[str]) -> str:
    """Spread letters joined again; a wider gap ("f r e e  m o n e y") stays a word break."""
    return _SPREAD_GAP.sub(lambda gap: " " if gap.group().count(" ") > 1 else "", match.group())


def _is_mixed(word: str) -> bool:
    scripts = {
        "latin" if ch.isascii() else "cyrillic" if "\u0400" <= ch <= "\u04ff" else "greek"
        for ch in word
    }
    return len(scripts) > 1
