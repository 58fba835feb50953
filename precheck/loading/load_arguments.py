"""What the installed sentence-transformers' constructor takes for precheck's load options: their
names differ between releases and classes, and an option a class does not take is refused in one line.
"""
from __future__ import annotations

from ..errors import PrecheckError


def as_load_options(load):
    from ..options import LoadOptions

    return load if isinstance(load, LoadOptions) else LoadOptions(trust_remote_code=bool(load))


def _unsupported(field_name: str, class_name: str) -> PrecheckError:
    from importlib import metadata

    from ..options import option_of

    how = option_of(field_name)
    return PrecheckError(f"{how.flags[0]} ({how.config_key or field_name}) is not supported by {class_name} in "
                         f"sentence-transformers {metadata.version('sentence-transformers')}",
                         f"upgrade sentence-transformers, or leave {how.flags[0]} out")


def constructor_kwargs(kind_name: str, load, torch_dtype=None, offload: dict | None = None,
                       quantization_config=None) -> dict:
    """The constructor arguments of the installed sentence-transformers for these load options:
    their names differ between releases and classes (model_kwargs / automodel_args, tokenizer_kwargs /
    processor_kwargs / tokenizer_args), and an option the class does not take is one line, not ignored."""
    import inspect

    import sentence_transformers

    from ..kinds import kind_for

    kind = kind_for(kind_name)
    accepted = inspect.signature(getattr(sentence_transformers, kind.class_name).__init__).parameters
    _, model_key = kind.api_shape()
    model_kwargs = dict(load.model_kwargs)
    if load.attn_implementation:
        model_kwargs["attn_implementation"] = load.attn_implementation
    if torch_dtype is not None:
        model_kwargs["torch_dtype"] = torch_dtype
    if quantization_config is not None:
        model_kwargs["quantization_config"] = quantization_config
    model_kwargs.update(offload or {})
    kwargs: dict = {"trust_remote_code": load.trust_remote_code}
    if model_kwargs:
        kwargs[model_key] = model_kwargs
    tokenizer_key = next((k for k in ("tokenizer_kwargs", "processor_kwargs", "tokenizer_args") if k in accepted),
                         "tokenizer_kwargs")
    wanted = {"revision": ("revision", load.revision), "config_kwargs": ("config_kwargs", load.config_kwargs),
              "tokenizer_kwargs": (tokenizer_key, load.tokenizer_kwargs),
              "truncate_dim": ("truncate_dim", load.truncate_dim)}
    if kind.max_length_argument is not None:  # the others have it set after the load (after_load)
        wanted["max_seq_length"] = (kind.max_length_argument, load.max_seq_length)
    for field_name, (key, value) in wanted.items():
        if value in (None, {}):
            continue
        if key not in accepted:
            raise _unsupported(field_name, kind.class_name)
        kwargs[key] = value
    if load.prompt_name is not None or load.prompt is not None:
        call = getattr(getattr(sentence_transformers, kind.class_name), kind.run_method)
        if "prompt_name" not in inspect.signature(call).parameters:
            raise _unsupported("prompt_name" if load.prompt is None else "prompt", kind.class_name)
    return kwargs


def after_load(loaded, model, load):
    """What users set on the loaded `model` (a load.ResolvedModel): max_seq_length; a --prompt-name it must have."""
    from ..kinds import kind_for
    from .limits import check_after_load, set_window

    check_after_load(loaded, model, load)
    if load.max_seq_length is not None and hasattr(loaded, "max_seq_length") and \
            kind_for(model.kind).max_length_argument is None:
        set_window(loaded, model, load.max_seq_length)
    if load.prompt_name is not None:
        prompts = getattr(loaded, "prompts", None) or {}
        if load.prompt_name not in prompts:
            raise PrecheckError(f"--prompt-name {load.prompt_name!r}: {model.name} has no such prompt",
                                f"its prompts: {', '.join(prompts) or 'none'}; or pass the text with --prompt")
    return loaded
