"""A load option past what the model has is named with the option and the model's limit."""
from __future__ import annotations

from conftest import invoke
from test_bad_input import assert_one_line_error


def test_max_seq_length_past_the_positions_is_refused_before_loading(tiny_model, tiny_texts):
    run = invoke("scan", tiny_model, "--texts", tiny_texts, "-d", "fp16", "--no-fix", "-q", "--max-seq-length", "100000")
    assert_one_line_error(run, "--max-seq-length 100000", "128 positions")
    assert "loading float32 reference" not in run.stderr


def test_truncate_dim_past_the_dimension_is_refused(tiny_model, tiny_texts):
    run = invoke("scan", tiny_model, "--texts", tiny_texts, "-d", "fp16", "--no-fix", "-q", "--truncate-dim", "1000")
    assert_one_line_error(run, "--truncate-dim 1000", "dimension (32)")


def test_a_tokenizer_length_that_is_no_number_names_the_option(tiny_model, tiny_texts):
    run = invoke("scan", tiny_model, "--texts", tiny_texts, "-d", "fp16", "--no-fix", "-q",
                 "--tokenizer-kwarg", 'model_max_length="abc"')
    assert_one_line_error(run, "--tokenizer-kwarg model_max_length")


def test_an_attention_kernel_the_machine_lacks_is_blamed_on_that_option(tiny_model, tiny_texts):
    run = invoke("scan", tiny_model, "--texts", tiny_texts, "-d", "fp16", "--no-fix", "-q",
                 "--attn-implementation", "flash_attention_2")
    assert_one_line_error(run, "--attn-implementation flash_attention_2")
    assert "model's code" not in run.stderr


def test_limits_within_the_model_pass(tiny_model, tiny_texts):
    run = invoke("scan", tiny_model, "--texts", tiny_texts, "-d", "fp16", "--no-fix", "-q",
                 "--max-seq-length", "128", "--truncate-dim", "16")
    assert run.exit_code == 0, run.stderr
