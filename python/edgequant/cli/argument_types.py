"""The argparse ``type=`` of every numeric command-line option, so that a value out of range is a
usage error (exit 2, one line naming the option) before a command starts any work.

Each type knows its domain and offers :meth:`NumberType.invalid_examples`: the property test of
the command line (tests/python/cli/test_numeric_options.py) walks every command's parser and feeds
each option these values. A new numeric option must use one of these types (the test refuses a
bare ``int`` or ``float``: ``float("nan")`` parses, and then compares False against every bound).
"""

from __future__ import annotations

import argparse
import math

__all__ = ["NumberList", "NumberType", "WordOrNumber", "image_size", "integer", "real"]


class NumberType:
    """An argparse type: an integer or a finite real within bounds.

    Parameters
    ----------
    kind : int or float
    minimum, maximum : number, optional
        Inclusive bounds.
    above : number, optional
        Exclusive lower bound (``real(above=0)``: a positive number).
    also : tuple of numbers
        Values accepted outside the bounds (train-pq's ``--bits``: 2-16, or 32).
    """

    def __init__(self, kind, minimum=None, maximum=None, above=None, also=()):
        self.kind, self.minimum, self.maximum, self.above, self.also = kind, minimum, maximum, above, tuple(also)
        self.__name__ = self.describe()  # argparse names a type by its __name__ in some messages

    def __call__(self, text: str):
        value = self._parse(text)
        if value is None or not self.accepts(value):
            raise argparse.ArgumentTypeError(f"expected {self.describe()}, got {text!r}")
        return value

    def accepts(self, value) -> bool:
        """Whether a parsed number is in the domain."""
        if value in self.also:
            return True
        return ((self.minimum is None or value >= self.minimum) and (self.maximum is None or value <= self.maximum)
                and (self.above is None or value > self.above))

    def describe(self) -> str:
        """The domain in words: ``"an integer >= 1"``, ``"a finite number > 0"``."""
        what = "an integer" if self.kind is int else "a finite number"
        low, high, above = (_shown(v) for v in (self.minimum, self.maximum, self.above))
        bounds = []
        if low is not None and high is not None:
            bounds.append(f"in [{low}, {high}]")
        elif low is not None:
            bounds.append(f">= {low}")
        elif high is not None:
            bounds.append(f"<= {high}")
        if above is not None:
            bounds.append(f"> {above}")
        text = " ".join([what, " and ".join(bounds)]) if bounds else what
        return text + "".join(f" or {_shown(value)}" for value in self.also)

    def invalid_examples(self) -> list[str]:
        """Texts this type must refuse: not a number, not finite, and just outside each bound."""
        examples = ["abc", ""]
        examples += ["1.5", "1e3x"] if self.kind is int else ["nan", "inf", "-inf"]
        step = 1 if self.kind is int else 1e-3
        if self.minimum is not None:
            examples.append(repr(self.minimum - step))
        if self.above is not None:
            examples.append(repr(self.kind(self.above)))
        if self.maximum is not None:
            examples.append(repr(self.maximum + step))
        return [text for text in examples if self._parse(text) is None or not self.accepts(self._parse(text))]

    def _parse(self, text: str):
        try:
            value = int(text) if self.kind is int else float(text)
        except ValueError:
            return None
        return value if self.kind is int or math.isfinite(value) else None

    def __repr__(self):
        return f"NumberType({self.describe()})"


def _shown(value) -> str | None:
    """A bound as a user would write it: 16777216, 0.5, 1 (not 1.67772e+07 or 1.0)."""
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class NumberList:
    """An argparse type: comma-separated numbers, each of ``element``'s domain (``--mean 0.5,0.4,0.4``)."""

    def __init__(self, element: NumberType):
        self.element = element
        self.__name__ = f"comma-separated list of {element.describe()}"

    def __call__(self, text: str) -> tuple:
        try:
            return tuple(self.element(part) for part in text.split(","))
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"expected numbers separated by commas, each {self.element.describe()}, "
                                             f"got {text!r}") from None

    def invalid_examples(self) -> list[str]:
        return [f"1,{example}" if example else "1,,2" for example in self.element.invalid_examples()]


def integer(minimum=None, maximum=None, also=()) -> NumberType:
    """An integer option in ``[minimum, maximum]`` (either bound optional), or one of ``also``."""
    return NumberType(int, minimum, maximum, also=also)


def real(minimum=None, maximum=None, above=None) -> NumberType:
    """A finite real option in ``[minimum, maximum]``, and ``> above`` when given."""
    return NumberType(float, minimum, maximum, above)


class WordOrNumber:
    """An argparse type: one fixed word, or a number of ``number``'s domain (``--bins fd`` or ``--bins 64``)."""

    def __init__(self, word: str, number: NumberType):
        self.word, self.number = word, number
        self.__name__ = f"'{word}' or {number.describe()}"

    def __call__(self, text: str):
        if text == self.word:
            return text
        try:
            return self.number(text)
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"expected {self.__name__}, got {text!r}") from None

    def invalid_examples(self) -> list[str]:
        return [text for text in self.number.invalid_examples() if text != self.word]


class _ImageSize:
    """An argparse type: ``HxW`` (or one number for a square), both >= 1."""

    __name__ = "HxW"

    def __call__(self, text: str) -> tuple[int, int]:
        parts = text.lower().replace(",", "x").split("x")
        try:
            size = tuple(int(p) for p in parts)
        except ValueError:
            size = ()
        if len(size) == 1:
            size = size * 2
        if len(size) != 2 or min(size) < 1:
            raise argparse.ArgumentTypeError(f"expected HxW (e.g. 224x224), got {text!r}")
        return size

    def invalid_examples(self) -> list[str]:
        return ["0x224", "224x0", "-1", "axb", "1x2x3", ""]


#: The type of an image-size option (``--size 224x224``).
image_size = _ImageSize()
