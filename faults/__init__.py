"""The fault suite: `python -m faults` (`make faults`); see faults/suite.py."""
