"""How the analytics files are written (the columns a schema requires, a refused null that publishes nothing) and
what `bulk_allocation` does to the C library's allocator, measured in page faults."""

from __future__ import annotations

import ctypes
import resource
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dockyard.analytics import memory, segments
from tests.analytics.events import T0, Req, write

DAY = T0.date()


def test_a_segment_declares_the_schemas_required_columns_and_statistics_only_for_ts(tmp_path: Path) -> None:
    write(tmp_path, [Req(0, "GET", "v1", "sha256:" + "a" * 64), Req(1, "HEAD", "v1", "sha256:" + "a" * 64)])
    (path,) = segments.segment_paths(tmp_path, DAY, DAY)
    assert [(f.name, f.nullable) for f in pq.read_schema(path)] == [(f.name, f.nullable) for f in segments.SCHEMA]
    chunks = pq.ParquetFile(path).metadata.row_group(0)
    with_statistics = [
        chunk.path_in_schema for chunk in map(chunks.column, range(chunks.num_columns)) if chunk.is_stats_set
    ]
    assert with_statistics == ["ts"]
    assert segments.read_table(tmp_path).num_rows == 2


def test_a_segment_with_a_null_in_a_required_column_is_refused_and_nothing_is_published(tmp_path: Path) -> None:
    write(tmp_path, [Req(0, "GET", "v1", "sha256:" + "a" * 64)])
    good = segments.read_table(tmp_path)
    bad = good.set_column(good.schema.get_field_index("namespace"), "namespace", pa.array([None], pa.string()))
    with pytest.raises(ValueError, match="namespace"):
        segments.write_segments(tmp_path, pa.concat_tables([good, bad.cast(good.schema)]))
    (day_dir,) = segments.events_root(tmp_path).iterdir()
    assert len(list(day_dir.iterdir())) == 1  # the first segment only, and no temporary file
    assert segments.read_table(tmp_path).equals(good)


# --- bulk_allocation ----------------------------------------------------------------------------------------
# Larger than glibc's largest dynamic mmap threshold (32 MB), so that by default every such block is mapped afresh.
BLOCK = 48 << 20


def faults_of(rounds: int) -> int:
    """Page faults taken allocating, touching and freeing BLOCK bytes `rounds` times."""
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        block = libc.malloc(BLOCK)
        assert block
        ctypes.memset(block, 1, BLOCK)
        libc.free(block)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(memory._glibc() is None, reason="tunes glibc's malloc only")
def test_bulk_allocation_keeps_freed_blocks_for_reuse_until_the_last_user_ends_even_by_failing() -> None:
    fresh = faults_of(4)
    assert fresh >= 4 * (BLOCK >> 21)  # each block faulted in again: a fault per page, at least per 2 MB huge page
    with pytest.raises(RuntimeError), memory.bulk_allocation():
        with memory.bulk_allocation():
            inner = faults_of(4)  # the first block faulted in, the next three reuse it
        outer = faults_of(4)  # the inner user has ended: still kept
        raise RuntimeError("a job failed")
    after = faults_of(4)
    assert inner <= fresh / 2 and outer <= fresh / 8
    assert after >= fresh / 2
