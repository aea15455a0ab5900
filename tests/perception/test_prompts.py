"""Tests for the length-perception prompts, the length parser and the tuning-set format."""

import pytest

from seqsch.perception.buckets import bucket_of, bucket_to_length, round_up_to_bucket
from seqsch.perception.prompts import (
    MAX_PLAUSIBLE_LENGTH,
    PIA_PROMPT,
    QUERY_PROMPT,
    build_tuning_example,
    make_pia_prompt,
    make_query_prompt,
    parse_length,
)

INSTRUCTION = "Name three {curly} primes."


def test_prompts_contain_instruction_then_request():
    pia_prompt = make_pia_prompt(INSTRUCTION)
    query_prompt = make_query_prompt(INSTRUCTION)
    assert pia_prompt.startswith(INSTRUCTION + "\n")
    assert query_prompt.startswith(INSTRUCTION + "\n")
    assert "Print the estimated number of tokens in your response in the first line" in pia_prompt
    assert query_prompt.endswith("number of tokens in your response. Output one number only.")
    assert "Don't output the response" in query_prompt


def test_templates_agree_with_functions():
    assert PIA_PROMPT.format(instruction=INSTRUCTION) == make_pia_prompt(INSTRUCTION)
    assert QUERY_PROMPT.format(instruction=INSTRUCTION) == make_query_prompt(INSTRUCTION)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("120", 120),
        ("  42  ", 42),
        ("100-150", 125),
        ("100 - 150 tokens", 125),
        ("100 to 150", 125),
        ("100\u2013151", 126),
        ("100~200", 150),
        ("Between 100 and 200 tokens.", 150),
        ("about 80 tokens", 80),
        ("~80", 80),
        ("1,200", 1200),
        ("Roughly 1,200 tokens in total", 1200),
        ("The answer will be roughly 250 words.", 250),
        ("Estimated length: 12.5", 13),
        ("50, 100", 50),
        ("- 80 tokens", 80),
        ("1. The answer is 80 tokens", 80),
        ("0", 0),
        (str(MAX_PLAUSIBLE_LENGTH), MAX_PLAUSIBLE_LENGTH),
    ],
)
def test_parse_length_single_line(text, expected):
    assert parse_length(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("64\nHere are 3 primes: 2, 3 and 5.", 64),
        ("Sure! Let me estimate.\n90 tokens\n1. first 2. second", 90),
        ("\n\n  \n35", 35),
        ("Estimated tokens: 200-300\nStep 1: 7 items", 250),
    ],
)
def test_parse_length_prefers_first_line_with_a_number(text, expected):
    assert parse_length(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "none", "I cannot tell.\nIt depends.", "-5 tokens", "\u221220", "200000", "99,999,999"],
)
def test_parse_length_rejects_missing_negative_and_absurd(text):
    assert parse_length(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Length: 3e2", 300),
        ("3E2 tokens", 300),
        ("1.5e3", 1500),
        ("2e+2", 200),
        ("1e2-2e2 tokens", 150),
        ("About 2k tokens", 2000),
        ("1.5K", 1500),
        ("1-2k tokens", 1500),
        ("500-1k", 750),
        ("between 1 and 2k", 1500),
        ("1,024", 1024),
        ("about 200-300 words", 250),
        ("5 kg", 5),
        ("2kg", 2),
        ("3eggs", 3),
    ],
)
def test_parse_length_reads_exponents_and_thousands_suffixes(text, expected):
    assert parse_length(text) == expected


@pytest.mark.parametrize("text", ["1e6", "1e999", "200k", "-3e2"])
def test_parse_length_rejects_absurd_or_negative_scientific_notation(text):
    assert parse_length(text) is None


def test_parse_length_returns_int():
    assert isinstance(parse_length("100-151"), int)
    assert isinstance(parse_length("3.0"), int)


@pytest.mark.parametrize(
    ("length", "bucket"), [(0, 0), (1, 1), (49, 1), (50, 1), (51, 2), (100, 2), (101, 3)]
)
def test_bucket_edges(length, bucket):
    assert bucket_of(length) == bucket


@pytest.mark.parametrize(("length", "rounded"), [(0, 0), (49, 50), (50, 50), (51, 100), (512, 550)])
def test_round_up_matches_reference_buckit(length, rounded):
    assert round_up_to_bucket(length) == rounded
    assert bucket_to_length(bucket_of(length)) == rounded


def test_bucket_to_length_is_upper_bound_and_other_sizes():
    assert bucket_to_length(3) == 150
    assert bucket_of(25, bucket_size=10) == 3
    assert bucket_to_length(3, bucket_size=10) == 30
    for length in range(300):
        assert length <= round_up_to_bucket(length) < length + 50


def test_bucket_rejects_bad_input():
    with pytest.raises(ValueError):
        bucket_of(-1)
    with pytest.raises(ValueError):
        bucket_of(10, bucket_size=0)
    with pytest.raises(ValueError):
        bucket_to_length(-2)


def test_build_tuning_example_format():
    example = build_tuning_example(INSTRUCTION, max_length=73)
    assert set(example) == {"prompt", "target"}
    assert example["prompt"] == make_query_prompt(INSTRUCTION)
    assert example["target"] == "100"
    assert build_tuning_example(INSTRUCTION, max_length=50)["target"] == "50"
    assert build_tuning_example(INSTRUCTION, max_length=51)["target"] == "100"
    assert build_tuning_example(INSTRUCTION, max_length=73, bucket_size=25)["target"] == "75"


def test_tuning_target_parses_back():
    example = build_tuning_example(INSTRUCTION, max_length=333)
    assert parse_length(example["target"]) == 350
