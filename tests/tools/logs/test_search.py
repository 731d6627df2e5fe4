"""The search tool from Python and from the command line, over a real index in the data dir."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from robotops.cli import app
from robotops.cli.search import parse_since
from robotops.memory.embedding import load_model
from robotops.memory.segment_docs import SegmentDoc
from robotops.memory.vectors import VectorIndex
from robotops.settings import get_settings
from robotops.tools.logs.search import SearchQuery, explain, search_segments

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000
runner = CliRunner()

SEGMENTS = [
    (
        "104",
        "lens flare from a reflective vest near a forklift saturates the camera",
        ["stall"],
        ["glare", "reflective vest"],
    ),
    ("104", "robot drives along aisle 3, nothing unusual", [], []),
    ("105", "camera glare at the dock door, perception confidence drops", ["stall"], ["glare"]),
    ("105", "forklift passes ahead, robot waits", ["slowdown"], ["forklift"]),
    ("106", "hard shadow of a rack across the floor", [], ["shadow"]),
]


@pytest.fixture(scope="session", autouse=True)
def model() -> None:
    """Load MiniLM once for the whole session (it is cached per process)."""
    load_model()


@pytest.fixture
def index() -> VectorIndex:
    """The index the settings point at (a fresh data dir per test), holding SEGMENTS."""
    idx = VectorIndex.from_settings(get_settings())
    idx.add(
        [
            SegmentDoc(
                segment_id=f"log1:{T0 + i * 2 * S}",
                text=text,
                log_id="log1" + "0" * 60,
                robot_id=robot,
                site="cincinnati",
                start_ns=T0 + i * 2 * S,
                end_ns=T0 + (i + 1) * 2 * S,
                events=events,
                labels=labels,
                thumbnail=f"blobs/thumb{i}.png",
            )
            for i, (robot, text, events, labels) in enumerate(SEGMENTS)
        ],
        labeler_version="vlm-1",
    )
    return idx


def test_search_finds_glare_and_says_why(index: VectorIndex) -> None:
    result = search_segments(SearchQuery(text="lens flare near a forklift", k=3), index)
    top = result.hits[0]
    assert top.doc.robot_id == "104" and "glare" in top.doc.labels
    assert top.doc.thumbnail == "blobs/thumb0.png"
    assert top.why.startswith(f"similarity {top.score:.2f}")
    assert "description mentions lens, flare, forklift" in top.why
    assert "near" not in top.why.split("mentions")[1].split(";")[0]


def test_filters_narrow_and_show_in_why(index: VectorIndex) -> None:
    query = SearchQuery(text="camera problem", robot_id="105", label="glare", event="stall")
    result = search_segments(query, index)
    assert [h.doc.robot_id for h in result.hits] == ["105"]
    assert "labels glare" in result.hits[0].why and "events stall" in result.hits[0].why


def test_explain_matches_word_forms() -> None:
    doc = SegmentDoc(
        segment_id="x",
        text="The camera flared; forklifts nearby",
        log_id="l",
        start_ns=0,
        end_ns=1,
        labels=["lens flare"],
    )
    why = explain(SearchQuery(text="flare by a forklift"), doc, 0.5)
    assert why == "similarity 0.50; description mentions flare, forklift; labels lens flare"


@pytest.mark.parametrize("bad", [{"text": "   "}, {"text": "glare", "k": 0}])
def test_query_is_validated(bad) -> None:
    with pytest.raises(ValidationError):
        SearchQuery(**bad)


def test_cli_json(index: VectorIndex) -> None:
    result = runner.invoke(app, ["search", "lens flare", "--k", "2", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["query"]["text"] == "lens flare" and len(payload["hits"]) == 2
    assert {h["doc"]["robot_id"] for h in payload["hits"]} == {"104", "105"}
    assert all(h["why"] and h["doc"]["log_id"] for h in payload["hits"])


def test_cli_filters(index: VectorIndex) -> None:
    since = str(T0 + 5 * S)
    args = ["search", "forklift", "--robot", "105", "--site", "cincinnati", "--since", since]
    result = runner.invoke(app, [*args, "--event", "slowdown", "--label", "forklift", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert [h["doc"]["text"] for h in hits] == ["forklift passes ahead, robot waits"]


def test_cli_table(index: VectorIndex) -> None:
    result = runner.invoke(app, ["search", "lens flare from a reflective vest", "--k", "1"])
    assert result.exit_code == 0, result.output
    head, text, why, thumbnail = result.stdout.splitlines()
    assert head.split()[1:3] == ["#104", "cincinnati"] and "log log1000000000000" in head
    assert text.strip() == SEGMENTS[0][1]
    assert why.startswith("      why: similarity") and thumbnail.endswith("blobs/thumb0.png")


def test_cli_empty_index_and_bad_input() -> None:
    result = runner.invoke(app, ["search", "glare"])
    assert result.exit_code == 0 and "index is empty" in result.output
    result = runner.invoke(app, ["search", "glare", "--since", "last tuesday"])
    assert result.exit_code == 2 and "--since 'last tuesday'" in result.output
    result = runner.invoke(app, ["search", " "])
    assert result.exit_code == 2 and "text" in result.output


def test_parse_since() -> None:
    assert parse_since("123") == 123
    assert parse_since("2h", now_ns=10 * 3600 * S) == 8 * 3600 * S
    assert parse_since("1970-01-01T00:01:00") == 60 * S
    assert parse_since("1970-01-01T01:01:00+01:00") == 60 * S
