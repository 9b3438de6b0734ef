"""The label schema: the one place that names the five labels and their order.

Everything else (dataset ClassLabel, model config id2label, reports, the rule
labeller) imports from here, so the order can never drift between stages.
The definitions are those of the annotation guidelines (data/GUIDELINES.md).
"""

LABELS: tuple[str, ...] = (
    "asserted",
    "disputed",
    "unverified",
    "official_figure",
    "unattributed",
)

DESCRIPTIONS: dict[str, str] = {
    "asserted": "a claim attributed to an identifiable party, not marked as contested or unconfirmed",
    "disputed": "a specific claim presented as contested, denied, contradicted or false",
    "unverified": "a claim flagged as unconfirmed, hearsay, anonymous, or lacking evidence or response",
    "official_figure": "a statistic attributed to an official source",
    "unattributed": "no sourced claim: the writer's own voice, background, boilerplate",
}

# When several labels fit a sentence the guidelines take the first that applies.
PRECEDENCE: tuple[str, ...] = ("disputed", "unverified", "official_figure", "asserted", "unattributed")

LABEL2ID: dict[str, int] = {name: i for i, name in enumerate(LABELS)}
ID2LABEL: dict[int, str] = dict(enumerate(LABELS))


def label_id(name: str) -> int:
    """Map a label name to its id, with an error that lists the valid names."""
    try:
        return LABEL2ID[name]
    except KeyError:
        raise ValueError(f"unknown label {name!r}; expected one of {', '.join(LABELS)}") from None


def class_label():
    """The `datasets.ClassLabel` feature for the schema."""
    from datasets import ClassLabel

    return ClassLabel(names=list(LABELS))
