"""`python -m orchestration.cli …` is `customer360 …`."""

from orchestration.cli import main

main()
