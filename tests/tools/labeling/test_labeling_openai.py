"""The OpenAI-compatible backend against a real local HTTP server: batching, structured output,
retries with backoff, per-item errors, clear misconfiguration errors, and what the product does
with the answers a model really gives (disordered, unknown names, contradictory, stray)."""

from __future__ import annotations

import numpy as np
import pytest
from labeling_fakes import FakeVLM, frames_answer, vlm_settings

from robotops.tools.labeling.registry import LabelBackend, LabelerConfigError, create_backend
from robotops.tools.labeling.vocabulary import load_vocabulary

Server = tuple[FakeVLM, str]


def _backend(url: str, **overrides: object) -> LabelBackend:
    return create_backend("openai", vlm_settings(url, **overrides), load_vocabulary())


def test_frames_go_in_batches_with_a_json_schema(
    vlm: Server, scenes: dict[str, np.ndarray]
) -> None:
    fake, url = vlm
    fake.script = [
        frames_answer(["glare"], [], ["low_light"], ["glare"]),
        frames_answer([], ["low_light"]),
    ]
    frames = [scenes["glare"], scenes["plain"], scenes["dark"]] * 2
    verdicts = _backend(url, batch_size=4).label_frames(frames)
    assert [sorted(v.labels) for v in verdicts] == [["glare"], [], ["low_light"]] * 2
    assert verdicts[0].labels == {"glare": 0.9}
    assert len(fake.requests) == 2  # 4 + 2 frames
    body = fake.requests[0]
    assert body["model"] == "test-vlm"
    assert body["response_format"]["type"] == "json_schema"
    schema = body["response_format"]["json_schema"]["schema"]
    names = schema["properties"]["frames"]["items"]["properties"]["labels"]["items"]
    assert names["properties"]["name"]["enum"] == load_vocabulary().names
    assert sum(p["type"] == "image_url" for p in body["messages"][-1]["content"]) == 4


def test_rate_limit_then_success_is_retried(vlm: Server, scenes: dict[str, np.ndarray]) -> None:
    fake, url = vlm
    fake.script = [429, 503, frames_answer(["glare"])]
    (verdict,) = _backend(url).label_frames([scenes["glare"]])
    assert verdict.error is None and "glare" in verdict.labels
    assert len(fake.requests) == 3


def test_a_timeout_is_retried(vlm: Server, scenes: dict[str, np.ndarray]) -> None:
    fake, url = vlm
    fake.script = [1.5, frames_answer(["glare"])]
    (verdict,) = _backend(url, openai_timeout_s=0.5).label_frames([scenes["glare"]])
    assert verdict.error is None and "glare" in verdict.labels


def test_malformed_json_is_a_per_item_error_and_the_batch_goes_on(
    vlm: Server, scenes: dict[str, np.ndarray]
) -> None:
    fake, url = vlm
    fake.script = ['{"frames": [{"index": 0, "labels": [{"name": "glare"', frames_answer(["glare"])]
    verdicts = _backend(url, batch_size=1).label_frames([scenes["glare"], scenes["glare"]])
    assert "malformed JSON" in (verdicts[0].error or "") and "test-vlm" in verdicts[0].error
    assert verdicts[1].error is None and "glare" in verdicts[1].labels


def test_retries_running_out_is_a_per_item_error(
    vlm: Server, scenes: dict[str, np.ndarray]
) -> None:
    fake, url = vlm
    fake.script = [503, 503, 503]
    (verdict,) = _backend(url, retries=2).label_frames([scenes["plain"]])
    assert "failed after 3 tries" in (verdict.error or "")


def test_misconfiguration_fails_clearly(vlm: Server, scenes: dict[str, np.ndarray]) -> None:
    fake, url = vlm
    with pytest.raises(LabelerConfigError, match="no endpoint model set.*OPENAI_MODEL"):
        _backend(url, openai_model=None)
    with pytest.raises(LabelerConfigError, match="no endpoint base URL and no model"):
        _backend(url, openai_model=None, openai_base_url=None)
    fake.script = [401]
    with pytest.raises(LabelerConfigError, match="refused model 'test-vlm' \\(401"):
        _backend(url).label_frames([scenes["plain"]])


def test_answers_are_matched_by_index_not_by_order(
    vlm: Server, scenes: dict[str, np.ndarray]
) -> None:
    fake, url = vlm
    answer = frames_answer(["glare"], [], ["low_light"])
    answer["frames"].reverse()  # a model may list images in any order
    fake.script = [answer]
    frames = [scenes["glare"], scenes["plain"], scenes["dark"]]
    verdicts = _backend(url).label_frames(frames)
    assert [sorted(v.labels) for v in verdicts] == [["glare"], [], ["low_light"]]


def test_unknown_names_and_low_confidence_are_dropped_and_the_highest_duplicate_kept(
    vlm: Server, scenes: dict[str, np.ndarray]
) -> None:
    fake, url = vlm
    fake.script = [
        {
            "frames": [
                {
                    "index": 0,
                    "labels": [
                        {"name": "unicorn", "confidence": 0.99},
                        {"name": "low_light", "confidence": 0.2},
                        {"name": "glare", "confidence": 0.6},
                        {"name": "glare", "confidence": 0.8},
                    ],
                }
            ]
        }
    ]
    (verdict,) = _backend(url).label_frames([scenes["glare"]])
    assert verdict.error is None and verdict.labels == {"glare": 0.8}


def test_contradictory_missing_and_stray_answers_are_per_image_errors(
    vlm: Server, scenes: dict[str, np.ndarray]
) -> None:
    fake, url = vlm
    answer = frames_answer(["glare"], ["low_light"], [])
    answer["frames"].append({"index": 0, "labels": []})  # image 0 again, saying the opposite
    answer["frames"].append({"index": 7, "labels": [{"name": "glare", "confidence": 1.0}]})
    answer["frames"] = [f for f in answer["frames"] if f["index"] != 2]  # image 2 never answered
    fake.script = [answer]
    frames = [scenes["glare"], scenes["dark"], scenes["plain"]]
    first, second, third = _backend(url).label_frames(frames)
    assert first.error == "test-vlm gave 2 different answers for image 0" and not first.labels
    assert second.error is None and second.labels == {"low_light": 0.9}
    assert third.error == "test-vlm gave no answer for image 2"


def test_a_confidence_outside_zero_to_one_makes_the_batch_malformed(
    vlm: Server, scenes: dict[str, np.ndarray]
) -> None:
    fake, url = vlm
    fake.script = [frames_answer({"glare": 1.7}, [])]
    verdicts = _backend(url).label_frames([scenes["glare"], scenes["plain"]])
    assert all("malformed JSON" in (v.error or "") for v in verdicts)
