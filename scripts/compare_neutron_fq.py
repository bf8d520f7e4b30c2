"""Rule compare_neutron_fq: the glasses' neutron F(Q) on their reciprocal lattices against the measured one."""

import numpy as np
import pandas as pd

from _common import setup
from amlip.io.frames import read_frames
from amlip.plots import plot_fq_comparison
from amlip.properties.reference import read_mint01
from amlip.properties.scattering import fq_r_factor, neutron_fq_kspace, peak_position
from amlip.properties.structure import glass_tail


def main(
    trajectories: list,
    experiment: str,
    table: str,
    summary: str,
    figure: str,
    *,
    average_last_fraction: float,
    dq_inv_A: float,
    r_factor_range_inv_A: list,
    fsdp_window_inv_A: list,
    scattering_lengths_fm: dict,
    log,
) -> None:
    """F(Q) (barns/sr/atom) over the last ``average_last_fraction`` of every glass trajectory (within its final stage), averaged,
    against ``experiment`` (a .mint01 file): the table on the experiment's Q points, the R-factor over
    ``r_factor_range_inv_A`` and the first sharp diffraction peaks in ``fsdp_window_inv_A``."""
    frames = []
    for path in trajectories:
        frames += glass_tail(read_frames(path), average_last_fraction)
    q_lo, q_hi = r_factor_range_inv_A
    q_model, f_model, counts = neutron_fq_kspace(frames, q_max=q_hi + dq_inv_A, dq=dq_inv_A, lengths=scattering_lengths_fm)
    q_exp, f_exp, _ = read_mint01(experiment)
    inside = (q_exp >= max(q_lo, q_model.min())) & (q_exp <= q_hi)
    data = pd.DataFrame(
        {
            "Q_inv_A": q_exp[inside],
            "F_model_barn": np.interp(q_exp[inside], q_model, f_model),
            "F_experiment_barn": f_exp[inside],
        }
    )
    data.to_csv(table, index=False)
    result = {
        "r_factor": fq_r_factor(q_model, f_model, q_exp, f_exp, max(q_lo, q_model.min()), q_hi),
        "fsdp_model": peak_position(q_model, f_model, *fsdp_window_inv_A),
        "fsdp_experiment": peak_position(q_exp, f_exp, *fsdp_window_inv_A),
        "q_min_inv_A": float(max(q_lo, q_model.min())),
        "q_max_inv_A": float(q_hi),
        "n_frames": len(frames),
        "n_glasses": len(trajectories),
        "k_vectors_per_frame": float(counts.sum() / len(frames)),
    }
    pd.DataFrame([result]).to_csv(summary, index=False)
    plot_fq_comparison(data, result, figure)
    log.info("F(Q) of %d frames of %d glasses against %s: %s", len(frames), len(trajectories), experiment, result)


if __name__ == "__main__":
    main(**snakemake.input, **snakemake.output, **snakemake.params, log=setup(snakemake))
