"""Rule check_verdict (validate.strict): fail the run when a property of the verdict fails its band."""

from pathlib import Path

import pandas as pd

from _common import setup


def main(table: str, output: str, log) -> None:
    """Touch ``output`` when every row of the verdict ``table`` passed; else raise, naming the failed checks."""
    verdict = pd.read_csv(table)
    failed = verdict[~verdict.passed.astype(bool)]
    if not failed.empty:
        names = "; ".join(f"{r.check} ({r.subject}): {r.value:.4g} {r.unit}".rstrip() for r in failed.itertuples())
        message = f"validate.strict: {len(failed)} of {len(verdict)} checks of {table} failed: {names}"
        log.error(message)
        raise SystemExit(message)
    Path(output).write_text(f"all {len(verdict)} checks of {table} passed\n")
    log.info("all %d checks passed", len(verdict))


if __name__ == "__main__":
    main(snakemake.input.table, snakemake.output[0], log=setup(snakemake))
