"""Activation patterns exported models spell out (issue 21): recognised, fused into convs, numerically exact."""
