"""Rule plot_selection: the pool in a 2-D map of SOAP space with the picked frames (MIL)."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.plots import plot_soap_map
from amlip.selection.soap import soap_map_table


def main(
    pool: str, picked: str, figure: str, data: str, title: str, method: str, soap: dict, seed: int, n_jobs: int, log
) -> None:
    """The SOAP map (``method`` pca or tsne) of ``pool`` coloured by sigma_max, ``picked`` circled; the numbers in ``data``."""
    table = soap_map_table(read_frames(pool), read_frames(picked), method, seed=seed, soap=soap, n_jobs=n_jobs)
    table.to_csv(data, index=False)
    plot_soap_map(
        table[["x", "y"]].to_numpy(), table.picked, figure, color=table.sigma_max_eV_A,
        color_label="committee σ_max (eV/Å)", method=method, title=title,
    )  # fmt: skip
    log.info("SOAP map (%s) of %d pool frames, %d selected", method, len(table), int(table.picked.sum()))


if __name__ == "__main__":
    w = snakemake.wildcards
    title = f"{w.domain}, iteration {w.i}"
    main(**snakemake.input, **snakemake.output, title=title, **snakemake.params, n_jobs=snakemake.threads, log=setup(snakemake))
