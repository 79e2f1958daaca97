"""`python -m vae_gan_tf.verify`: every documented formula checks out against the implementation."""

from vae_gan_tf.reference.checks import Row, collect_rows, format_table
from vae_gan_tf.verify import main


def test_every_verify_row_passes_in_quick_mode():
    rows = collect_rows(quick=True)
    failed = [f"{r.formula} {r.case}: {r.implementation} vs {r.analytic}" for r in rows if not r.passed]
    assert not failed, failed
    ids = {r.formula for r in rows}
    assert {"F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F14", "F15"} <= {
        part for fid in ids for part in fid.split("/")}


def test_rows_fail_when_the_numbers_disagree():
    assert not Row("F0", "test", "equal", 1.0, 1.1, tolerance=0.05).passed
    assert Row("F0", "test", "equal", 1.0, 1.01, tolerance=0.05).passed
    assert not Row("F0", "test", "bound", 1.0, 1.2, tolerance=0.1, relation="<=").passed
    assert not Row("F0", "test", "rise", 1.0, 0.8, tolerance=0.1, relation=">=").passed
    table = format_table([Row("F0", "src", "case", 1.0, 3.0, tolerance=0.5)])
    assert "FAIL" in table and "formula" in table.splitlines()[0]


def test_verify_cli_prints_the_table_and_exits_zero(capsys):
    assert main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "verdict" in out and " 0 failed" in out
