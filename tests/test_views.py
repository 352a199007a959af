"""The plain table every text command prints."""

from __future__ import annotations

from git_kosli.views.text import table


def test_columns_are_two_spaces_apart_with_room_for_headers_and_no_trailing_blanks() -> None:
    text = table(
        [["74f70f5", "c20", "aws-beta#2 web:74f70f5\nstaging#8 web:74f70f5"], ["01731f3", "c19", ""]],
        ["commit", "subject", "deployments"],
    )

    assert text.splitlines() == [
        "commit    subject    deployments",
        "74f70f5   c20        aws-beta#2 web:74f70f5",
        "                     staging#8 web:74f70f5",
        "01731f3   c19",
    ]


def test_a_table_without_rows_is_its_header() -> None:
    assert table([], ["snapshot", "from"]) == "snapshot    from"
