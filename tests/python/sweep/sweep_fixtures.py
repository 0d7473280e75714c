"""Shared pieces of the sweep tests: a small grid on the embedded digits model."""

from edgequant.sweep import point

#: Eight points spanning the families, so the suite stays fast (each point ~20 ms).
SMALL_GRID = [
    point("midtread", levels=4, xmax="max"),
    point("midtread", levels=16, xmax="max"),
    point("midtread", levels=256, xmax="max"),
    point("midrise", levels=8, xmax="max"),
    point("deadzone", levels=16, delta=0.25, xmax="max"),
    point("mulaw", levels=64, mu=255.0, xmax="max"),
    point("affine", bits=4, per_channel=False),
    point("affine", bits=4, per_channel=True),
]

#: Columns that must be identical between two runs of the same sweep (timings, worker and
#: finishing time differ).
RESULT_COLUMNS = (
    "point_key", "method", "label", "status", "entropy", "compression_ratio",
    "space_saving", "weight_sqnr_db", "weight_count", "metrics",
)  # fmt: skip


def comparable(rows):
    """Rows reduced to their deterministic columns, keyed by point."""
    return {row["point_key"]: {column: row[column] for column in RESULT_COLUMNS} for row in rows}
