"""A tiny statistics module."""


def divide(a, b):
    """Divide a by b."""
    return a / b


def mean(xs):
    """The arithmetic mean of xs."""
    return sum(xs) / len(xs)
