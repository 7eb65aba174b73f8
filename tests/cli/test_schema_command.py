"""``synthpay schema`` prints each record type's schema in a registered value format."""

from __future__ import annotations

import json

import pytest
from conftest import REPO_DIR

from synthpay import cli
from synthpay.formats import json_schema


def test_a_record_in_avro_is_its_avsc_as_shipped(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema", "bank"]) == 0
    assert capsys.readouterr().out == (REPO_DIR / "avro" / "bank.avsc").read_text()


def test_a_record_in_json_schema_is_the_derived_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema", "--format", "json_schema", "ground_truth"]) == 0
    out = capsys.readouterr().out
    assert out == json_schema.schema_text("ground_truth") and json.loads(out)["title"] == "WithheldPayment"


def test_without_a_record_every_record_type_is_shown_under_its_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema", "--format", "json_schema"]) == 0
    out = capsys.readouterr().out
    headings = [line for line in out.splitlines() if line.startswith("==>")]
    assert headings == ["==> payment <==", "==> bank <==", "==> ground_truth <=="]
    parts = [part.split("\n", 1)[1] for part in out.split("==> ")[1:]]
    assert [json.loads(p)["title"] for p in parts] == ["Payment", "Bank", "WithheldPayment"]


def test_a_format_with_no_schema_of_its_own_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["schema", "--format", "json"])
    assert exited.value.code == 2
    assert "invalid choice: 'json'" in capsys.readouterr().err
