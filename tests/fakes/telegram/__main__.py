"""``python -m tests.fakes.telegram``: serve a fake Bot API in its own process (benchmarks)."""

from tests.fakes.telegram.server import main

if __name__ == "__main__":
    main()
