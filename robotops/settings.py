"""One validated settings object: ``ROBOTOPS_*`` environment variables and an optional file.

Nested models per subsystem use ``__`` in variable names, e.g. ``ROBOTOPS_FLEET__URL``.
Obtained through :func:`get_settings` (cached) and injected; never built at import time.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class FleetSettings(BaseModel):
    """How to reach the fleet API (the simulated one by default)."""

    url: str = "http://127.0.0.1:8765"
    timeout_s: float = 10.0
    retries: int = 3
    default_link_speed_bps: int = Field(2_000_000, description="per-site uplink, bytes/s")


class SimSettings(BaseModel):
    """Simulated warehouse: sensor resolution and rates (keep small, rendering is on the CPU)."""

    camera_width: int = 128
    camera_height: int = 96
    camera_hz: float = 5.0
    control_hz: float = 20.0
    physics_dt: float = 0.002
    workers: int = Field(0, description="process pool size for shifts; 0 = number of CPUs")


class CampaignSettings(BaseModel):
    """Simulation campaigns: local process pool by default, Ray when an address is given."""

    workers: int = Field(0, ge=0, description="local worker processes; 0 = number of CPUs")
    ray_address: str | None = Field(None, description="e.g. ray://head:10001; needs ray installed")


class CatalogSettings(BaseModel):
    """The SQL catalog: SQLite file under the data dir unless a URL (e.g. PostgreSQL) is given."""

    url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///DATA_DIR/catalog.db"
    )


class BlobSettings(BaseModel):
    """Content-addressed blob store: a local folder by default."""

    root: Path | None = Field(None, description="default DATA_DIR/blobs")


class VectorSettings(BaseModel):
    """Vector index: Chroma persistent client under the data dir, or a Chroma server URL."""

    path: Path | None = Field(None, description="default DATA_DIR/chroma")
    url: str | None = Field(None, description="http://host:port of a Chroma server")
    collection: str = "segments"


class IngestSettings(BaseModel):
    """How logs are cut into searchable segments."""

    segment_s: float = Field(2.0, gt=0.0)
    thumbnail_px: int = Field(96, ge=16)
    pixel_stride: int = Field(4, ge=1, description="subsample pixels for image features")


class LabelerSettings(BaseModel):
    """The auto-labeler: which backend, where its model or endpoint is, how much work per call."""

    backend: str = Field("embedded", description="embedded (no download), clip or openai")
    vocabulary: Path | None = Field(
        None, description="a YAML file of extra labels (name and prompt each)"
    )
    embedded_weights: Path | None = Field(
        None, description="embedded classifier weights; default: the ones shipped"
    )
    clip_model_dir: Path | None = Field(
        None, description="local directory of a transformers CLIP or SigLIP model"
    )
    clip_threshold: float = Field(0.5, ge=0.0, le=1.0)
    openai_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1"
    )
    openai_model: str | None = Field(None, description="a vision chat model the endpoint serves")
    openai_api_key: SecretStr | None = None
    openai_timeout_s: float = Field(60.0, gt=0.0)
    retries: int = Field(4, ge=0, description="retries on 429, 5xx and timeouts")
    retry_wait_s: float = Field(1.0, ge=0.0, description="first backoff; doubles each retry")
    batch_size: int = Field(8, ge=1, description="frames per backend call")
    frames_per_segment: int = Field(3, ge=1, le=32)
    workers: int = Field(0, ge=0, description="process pool size; 0 = number of CPUs")


class ApiSettings(BaseModel):
    """The product API (chat, approvals inbox, search) and how clients reach it."""

    host: str = "127.0.0.1"
    port: int = 8000
    url: str = "http://127.0.0.1:8000"
    token: str | None = Field(None, description="the token a CLI client sends")
    tokens_file: Path | None = Field(None, description="default DATA_DIR/api_tokens.json")


class DatasetSettings(BaseModel):
    """Training datasets: the range teacher's pairing, the alignment gate's limits, the planner."""

    scan_tolerance_s: float = Field(0.06, gt=0.0, description="max camera-to-scan pairing gap")
    max_offset_s: float = Field(0.05, ge=0.0, description="max clock offset between channels")
    max_drift_ppm: float = Field(500.0, ge=0.0, description="max clock drift between channels")
    gap_factor: float = Field(5.0, gt=1.0, description="a gap is k x the nominal period")
    max_duplicates: int = Field(0, ge=0, description="repeated timestamps allowed per channel")
    max_out_of_order: int = Field(0, ge=0, description="backwards timestamps allowed per channel")
    label_tolerance_s: float = Field(0.02, ge=0.0, description="label time to frame time")
    max_motion_lag_s: float = Field(
        0.5, ge=0.0, description="max lag of camera motion behind odometry motion (5 Hz: coarse)"
    )
    approval_threshold_s: float = Field(
        600.0, ge=0.0, description="estimated training seconds above which a person approves"
    )
    throughput_fps: float = Field(
        300.0, gt=0.0, description="frame-epochs per second when not measured (2 CPU cores)"
    )


class LLMSettings(BaseModel):
    """The agents' reasoning backend: embedded procedures, or an OpenAI-compatible endpoint."""

    backend: str = Field("embedded", description="embedded (no network) or openai")
    base_url: str | None = Field(None, description="e.g. http://localhost:8080/v1")
    model: str | None = Field(None, description="a chat model with tool calling")
    api_key: SecretStr | None = None
    timeout_s: float = Field(60.0, gt=0.0)
    retries: int = Field(3, ge=0, description="retries on 429, 5xx and timeouts")
    retry_wait_s: float = Field(1.0, ge=0.0, description="first backoff; doubles each retry")
    max_tool_rounds: int = Field(8, ge=1, description="model turns with tool calls per agent")


class AgentSettings(BaseModel):
    """The agent graph: where its checkpoints live and when the flywheel asks before spending."""

    checkpoint_url: str | None = Field(
        None, description="postgresql://... for the Postgres checkpointer; default SQLite file"
    )
    compute_approval_episodes: int = Field(
        500, ge=0, description="campaign episodes above which a person approves the compute"
    )
    scenario_variants: int = Field(16, ge=0, description="flywheel: variants per scenario family")
    scenario_duration_s: float = Field(
        20.0, gt=0.0, description="flywheel: simulated seconds per scenario"
    )
    training_sim_frames: int = Field(
        1500, ge=0, description="flywheel: training frames rendered in the family's worlds"
    )
    training_epochs: int = Field(20, ge=1, description="flywheel: fine-tuning epochs")
    judge_min_runs: int = Field(20, ge=1, description="flywheel: ok campaign runs per policy")
    rollout_bake_minutes: list[float] = Field(
        default_factory=lambda: [0.5, 0.5, 0.5],
        description="flywheel: simulated bake minutes per rollout stage (the last repeats)",
    )


class Settings(BaseSettings):
    """All robotops settings."""

    model_config = SettingsConfigDict(
        env_prefix="ROBOTOPS_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    data_dir: Path = Path(".robotops")
    site: str = "cincinnati"
    fleet: FleetSettings = FleetSettings()
    sim: SimSettings = SimSettings()
    campaign: CampaignSettings = CampaignSettings()
    catalog: CatalogSettings = CatalogSettings()
    blobs: BlobSettings = BlobSettings()
    vectors: VectorSettings = VectorSettings()
    ingest: IngestSettings = IngestSettings()
    api: ApiSettings = ApiSettings()
    labeler: LabelerSettings = LabelerSettings()
    llm: LLMSettings = LLMSettings()
    agents: AgentSettings = AgentSettings()
    nightly_cron: str | None = Field(None, description="e.g. '0 2 * * *': serve runs nightly")
    datasets: DatasetSettings = DatasetSettings()

    def catalog_url(self) -> str:
        return self.catalog.url or f"sqlite:///{(self.data_dir / 'catalog.db').resolve()}"

    def blob_root(self) -> Path:
        return self.blobs.root or self.data_dir / "blobs"

    def tokens_path(self) -> Path:
        return self.api.tokens_file or self.data_dir / "api_tokens.json"

    def vector_path(self) -> Path:
        return self.vectors.path or self.data_dir / "chroma"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
