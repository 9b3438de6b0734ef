"""The rule-based cue labeller: a deterministic baseline and silver labeller.

It walks the guidelines' decision procedure with cue-word lists, so its
mistakes are easy to read: it has no notion of context beyond the sentence,
misses attributions without a speech verb, and fires on cue words used in
passing. Used as the `rules` baseline in evaluation and, optionally, to give
silver labels to unannotated text (never gold).
"""

from __future__ import annotations

import re

_DISPUTED = re.compile(
    r"\b(den(y|ies|ied|ying|ial)|reject(s|ed|ing)?|refut(e|es|ed|ing)|dismiss(es|ed|ing)?|"
    r"disput(e|es|ed|ing)|contradict(s|ed|ing)?|debunk(s|ed|ing)?|hoax(es)?|fake|false(ly)?|"
    r"untrue|fabricat(ed|ion)|doctored|misleading|not true|no truth|baseless|bogus)\b",
    re.I,
)
_UNVERIFIED = re.compile(
    r"\b(reportedly|allegedly|alleged|unconfirmed|unverified|could not (be )?(independently )?"
    r"(verif|confirm)\w*|cannot (be )?(independently )?(verif|confirm)\w*|not (been )?(independently )?"
    r"(verified|confirmed)|if (confirmed|true)|is said to|are said to|was said to|is believed to|"
    r"are believed to|rumou?r(s|ed)?|(media )?reports (say|said|suggest)|according to (media )?reports|"
    r"sources? (close to|said|say|told)|an? (unnamed|anonymous) (source|official)|witness(es)?|"
    r"residents said|declined to comment|(did not|didn't|has not|have not) (immediately )?respond|"
    r"could not be (immediately )?reached|no evidence|not clear (whether|if)|unclear (whether|if)|"
    r"remains unknown|not known whether|social media)\b",
    re.I,
)
_OFFICIAL = re.compile(
    r"\b(ministry|ministries|government|police|army|armed forces|military|officials?|authorit(y|ies)|"
    r"agency|department|WHO|UN|United Nations|CDC|World Health Organization|court|spokes(man|woman|person)|"
    r"president|minister|governor|mayor|census|statistics office|pentagon|state media)\b",
    re.I,
)
_FIGURE = re.compile(
    r"(\d[\d,.]*\s*(%|per ?cent|million|billion|thousand|hundred|people|dead|killed|deaths|cases|"
    r"troops|soldiers|refugees|civilians|dollars|euros)|[$£€]\s?\d|\b\d{2,}[\d,]*\b)",
    re.I,
)
_ATTRIBUTION = re.compile(
    r"\b(said|says|say|told|tells|announced|announces|claimed|claims|claim|stated|states|according to|"
    r"reported|reports|added|argued|insisted|warned|confirmed|confirms|wrote|tweeted|believes?|"
    r"called|calls|accused|described|explained|noted|urged|revealed|estimated)\b",
    re.I,
)


def rule_label(sentence: str, context: str = "") -> str:
    """Label one sentence by cue words, in the guidelines' precedence order."""
    if _DISPUTED.search(sentence):
        return "disputed"
    if _UNVERIFIED.search(sentence):
        return "unverified"
    attributed = bool(_ATTRIBUTION.search(sentence))
    if attributed and _OFFICIAL.search(sentence) and _FIGURE.search(sentence):
        return "official_figure"
    if attributed or sentence.lstrip().startswith(("\u201c", '"')):
        return "asserted"
    return "unattributed"


def rule_labels(sentences: list[str], contexts: list[str] | None = None) -> list[str]:
    contexts = contexts or [""] * len(sentences)
    return [rule_label(s, c) for s, c in zip(sentences, contexts)]

