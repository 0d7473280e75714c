"""Mixed-precision quantization driven by semantic significance (SPEC §7, paper 003)."""
