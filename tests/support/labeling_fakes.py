"""The edges labeling does not own, built for tests: a tiny CLIP model and a fake VLM server.

The CLIP model is randomly initialised from config classes, with a word-level tokenizer made
offline, and saved with ``save_pretrained``: the backend loads it through the path users use.
The VLM is a small OpenAI-compatible HTTP server (FastAPI on uvicorn) that answers each request
with the step its test scripted: a JSON answer, an HTTP status, a pause longer than the client's
timeout, or malformed content. It never looks at the pixels.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from robotops.settings import LabelerSettings
from robotops.tools.labeling.backends.clip import CLIP_MEAN, CLIP_STD, NEUTRAL_PROMPT
from robotops.tools.labeling.vocabulary import Vocabulary


def build_tiny_clip(directory: Path, vocabulary: Vocabulary, seed: int = 0) -> Path:
    """A randomly initialised CLIP (32 px images, 1 layer each side) and its tokenizer."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import CLIPConfig, CLIPModel, PreTrainedTokenizerFast

    text = " ".join([label.prompt for label in vocabulary.labels] + [NEUTRAL_PROMPT]).lower()
    vocab = {"[PAD]": 0, "[UNK]": 1, "[BOS]": 2, "[EOS]": 3}
    for word in sorted(set(re.findall(r"\w+", text))):
        vocab[word] = len(vocab)
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]", special_tokens=[("[BOS]", 2), ("[EOS]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        bos_token="[BOS]",
        eos_token="[EOS]",
    )
    config = CLIPConfig(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 40,
            "bos_token_id": 2,
            "eos_token_id": 3,
            "pad_token_id": 0,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    torch.manual_seed(seed)
    CLIPModel(config).save_pretrained(directory)
    fast.save_pretrained(directory)
    (directory / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "size": {"shortest_edge": 32},
                "crop_size": {"height": 32, "width": 32},
                "do_center_crop": True,
                "image_mean": list(CLIP_MEAN),
                "image_std": list(CLIP_STD),
            }
        )
    )
    return directory


def frames_answer(*labels: list[str] | dict[str, float]) -> dict[str, Any]:
    """The JSON a model gives for one request: image i carries ``labels[i]`` (names at 0.9, or
    name -> confidence)."""

    def one(i: int, names: list[str] | dict[str, float]) -> dict[str, Any]:
        pairs = names.items() if isinstance(names, dict) else ((n, 0.9) for n in names)
        return {"index": i, "labels": [{"name": n, "confidence": c} for n, c in pairs]}

    return {"frames": [one(i, names) for i, names in enumerate(labels)]}


class FakeVLM:
    """An OpenAI-compatible chat completions endpoint that answers from a script, one step per
    request, as a model would: a status code, seconds to stall (then the next step), a raw
    content string, a JSON answer (dict), or a function of the number of images sent. With the
    script empty it answers "no labels" for every image. It never looks at the pixels, so a
    test asserts what the product does with an answer, not what a fake saw."""

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        self.app = FastAPI()
        self.app.get("/health")(lambda: {"ok": True})
        self.app.post("/v1/chat/completions")(self.chat)

    async def chat(self, request: Request) -> Any:
        body = await request.json()
        self.requests.append(body)
        step = self.script.pop(0) if self.script else None
        if isinstance(step, int):
            return JSONResponse(
                {"error": {"message": f"scripted {step}", "type": "test"}}, status_code=step
            )
        if isinstance(step, float):
            await asyncio.sleep(step)  # the client times out and retries: the next step answers
            step = None
        images = sum(part["type"] == "image_url" for part in body["messages"][-1]["content"])
        if callable(step):
            step = step(images)
        if step is None:
            step = frames_answer(*([[]] * images))
        content = step if isinstance(step, str) else json.dumps(step)
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }


def vlm_settings(url: str, **overrides: object) -> LabelerSettings:
    values: dict[str, object] = {
        "backend": "openai",
        "openai_base_url": f"{url}/v1",
        "openai_model": "test-vlm",
        "openai_timeout_s": 5.0,
        "retries": 2,
        "retry_wait_s": 0.01,
        "batch_size": 4,
        "workers": 1,
    }
    return LabelerSettings(**(values | overrides))
