"""From options to a pydantic-ai model and its settings.

A ``base_url`` means an OpenAI-compatible server (OpenAI itself, Ollama, vLLM, LM
Studio…), spoken to through the Chat Completions API. Without one, the model name is
resolved by pydantic-ai (``"anthropic:claude-…"``, ``"openai:gpt-…"``, ``"google:…"``),
and a provider whose package is missing is a :class:`~romancy.ConfigurationError`
naming the ``pip install`` line.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from typing import Any

from pydantic_ai.exceptions import UserError
from pydantic_ai.models import Model, infer_model
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers import infer_provider_class
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.settings import ModelSettings

from romancy.errors import ConfigurationError
from romancy.llm._options import LLMOptions

#: Models built per event loop (their HTTP clients belong to it), by what defines them.
_MODELS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], Model]] = (
    weakref.WeakKeyDictionary()
)


def resolve_model(options: LLMOptions) -> Model:
    """The pydantic-ai model the options name (built once per event loop)."""
    if isinstance(options.model, Model):
        return options.model
    if options.model is None:
        raise ConfigurationError(
            "no model given: pass model= (e.g. 'openai:gpt-4o-mini', or a name with "
            "base_url= for an OpenAI-compatible server) or set one with set_app_defaults()"
        )
    key = (options.model, options.provider, options.base_url, options.api_key)
    built = _MODELS.setdefault(asyncio.get_running_loop(), {})
    if key not in built:
        built[key] = _build(options.model, options)
    return built[key]


def _build(name: str, options: LLMOptions) -> Model:
    if options.base_url is not None:
        bare = name.split(":", 1)[1] if ":" in name else name
        # Local servers take any key, but the OpenAI client refuses none (an empty
        # OPENAI_API_KEY included): send a stand-in then.
        key = options.api_key or os.environ.get("OPENAI_API_KEY") or "no-key-needed"
        provider = OpenAIProvider(base_url=options.base_url, api_key=key)
        return OpenAIChatModel(bare, provider=provider)
    spec = f"{options.provider}:{name}" if options.provider and ":" not in name else name
    try:
        if options.api_key is not None:
            return infer_model(spec, provider_factory=_keyed(options.api_key))
        return infer_model(spec)
    except ImportError as error:
        raise ConfigurationError(
            f"model {spec!r} needs its provider's client library: {error}"
        ) from None
    except UserError as error:
        raise ConfigurationError(f"model {spec!r}: {error.message}") from None


def _keyed(api_key: str) -> Any:
    """A provider factory passing ``api_key`` to the provider pydantic-ai picks."""

    def factory(provider: str) -> Any:
        provider_class: Any = infer_provider_class(provider)
        try:
            return provider_class(api_key=api_key)
        except TypeError:
            raise ConfigurationError(
                f"provider {provider!r} takes no api_key; configure it as its documentation says"
            ) from None

    return factory


def model_settings(options: LLMOptions) -> ModelSettings:
    """The request settings the options set; the provider's client does not retry, so
    the activity's retry policy is the only one."""
    settings = ModelSettings(max_retries=0)
    if options.temperature is not None:
        settings["temperature"] = options.temperature
    if options.max_tokens is not None:
        settings["max_tokens"] = options.max_tokens
    if options.top_p is not None:
        settings["top_p"] = options.top_p
    if options.top_k is not None:
        settings["top_k"] = options.top_k
        if options.base_url is not None:
            # OpenAI's API has no top_k, but the servers people point base_url at (vLLM,
            # Ollama, LM Studio) read it from the body.
            settings["extra_body"] = {"top_k": options.top_k}
    if options.seed is not None:
        settings["seed"] = options.seed
    if options.stop is not None:
        settings["stop_sequences"] = list(options.stop)
    return settings
