"""Static INT8 on depthwise conv + BatchNorm with large per-channel gains + HardSwish (issue 21).

Work in progress: the test body lands in a following commit.
"""
