"""整改督办 (SPEC §8): rectification items, the data check that verifies them, and what the meeting needs of them."""
