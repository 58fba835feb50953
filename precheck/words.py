"""English for figures and names in messages: a count with its noun in the right number, and "a" or
"an" as the word is said ("an mpnet", "a bert", "an int"), so that a line never reads "1 models"."""
from __future__ import annotations

# Letters whose name starts with a vowel sound (ef, aitch, el, em, en, ar, es, ex): a name that starts
# with one of them and a consonant no English word starts with is read letter by letter ("an xlm-roberta").
_VOWEL_NAMED = set("fhlmnrsx")
_SPOKEN_STARTS = ("fl", "fr", "sc", "sh", "sk", "sl", "sm", "sn", "sp", "sq", "st", "sw", "rh")
_CONSONANT_SOUNDING_VOWELS = ("one", "once", "uni", "use", "usu", "uti", "eu", "ur")


def article(word: str) -> str:
    """'a' or 'an' for `word`, by its sound."""
    text = word.strip().lower()
    if not text:
        return "a"
    if text[0].isdigit():  # 8, 11, 18, 80...: "an 8-bit", "an 11", "an 18", "an 80"
        return "an" if text[0] == "8" or (text[:2] in ("11", "18") and not text[2:3].isdigit()) else "a"
    if text[0] in "aeiou":
        return "a" if text.startswith(_CONSONANT_SOUNDING_VOWELS) else "an"
    spelled = len(text) == 1 or (text[1] not in "aeiouy" and not text.startswith(_SPOKEN_STARTS))
    return "an" if text[0] in _VOWEL_NAMED and spelled else "a"


def a(word: str) -> str:
    """`word` with its article: a("mpnet") == "an mpnet"."""
    return f"{article(word)} {word}"


def count(number: int, noun: str, plural: str | None = None) -> str:
    """`number` and its noun in the right number: count(1, "model") == "1 model", count(2, "model") == "2 models"."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def passing(passed: int, total: int, noun: str = "model") -> str:
    """"1 of 2 models pass", "1 of 1 model passes"."""
    return f"{passed:,} of {count(total, noun)} {'passes' if total == 1 else 'pass'}"
