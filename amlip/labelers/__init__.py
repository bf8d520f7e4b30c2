"""Reference labelers (rules/label.smk, rules/aimd.smk): the labeler and labeling (base), the
factory (registry), one module per backend (xtb, cp2k, vasp, lammps, espresso), AIMD (aimd),
chunk accounting (accounting) and the comparison of two levels of theory (compare)."""
