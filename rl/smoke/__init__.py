"""The CPU smoke run: tiny model, bundled tasks, and the stage 0 -> 1 -> 2 pipeline behind `make smoke`."""
