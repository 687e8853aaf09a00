import numpy as np
import pandas as pd

from features.frames import TEXT, Table, as_table, frame_of


def test_text_columns_become_str_columns_and_the_rest_is_untouched():
    index = pd.Index([7, 3], name="row")
    frame = frame_of(
        {
            "name": np.array(["a", None], dtype=object),
            "n": np.array([1, 2]),
            "when": np.array(["2026-01-01", "NaT"], dtype="datetime64[ns]"),
            "other": np.array(["x", "y"], dtype=object),
            "flag": np.array([True, False]),
        },
        index,
    )
    assert list(frame.columns) == ["name", "n", "when", "other", "flag"]
    assert frame.index.equals(index)
    assert frame["name"].dtype == TEXT and frame["other"].dtype == TEXT
    assert frame["name"].tolist()[0] == "a" and pd.isna(frame["name"].iloc[1])
    assert frame["other"].tolist() == ["x", "y"]
    assert frame["n"].dtype == np.int64 and frame["flag"].dtype == bool
    assert frame["when"].dtype.kind == "M"


def test_no_rows_and_no_text_columns():
    empty = frame_of({"name": np.array([], dtype=object), "n": np.array([], dtype=float)})
    assert len(empty) == 0 and empty["name"].dtype == TEXT
    numbers = frame_of({"n": np.array([1.5])})
    assert numbers["n"].tolist() == [1.5]


def test_large_frames_convert_each_text_column_on_its_own():
    """The same values and dtype either way; a large frame's columns do not share one buffer."""
    n = 1_500
    columns = {"a": np.array(["x"] * n, dtype=object), "b": np.array(["y"] * n, dtype=object)}
    frame = frame_of(columns)
    assert frame["a"].dtype == frame["b"].dtype == TEXT
    assert set(frame["a"]) == {"x"} and set(frame["b"]) == {"y"}


def test_a_frame_is_read_as_a_table_in_three_kinds_once_per_column():
    frame = pd.DataFrame(
        {
            "text": pd.array(["a", None], dtype="str"),
            "mixed": pd.Series([1, "b"], dtype=object),
            "count": pd.array([3, None], dtype="Int64"),
            "whole": pd.array([3, 4], dtype="Int64"),
            "when": pd.to_datetime(["2026-01-01T10:00:00+02:00", None], utc=True),
            "flag": [True, False],
        }
    )
    table = as_table(frame)
    assert table.n_rows == 2 and list(table) == list(frame.columns) and "text" in table
    assert table["text"].dtype == object and table["text"].tolist() == ["a", None]
    assert table["mixed"].tolist() == ["1", "b"]  # as astype("str") reads it
    assert table["count"].dtype == float and np.isnan(table["count"][1])
    assert table["whole"].dtype == np.int64
    assert table["when"][0] == np.datetime64("2026-01-01T08:00:00") and np.isnat(table["when"][1])
    assert table["flag"].dtype == bool
    assert table["text"] is table["text"]  # converted once
    assert as_table(table) is table


def test_tables_join_and_become_frames():
    table = Table({"a": np.array(["x"], dtype=object)}) | {"n": np.array([1.5])}
    frame = table.to_frame()
    assert list(frame.columns) == ["a", "n"] and frame["a"].dtype == TEXT
    assert Table({}, n_rows=4).n_rows == 4
