"""The pure rule engine: rule files, what the rules see of a message, detectors, one decision from every hit."""
