"""Property test over every command's numeric options (issue 22): an invalid value — not a number,
NaN or infinite, or outside the option's domain — exits 2 with exactly one line on stderr naming
the option, before the command does any work. The options are found by walking the parsers
``edgequant.cli.build_parser`` builds, so a new option is covered without a new test."""

from __future__ import annotations

import argparse
import contextlib
import io
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgequant.cli import build_parser, main
from edgequant.cli.argument_types import NumberList, NumberType, WordOrNumber, image_size, integer, real


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _is_numeric(kind) -> bool:
    """Whether an argparse ``type`` reads numbers: one of ours, or one turning "1", "2", "0.5" or "1x1"
    into a number or numbers (a type of another module: ``int``, ``float``, a validator of its own)."""
    if hasattr(kind, "invalid_examples"):
        return True
    if kind is None or kind is str:
        return False
    for text in ("1", "2", "0.5", "1x1"):
        try:
            value = kind(text)
        except (ValueError, TypeError, argparse.ArgumentTypeError):
            continue
        values = value if isinstance(value, tuple) else (value,)
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    return False


def numeric_options() -> list[tuple[str, str, object]]:
    """(command, option, argparse type) of every numeric option of every command."""
    found = []
    for command, parser in _subparsers().items():
        for action in parser._actions:
            if action.option_strings and _is_numeric(action.type):
                found.append((command, max(action.option_strings, key=len), action.type))
    return found


OPTIONS = numeric_options()


def _params():
    for command, option, kind in OPTIONS:
        yield pytest.param(command, option, kind, id=f"{command}{option}")


def run_quietly(argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


def assert_refused(command: str, option: str, text: str) -> None:
    code, err = run_quietly([command, f"{option}={text}"])
    assert code == 2, (command, option, text, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert option in lines[0] and "Traceback" not in err, err


def test_the_walk_finds_the_options_of_the_issue():
    found = {(command, option) for command, option, _ in OPTIONS}
    assert {("profile", "--runs"), ("export-c", "--flash-kb"), ("export-c", "--ram-kb"), ("train-pq", "--bits"),
            ("compress", "--levels"), ("sweep", "--workers"), ("analyze", "--mass")} <= found
    assert len({command for command, _ in found}) >= 7


@pytest.mark.parametrize("command, option, kind", list(_params()))
def test_every_numeric_option_refuses_its_invalid_values(command, option, kind):
    assert hasattr(kind, "invalid_examples"), f"{command} {option}: use a type of edgequant.cli.argument_types"
    examples = kind.invalid_examples()
    assert examples
    for text in examples:
        assert_refused(command, option, text)


@pytest.mark.parametrize("command, option", [(command, option) for command, option, _ in OPTIONS],
                         ids=[f"{command}{option}" for command, option, _ in OPTIONS])
def test_every_numeric_option_refuses_what_is_no_finite_number(command, option):
    """What no numeric option may take, whatever its type (this covers the commands not yet converted too)."""
    for text in ("abc", "", "nan", "inf", "-inf", "1e999"):
        assert_refused(command, option, text)


@pytest.mark.parametrize("argv, option", [
    (["profile", "m.onnx", "--runs", "0"], "--runs"),
    (["export-c", "m.tflite", "-o", "out", "--flash-kb", "0"], "--flash-kb"),
    (["export-c", "m.tflite", "-o", "out", "--flash-kb", "nan"], "--flash-kb"),
    (["export-c", "m.tflite", "-o", "out", "--ram-kb", "nan"], "--ram-kb"),
    (["train-pq", "--bits", "0"], "--bits"),
    (["train-pq", "--bits", "8", "17"], "--bits"),
    (["compress", "m.onnx", "--method", "deadzone", "--levels", "8", "--delta", "nan", "-o", "x.eqz"], "--delta"),
], ids=lambda v: "_".join(v) if isinstance(v, list) else None)
def test_the_issue_examples(argv, option):
    code, err = run_quietly(argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and option in err, err


def _converted():
    return [(command, option, kind) for command, option, kind in OPTIONS if hasattr(kind, "invalid_examples")]


def _outside(kind) -> st.SearchStrategy[str]:
    """Texts outside ``kind``'s domain."""
    if isinstance(kind, NumberList):
        return _outside(kind.element).map(lambda text: f"1,{text}")
    if isinstance(kind, WordOrNumber):
        return _outside(kind.number).filter(lambda text: text != kind.word)
    if not isinstance(kind, NumberType):
        return st.sampled_from(kind.invalid_examples())
    numbers = st.integers(-2**70, 2**70) if kind.kind is int else st.floats(allow_nan=True, allow_infinity=True)
    words = st.text(max_size=8)
    return st.one_of(numbers.map(repr), words).filter(
        lambda text: kind._parse(text) is None or not kind.accepts(kind._parse(text)))


@st.composite
def invalid_option_values(draw):
    command, option, kind = draw(st.sampled_from(_converted()))
    return command, option, draw(_outside(kind))


@settings(max_examples=300, deadline=None)
@given(invalid_option_values())
def test_random_invalid_values_exit_2_in_one_line(case):
    assert_refused(*case)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.integers(-2**70, 2**70).map(repr), st.floats().map(repr), st.text(max_size=10)),
       st.sampled_from([integer(minimum=1), integer(2, 16, also=(32,)), real(above=0), real(maximum=1, above=0),
                        real(minimum=0), real()]))
def test_a_type_returns_a_value_in_its_domain_or_refuses(text, kind):
    try:
        value = kind(text)
    except argparse.ArgumentTypeError as error:
        assert "\n" not in str(error)
        return
    assert kind.accepts(value) and isinstance(value, kind.kind)
    assert kind.kind is int or math.isfinite(value)


def test_image_size():
    assert image_size("224") == (224, 224) and image_size("96x128") == (96, 128)
    for text in image_size.invalid_examples():
        with pytest.raises(argparse.ArgumentTypeError):
            image_size(text)
