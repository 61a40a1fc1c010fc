"""verifiers.jsonl: the one JSONL reader fails naming the line, or skips it for files being appended to."""

import pytest

from verifiers.jsonl import JsonlError, read_jsonl


def test_rows_are_read_and_blank_lines_skipped(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n{"a": "é"}\n', encoding="utf-8")
    assert read_jsonl(path) == [{"a": 1}, {"a": "é"}]


def test_a_bad_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(JsonlError, match=r"rows.jsonl:2 is not a JSON object"):
        read_jsonl(path)


def test_a_line_that_is_not_an_object_is_rejected(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("[1, 2]\n")
    with pytest.raises(JsonlError, match="rows.jsonl:1 is a JSON list"):
        read_jsonl(path)


def test_a_line_cut_short_by_a_writer_is_skipped_on_request(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n{"ste')
    assert read_jsonl(path, skip_invalid=True) == [{"step": 1}, {"step": 2}]
