"""One module per hot path; each defines ``cases(size) -> list[Case]``."""
