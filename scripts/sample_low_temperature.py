"""Rule sample_low_temperature: the relaxed glass and force snapshots of low-temperature MD for the IR fit (AS)."""

from _common import chosen_model, setup
from amlip.io.frames import read_frames, write_frames
from amlip.md.dispersion import with_dispersion
from amlip.models.loading import load_model
from amlip.properties.vibrations import sample_low_temperature


def main(
    model, trajectory, relaxed, snapshots, md, relax_fmax_eV_A, relax_steps, seed, dtype, device, log, dispersion=None
) -> None:
    """The last frame of ``trajectory`` relaxed (``relax_fmax_eV_A``, ``relax_steps``) and sampled by Langevin MD (``md``)."""
    glass = read_frames(trajectory)[-1]
    log.info("relax and sample the last glass frame (%d atoms) at %s K with %s", len(glass), md["temperature_K"], model)
    ideal, samples = sample_low_temperature(
        glass,
        with_dispersion(load_model(model, dtype=dtype, device=device), dispersion),
        **md,
        relax_fmax=relax_fmax_eV_A,
        relax_steps=relax_steps,
        seed=seed,
    )
    if not ideal.info["relax_converged"]:
        log.warning("relaxation stopped at max |F| = %.3f eV/Å (relax_fmax_eV_A not reached)", ideal.info["relax_fmax_eV_A"])
    write_frames(relaxed, [ideal])
    write_frames(snapshots, samples)
    log.info("wrote %d snapshots", len(samples))


if __name__ == "__main__":
    p, o = snakemake.params, snakemake.output
    model = chosen_model(snakemake)
    main(
        model,
        snakemake.input.trajectory,
        o.relaxed,
        o.snapshots,
        p.md,
        p.relax_fmax_eV_A,
        p.relax_steps,
        p.seed,
        p.dtype,
        p.device,
        setup(snakemake),
        p.dispersion,
    )
