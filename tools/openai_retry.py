"""One way to call an OpenAI-compatible endpoint: retries on what is worth retrying, and the
failures mapped to two exceptions the callers (the reasoning backend, the VLM labeler) turn into
their own errors.

Rate limits (429), server errors (5xx), timeouts and dropped connections are retried with
exponential backoff (tenacity). A refused key or an unknown model is :class:`EndpointRefused`
(configuration: retrying cannot help); running out of retries, any other rejection, or an
answer with no choices is :class:`EndpointFailed`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal


class EndpointRefused(Exception):
    """The endpoint refused the key or does not know the model (401, 403, 404)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status, self.detail = status, detail


class EndpointFailed(Exception):
    """Retries ran out, the endpoint rejected this request, or it answered with no choices."""

    def __init__(
        self,
        kind: Literal["transient", "rejected", "empty"],
        detail: str = "",
        *,
        tries: int = 1,
        error: str = "",
        status: int | None = None,
    ) -> None:
        self.kind, self.detail, self.tries, self.error, self.status = (
            kind,
            detail,
            tries,
            error,
            status,
        )
        super().__init__(self.text(with_detail=True))

    def text(self, with_detail: bool = False) -> str:
        """What happened, e.g. "failed after 3 tries (RateLimitError: slow down)"."""
        more = f": {self.detail}" if with_detail and self.detail else ""
        if self.kind == "transient":
            return f"failed after {self.tries} tries ({self.error}{more})"
        if self.kind == "rejected":
            return f"rejected the request ({self.status}{more})"
        return "returned no choices"


def first_choice(
    create: Callable[..., Any],
    *args: Any,
    retries: int,
    retry_wait_s: float,
    max_wait_s: float = 30,
    **kwargs: Any,
) -> Any:
    """Call ``create(*args, **kwargs)`` (a chat completion) with retries; its first choice.

    Args:
        create: the client call, e.g. ``client.chat.completions.create``.
        retries: how many times a transient failure is retried after the first attempt.
        retry_wait_s: the backoff's multiplier (seconds).
        max_wait_s: the longest wait between two attempts.

    Returns:
        ``response.choices[0]``.

    Raises:
        EndpointRefused: the key or the model was refused.
        EndpointFailed: retries ran out, the request was rejected, or no choice came back.
    """
    import openai
    from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

    transient = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError)
    refused = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)
    retrying = Retrying(
        stop=stop_after_attempt(retries + 1),
        wait=wait_exponential(multiplier=retry_wait_s, max=max_wait_s),
        retry=retry_if_exception_type(transient),
        reraise=True,
    )
    try:
        response = retrying(create, *args, **kwargs)
    except refused as exc:
        raise EndpointRefused(exc.status_code, error_message(exc)) from exc
    except transient as exc:
        raise EndpointFailed(
            "transient", error_message(exc), tries=retries + 1, error=type(exc).__name__
        ) from exc
    except openai.APIStatusError as exc:
        raise EndpointFailed("rejected", error_message(exc), status=exc.status_code) from exc
    if not response.choices:
        raise EndpointFailed("empty")
    return response.choices[0]


def error_message(exc: Exception) -> str:
    """The endpoint's own words for an error (its JSON body's message), short."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return json.dumps(str(exc))[1:-1][:200]
