"""``./dev bench`` → the turn benchmark (more benchmarks join here as they are written)."""

from bench.turn import main

main()
