"""How a run is carried out: worker processes, process settings, the on-disk cache, timings."""
