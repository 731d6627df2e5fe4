"""The label vocabulary: built in, extended by users, hashed into every labeler version."""

from __future__ import annotations

from pathlib import Path

import pytest

from robotops.tools.labeling.vocabulary import VocabularyError, load_vocabulary

BUILT_IN = [
    "glare",
    "hard_shadow",
    "low_light",
    "reflective_vest",
    "forklift",
    "person",
    "pallet",
    "wet_floor",
    "dust_haze",
    "motion_blur",
    "camera_occlusion",
]


def test_built_in_vocabulary_has_every_label_with_words_for_search() -> None:
    vocabulary = load_vocabulary()
    assert vocabulary.names == BUILT_IN
    assert "lens flare" in vocabulary.get("glare").text  # type: ignore[union-attr]
    assert "oil" in vocabulary.get("wet_floor").text  # type: ignore[union-attr]
    assert all(label.prompt and label.title for label in vocabulary.labels)
    assert len(vocabulary.sha256) == 64 and vocabulary.sha256 == load_vocabulary().sha256


def test_users_add_labels_with_a_prompt_each(tmp_path: Path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "labels:\n  - name: Spilled Boxes\n    prompt: cardboard boxes fallen on the floor\n"
    )
    vocabulary = load_vocabulary(extra)
    mine = vocabulary.get("spilled_boxes")
    assert mine is not None and mine.text == mine.prompt and mine.title == "spilled boxes"
    assert vocabulary.names[: len(BUILT_IN)] == BUILT_IN
    assert vocabulary.sha256 != load_vocabulary().sha256


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("labels:\n  - name: glare\n    prompt: my own glare\n", "defined twice: glare"),
        ("labels:\n  - name: '9 bad'\n    prompt: something\n", "lower-case letters"),
        ("labels:\n  - name: ok\n", "prompt"),
        ("nothing: here\n", "'labels' list"),
        ("labels: [unclosed\n", "not readable YAML"),
    ],
)
def test_a_bad_vocabulary_file_says_what_is_wrong(tmp_path: Path, text: str, words: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(VocabularyError, match="bad.yaml") as info:
        load_vocabulary(bad)
    assert words in str(info.value)


def test_a_missing_vocabulary_file_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(VocabularyError, match="ROBOTOPS_LABELER__VOCABULARY"):
        load_vocabulary(tmp_path / "nope.yaml")
