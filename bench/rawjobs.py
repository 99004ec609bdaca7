"""Plain functions for raw RQ workers, which know nothing of Django."""


def noop() -> None:
    """The cheapest job there is."""
    return None
