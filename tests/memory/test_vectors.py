"""The vector index on a real Chroma persistent store with real MiniLM embeddings."""

from __future__ import annotations

import runpy
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings as ChromaSettings
from chromadb.utils.embedding_functions import known_embedding_functions

from robotops.memory.embedding import EMBEDDING_NAME, MiniLMEmbedding, embed_texts, load_model
from robotops.memory.segment_docs import SegmentDoc
from robotops.memory.vectors import SegmentFilter, VectorIndex, open_client
from robotops.settings import Settings

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000

GLARE = [
    "camera saturated by lens flare from a reflective safety vest",
    "bright glare washes out the front camera image",
    "sunlight glare through the dock door blinds the camera, perception confidence drops",
]
PLAIN = [
    "robot drives straight along aisle {n} at 1.2 m/s, nothing unusual",
    "hard shadow of a rack falls across the floor in aisle {n}",
    "forklift crosses the aisle {n} ahead, robot slows and waits",
    "robot docks at charger {n}, battery at 40 percent",
]


def make_docs() -> list[SegmentDoc]:
    """Two logs, three robots, two sites; glare segments carry the glare label and a stall."""
    docs = []
    for i in range(24):
        glare = i % 8 == 3
        text = GLARE[i % len(GLARE)] if glare else PLAIN[i % len(PLAIN)].format(n=i)
        log = "log-a" if i < 12 else "log-b"
        docs.append(
            SegmentDoc(
                segment_id=f"{log}:{T0 + i * 2 * S}",
                text=text,
                log_id=log,
                robot_id=str(101 + i % 3),
                site="cincinnati" if i < 16 else "dayton",
                start_ns=T0 + i * 2 * S,
                end_ns=T0 + (i + 1) * 2 * S,
                events=["stall"] if glare else (["slowdown"] if "forklift" in text else []),
                labels=["glare", "reflective vest"] if glare else [],
                thumbnail=f"thumbs/{i}.png" if i % 2 else None,
            )
        )
    return docs


@pytest.fixture(scope="session", autouse=True)
def model() -> None:
    """Load MiniLM once for the whole session (it is cached per process)."""
    load_model()


@pytest.fixture
def store(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture
def index(store: Settings) -> VectorIndex:
    idx = VectorIndex.from_settings(store)
    idx.add(make_docs(), labeler_version="vlm-1")
    return idx


@pytest.fixture(scope="module")
def readonly_index(tmp_path_factory: pytest.TempPathFactory) -> VectorIndex:
    """One index for the tests that only read it."""
    idx = VectorIndex.from_settings(Settings(data_dir=tmp_path_factory.mktemp("readonly")))
    idx.add(make_docs(), labeler_version="vlm-1")
    return idx


def test_embeddings_are_unit_length_384d() -> None:
    vectors = embed_texts(["glare on the camera", "a forklift"])
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embed_texts([]).shape == (0, 384)


def test_docs_round_trip(index: VectorIndex) -> None:
    docs = make_docs()
    assert index.count() == len(docs)
    assert index.get([d.segment_id for d in docs]) == docs
    assert index.get(["no-such-segment"]) == []


def test_lens_flare_ranks_glare_segments_first(readonly_index: VectorIndex) -> None:
    index = readonly_index
    glare_ids = {d.segment_id for d in make_docs() if "glare" in d.labels}
    hits = index.query("lens flare", k=len(glare_ids))
    assert {h.doc.segment_id for h in hits} == glare_ids
    scores = [h.score for h in index.query("lens flare", k=10)]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[len(glare_ids)] + 0.1


FILTERS = [
    (SegmentFilter(robot_id="102"), lambda d: d.robot_id == "102"),
    (SegmentFilter(site="dayton"), lambda d: d.site == "dayton"),
    (SegmentFilter(since_ns=T0 + 30 * S), lambda d: d.end_ns >= T0 + 30 * S),
    (SegmentFilter(label="Glare"), lambda d: "glare" in d.labels),
    (SegmentFilter(label="reflective vest"), lambda d: "reflective vest" in d.labels),
    (SegmentFilter(event="slowdown"), lambda d: "slowdown" in d.events),
    (
        SegmentFilter(site="cincinnati", event="stall", robot_id="101"),
        lambda d: d.site == "cincinnati" and "stall" in d.events and d.robot_id == "101",
    ),
    (
        SegmentFilter(label="glare", exclude_labelers=["vlm-0"]),
        lambda d: "glare" in d.labels,
    ),
]


@pytest.mark.parametrize(("filters", "keep"), FILTERS)
def test_filters_return_exactly_the_matching_segments(readonly_index, filters, keep) -> None:
    expected = {d.segment_id for d in make_docs() if keep(d)}
    assert expected, "the fixture must have matching docs"
    hits = readonly_index.query("robot in the warehouse", k=100, filters=filters)
    assert {h.doc.segment_id for h in hits} == expected


@pytest.mark.parametrize("prefetch", [(4,), (8,), (4, 8), (100,)])
@pytest.mark.parametrize(("filters", "keep"), FILTERS)
def test_checking_nearest_first_gives_what_chroma_filtering_gives(
    readonly_index, filters, keep, prefetch, monkeypatch
) -> None:
    # k=1 or 2 goes through the Python check of the nearest `prefetch` segments (each stage
    # at least 4 k), falling back to Chroma's filtered search when too few pass; k=100 always
    # asks Chroma to filter.
    vector = embed_texts(["robot waiting in the aisle"])[0]
    index = readonly_index
    by_chroma = [h.doc.segment_id for h in index.query_embedding(vector, 100, filters)]
    monkeypatch.setattr("robotops.memory.vectors._PREFETCH", prefetch)
    for k in (1, 2):
        assert [h.doc.segment_id for h in index.query_embedding(vector, k, filters)] == (
            by_chroma[:k]
        )


def test_no_filter_means_no_where_clause() -> None:
    assert SegmentFilter().to_where() is None
    assert SegmentFilter(robot_id="7").to_where() == {"robot_id": "7"}


def test_upsert_is_idempotent_and_replaces_metadata(index: VectorIndex) -> None:
    docs = make_docs()
    index.add(docs, labeler_version="vlm-1")
    assert index.count() == len(docs)

    glare = next(d for d in docs if "glare" in d.labels)
    relabelled = glare.model_copy(update={"labels": ["shadow"], "events": [], "thumbnail": None})
    assert index.add([glare, relabelled]) == 1  # the later duplicate wins
    assert index.count() == len(docs)
    assert index.get([glare.segment_id]) == [relabelled]
    glare_hits = index.query("glare", k=100, filters=SegmentFilter(label="glare"))
    assert glare.segment_id not in {h.doc.segment_id for h in glare_hits}
    stored = index.collection.get(ids=[glare.segment_id], include=["metadatas"])["metadatas"][0]
    assert "label:glare" not in stored and "event:stall" not in stored


def test_reopened_collection_embeds_queries_with_the_registered_function(
    index: VectorIndex, store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plain Chroma client, given no embedding function, rebuilds ours from the stored config.
    client = chromadb.PersistentClient(
        path=str(store.vector_path()), settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = client.get_collection(store.vectors.collection)
    assert isinstance(collection.configuration["embedding_function"], MiniLMEmbedding)
    found = collection.query(query_texts=["lens flare"], n_results=1)
    assert found["ids"][0][0] in {d.segment_id for d in make_docs() if "glare" in d.labels}

    reopened = VectorIndex(open_client(store), store.vectors.collection)
    assert reopened.count() == index.count()

    # Without the registration the stored config names a function Chroma cannot build.
    monkeypatch.delitem(known_embedding_functions, EMBEDDING_NAME)
    with pytest.raises(ValueError, match=EMBEDDING_NAME):
        client.get_collection(store.vectors.collection).query(query_texts=["glare"])


def test_delete_log_forgets_only_that_log(index: VectorIndex) -> None:
    assert index.delete_log("log-a") == 12
    assert index.delete_log("log-a") == 0
    assert index.count() == 12
    assert {h.doc.log_id for h in index.query("robot", k=100)} == {"log-b"}


def test_labels_of_a_labeler_version_can_be_excluded_and_dropped(index: VectorIndex) -> None:
    docs = make_docs()
    later = [d.model_copy(update={"labels": ["glare"]}) for d in docs if "glare" not in d.labels]
    index.add(later[:2], labeler_version="vlm-2")
    assert index.labels_of(later[0].segment_id) == {"glare": "vlm-2"}

    glare = SegmentFilter(label="glare")
    assert len(index.query("glare", k=100, filters=glare)) == 3 + 2
    only_v2 = glare.model_copy(update={"exclude_labelers": ["vlm-1"]})
    assert {h.doc.segment_id for h in index.query("glare", k=100, filters=only_v2)} == {
        d.segment_id for d in later[:2]
    }

    assert index.drop_labeler("vlm-1") == 3
    assert index.drop_labeler("vlm-1") == 0
    remaining = index.query("glare", k=100, filters=glare)
    assert {h.doc.segment_id for h in remaining} == {d.segment_id for d in later[:2]}
    dropped = next(d for d in docs if "glare" in d.labels)
    assert index.get([dropped.segment_id])[0].labels == []
    assert index.labels_of(dropped.segment_id) == {}


def test_precomputed_embeddings_are_used_as_given(store: Settings) -> None:
    idx = VectorIndex.from_settings(store)
    docs = make_docs()[:3]
    vectors = np.eye(3, 384, dtype=np.float32)
    idx.add(docs, embeddings=vectors)
    hits = idx.query_embedding(vectors[1], k=1)
    assert hits[0].doc.segment_id == docs[1].segment_id
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="2 embeddings for 3 docs"):
        idx.add(docs, embeddings=vectors[:2])


def test_empty_index_finds_nothing(store: Settings) -> None:
    idx = VectorIndex.from_settings(store)
    assert idx.count() == 0
    assert idx.query("glare", k=5) == []
    assert idx.delete_log("nothing") == 0


def test_benchmark_quick_mode(tmp_path: Path) -> None:
    bench = runpy.run_path(str(Path(__file__).resolve().parents[2] / "benchmarks" / "search.py"))
    figures = bench["main"](["--quick", "--dir", str(tmp_path)])
    (row,) = figures["scale"]
    assert row["n"] == 2_000 and 0 < row["p50"] <= row["p95"]
    assert row["recall"] >= 0.8
    recall = {r["query"]: r["recall"] for r in figures["quality"]}
    assert recall["lens flare"] >= 0.8
