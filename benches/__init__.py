"""mlcore's benchmark suites: speed measured as ratios to a reference run in the same process."""
